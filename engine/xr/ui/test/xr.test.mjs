// Browser test of the headset page with playwright-core driving Debian's
// Chromium (SwiftShader WebGL), inline (no headset), and immersive through
// IWER, the Immersive Web Emulation Runtime. Run by TestHeadsetPlaywright
// (engine/xr/browser_test.go), which serves a test feed and passes its
// address in the environment. The tests run in order on one page: each
// moves the session on.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { createRequire } from "node:module";
import { chromium } from "playwright-core";

const env = (k) => { const v = process.env[k]; if (!v) throw new Error(k + " not set: run this through go test -run Playwright ./engine/xr"); return v; };
const url = env("XR_URL"), base = new URL(url).origin;
const shots = process.env.XR_SHOTS || "";
const require = createRequire(import.meta.url);

let browser, page;
const VIEW = { width: 640, height: 360 };
const problems = [];

async function post(path, body) {
  const r = await fetch(base + path, { method: "POST", body: JSON.stringify(body) });
  assert.ok(r.ok, path + ": " + r.status);
  return r.json().catch(() => null);
}
const got = async () => (await (await fetch(base + "/test/got")).json()).map((g) => ({ at: g.at, err: g.err, m: g.raw }));
const xr = (f, arg) => page.evaluate(f, arg);
// waitGot waits until the feed has received a message matching pred.
async function waitGot(pred, what) {
  for (let i = 0; i < 100; i++) {
    const g = (await got()).filter(pred);
    if (g.length) return g[g.length - 1];
    await new Promise((ok) => setTimeout(ok, 50));
  }
  throw new Error("the feed never received " + what);
}
const shot = async (name) => { if (shots) await page.screenshot({ path: shots + "/" + name + ".png" }); };
const waitKey = (re, timeout) => page.waitForFunction((s) => new RegExp(s).test(window.cueroomXR.key), re, { timeout: timeout || 10000 });
const pixels = (points) => xr((p) => window.cueroomXR.pixels(p), points || []);
const near = (a, b, tol) => Math.abs(a[0] - b[0]) <= tol && Math.abs(a[1] - b[1]) <= tol && Math.abs(a[2] - b[2]) <= tol;

// step starts a step as the engine does: step_start at once, the state after.
let stepT = {};
async function step(i, extra) {
  const r = await post("/test/step", { events: [{ kind: "step_start", step: i, data: { id: "s" + i, duration: 60 } }],
    state: Object.assign({ status: "running", step_index: i, prompt: null }, extra || {}) });
  stepT[i] = r.t;
  return r.t;
}

// onset checks a cue's frame report against the step change at session
// time t: it is the first frame drawn after the message (the scene's
// first frame), and its time lies within that frame's interval of t.
async function onset(i, cue, t) {
  const s = await xr((k) => window.cueroomXR.shown.filter((x) => x.key.startsWith(k)).pop(), "scene:" + i + ":");
  const rep = await waitGot((g) => g.m.cmd === "frame" && g.m.cue === cue && g.m.instance === t, "the frame report of " + cue);
  assert.ok(rep && !rep.err, "frame report received and valid: " + JSON.stringify(rep));
  assert.equal(s.frame - s.changeFrame, 1, "the scene's first frame is the first after the message: " + JSON.stringify(s));
  assert.ok(Math.abs(rep.m.t_session - s.t) < 1e-5, "reported at the scene's first frame: " + JSON.stringify([rep.m, s]));
  const interval = (s.t - s.prevT) * 1000, d = (rep.m.t_session - t) * 1000;
  console.log(`${cue}: frame report ${d.toFixed(2)} ms after the step change; that frame's interval ${interval.toFixed(2)} ms; offset uncertainty ±${(rep.m.uncertainty * 1000).toFixed(3)} ms`);
  assert.ok(d >= -interval - 2 && d <= interval + 2, `frame report ${d} ms from the step change, frame interval ${interval} ms`);
  return rep;
}

// frameInterval is the page's frame period, measured (ms).
async function frameInterval() {
  return xr(() => new Promise((ok) => {
    const ts = [];
    const f = (t) => { ts.push(t); if (ts.length < 31) requestAnimationFrame(f); else ok((ts[30] - ts[0]) / 30); };
    requestAnimationFrame(f);
  }));
}

