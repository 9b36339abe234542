// The echo server's demo page (GET /) in headless Chromium, two pages at once.
// usage: node browser_demo.js URL TAG [CHROMIUM]
// Waits until both pages show "Connected", submits the "emit" form in page 1,
// then the broadcast form in page 1 and in page 2, and reports each page's log
// lines (`#log .received`), status and transport. The pytest side
// (tests/integration/test_browser_demo.py) checks who received what.
const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require("playwright-core");

const [url, tag, executable = "/usr/bin/chromium"] = process.argv.slice(2);
const STEP = 15000;
// Poll on a timer: the default (requestAnimationFrame) is throttled in background pages.
const POLL = 25;

async function logLines(page) {
  return page.$$eval("#log .received", (lines) => lines.map((l) => l.textContent));
}

async function waitForLine(page, text) {
  await page.waitForFunction(
    (t) => [...document.querySelectorAll("#log .received")].some((l) => l.textContent === t),
    text,
    { timeout: STEP, polling: POLL },
  );
}

async function submit(page, form, text) {
  // Playwright's click waits for animation frames, which a tab in the
  // background only gets about once a second: act on the front tab.
  await page.bringToFront();
  await page.fill(`#${form}_data`, text);
  await page.click(`#${form} input[type=submit]`);
}

async function main() {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "socketio-chromium-"));
  const errors = [];
  const failed = [];
  let context;
  try {
    // launchPersistentContext is how Playwright takes a --user-data-dir.
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: executable,
      headless: true,
      timeout: 30000,
      args: [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
      ],
    });
    const pages = [context.pages()[0] || (await context.newPage()), await context.newPage()];
    pages.forEach((page, i) => {
      page.on("pageerror", (e) => errors.push(`page ${i + 1}: ${e.message}`));
      page.on("console", (m) => {
        // Failed loads are reported with their URL below.
        if (m.type() === "error" && !m.text().startsWith("Failed to load resource")) {
          errors.push(`page ${i + 1} console: ${m.text()}`);
        }
      });
      page.on("response", (r) => { if (r.status() >= 400) failed.push(`${r.status()} ${new URL(r.url()).pathname}`); });
      page.on("requestfailed", (r) => failed.push(`failed ${new URL(r.url()).pathname}`));
    });
    await Promise.all(pages.map((p) => p.goto(url + "/", { timeout: STEP })));
    await Promise.all(pages.map((p) => waitForLine(p, "Received: Connected")));
    await Promise.all(pages.map((p) =>
      p.waitForFunction(() => document.getElementById("status").textContent === "connected", null, { timeout: STEP, polling: POLL })));
    // The browser client upgrades to WebSocket on its own.
    await Promise.all(pages.map((p) =>
      p.waitForFunction(() => document.getElementById("transport").textContent === "websocket", null, { timeout: STEP, polling: POLL })));

    const echo = `echo-${tag}`;
    const bcast1 = `bcast1-${tag}`;
    const bcast2 = `bcast2-${tag}`;
    await submit(pages[0], "emit", echo);
    await waitForLine(pages[0], `Received: ${echo}`);
    // Sent after the echo by the server: once page 2 has it, a misrouted echo
    // would already be in page 2's log.
    await submit(pages[0], "broadcast", bcast1);
    await Promise.all(pages.map((p) => waitForLine(p, `Received: ${bcast1}`)));
    await submit(pages[1], "broadcast", bcast2);
    await Promise.all(pages.map((p) => waitForLine(p, `Received: ${bcast2}`)));

    const report = [];
    for (const page of pages) {
      report.push({
        log: await logLines(page),
        status: await page.textContent("#status"),
        transport: await page.textContent("#transport"),
      });
    }
    console.log(JSON.stringify({ pages: report, errors, failed }));
  } catch (e) {
    console.log(JSON.stringify({ error: String(e && e.stack || e), errors, failed }));
  } finally {
    if (context) await context.close().catch(() => {});
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0));
