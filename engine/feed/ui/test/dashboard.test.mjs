// Browser test of the dashboard with playwright-core driving Debian's
// Chromium, at the two screens a clinic has: a 1366×768 laptop and a
// 1024×768 tablet. Run by TestDashboardPlaywright (browser_pw_test.go),
// which serves a live session (its commands change the state as the engine
// would) and passes its URLs in the environment. The tests run in order:
// the last one ends the session.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const env = (k) => { const v = process.env[k]; if (!v) throw new Error(k + " not set: run this through go test -run Playwright ./engine/feed"); return v; };
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
  const page = await browser.newPage({ viewport: viewport || SIZES[0] });
  const problems = [];
  page.on("pageerror", (e) => problems.push("page error: " + e.message));
  page.on("console", (m) => { if (m.type() === "error") problems.push("console: " + m.text()); });
  await page.goto(u);
  await page.waitForFunction(() => document.getElementById("conn").dataset.state === "open");
  return { page, problems };
}

const charts = (page) => page.evaluate(() => window.cueroomCharts());
const shot = async (page, name) => { if (shots) await page.screenshot({ path: shots + "/" + name + ".png" }); };
const applied = (page, cmd) => page.waitForFunction((c) => document.getElementById("cmdstatus").textContent === c + ": applied", cmd, { timeout: 10000 });

// box is an element's rectangle on screen.
const box = (page, sel) => page.locator(sel).first().boundingBox();
const inViewport = (b, vp) => b && b.width > 0 && b.height > 0 && b.x >= 0 && b.y >= 0 && b.x + b.width <= vp.width + 0.5 && b.y + b.height <= vp.height + 0.5;
const overlap = (a, b) => a && b && a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;

async function waitDrawn(page) {
  await page.waitForFunction(() => {
    const c = window.cueroomCharts();
    return c.hr && c.hr.drawn && c.eda && c.eda.drawn && c.arousal && c.arousal.drawn && c.ratings.drawn && c.scrs > 0;
  }, null, { timeout: 15000 });
}

for (const vp of SIZES) {
  const tag = vp.width + "x" + vp.height;
  test(`${tag}: one screen holds vitals, Panic, controls, step, charts and patient view; alerts never cover the controls`, async () => {
    const { page, problems } = await open(url, vp);
    assert.equal(await page.textContent("#title"), "cueroom — Playwright session");
    assert.equal(await page.getAttribute("body", "data-role"), "control");
    await waitDrawn(page);
    await page.waitForFunction(() => /^\d+(\.\d+)?$/.test(document.querySelector("#v-hr .vv").textContent));
    await page.waitForFunction(() => document.getElementById("view").naturalWidth > 0);

    // Nothing scrolls: the page is exactly one screen.
    const sc = await page.evaluate(() => ({ h: document.scrollingElement.scrollHeight, w: document.scrollingElement.scrollWidth }));
    assert.ok(sc.h <= vp.height && sc.w <= vp.width, `page scrolls: ${JSON.stringify(sc)}`);
    for (const sel of ["#vitals", "#v-hr", "#v-scl", "#v-arousal", "#v-rmssd", "#panic", "#controls", "#step", "#alertbar",
      "#chart-hr canvas", "#chart-eda canvas", "#chart-arousal canvas", "#chart-ratings canvas", "#view", '[data-cmd="next"]', '[data-cmd="end"]']) {
      const b = await box(page, sel);
      assert.ok(inViewport(b, vp), `${sel} not fully on screen at ${tag}: ${JSON.stringify(b)}`);
    }
    // Large live numbers with units.
    assert.match(await page.textContent("#v-hr"), /Heart rate\s*\d+\s*bpm/);
    assert.match(await page.textContent("#v-scl"), /Skin conductance\s*\d+\.\d+\s*µS/);
    assert.match(await page.textContent("#v-arousal"), /SD from baseline/);
    assert.match(await page.textContent("#v-rmssd"), /HRV \(RMSSD\)\s*\d+\s*ms/);
    assert.equal(await page.getAttribute("#v-hr", "data-state"), "live");
    assert.ok((await page.evaluate(() => parseFloat(getComputedStyle(document.querySelector("#v-hr .vv")).fontSize))) >= 24, "HR is a large number");
    // The cue is named by its description, not its id.
    assert.match(await page.textContent("#cue"), /visual: A cold beer on the bar/);
    assert.match(await page.textContent("#ratings"), /craving 6/);
    await page.waitForFunction(() => /bitalino\s*live/.test(document.getElementById("sensors").textContent));
    assert.match(await page.textContent("#stepname"), /^2\. Bar scene/);
    assert.equal(await page.locator("#hierarchy li").count(), 3);
    assert.equal(await page.locator("#hierarchy li.current").textContent(), "Bar scene · intensity 3 · 2:00");
    await shot(page, "live-" + tag);

    // Three alerts at once, each shown; the bar is one line and the list
    // opens over the charts, not over the controls.
    await page.waitForFunction(() => document.getElementById("alertbar").dataset.level === "alarm");
    assert.match(await page.textContent("#alertcounts"), /1 alarm · 1 warning · 1 notice/);
    const bar = await box(page, "#alertbar");
    assert.ok(bar.height <= 40, "the alert bar stays one line: " + bar.height);
    await page.click("#alerttoggle");
    const list = page.locator("#alerts");
    await list.waitFor();
    assert.equal(await page.locator("#alerts .alert").count(), 3);
    assert.equal(await page.locator('#alerts .alert[data-level="alarm"]').count(), 1);
    assert.match(await page.locator('#alerts .alert[data-level="alarm"]').textContent(), /alarm.*arousal above the ceiling/);
    assert.match(await page.locator('#alerts .alert[data-level="info"]').textContent(), /notice.*No sound device/);
    assert.match(await page.locator('#alerts .alert[data-level="warning"]').textContent(), /eda: flat line/);
    const info = await page.locator('#alerts .alert[data-level="info"] .lv').evaluate((e) => getComputedStyle(e).backgroundColor);
    const alarm = await page.locator('#alerts .alert[data-level="alarm"] .lv').evaluate((e) => getComputedStyle(e).backgroundColor);
    assert.notEqual(info, alarm, "a setup notice does not look like an alarm");
    const lb = await box(page, "#alerts");
    for (const sel of ["#controls", "#panic", "#vitals", "#step", "#alertbar"]) {
      assert.ok(!overlap(lb, await box(page, sel)), `the alert list covers ${sel} at ${tag}`);
    }
    await shot(page, "alerts-" + tag);
    await page.click("#alerttoggle");
    assert.deepEqual(problems, []);
    await page.close();
  });
}