before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-dev-shm-usage", "--use-angle=swiftshader", "--enable-unsafe-swiftshader",
      "--ignore-gpu-blocklist", "--autoplay-policy=no-user-gesture-required"],
  });
  page = await browser.newPage({ viewport: VIEW });
  page.on("pageerror", (e) => problems.push("page error: " + e.message));
  page.on("console", (m) => {
    // JSMpeg's module injects a <style> for its own video element, which
    // the strict CSP refuses: harmless, the page does not use that element.
    if (m.type() === "error" && !/inline style/.test(m.text())) problems.push("console: " + m.text());
  });
  await page.goto(url);
});
after(async () => { if (browser) await browser.close(); });

test("WebGL renders: the waiting calm screen, then the session's breathing step", async () => {
  await page.waitForFunction(() => window.cueroomXR && window.cueroomXR.frames > 5);
  const gl = await xr(() => { const c = document.createElement("canvas").getContext("webgl2"); return c ? c.getParameter(c.RENDERER) : null; });
  assert.ok(gl, "no WebGL2 in this Chromium");
  await waitKey("^calm:ready$");
  const calm = await pixels();
  assert.ok(calm.sd > 3, "the calm screen is not blank: " + JSON.stringify(calm));
  await step(0);
  await waitKey("^scene:0:");
  await shot("breathing");
  assert.deepEqual(problems, []);
});

test("clock offset from pings on loopback: within 2 ms of an HTTP probe's", async () => {
  await page.waitForFunction(() => window.cueroomXR.sync && window.cueroomXR.sync.samples >= 8);
  const r = await xr(async () => {
    // The HTTP probe's times come from Resource Timing (the network
    // stack's), so a busy main thread does not skew them.
    let best = null;
    for (let i = 0; i < 30; i++) {
      const u = "/test/now?i=" + i;
      const j = await (await fetch(u, { cache: "no-store" })).json();
      const e = performance.getEntriesByName(new URL(u, location.href).href)[0];
      const t0 = e.requestStart / 1000, t1 = e.responseStart / 1000;
      if (!best || t1 - t0 < best.rtt) best = { rtt: t1 - t0, offset: j.t - (t0 + t1) / 2 };
    }
    return { http: best, ws: window.cueroomXR.sync };
  });
  const diff = Math.abs(r.http.offset - r.ws.offset) * 1000;
  // Each estimate is off by at most half its round trip; on an idle
  // loopback both are well under a millisecond.
  const bound = (r.ws.rtt + r.http.rtt) / 2 * 1000;
  console.log(`offset: ws ${r.ws.offset.toFixed(6)} s (rtt ${(r.ws.rtt * 1000).toFixed(3)} ms), http ${r.http.offset.toFixed(6)} s (rtt ${(r.http.rtt * 1000).toFixed(3)} ms), differ by ${diff.toFixed(3)} ms (bound ${bound.toFixed(3)} ms)`);
  assert.ok(diff <= Math.max(2, bound), `offsets differ by ${diff} ms, more than 2 ms and than their bound ${bound} ms`);
  assert.ok(r.ws.rtt * 1000 < 10, "loopback round trip " + r.ws.rtt);
});

test("a picture in the room; its frame report within one frame of the step change", async () => {
  await page.waitForFunction(() => window.cueroomXR.textures["media/pic.png"], null, { timeout: 10000 }); // prefetched during step 0
  const fi = await frameInterval();
  const t = await step(1);
  await waitKey("^scene:1:");
  await page.waitForFunction(() => window.cueroomXR.reports.some((r) => r.cue === "pic"));
  console.log(`frame interval ${fi.toFixed(1)} ms (headless SwiftShader on a shared 2-core machine)`);
  const px = await pixels([[0.5, 0.5], [0.5, 0.05]]);
  await shot("picture");
  assert.ok(near(px.center, [30, 70, 220], 40), "the picture's blue centre at the view's centre: " + JSON.stringify(px.center));
  assert.ok(!near(px.points[1], [30, 70, 220], 60) && !near(px.points[1], [230, 120, 30], 60), "the room around it: " + JSON.stringify(px.points[1]));
  const rep = await onset(1, "pic", t);
  assert.equal(rep.m.step, 1);
  assert.equal(rep.m.instance, t);
  assert.equal(rep.m.xr, false);
  const stats = await xr(() => ({ calls: window.cueroomXR.drawCalls, ms: window.cueroomXR.frameMs }));
  console.log(`picture scene: ${stats.calls} draw calls, ${stats.ms.toFixed(2)} ms of script+submit in the last frame (SwiftShader)`);
  assert.ok(stats.calls <= 6, "few draw calls: " + stats.calls);
});

