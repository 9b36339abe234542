// The echo server's demo page (GET /) in headless Chromium, two pages at once.
// usage: node browser_demo.js URL TAG [CHROMIUM]
// Waits until both pages show "Connected", submits the "emit" form in page 1,
// then the broadcast form in page 1 and in page 2, and reports each page's log
// lines (`#log .received`), status and transport. The pytest side
// (tests/integration/test_browser_demo.py) checks who received what.
const { STEP, POLL, launchPages, logLines, waitForLine, submit } = require("./browser_common");

const [url, tag, executable = "/usr/bin/chromium"] = process.argv.slice(2);

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
    if (browser) await browser.close();
  }
}

main().then(() => process.exit(0));