test("acknowledging an alert takes it out of the bar; the list keeps it", async () => {
  const { page, problems } = await open(url);
  await page.waitForFunction(() => document.getElementById("alertbar").dataset.level === "alarm");
  await page.click("#alerttoggle");
  await page.locator('#alerts .alert[data-level="alarm"] button').click();
  assert.equal(await page.getAttribute("#alertbar", "data-level"), "warning");
  assert.match(await page.textContent("#alertcounts"), /^1 warning · 1 notice$/);
  assert.equal(await page.locator("#alerts .alert").count(), 3);
  assert.deepEqual(problems, []);
  await page.close();
});

test("lines break at a gap in the data instead of bridging it", async () => {
  const { page, problems } = await open(url);
  await waitDrawn(page);
  await page.waitForFunction(() => window.cueroomCharts().gaps > 0 && window.cueroomCharts().eda.xmax > 70, null, { timeout: 15000 });
  const c = await charts(page);
  assert.ok(c.eda.breaks.every((n) => n > 0), "every skin conductance series is broken: " + JSON.stringify(c.eda.breaks));
  assert.ok(c.hr.breaks[0] > 0, "heart rate broken: " + JSON.stringify(c.hr.breaks));
  assert.deepEqual([...new Set([...c.eda.spanGaps, ...c.hr.spanGaps, ...c.arousal.spanGaps])], [false]);
  // On the canvas: no line colour in the middle of the gap (67–69.5 s),
  // while the same column range has it just before. uPlot redraws on an
  // animation frame: read the pixels after the next two. Only the rows
  // between the markers' labels (top 30 px: a label of a marker before
  // the gap may run across it, red for an alert, orange for a stop) and
  // the SCR triangles (bottom 14 px) are read: those are not lines.
  await page.evaluate(() => new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r))));
  const px = await page.evaluate(() => {
    const canvas = document.querySelector("#chart-eda canvas");
    const ctx = canvas.getContext("2d");
    const r = canvas.getBoundingClientRect(), k = canvas.width / r.width;
    const col = (t) => {
      const p = window.cueroomChartX("eda", t);
      const x = Math.round((p.x - r.left) * k);
      const top = Math.round((p.top - r.top + 30) * k), bottom = Math.round((p.bottom - r.top - 14) * k);
      const d = ctx.getImageData(x, top, 1, bottom - top).data;
      // The series are drawn in #dc2626 and #2563eb (antialiased: reddish,
      // bluish; the second may cover the first where they meet).
      let line = 0;
      for (let i = 0; i < d.length; i += 4) {
        const [r, g, b] = [d[i], d[i + 1], d[i + 2]];
        if ((r > g + 60 && r > b + 60) || (b > r + 60 && b > g + 60)) line++;
      }
      return line;
    };
    return { inside: col(68.25), before: col(66.2) };
  });
  assert.equal(px.inside, 0, "a line is drawn across the gap: " + JSON.stringify(px));
  assert.ok(px.before > 0, "no line before the gap: " + JSON.stringify(px));
  assert.deepEqual(problems, []);
  await page.close();
});