test("a panorama opens at its yaw (90°): the view's centre shows longitude 90°, mouse look turns it", async () => {
  await page.waitForFunction(() => window.cueroomXR.textures["media/pano.png"], null, { timeout: 10000 });
  const t = await step(2);
  await waitKey("^scene:2:");
  await page.waitForFunction(() => window.cueroomXR.reports.some((r) => r.cue === "pano"));
  // The view's centre is longitude 90°, the border of two sectors: a
  // tenth of the width left of it is 79° (45..90°), right of it 101°.
  const at90 = await pixels([[0.4, 0.5], [0.6, 0.5]]);
  await shot("panorama-yaw90");
  const sector = JSON.parse(env("XR_SECTORS")); // colours of the 8 sectors from −180°
  const colourAt = (lon) => sector[Math.floor((((lon + 180) % 360 + 360) % 360) / 45)];
  assert.ok(near(at90.points[0], colourAt(79), 30), `left of centre ${at90.points[0]} is not the sector of 45..90° ${colourAt(79)}`);
  assert.ok(near(at90.points[1], colourAt(101), 30), `right of centre ${at90.points[1]} is not the sector of 90..135° ${colourAt(101)}`);
  // Turn to look at the picture's centre (longitude 0): 90° to the left.
  await xr(() => window.cueroomXR.look(-90 + 22.5, 0)); // the middle of the sector 0..45°
  await page.waitForFunction(() => true);
  const at0 = await pixels();
  assert.ok(near(at0.center, colourAt(22.5), 30), `centre ${at0.center} is not the sector of 0..45° ${colourAt(22.5)}`);
  await xr(() => window.cueroomXR.look(0, 0));
  await onset(2, "pano", t);
});

test("look messages: only on change, at most 10 a second; yaw in the picture's frame", async () => {
  const before = (await got()).length;
  // Sweep the view for 2 s, a little every frame.
  await xr(() => new Promise((ok) => {
    const t0 = performance.now();
    const f = (t) => { const k = Math.min(1, (t - t0) / 2000); window.cueroomXR.look(-30 + 60 * k, 10 * k); if (k < 1) requestAnimationFrame(f); else ok(); };
    requestAnimationFrame(f);
  }));
  // Where the sweep ended goes out within 100 ms of the last move (a
  // frame or two later on a loaded machine); then a still head sends
  // nothing: counted on the page's side.
  await page.waitForTimeout(500);
  const sent0 = await xr(() => window.cueroomXR.looks);
  await page.waitForTimeout(1000); // the scenario: a still head
  const stillLooks = (await xr(() => window.cueroomXR.looks)) - sent0;
  const looks = (await got()).slice(before).filter((g) => g.m.cmd === "look");
  // While the head moves, looks go out (as often as frames allow on this
  // machine, at most 10 a second).
  assert.ok(looks.length >= 5 && looks.length <= 23, `${looks.length} looks in a 2 s sweep`);
  for (const l of looks) assert.ok(!l.err && l.m.cue === "pano", JSON.stringify(l));
  // Where the sweep ended (30° right of the opening yaw 90°, 10° down) is
  // sent within 100 ms of the last look.
  await waitGot((g) => g.m.cmd === "look" && Math.abs(g.m.yaw_deg - (90 + 30)) <= 1 && Math.abs(g.m.pitch_deg - 10) <= 1, "the sweep's end");
  assert.equal(stillLooks, 0, `${stillLooks} looks from a still head`);
  // Rate: the page sends no two looks closer than 100 ms (≤ 10 Hz); the
  // server sees them with the jitter of the way, so it only counts.
  const sent = await xr(() => window.cueroomXR.lookTimes.slice());
  for (let i = 1; i < sent.length; i++) assert.ok(sent[i] - sent[i - 1] >= 99.5, `looks sent ${sent[i] - sent[i - 1]} ms apart`);
  const span = looks[looks.length - 1].at - looks[0].at;
  assert.ok(looks.length <= span * 10 + 2, `${looks.length} looks in ${span} s at the server`);
  console.log(`looks: ${looks.length} in a 2 s sweep, ${stillLooks} while still`);
  await xr(() => window.cueroomXR.look(0, 0));
});

