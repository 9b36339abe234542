// Headless Chromium for the two-page demo tests (the echo demo and the Flask seed
// app): launch with a fresh profile, watch pages for errors and failed loads, and
// the page actions both tests use. Pages follow the demo's markup: forms #emit and
// #broadcast with #<form>_data inputs, log lines `#log .received`.
const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require("playwright-core");

const STEP = 15000;
// Poll on a timer: the default (requestAnimationFrame) is throttled in background pages.
const POLL = 25;

// Flags for Chromium on these machines (no network beyond loopback, no GPU, root).
const ARGS = [
  "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
  "--disable-background-networking", "--disable-component-update", "--disable-sync",
];

// A persistent context on a fresh --user-data-dir (launchPersistentContext is how
// Playwright takes one) with `count` pages; `errors` and `failed` collect page
// errors, console errors and failed loads; `close()` removes the profile too.
async function launchPages(executable, count) {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "socketio-chromium-"));
  const errors = [];
  const failed = [];
  let context = null;
  const close = async () => {
    if (context) await context.close().catch(() => {});
    fs.rmSync(userDataDir, { recursive: true, force: true });
  };
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: executable, headless: true, timeout: 30000, args: ARGS,
    });
    const pages = [context.pages()[0] || (await context.newPage())];
    while (pages.length < count) pages.push(await context.newPage());
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
    return { pages, errors, failed, close };
  } catch (e) {
    await close();
    throw e;
  }
}

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

module.exports = { STEP, POLL, launchPages, logLines, waitForLine, submit };