test("buttons follow the session: disabled when they do not apply; Next step asks for a second click", async () => {
  const { page, problems } = await open(url);
  const disabled = (sel) => page.$eval(sel, (b) => b.disabled);
  // running, step 2 of 3
  await page.waitForFunction(() => !document.querySelector('[data-cmd="pause"]').disabled);
  assert.equal(await disabled('[data-cmd="start"]'), true);
  assert.equal(await disabled('[data-cmd="resume"]'), true);
  assert.equal(await disabled('[data-cmd="next"]'), false);
  assert.equal(await disabled('[data-cmd="back"]'), false);
  assert.equal(await disabled("#panic"), false);

  // A command shows "sent, waiting" then "applied" once the ack arrives.
  await page.evaluate(() => {
    window.cmdTexts = [];
    new MutationObserver(() => window.cmdTexts.push(document.getElementById("cmdstatus").textContent))
      .observe(document.getElementById("cmdstatus"), { childList: true, subtree: true, characterData: true });
  });
  await page.click('[data-cmd="pause"]');
  await applied(page, "pause");
  assert.deepEqual([...new Set(await page.evaluate(() => window.cmdTexts))], ["pause: sent, waiting for the session…", "pause: applied"]);
  // paused: Pause and Ask do not apply, Resume does.
  await page.waitForFunction(() => document.querySelector('[data-cmd="pause"]').disabled);
  assert.equal(await disabled('[data-cmd="resume"]'), false);
  assert.equal(await disabled('[data-cmd="rate"][data-scale="craving"]'), true);
  await page.click('[data-cmd="resume"]');
  await applied(page, "resume");
  await page.waitForFunction(() => !document.querySelector('[data-cmd="rate"]').disabled);

  // The rating prompt shows the patient's marker and the time.
  await page.click('[data-cmd="rate"][data-scale="craving"]');
  await applied(page, "rate");
  await page.waitForFunction(() => !document.getElementById("prompt").hidden);
  assert.match(await page.textContent("#prompt-q"), /craving.*How strong is your craving\?/);
  assert.equal(await page.textContent("#prompt-marker"), "Marker at 40 / 100");
  assert.match(await page.textContent("#prompt-left"), /^(2[0-8]) s left$/, "the time left, from the state's prompt_remaining");

  // Noisy ECG: HR says "unreliable" instead of a number; clean, a number again.
  await page.fill("#markertext", "test:noisy");
  await page.click('[data-cmd="marker"]');
  await page.waitForFunction(() => document.querySelector("#v-hr .vv").textContent === "unreliable", null, { timeout: 5000 });
  assert.equal(await page.getAttribute("#v-hr", "data-state"), "unreliable");
  await shot(page, "unreliable-hr-1366x768");
  await page.fill("#markertext", "test:clean");
  await page.click('[data-cmd="marker"]');
  await page.waitForFunction(() => /^\d/.test(document.querySelector("#v-hr .vv").textContent), null, { timeout: 5000 });

  // Next step: the first click only arms it; nothing is sent until the second.
  await page.click('[data-cmd="next"]');
  assert.match(await page.textContent('[data-cmd="next"]'), /Confirm: Pouring \(6\)/);
  assert.match(await page.textContent("#cmdstatus"), /click again/);
  await page.click('[data-cmd="next"]');
  await applied(page, "next");
  await page.waitForFunction(() => /^3\. Pouring/.test(document.getElementById("stepname").textContent));
  // The last step: Next no longer applies.
  await page.waitForFunction(() => document.querySelector('[data-cmd="next"]').disabled);
  assert.deepEqual(problems, []);
  await page.close();
});