test("a panorama bigger than 4096×2048 is downscaled in the browser before upload", async () => {
  await step(3);
  await waitKey("^scene:3:");
  await page.waitForFunction(() => window.cueroomXR.reports.some((r) => r.cue === "big"), null, { timeout: 20000 });
  const size = await xr(() => window.cueroomXR.textures["media/bigpano.png"]);
  console.log("big panorama:", JSON.stringify(size));
  assert.ok(size.w <= 4096 && size.h <= 2048, JSON.stringify(size));
  if (process.env.XR_BIG === "1") assert.equal(size.srcW, 8192);
});

test("text on a panel", async () => {
  await frameInterval(); // let the big panorama's upload (a long task) pass: steady state
  const t = await step(4);
  await waitKey("^scene:4:");
  await page.waitForFunction(() => window.cueroomXR.reports.some((r) => r.cue === "words"));
  await onset(4, "words", t);
  const px = await pixels();
  assert.ok(px.sd > 5, "text drawn: " + JSON.stringify(px));
  await shot("text");
});

test("video: MPEG-1 decoded in the browser onto the panel, and it plays", async () => {
  await step(5);
  await waitKey("^scene:5:");
  await page.waitForFunction(() => window.cueroomXR.reports.some((r) => r.cue === "vid"), null, { timeout: 15000 });
  const a = await pixels([[0.5, 0.5]]);
  await page.waitForTimeout(400); // the scenario: the video runs on
  const b = await pixels([[0.5, 0.5]]);
  await shot("video");
  // The clip shows its frame number as six grey bars: the panel is not
  // the room's colour, and the bars change as frames go by.
  const sig = async () => xr(async () => {
    const r = await window.cueroomXR.pixels([...Array(6).keys()].map((k) => [0.5 - 0.2 + 0.4 * (k + 0.5) / 6, 0.5]));
    return r.points.map((p) => (p[0] > 128 ? 1 : 0)).join("");
  });
  const s1 = await sig();
  await page.waitForTimeout(300);
  const s2 = await sig();
  console.log(`video bars ${s1} then ${s2}; decoded ${await xr(() => window.cueroomXR.videoFrames ? window.cueroomXR.videoFrames() : -1)} frames`);
  assert.notEqual(s1, s2, "the video does not advance");
  assert.ok(a.sd > 5 && b.sd > 5);
});

test("a file whose SHA-256 differs from the manifest's is refused and reported, never shown", async () => {
  await step(6);
  await waitKey("^scene:6:");
  await page.waitForFunction(() => window.cueroomXR.refused.some((r) => r.cue === "bad"), null, { timeout: 10000 });
  const r = await xr(() => window.cueroomXR.refused.find((x) => x.cue === "bad"));
  assert.equal(r.why, "sha256");
  const px = await pixels();
  assert.ok(!near(px.center, [30, 70, 220], 60) && !near(px.center, [230, 120, 30], 60), "the refused picture is not drawn: " + JSON.stringify(px.center));
  await page.waitForFunction(() => true);
  const rep = await waitGot((g) => g.m.cmd === "frame" && g.m.cue === "bad", "the refusal");
  assert.ok(rep && !rep.err && rep.m.refused === "sha256" && rep.m.t_session === undefined, JSON.stringify(rep));
  assert.ok(!(await xr(() => window.cueroomXR.reports.some((x) => x.cue === "bad"))), "no frame report for a refused cue");
  await shot("refused");
});

test("sound through WebAudio (verified, decoded), with the narration's subtitles", async () => {
  const t = await step(7);
  await waitKey("^scene:7:");
  await page.waitForFunction(() => window.cueroomXR.playing().sources === 1, null, { timeout: 10000 });
  const p = await xr(() => window.cueroomXR.playing());
  console.log("sound:", JSON.stringify(p));
  assert.equal(p.audio, "running");
  assert.equal(p.caption, "Listen to the tone.");
  await onset(7, "snd.t", t);
  await shot("sound");
});

