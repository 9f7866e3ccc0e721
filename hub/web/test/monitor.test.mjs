// Browser test of the hub's monitor page with playwright-core (the copy in
// engine/feed/ui/node_modules, passed as PLAYWRIGHT) driving Debian's
// Chromium. Run by TestMonitorPlaywright (hub/browser_pw_test.go), which
// starts a hub with two stations and passes the monitor's URLs.
import { test, before, after } from "node:test";
import assert from "node:assert/strict";

const env = (k) => { const v = process.env[k]; if (!v) throw new Error(k + " not set: run this through go test -run Playwright ./hub"); return v; };
const url = env("MONITOR_URL"), observerURL = env("MONITOR_OBSERVER_URL");
const { chromium } = await import(env("PLAYWRIGHT"));
const shots = process.env.MONITOR_SHOTS || "";

let browser;
before(async () => {
  browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
  });
});
after(async () => { if (browser) await browser.close(); });

async function open(u) {
  const page = await browser.newPage({ viewport: { width: 1366, height: 768 } });
  const problems = [];
  page.on("pageerror", (e) => problems.push("page error: " + e.message));
  page.on("console", (m) => { if (m.type() === "error") problems.push("console: " + m.text()); });
  await page.goto(u);
  await page.waitForFunction(() => document.getElementById("conn").dataset.state === "open");
  return { page, problems };
}

test("one tile per station, with vitals, step, time left and alerts", async () => {
  const { page, problems } = await open(url);
  await page.waitForFunction(() => document.querySelectorAll(".tile").length === 2);
  const room1 = page.locator('.tile[data-key="clinic/room1"]');
  await page.waitForFunction(() => {
    const t = document.querySelector('.tile[data-key="clinic/room1"]');
    // The vitals, the state (polled by the station) and the alert arrive
    // separately: wait for all of them.
    return t && t.dataset.conn === "live" && t.querySelector(".hr .vv").textContent === "72" &&
      t.querySelector(".stepname").textContent !== "" && t.querySelector(".alerts li") !== null;
  });
  assert.equal(await room1.locator(".scl .vv").textContent(), "5.25");
  assert.equal(await room1.locator(".arousal .vv").textContent(), "1.5");
  assert.match(await room1.locator(".stepname").textContent(), /Bar scene \(3\/8\)/);
  assert.match(await room1.locator(".left").textContent(), /1:36 left/);
  assert.equal(await room1.locator(".alerts li").first().textContent(), "Arousal above the ceiling");
  assert.equal(await room1.getAttribute("data-alarm"), "true");
  assert.equal(await page.locator("#role").textContent(), "control");
  if (shots) await page.screenshot({ path: shots + "/monitor.png" });
  assert.deepEqual(problems, []);
  await page.close();
});

test("control sends a command to the station and shows its answer", async () => {
  const { page, problems } = await open(url);
  await page.waitForFunction(() => document.querySelectorAll(".tile").length === 2);
  const room1 = page.locator('.tile[data-key="clinic/room1"]');
  await room1.locator('button[data-cmd="pause"]').click();
  await page.waitForFunction(() => document.querySelector('.tile[data-key="clinic/room1"] .ack').textContent === "applied");
  assert.deepEqual(problems, []);
  await page.close();
});

test("a tile opens its station's dashboard, relayed by the hub", async () => {
  const { page, problems } = await open(url);
  const link = page.locator('.tile[data-key="clinic/room1"] a.open');
  await link.waitFor({ state: "visible" });
  assert.equal(await page.locator('.tile[data-key="clinic/room2"] a.open').isHidden(), true, "room2 offers none");
  const href = await link.getAttribute("href");
  const dash = await browser.newPage();
  await dash.goto(new URL(href, url).toString());
  assert.match(await dash.content(), /role=control/);
  await dash.close();
  assert.deepEqual(problems, []);
  await page.close();
});

test("an observer sees the tiles and no controls", async () => {
  const { page, problems } = await open(observerURL);
  await page.waitForFunction(() => document.querySelectorAll(".tile").length === 2);
  assert.equal(await page.locator("#role").textContent(), "observer");
  assert.equal(await page.locator(".tile .ctl:not([hidden])").count(), 0);
  const href = await page.locator('.tile[data-key="clinic/room1"] a.open').getAttribute("href");
  const dash = await browser.newPage();
  await dash.goto(new URL(href, observerURL).toString());
  assert.match(await dash.content(), /role=observe/, "an observer gets the station's observer view");
  await dash.close();
  assert.deepEqual(problems, []);
  await page.close();
});

test("a station that went away turns stale", async () => {
  const { page } = await open(url);
  await page.waitForFunction(() => {
    const t = document.querySelector('.tile[data-key="clinic/room2"]');
    return t && (t.dataset.conn === "stale" || t.dataset.conn === "offline");
  }, null, { timeout: 15000 });
  await page.close();
});
