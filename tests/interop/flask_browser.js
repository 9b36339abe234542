// The Flask seed app (examples/flask_seed) in headless Chromium, two pages at once.
// usage: node flask_browser.js URL TAG [CHROMIUM]
// Waits until both pages show "Received: Connected" over WebSocket, submits the
// "emit" form in page 1, then the broadcast form in page 1 and in page 2; then
// closes page 2 and prints one JSON line: each page's log lines, status and
// transport. It keeps page 1 open until a line arrives on stdin (or 20 s),
// so that the pytest side (tests/socketio_core/flask/test_seed_browser.py) can time the
// server's disconnect handler for page 2 alone, then closes everything.
const readline = require("readline");
const { STEP, POLL, launchPages, logLines, waitForLine, submit } = require("./browser_common");

const [url, tag, executable = "/usr/bin/chromium"] = process.argv.slice(2);

function waitForStdin(ms) {
  return new Promise((resolve) => {
    const rl = readline.createInterface({ input: process.stdin });
    const timer = setTimeout(() => { rl.close(); resolve(); }, ms);
    rl.once("line", () => { clearTimeout(timer); rl.close(); resolve(); });
    rl.once("close", () => { clearTimeout(timer); resolve(); });
  });
}

async function main() {
  let browser = null;
  let errors = [];
  let failed = [];
  try {
    browser = await launchPages(executable, 2);
    ({ errors, failed } = browser);
    const { pages } = browser;
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
    if (browser) await browser.close();
  }
}

main().then(() => process.exit(0));