test("pause: the calm screen on the very next frame; resume brings the scene back", async () => {
  await step(1);
  await waitKey("^scene:1:");
  await post("/test/step", { events: [{ kind: "command", step: 1, data: { cmd: "pause", by: "test" } }], state: { status: "paused" } });
  await waitKey("^calm:paused$");
  const s = await xr(() => window.cueroomXR.shown[window.cueroomXR.shown.length - 1]);
  assert.equal(s.frame - s.changeFrame, 1, "calm shown " + (s.frame - s.changeFrame) + " frames after the message: " + JSON.stringify(s));
  const px = await pixels();
  await shot("paused");
  assert.ok(px.center[2] >= px.center[0], "calm colours (blue-green): " + JSON.stringify(px.center));
  await post("/test/step", { events: [{ kind: "command", step: 1, data: { cmd: "resume", by: "test" } }], state: { status: "running" } });
  await waitKey("^scene:1:");
});

test("the rating scale: a mouse click on the scale answers", async () => {
  await post("/test/step", { events: [{ kind: "rating_prompt", step: 1, data: { scale: "craving", question: "How strong is your craving right now?" } }],
    state: { prompt: { scale: "craving", question: "How strong is your craving right now?", at_end: false, timeout: 60 } } });
  await page.waitForFunction(() => window.cueroomXR.ratingVisible());
  await shot("rating");
  const p = await xr(() => window.cueroomXR.screenOf("track", 0.7));
  await page.mouse.click(p.x, p.y);
  await page.waitForFunction(() => window.cueroomXR.answered !== undefined);
  const ans = await waitGot((g) => g.m.cmd === "answer", "the answer");
  assert.ok(ans && !ans.err && ans.m.scale === "craving" && Math.abs(ans.m.value - 70) <= 2, JSON.stringify(ans));
  await page.waitForFunction(() => !window.cueroomXR.ratingVisible()); // the scale goes once answered
  await post("/test/step", { events: [{ kind: "rating", step: 1, data: { scale: "craving", value: ans.m.value, answered: true } }], state: { prompt: null } });
});

test("the rating scale by gaze: holding the view on the scale answers", async () => {
  await page.goto(url + "&gaze=1");
  await page.waitForFunction(() => window.cueroomXR.sync && window.cueroomXR.key.startsWith("scene:1:"));
  await post("/test/step", { events: [{ kind: "rating_prompt", step: 1, data: { scale: "suds", question: "How distressed are you?" } }],
    state: { prompt: { scale: "suds", question: "How distressed are you?", at_end: false, timeout: 60 } } });
  await page.waitForFunction(() => window.cueroomXR.ratingVisible());
  const dir = await xr(() => window.cueroomXR.directionOf("track", 0.25));
  await xr((d) => window.cueroomXR.look(d.yaw, d.pitch), dir);
  const t0 = Date.now();
  await page.waitForFunction(() => window.cueroomXR.answered !== undefined, null, { timeout: 6000 });
  const held = Date.now() - t0;
  const ans = await waitGot((g) => g.m.cmd === "answer" && g.m.scale === "suds", "the gaze answer");
  assert.ok(ans && ans.m.scale === "suds" && Math.abs(ans.m.value - 25) <= 4, JSON.stringify(ans));
  assert.ok(held >= 1500, `answered after ${held} ms of gaze: too soon for a dwell`);
  await post("/test/step", { events: [{ kind: "rating", step: 1, data: { scale: "suds", value: ans.m.value, answered: true } }], state: { prompt: null } });
  await xr(() => window.cueroomXR.look(0, 0));
});

