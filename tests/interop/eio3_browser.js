// socket.io-client 2.x in headless Chromium: the two polling flavours a browser has and Node
// does not (tests/integration/test_eio3_interop.py::test_browser_*).
// usage: node eio3_browser.js URL [CHROMIUM]
//   xhr2  polling with a binary-capable XMLHttpRequest: payloads holding binary travel in the
//         binary payload format both ways (POSTs as application/octet-stream)
//   jsonp forceJSONP: <script> polling and form POSTs, binary as base64
// Prints one JSON document: {xhr2: {...}, jsonp: {...}, requests: [...], errors: [...]}.
const fs = require("fs");
const os = require("os");
const path = require("path");
const { chromium } = require("playwright-core");

const [url, executable = "/usr/bin/chromium"] = process.argv.slice(2);
const CLIENT = path.join(__dirname, "node_modules", "socket.io-client-v2", "dist", "socket.io.js");

// Runs in the page: one polling-only client, binary and text both ways.
async function scenario(opts) {
  const hex = (b) => Array.from(new Uint8Array(b)).map((x) => x.toString(16).padStart(2, "0")).join("");
  const timeout = (ms, what) => new Promise((_, reject) => setTimeout(() => reject(new Error("timed out: " + what)), ms));
  const socket = window.io(location.origin, { forceNew: true, reconnection: false, transports: ["polling"], ...opts });
  const connected = new Promise((resolve, reject) => {
    socket.once("connect", resolve);
    socket.once("connect_error", (e) => reject(new Error("connect_error " + e)));
  });
  const auth = new Promise((resolve) => socket.once("auth", resolve));
  await Promise.race([connected, timeout(8000, "connect")]);
  const authValue = await Promise.race([auth, timeout(8000, "auth")]);
  const back = new Promise((resolve) => socket.once("message-back", (...a) => resolve(a)));
  socket.emit("message", new Uint8Array([1, 2, 3]).buffer, "t\u00e9xt\u2028", { n: new Uint8Array([255, 0]).buffer });
  const messageBack = await Promise.race([back, timeout(8000, "message-back")]);
  const acked = await Promise.race([
    new Promise((resolve) => socket.emit("message-with-ack", new Uint8Array([9]).buffer, (...a) => resolve(a))),
    timeout(8000, "ack"),
  ]);
  const transport = socket.io.engine.transport;
  const result = {
    auth: authValue,
    id_is_engine_id: socket.id === socket.io.engine.id,
    message_back: [hex(messageBack[0]), messageBack[1], hex(messageBack[2].n)],
    ack: [hex(acked[0])],
    transport: transport.name,
    jsonp: transport.query && transport.query.j !== undefined,
    supports_binary: transport.supportsBinary,
  };
  socket.disconnect();
  return result;
}

async function main() {
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), "socketio-chromium-"));
  const errors = [];
  const requests = [];
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
    const page = context.pages()[0] || (await context.newPage());
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("request", (r) => {
      const u = new URL(r.url());
      if (u.pathname.startsWith("/socket.io/")) {
        requests.push({
          method: r.method(),
          jsonp: u.searchParams.has("j"),
          b64: u.searchParams.has("b64"),
          content_type: r.headers()["content-type"] || null,
        });
      }
    });
    const responses = [];
    page.on("response", (r) => {
      const u = new URL(r.url());
      if (u.pathname.startsWith("/socket.io/") && r.request().method() === "GET") {
        responses.push({ jsonp: u.searchParams.has("j"), status: r.status(), content_type: r.headers()["content-type"] });
      }
    });
    // Any page of the server's origin will do: the client is injected, so no CORS is involved.
    await page.goto(url + "/blank", { timeout: 15000 });
    await page.addScriptTag({ path: CLIENT });
    const xhr2 = await page.evaluate(scenario, { query: { token: "xhr2" } });
    const jsonp = await page.evaluate(scenario, { query: { token: "jsonp" }, forceJSONP: true });
    console.log(JSON.stringify({ xhr2, jsonp, requests, responses, errors })
      .replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029"));
  } catch (e) {
    console.log(JSON.stringify({ error: String(e && e.stack || e), requests, errors }));
  } finally {
    if (context) await context.close().catch(() => {});
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}

main().then(() => process.exit(0));
