// Browser test of the dashboard with playwright-core driving Debian's
// Chromium. Run by TestDashboardPlaywright (browser_pw_test.go), which serves
// a live synthetic session and passes its URLs in the environment.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";
import { chromium } from "playwright-core";

const env = (k) => { const v = process.env[k]; if (!v) throw new Error(k + " not set: run this through go test -run Playwright ./engine/feed"); return v; };
const url = env("FEED_URL"), observerURL = env("FEED_OBSERVER_URL");
const shots = process.env.FEED_SHOTS || "";

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
});
after(async () => { if (browser) await browser.close(); });

async function open(u) {
  const page = await browser.newPage({ viewport: { width: 1400, height: 1000 } });
  const problems = [];
  page.on("pageerror", (e) => problems.push("page error: " + e.message));
  page.on("console", (m) => { if (m.type() === "error") problems.push("console: " + m.text()); });
  await page.goto(u);
  await page.waitForFunction(() => document.getElementById("conn").dataset.state === "open");
  return { page, problems };
}

const charts = (page) => page.evaluate(() => window.cueroomCharts());

test("the page loads, charts move, the patient view and alerts appear, a command round-trips", async () => {
  const { page, problems } = await open(url);
  assert.equal(await page.textContent("#title"), "cueroom — Playwright session");
  assert.equal(await page.getAttribute("body", "data-role"), "control");

  // Charts: every series arrives and the time axis moves on.
  await page.waitForFunction(() => {
    const c = window.cueroomCharts();
    return c.hr && c.hr.drawn && c.eda && c.eda.drawn && c.arousal && c.arousal.drawn && c.ratings.drawn && c.scrs > 0;
  }, null, { timeout: 10000 });
  const a = await charts(page);
  assert.deepEqual(a.hr.series, ["physio hr"]);
  assert.deepEqual(a.eda.series, ["bitalino eda", "physio scl"]);
  assert.deepEqual(a.arousal.series, ["physio arousal"]);
  assert.ok(a.marks >= 2, "step and cue marks: " + a.marks);
  await page.waitForFunction((x) => window.cueroomCharts().eda.xmax > x + 0.5, a.eda.xmax, { timeout: 10000 });
  const b = await charts(page);
  assert.ok(b.eda.plotted > 0 && b.hr.plotted > 0);
  assert.equal(await page.locator("#chart-eda canvas").count(), 1);
  assert.equal(await page.locator(".uplot").count(), 4);

  // Patient view: a decodable JPEG.
  await page.waitForFunction(() => { const i = document.getElementById("view"); return i.src.startsWith("data:image/jpeg") && i.complete && i.naturalWidth > 0; });

  // State, hierarchy, cue, rating, sensors.
  await page.waitForFunction(() => document.getElementById("stepname").textContent.startsWith("2. Bar scene"));
  assert.equal(await page.locator("#hierarchy li").count(), 3);
  assert.equal(await page.locator("#hierarchy li.current").textContent(), "Bar scene · intensity 3 · 2:00");
  assert.equal(await page.locator("#hierarchy li.done").count(), 1);
  assert.match(await page.textContent("#cue"), /visual: beer\.jpg/);
  assert.match(await page.textContent("#ratings"), /craving 6/);
  await page.waitForFunction(() => /bitalino\s*live/.test(document.getElementById("sensors").textContent));

  // The alert cannot be missed: a banner on top, until acknowledged.
  const banner = page.locator("#alerts .alert").first();
  await banner.waitFor();
  assert.match(await banner.textContent(), /arousal above the ceiling \(arousal\) — limit 2\.5/);

  if (shots) await page.screenshot({ path: shots + "/dashboard.png", fullPage: true });
  await banner.locator("button").click();
  assert.equal(await page.locator("#alerts .alert").count(), 0);

  // A command shows "sent, waiting" then "applied" once the ack arrives.
  await page.evaluate(() => {
    window.cmdTexts = [];
    new MutationObserver(() => window.cmdTexts.push(document.getElementById("cmdstatus").textContent))
      .observe(document.getElementById("cmdstatus"), { childList: true, subtree: true, characterData: true });
  });
  await page.click('[data-cmd="pause"]');
  await page.waitForFunction(() => document.getElementById("cmdstatus").textContent === "pause: applied", null, { timeout: 10000 });
  assert.deepEqual([...new Set(await page.evaluate(() => window.cmdTexts))], ["pause: sent, waiting for the session…", "pause: applied"]);
  await page.click('[data-cmd="rate"][data-scale="suds"]');
  await page.waitForFunction(() => document.getElementById("cmdstatus").textContent === "rate: applied");

  assert.deepEqual(problems, []);
  await page.close();
});

test("an observer sees the session but no controls", async () => {
  const { page, problems } = await open(observerURL);
  assert.equal(await page.getAttribute("body", "data-role"), "observe");
  assert.equal(await page.isVisible("#controls"), false);
  assert.equal(await page.textContent("#role"), "observe only");
  await page.waitForFunction(() => { const c = window.cueroomCharts(); return c.eda && c.eda.drawn; });
  // Even a hand-made command is refused by the server.
  const reply = await page.evaluate(() => new Promise((resolve, reject) => {
    const ws = new WebSocket(location.origin.replace("http", "ws") + "/ws" + location.search);
    ws.onmessage = (e) => { const m = JSON.parse(e.data); if (m.type === "error") { resolve(m); ws.close(); } };
    ws.onopen = () => ws.send(JSON.stringify({ type: "command", v: 1, id: "x1", cmd: "end" }));
    ws.onerror = () => reject(new Error("socket error"));
  }));
  assert.equal(reply.code, "forbidden");
  assert.equal(reply.id, "x1");
  if (shots) await page.screenshot({ path: shots + "/observer.png", fullPage: true });
  assert.deepEqual(problems, []);
  await page.close();
});