test("the patient's stop: the Stop button sends patient_stop, calm on the next frame", async () => {
  await page.goto(url);
  await page.waitForFunction(() => window.cueroomXR.key.startsWith("scene:1:"));
  const p = await xr(() => window.cueroomXR.screenOf("stop", 0.5));
  await page.mouse.click(p.x, p.y);
  await waitKey("^calm:stopped$");
  const s = await xr(() => window.cueroomXR.shown[window.cueroomXR.shown.length - 1]);
  assert.equal(s.frame - s.changeFrame, 1, JSON.stringify(s));
  const stop = await waitGot((g) => g.m.cmd === "patient_stop", "patient_stop");
  assert.ok(stop && !stop.err, JSON.stringify(stop));
  await shot("stopped");
  // The session answers as the engine does; the therapist resumes later.
  await post("/test/step", { events: [{ kind: "patient_stop", step: 1, data: { by: "headset", cmd: "patient_stop" } }], state: { status: "calm" } });
  await post("/test/step", { events: [{ kind: "command", step: 1, data: { cmd: "resume", by: "test" } }], state: { status: "running" } });
  await waitKey("^scene:1:");
});

test("a stale session (no message, pings unanswered) shows the calm waiting screen; it recovers", async () => {
  await post("/test/mute", { on: true });
  const t0 = Date.now();
  await waitKey("^calm:waiting$", 6000);
  const after = Date.now() - t0;
  await shot("stale");
  // 2 s without a message, judged in the next frame (a few frames late
  // on a loaded machine).
  assert.ok(after >= 1500 && after <= 5000, `stale after ${after} ms`);
  await post("/test/mute", { on: false });
  await waitKey("^scene:1:", 6000);
});

test("immersive-vr through IWER: Enter VR, frames reported as XR with head pose", async () => {
  await page.close(); // one display at a time
  const ctx = await browser.newContext({ viewport: VIEW });
  const vr = await ctx.newPage();
  const errs = [];
  vr.on("pageerror", (e) => errs.push("page error: " + e.message));
  await vr.addInitScript({ path: require.resolve("iwer/build/iwer.min.js") });
  await vr.addInitScript(() => {
    const d = new window.IWER.XRDevice(window.IWER.metaQuest3);
    d.installRuntime({ forceInstall: true });
    window.iwerDevice = d;
  });
  await vr.goto(url);
  await vr.waitForFunction(() => !document.getElementById("enter").hidden, null, { timeout: 30000 });
  await vr.waitForFunction(() => window.cueroomXR.key.startsWith("scene:"), null, { timeout: 30000 });
  await vr.click("#enter");
  await vr.waitForFunction(() => window.cueroomXR.xr === true, null, { timeout: 30000 });
  const n0 = (await got()).length;
  await step(2); // the panorama, in the headset
  await vr.waitForFunction(() => window.cueroomXR.reports.some((r) => r.cue === "pano" && r.xr), null, { timeout: 30000 });
  // Turn the emulated head 30° to the right: looks follow.
  await vr.evaluate(() => {
    const q = [0, Math.sin(-15 * Math.PI / 180), 0, Math.cos(-15 * Math.PI / 180)]; // −30° about y: to the right
    window.iwerDevice.quaternion.set(q[0], q[1], q[2], q[3]);
  });
  const last = await waitGot((g) => g.m.cmd === "look" && g.m.cue === "pano" && Math.abs(g.m.yaw_deg - (90 + 30)) <= 3, "a look 30° right of the panorama's opening yaw");
  const rep = await waitGot((g) => g.m.cmd === "frame" && g.m.cue === "pano" && g.m.xr, "the immersive frame report");
  assert.ok(rep && !rep.err && rep.m.xr === true, JSON.stringify(rep));
  const st = await vr.evaluate(() => ({ calls: window.cueroomXR.drawCalls, ms: window.cueroomXR.frameMs }));
  console.log(`immersive: look ${JSON.stringify(last.m)}; ${st.calls} draw calls (both eyes), ${st.ms.toFixed(2)} ms script+submit in the last frame`);
  if (shots) await vr.screenshot({ path: shots + "/immersive.png" });
  assert.deepEqual(errs, []);
  await ctx.close();
  page = await browser.newPage({ viewport: VIEW });
  page.on("pageerror", (e) => problems.push("page error: " + e.message));
  await page.goto(url);
  await page.waitForFunction(() => window.cueroomXR.key.startsWith("scene:"));
});

test("the session ends: the calm 'ended' screen", async () => {
  await post("/test/step", { events: [{ kind: "session_end", step: -1, data: { reason: "completed" } }], state: { status: "ended", prompt: null } });
  await waitKey("^calm:ended$");
  await shot("ended");
  assert.deepEqual(problems, []);
});
