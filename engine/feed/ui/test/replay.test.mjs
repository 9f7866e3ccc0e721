// Browser test of the dashboard in a replay (cueroom replay): the transport
// bar, a jump by clicking a step, speed and play, a jump with the slider.
// Run by TestReplayDashboardInChromium (cmd/cueroom/replay_test.go), which
// replays a real recorded session and passes its URL in the environment.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const env = (k) => { const v = process.env[k]; if (!v) throw new Error(k + " not set: run this through go test -run ReplayDashboard ./cmd/cueroom"); return v; };
const url = env("REPLAY_URL");
const bottleAt = Number(env("REPLAY_BOTTLE_AT")); // session seconds the bottle step started
const shots = process.env.FEED_SHOTS || "";

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
});
after(async () => { if (browser) await browser.close(); });

const text = (page, sel) => page.textContent(sel);
const applied = (page, cmd) => page.waitForFunction((c) => document.getElementById("cmdstatus").textContent === c + ": applied", cmd, { timeout: 10000 });

test("a replay shows its transport, jumps to a clicked step, plays at speed and seeks", async () => {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const problems = [];
  page.on("pageerror", (e) => problems.push("page error: " + e.message));
  page.on("console", (m) => { if (m.type() === "error") problems.push("console: " + m.text()); });
  await page.goto(url);
  await page.waitForFunction(() => document.getElementById("conn").dataset.state === "open");

  assert.equal(await page.getAttribute("body", "data-mode"), "replay");
  assert.equal(await page.isVisible("#replay"), true);
  assert.equal(await page.isVisible('[data-cmd="panic"]'), false, "no panic button in a replay");
  assert.equal(await page.isVisible('[data-cmd="rate"]'), false);
  assert.equal(await text(page, "#replay-play"), "Play", "started with --paused");

  // Click the second step of the hierarchy: the replay jumps to its start.
  await page.locator("#hierarchy li").nth(1).click();
  await applied(page, "seek");
  await page.waitForFunction(() => /^2\. /.test(document.getElementById("stepname").textContent));
  await page.waitForFunction((t) => {
    const c = window.cueroomCharts();
    return c.eda && c.eda.xmax !== null && Math.abs(c.eda.xmax - t) < 0.6;
  }, bottleAt, { timeout: 10000 });
  assert.equal(await text(page, "#replay-at"), (() => { const s = Math.round(bottleAt); return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0"); })());

  // 4× and play: the position runs on; the note says sound is 1× only.
  await page.selectOption("#replay-speed", "4");
  await applied(page, "speed");
  await page.click("#replay-play");
  await applied(page, "resume");
  await page.waitForFunction(() => document.getElementById("replay-play").textContent === "Pause");
  assert.equal(await text(page, "#replay-note"), "sound and video at 1× only");
  await page.waitForFunction((t) => { const c = window.cueroomCharts(); return c.eda.xmax > t + 2; }, bottleAt, { timeout: 10000 });
  if (shots) await page.screenshot({ path: shots + "/replay.png", fullPage: true });

  // Held, the step's countdown stands still (an observation window, not
  // a wait for something to happen).
  await page.click("#replay-play");
  await applied(page, "pause");
  await page.waitForFunction(() => document.getElementById("replay-play").textContent === "Play");
  const left = await text(page, "#remaining");
  await page.waitForTimeout(1200);
  assert.equal(await text(page, "#remaining"), left, "time left runs on while the replay is paused");

  // Back to 0.5 s with the slider: the charts start again from there.
  await page.evaluate(() => { const r = document.getElementById("replay-pos"); r.value = "0.5"; r.dispatchEvent(new Event("input")); r.dispatchEvent(new Event("change")); });
  await applied(page, "seek");
  await page.waitForFunction(() => { const c = window.cueroomCharts(); return c.eda && c.eda.xmax !== null && c.eda.xmax <= 0.6; }, null, { timeout: 10000 });
  await page.waitForFunction(() => /^1\. /.test(document.getElementById("stepname").textContent));
  // The rate is counted afresh from the new position: not "—" from
  // arrivals left over from later.
  await page.click("#replay-play");
  await applied(page, "resume");
  await page.waitForFunction(() => /bitalino\s*live\s*\d+ \/ 1000 Hz/.test(document.getElementById("sensors").textContent), null, { timeout: 10000 });

  assert.deepEqual(problems, []);
  await page.close();
});
