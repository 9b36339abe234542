// The official engine.io-client against the echo server in --engineio-only mode.
// Sends text and binary messages, collects the echoes in arrival order, then closes.
// In "upgrade" mode one batch goes out right after open (polling) and a second one
// after the upgrade event (WebSocket).
// usage: node eio_client.js URL polling|websocket|upgrade [IDLE_MS]
// With IDLE_MS the client first stays idle that long (heartbeats only) before sending.
// Prints one JSON document: {sid, transports, upgraded, received, sent, closeReason}.
const { Socket } = require("engine.io-client");

const [url, mode, idleArg] = process.argv.slice(2);
const idleMs = Number(idleArg || 0);
const transports = { polling: ["polling"], websocket: ["websocket"], upgrade: ["polling", "websocket"] }[mode];
if (!transports) {
  console.log(JSON.stringify({ error: "usage: eio_client.js URL polling|websocket|upgrade" }));
  process.exit(2);
}

const socket = new Socket(url, { transports, upgrade: mode === "upgrade" });
const result = { mode, transports: [], upgraded: false, sent: [], received: [], closeReason: null };
const fail = (why) => {
  console.log(JSON.stringify({ error: why, ...result }));
  process.exit(1);
};
const timer = setTimeout(() => fail("timeout"), 15000);

// Text as strings, binary as {binary: [bytes]} so the test compares exact values.
const describe = (data) =>
  typeof data === "string" ? data : { binary: Array.from(new Uint8Array(data.buffer ? data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) : data)) };

const batch = (tag) => [
  `${tag}-text`,
  Buffer.from([1, 2, 3, 255, 0]),
  `${tag}-unicode-\u00e9\u2603`,
  new Uint8Array([30, 4, 0x1e]).buffer, // an ArrayBuffer holding the record separator byte
  `${tag}-last`,
];

let expected = 0;
const sendBatch = (tag) => {
  for (const item of batch(tag)) {
    socket.send(item);
    result.sent.push(describe(item));
    expected += 1;
  }
};

let secondSent = false;
const maybeFinish = () => {
  if (expected === 0 || result.received.length < expected) return;
  if (mode === "upgrade" && !secondSent) {
    if (!result.upgraded) return; // wait for the upgrade event
    secondSent = true;
    sendBatch("after-upgrade");
    return;
  }
  result.finalTransport = socket.transport.name;
  socket.close();
};

socket.on("open", () => {
  result.sid = socket.id;
  result.transports.push(socket.transport.name);
  setTimeout(() => sendBatch(mode === "upgrade" ? "before-upgrade" : mode), idleMs);
});
socket.on("upgrade", (transport) => {
  result.upgraded = true;
  result.transports.push(transport.name);
  maybeFinish();
});
socket.on("message", (data) => {
  result.received.push(describe(data));
  maybeFinish();
});
socket.on("ping", () => {
  result.pings = (result.pings || 0) + 1;
});
socket.on("error", (err) => fail("error: " + (err && err.message)));
socket.on("close", (reason) => {
  result.closeReason = reason;
  clearTimeout(timer);
  console.log(JSON.stringify(result));
  // Let the close reach the server (a polling close is a POST) before exiting.
  setTimeout(() => process.exit(0), 200);
});