test("an observer sees the session but no controls, and its commands are refused", async () => {
  const { page, problems } = await open(observerURL);
  assert.equal(await page.getAttribute("body", "data-role"), "observe");
  assert.equal(await page.isVisible("#controls"), false);
  assert.equal(await page.isVisible("#panic"), false);
  assert.equal(await page.textContent("#role"), "observe only");
  await page.waitForFunction(() => { const c = window.cueroomCharts(); return c.eda && c.eda.drawn; });
  const reply = await page.evaluate(() => new Promise((resolve, reject) => {
    const ws = new WebSocket(location.origin.replace("http", "ws") + "/ws" + location.search);
    ws.onmessage = (e) => { const m = JSON.parse(e.data); if (m.type === "error") { resolve(m); ws.close(); } };
    ws.onopen = () => ws.send(JSON.stringify({ type: "command", v: 1, id: "x1", cmd: "end" }));
    ws.onerror = () => reject(new Error("socket error"));
  }));
  assert.equal(reply.code, "forbidden");
  assert.equal(reply.id, "x1");
  assert.deepEqual(problems, []);
  await page.close();
});

test("Panic: Shift+P, marked on the charts unlike a patient stop; then End: every page shows the summary, says ended and does not reconnect", async () => {
  const { page, problems } = await open(url, SIZES[1]);
  const obs = await open(observerURL, SIZES[0]);
  await waitDrawn(page);
  assert.match(await page.getAttribute("#panic", "title"), /Shift\+P/);
  await page.keyboard.press("Shift+P");
  await applied(page, "panic");
  await page.waitForFunction(() => window.cueroomCharts().markStyles.includes("panic"));
  await page.waitForFunction(() => document.getElementById("status").textContent === "calm");
  assert.equal(await page.$eval("#panic", (b) => b.disabled), true, "calm: Panic no longer applies");
  assert.equal(await page.$eval('[data-cmd="resume"]', (b) => b.disabled), false);
  // The patient's own stop, after: marked differently, and an alarm.
  await page.fill("#markertext", "test:stop");
  await page.click('[data-cmd="marker"]');
  await page.waitForFunction(() => window.cueroomCharts().markStyles.includes("stop"));
  await page.waitForFunction(() => /2 alarms/.test(document.getElementById("alertcounts").textContent));
  for (const vp of SIZES) {
    await page.setViewportSize(vp);
    await page.waitForTimeout(400); // charts re-lay out after a resize (debounced 100 ms)
    await shot(page, "panic-" + vp.width + "x" + vp.height);
  }

  // Count the sockets each page opens from now on: none after the end.
  const sockets = { page: 0, obs: 0 };
  page.on("websocket", () => sockets.page++);
  obs.page.on("websocket", () => sockets.obs++);
  await page.click('[data-cmd="end"]');
  assert.match(await page.textContent('[data-cmd="end"]'), /Confirm end/);
  await page.click('[data-cmd="end"]');
  for (const p of [page, obs.page]) {
    await p.waitForFunction(() => !document.getElementById("summary").hidden, null, { timeout: 10000 });
    await p.waitForFunction(() => document.getElementById("conn").dataset.state === "ended", null, { timeout: 10000 });
    // The last state may be drawn a moment after the summary and the close.
    await p.waitForFunction(() => document.getElementById("status").textContent === "ended", null, { timeout: 10000 });
    assert.equal(await p.textContent("#status"), "ended");
    const sum = await p.textContent("#summary");
    assert.match(sum, /Session ended \(therapist\)/);
    assert.match(sum, /Duration/);
    assert.match(sum, /Steps reached\s*3 of 3/);
    assert.match(sum, /Peak heart rate\s*\d+/);
    assert.match(sum, /Peak skin conductance\s*\d/);
    assert.match(sum, /Ratings\s*craving 6/);
    assert.match(sum, /Panics\s*1 \(at/);
    assert.match(sum, /Patient stops\s*1 \(at/);
    assert.equal(await p.textContent("#remaining"), "—", "no countdown after the end");
  }
  assert.equal(await page.$eval("#panic", (b) => b.disabled), true);
  assert.equal(await page.$eval('[data-cmd="end"]', (b) => b.disabled), true);
  for (const vp of SIZES) {
    await page.setViewportSize(vp);
    await page.waitForTimeout(300);
    await shot(page, "end-summary-" + vp.width + "x" + vp.height);
  }
  // Well past the first retry (0.5 s) and the second (1 s): still none.
  await page.waitForTimeout(2500);
  assert.deepEqual(sockets, { page: 0, obs: 0 }, "a page reconnected after the session ended");
  assert.equal(await obs.page.textContent("#conn"), "session ended — disconnected");
  assert.deepEqual(problems, []);
  assert.deepEqual(obs.problems, []);
  await page.close();
  await obs.page.close();
});
