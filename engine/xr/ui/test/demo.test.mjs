// The bundled demo protocol (assets/demo) in the headset page, inline:
// every step drawn with its real media — pictures, the MPEG-1 video with
// its sound, the 360° bar, the pacer, subtitles — each visual cue's frame
// report received, nothing refused, pixels not blank. Run by
// TestHeadsetDemoPlaywright (engine/xr/browser_test.go); XR_SHOTS=/dir
// keeps a screenshot of each step.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const url = process.env.XR_URL, base = new URL(url).origin, token = new URL(url).searchParams.get("token");
const shots = process.env.XR_SHOTS || "";
let browser, page;
const problems = [];

const got = async () => (await (await fetch(base + "/test/got")).json()).map((g) => ({ err: g.err, m: g.raw }));
async function waitGot(pred, what) {
  for (let i = 0; i < 200; i++) {
    const g = (await got()).filter(pred);
    if (g.length) return g[g.length - 1];
    await new Promise((ok) => setTimeout(ok, 50));
  }
  throw new Error("the feed never received " + what);
}

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
      "--ignore-gpu-blocklist", "--autoplay-policy=no-user-gesture-required"],
  });
  page = await browser.newPage({ viewport: { width: 800, height: 450 } });
  page.on("pageerror", (e) => problems.push("page error: " + e.message));
  page.on("console", (m) => { if (m.type() === "error" && !/inline style/.test(m.text())) problems.push("console: " + m.text()); });
  await page.goto(url);
  await page.waitForFunction(() => window.cueroomXR && window.cueroomXR.sync && window.cueroomXR.sync.samples >= 4);
});
after(async () => { if (browser) await browser.close(); });

test("every step of the demo, drawn with its media and reported", async () => {
  const plan = await (await fetch(base + "/xr/plan?token=" + token)).json();
  for (let i = 0; i < plan.steps.length; i++) {
    const st = plan.steps[i];
    const r = await fetch(base + "/test/step", { method: "POST", body: JSON.stringify({
      events: [{ kind: "step_start", step: i, data: { id: st.id, duration: st.duration_s } }],
      state: { status: "running", step_index: i, prompt: null } }) });
    const t = (await r.json()).t;
    await page.waitForFunction((k) => window.cueroomXR.key.startsWith(k), "scene:" + i + ":");
    const visual = st.cues.filter((c) => ["image", "video", "panorama", "text", "breathing"].includes(c.kind));
    for (const c of visual) {
      const rep = await waitGot((g) => g.m.cmd === "frame" && g.m.cue === c.id && g.m.instance === t, `the frame report of ${c.id}`);
      assert.ok(!rep.err && !rep.m.refused, JSON.stringify(rep));
    }
    if (st.cues.some((c) => c.kind === "video")) await page.waitForTimeout(500); // the scenario: let it play
    const px = await page.evaluate(() => window.cueroomXR.pixels());
    assert.ok(px.sd > 8, `step ${st.id} looks blank: ${JSON.stringify(px)}`);
    const p = await page.evaluate(() => window.cueroomXR.playing());
    console.log(`${st.id}: ${visual.map((c) => c.id).join(", ")} reported; sound ${p.sources} playing (${p.audio}); pixels sd ${px.sd.toFixed(1)}`);
    if (shots) await page.screenshot({ path: shots + "/demo-" + i + "-" + st.id + ".png" });
  }
  assert.deepEqual(await page.evaluate(() => window.cueroomXR.refused), []);
  assert.deepEqual(problems, []);
});
