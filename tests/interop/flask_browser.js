// The Flask seed app (examples/flask_seed) in headless Chromium, two pages at once.
// usage: node flask_browser.js URL TAG [CHROMIUM]
// Waits until both pages show "Received: Connected" over WebSocket, submits the
// "emit" form in page 1, then the broadcast form in page 1 and in page 2; then
// closes page 2 and prints one JSON line: each page's log lines, status and
// transport. It keeps page 1 open until a line arrives on stdin (or 20 s),
// so that the pytest side (tests/flask/test_seed_browser.py) can time the
// server's disconnect handler for page 2 alone, then closes everything.
const fs = require("fs");
const os = require("os");
const path = require("path");
const readline = require("readline");
const { chromium } = require("playwright-core");

const [url, tag, executable = "/usr/bin/chromium"] = process.argv.slice(2);
const STEP = 15000;
const POLL = 25; // timer polling: requestAnimationFrame is throttled in background tabs

async function logLines(page) {
  return page.$$eval("#log .received", (lines) => lines.map((l) => l.textContent));
}

async function waitForLine(page, text) {
  await page.waitForFunction(
    (t) => [...document.querySelectorAll("#log .received")].some((l) => l.textContent === t),
    text, { timeout: STEP, polling: POLL },
  );
}

async function submit(page, form, text) {
  await page.bringToFront(); // clicks wait for animation frames, which only the front tab gets
  await page.fill(`#${form}_data`, text);
  await page.click(`#${form} input[type=submit]`);
}

function waitForStdin(ms) {
  return new Promise((resolve) => {
    const rl = readline.createInterface({ input: process.stdin });
    const timer = setTimeout(() => { rl.close(); resolve(); }, ms);
    rl.once("line", () => { clearTimeout(timer); rl.close(); resolve(); });
    rl.once("close", () => { clearTimeout(timer); resolve(); });
  });
}

async function main() {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "socketio-chromium-"));
  const errors = [];
  const failed = [];
  let context;
  try {
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
      p.waitForFunction(() => document.getElementById("transport").textContent === "websocket",
        null, { timeout: STEP, polling: POLL })));

    const echo = `echo-${tag}`;
    const bcast1 = `bcast1-${tag}`;
    const bcast2 = `bcast2-${tag}`;
    await submit(pages[0], "emit", echo);
    await waitForLine(pages[0], `Received: ${echo}`);
    // Sent after the echo: once page 2 has it, a misrouted echo would be there too.
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
    await pages[1].close();
    console.log(JSON.stringify({ pages: report, errors, failed, closed: "page 2" }));
    await waitForStdin(20000);
  } catch (e) {
    console.log(JSON.stringify({ error: String(e && e.stack || e), errors, failed }));
  } finally {
    if (context) await context.close().catch(() => {});
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0));
