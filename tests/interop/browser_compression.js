// Headless Chromium (which always offers permessage-deflate) against a server with
// --websocket-compression: the demo page's own copy of the official client joins
// "/" over WebSocket, exchanges small and large messages both ways, text and
// binary, and reports what the browser negotiated.
// usage: node browser_compression.js URL CHROMIUM
const { launchPages } = require("./browser_common");

const [url, executable] = process.argv.slice(2);

async function main() {
  const { pages, errors, failed, close } = await launchPages(executable, 1);
  try {
    const page = pages[0];
    await page.goto(url + "/", { waitUntil: "load" });
    const result = await page.evaluate(async (base) => {
      const socket = io(base + "/", { transports: ["websocket"], forceNew: true, reconnection: false });
      const once = (event) => new Promise((resolve) => socket.once(event, (...args) => resolve(args)));
      const ack = (...args) => new Promise((resolve) => socket.emit(...args, (...answer) => resolve(answer)));
      await once("auth");
      const out = { extensions: socket.io.engine.transport.ws.extensions };
      out.small = (await ack("echo_ack", "small"))[0];
      // Large and compressible: JSON-ish rows with a counter (about 550 KB).
      const big = Array.from({ length: 20000 }, (_, i) => `{"row":${i},"name":"item"}`).join(",");
      const bytes = new Uint8Array(300000).map((_, i) => "abcdefgh".charCodeAt(i % 8));
      const [text, buf] = await ack("echo_ack", big, bytes);
      out.bigOk = text === big;
      const back = new Uint8Array(buf);
      out.blobOk = back.length === bytes.length && back.every((b, i) => b === bytes[i]);
      // A burst of medium messages: the compression context carries over between them.
      const n = 40;
      const got = [];
      const done = new Promise((resolve) => socket.on("echo", (i, payload) => {
        got.push(payload === big.slice(i, 3000 + i));
        if (got.length === n) resolve();
      }));
      for (let i = 0; i < n; i++) socket.emit("echo", i, big.slice(i, 3000 + i));
      await done;
      out.burstOk = got.every(Boolean) && got.length === n;
      out.transport = socket.io.engine.transport.name;
      socket.close();
      return out;
    }, url);
    console.log(JSON.stringify({ ...result, errors, failed }));
  } finally {
    await close();
  }
}

main().catch((e) => { console.log(JSON.stringify({ error: String(e && e.stack || e) })); process.exit(1); });
