// Browser test of the dashboard against the real engine: `cueroom run
// --hold` with the built-in demo protocol and a simulated BITalino, started
// by TestDashboardPlaywrightEngine (engine_pw_test.go), which passes its
// URLs in the environment. At 1366×768 and 1024×768: one screen, vitals
// from the real physiology, buttons by the real state, Panic by keyboard,
// End with every page showing the summary and not reconnecting.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const env = (k) => { const v = process.env[k]; if (!v) throw new Error(k + " not set: run this through go test -run PlaywrightEngine ./engine/feed"); return v; };
const url = env("FEED_URL"), observerURL = env("FEED_OBSERVER_URL");
const shots = process.env.FEED_SHOTS || "";
const SIZES = [{ width: 1366, height: 768 }, { width: 1024, height: 768 }];

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
});
after(async () => { if (browser) await browser.close(); });

async function open(u, viewport) {
  const page = await browser.newPage({ viewport });
  const problems = [];
  page.on("pageerror", (e) => problems.push("page error: " + e.message));
  page.on("console", (m) => { if (m.type() === "error") problems.push("console: " + m.text()); });
  await page.goto(u);
  await page.waitForFunction(() => document.getElementById("conn").dataset.state === "open");
  return { page, problems };
}

const shot = async (page, name) => { if (shots) await page.screenshot({ path: shots + "/engine-" + name + ".png" }); };
const applied = (page, cmd) => page.waitForFunction((c) => document.getElementById("cmdstatus").textContent === c + ": applied", cmd, { timeout: 15000 });
const box = (page, sel) => page.locator(sel).first().boundingBox();
const inViewport = (b, vp) => b && b.width > 0 && b.height > 0 && b.x >= 0 && b.y >= 0 && b.x + b.width <= vp.width + 0.5 && b.y + b.height <= vp.height + 0.5;
const overlap = (a, b) => a && b && a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
const disabled = (page, sel) => page.$eval(sel, (b) => b.disabled);

async function checkLayout(page, vp) {
  const sc = await page.evaluate(() => ({ h: document.scrollingElement.scrollHeight, w: document.scrollingElement.scrollWidth }));
  assert.ok(sc.h <= vp.height && sc.w <= vp.width, `page scrolls at ${vp.width}x${vp.height}: ${JSON.stringify(sc)}`);
  for (const sel of ["#vitals", "#v-hr", "#v-scl", "#v-arousal", "#panic", "#controls", "#step", "#alertbar", "#view", '[data-cmd="next"]', '[data-cmd="end"]']) {
    assert.ok(inViewport(await box(page, sel), vp), `${sel} not on screen at ${vp.width}x${vp.height}`);
  }
  const bar = await box(page, "#alertbar");
  for (const sel of ["#controls", "#panic"]) assert.ok(!overlap(bar, await box(page, sel)), "the alert bar covers " + sel);
}

test("the real engine: held, started, vitals, Panic by keyboard, End on every page", async () => {
  const { page, problems } = await open(url, SIZES[0]);
  const obs = await open(observerURL, SIZES[1]);

  // Held for the therapist: only Start, End and a marker apply.
  await page.waitForFunction(() => document.getElementById("status").textContent === "ready", null, { timeout: 15000 });
  for (const [sel, want] of [['[data-cmd="start"]', false], ['[data-cmd="pause"]', true], ['[data-cmd="resume"]', true],
    ['[data-cmd="next"]', true], ['[data-cmd="back"]', true], ['[data-cmd="rate"]', true], ['[data-cmd="end"]', false]]) {
    assert.equal(await disabled(page, sel), want, `${sel} disabled=${!want} while ready`);
  }
  await page.click('[data-cmd="start"]');
  await applied(page, "start");
  await page.waitForFunction(() => document.getElementById("status").textContent === "running", null, { timeout: 15000 });
  await page.waitForFunction(() => !document.querySelector('[data-cmd="pause"]').disabled);
  assert.equal(await disabled(page, '[data-cmd="start"]'), true);
  assert.equal(await disabled(page, '[data-cmd="back"]'), true, "no step to back off to in the baseline");

  // The real physiology: heart rate and skin conductance as large numbers.
  await page.waitForFunction(() => /^\d+$/.test(document.querySelector("#v-hr .vv").textContent), null, { timeout: 30000 });
  await page.waitForFunction(() => /^\d+\.\d\d$/.test(document.querySelector("#v-scl .vv").textContent), null, { timeout: 30000 });
  // The baseline (15 s) ends: arousal against it.
  await page.waitForFunction(() => /^[+−]?\d+\.\d$/.test(document.querySelector("#v-arousal .vv").textContent), null, { timeout: 40000 });
  for (const vp of SIZES) {
    await page.setViewportSize(vp);
    await page.waitForTimeout(400); // the charts re-lay out (debounced)
    await checkLayout(page, vp);
    await shot(page, "live-" + vp.width + "x" + vp.height);
  }
  // A cue is named, not shown by its id.
  await page.waitForFunction(() => document.getElementById("cue").textContent !== "—", null, { timeout: 15000 });
  assert.doesNotMatch(await page.textContent("#cue"), /\.c\d\b/);

  // Panic from the keyboard: calm, marked on the charts as the therapist's.
  await page.keyboard.press("Shift+P");
  await applied(page, "panic");
  await page.waitForFunction(() => document.getElementById("status").textContent === "calm", null, { timeout: 10000 });
  await page.waitForFunction(() => window.cueroomCharts().markStyles.includes("panic"), null, { timeout: 10000 });
  assert.equal(await disabled(page, "#panic"), true);
  assert.equal(await disabled(page, '[data-cmd="resume"]'), false);
  for (const vp of SIZES) {
    await page.setViewportSize(vp);
    await page.waitForTimeout(400);
    await checkLayout(page, vp);
    await shot(page, "panic-" + vp.width + "x" + vp.height);
  }

  // End: the sender's ack, then every page shows the summary and "ended"
  // and opens no new socket.
  const sockets = { page: 0, obs: 0 };
  page.on("websocket", () => sockets.page++);
  obs.page.on("websocket", () => sockets.obs++);
  await page.click('[data-cmd="end"]');
  await page.click('[data-cmd="end"]');
  await applied(page, "end");
  for (const p of [page, obs.page]) {
    await p.waitForFunction(() => !document.getElementById("summary").hidden, null, { timeout: 20000 });
    await p.waitForFunction(() => document.getElementById("conn").dataset.state === "ended", null, { timeout: 20000 });
    assert.equal(await p.textContent("#status"), "ended");
    const sum = await p.textContent("#summary");
    assert.match(sum, /Session ended/);
    assert.match(sum, /Peak heart rate\s*\d+/);
    assert.match(sum, /Panics\s*1 \(at/);
    assert.doesNotMatch(sum, /server sent no summary/);
  }
  for (const vp of SIZES) {
    await page.setViewportSize(vp);
    await page.waitForTimeout(300);
    await shot(page, "end-summary-" + vp.width + "x" + vp.height);
  }
  await page.waitForTimeout(2500); // past the first retries a page that reconnects would make
  assert.deepEqual(sockets, { page: 0, obs: 0 }, "a page reconnected after the session ended");
  assert.deepEqual(problems, []);
  assert.deepEqual(obs.problems, []);
  await page.close();
  await obs.page.close();
});
