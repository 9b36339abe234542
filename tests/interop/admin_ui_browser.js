// The real Admin UI dashboard (@socket.io/admin-ui's ui/dist) in headless Chromium,
// against tests/socketio_core/admin/_admin_server.py.
// usage: node admin_ui_browser.js URL UI_DIST_DIR [CHROMIUM]
// Serves UI_DIST_DIR on a port of its own, connects a client "bob" to / (so
// that the dashboard selects that namespace, as it picks one among the sockets
// it is first sent), logs in through the connection dialog (admin / secret),
// connects a second client "carol" that joins a room and emits, then reads the
// Servers, Sockets, Rooms, Events and socket pages, and clicks the Sockets
// page's disconnect button for carol. Prints one JSON report;
// tests/socketio_core/admin/test_admin_ui_browser.py checks it.
const fs = require("fs");
const http = require("http");
const os = require("os");
const path = require("path");
const { chromium } = require("playwright-core");
const c = require("./sio_common");

const [url, uiDir, executable = "/usr/bin/chromium"] = process.argv.slice(2);
const STEP = 15000;
const POLL = 50;
c.watchdog(80000);

const TYPES = {
  ".html": "text/html", ".js": "application/javascript", ".css": "text/css",
  ".png": "image/png", ".svg": "image/svg+xml", ".json": "application/json",
};

function serveStatic(root) {
  const server = http.createServer((req, res) => {
    const clean = decodeURIComponent(new URL(req.url, "http://x").pathname);
    const file = path.join(root, clean === "/" ? "index.html" : clean);
    if (!file.startsWith(root) || !fs.existsSync(file) || fs.statSync(file).isDirectory()) {
      res.writeHead(404);
      res.end();
      return;
    }
    res.writeHead(200, { "Content-Type": TYPES[path.extname(file)] || "application/octet-stream" });
    fs.createReadStream(file).pipe(res);
  });
  return new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(server)));
}

// The text of every visible table row (the views left behind stay in the DOM, hidden).
async function rows(page) {
  return page.$$eval("table tbody tr", (trs) =>
    trs.filter((tr) => tr.getClientRects().length > 0).map((tr) => tr.innerText),
  );
}

async function waitForRow(page, text, present = true) {
  await page.waitForFunction(
    ([t, want]) =>
      [...document.querySelectorAll("table tbody tr")].some(
        (tr) => tr.getClientRects().length > 0 && tr.innerText.includes(t),
      ) === want,
    [text, present],
    { timeout: STEP, polling: POLL },
  );
}

async function main() {
  const ui = await serveStatic(path.resolve(uiDir));
  const uiUrl = `http://127.0.0.1:${ui.address().port}/`;
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "socketio-admin-ui-"));
  const out = { errors: [] };
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
    // The page asks for web fonts on CDNs: no network here, and none needed.
    await context.route("**/*", (route) => {
      const host = new URL(route.request().url()).hostname;
      return host === "127.0.0.1" || host === "localhost" ? route.continue() : route.abort();
    });
    const page = context.pages()[0] || (await context.newPage());
    page.on("pageerror", (err) => out.errors.push(String(err)));

    const bob = c.connect(url, "polling", "/", { auth: { name: "bob" } });
    await c.connected(bob);
    out.bobId = bob.id;

    await page.goto(uiUrl, { waitUntil: "domcontentloaded" });
    const dialog = page.locator(".v-dialog form");
    await dialog.waitFor({ timeout: STEP });
    const inputs = dialog.locator("input");
    await inputs.nth(0).fill(url);
    await inputs.nth(1).fill("admin");
    await inputs.nth(2).fill("secret");
    await dialog.locator("button[type=submit]").click();
    await page.locator(".v-dialog form").waitFor({ state: "hidden", timeout: STEP });
    out.loggedIn = true;

    // An ordinary client, seen by the dashboard.
    const user = c.connect(url, "websocket", "/", { auth: { name: "carol" } });
    await c.connected(user);
    const userId = user.id;
    out.userId = userId;
    await c.ack(user, "join", "ui-room");
    await c.ack(user, "hello", "from carol");

    await page.goto(uiUrl + "#/servers/");
    await waitForRow(page, "test-server");
    out.servers = await rows(page);

    await page.goto(uiUrl + "#/sockets/");
    await waitForRow(page, userId);
    await waitForRow(page, out.bobId);
    out.sockets = await rows(page);

    await page.goto(uiUrl + "#/rooms/");
    await waitForRow(page, "ui-room");
    out.rooms = await rows(page);

    await page.goto(uiUrl + "#/events/");
    await waitForRow(page, "hello");
    out.events = await rows(page);

    await page.goto(uiUrl + `#/n/${encodeURIComponent("/")}/sockets/${userId}`);
    await page.waitForFunction(
      (t) => document.body.innerText.includes(t), "carol", { timeout: STEP, polling: POLL },
    );
    out.socketPageShowsData = true;

    // The disconnect button of the user's row on the Sockets page.
    const gone = new Promise((resolve) => user.once("disconnect", resolve));
    await page.goto(uiUrl + "#/sockets/");
    await waitForRow(page, userId);
    await page.locator("table tbody tr:visible", { hasText: userId }).locator("button").click();
    out.userDisconnectReason = await c.withTimeout(gone, STEP, "the user's disconnect");
    // The click also reaches the row, which opens the socket's page: it says DISCONNECTED.
    await page.waitForFunction(
      () => document.body.innerText.includes("DISCONNECTED"), null, { timeout: STEP, polling: POLL },
    );
    await page.goto(uiUrl + "#/sockets/");
    await waitForRow(page, out.bobId);
    await waitForRow(page, userId, false);
    out.socketsAfterDisconnect = await rows(page);
  } catch (err) {
    out.error = String((err && err.stack) || err);
  } finally {
    if (context) await context.close().catch(() => {});
    ui.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
  c.finish(out);
}

main();
