// The official socket.io-client with the npm socket.io-msgpack-parser against
// our server's msgpack parser (tests/integration/_msgpack_server.py, the echo
// handlers of shared/ECHO_SERVER.md).
// usage: node msgpack_client.js URL polling|websocket|default
// Prints {scenario: observations} (see sio_common.js); the expectations live in
// tests/integration/test_msgpack_interop.py.
const c = require("./sio_common");
const parser = require("socket.io-msgpack-parser");

const [url, mode] = process.argv.slice(2);
c.watchdog(30000);
const tag = Math.random().toString(36).slice(2, 10);
const B = (...bytes) => Buffer.from(bytes);
// 100 kB with every byte value, in a pattern a truncation or shift would break.
const big = Buffer.alloc(100000, 0);
for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 8)) & 0xff;

const connect = (nsp, extra) => c.connect(url, mode, nsp, { parser, ...extra });

// Values as received: binary as {"$bin": hex}; what else msgpack carries
// (Dates, undefined) as the script sees it.
function typed(value) {
  if (value instanceof Date) return { $date: value.getTime() };
  if (Buffer.isBuffer(value)) return { $buffer: value.toString("hex") };
  if (Array.isArray(value)) return value.map(typed);
  if (value === undefined) return { $undefined: true };
  if (value && typeof value === "object") {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = typed(v);
    return out;
  }
  if (typeof value === "number" && !Number.isFinite(value)) return { $number: String(value) };
  return value;
}

async function connectScenario() {
  // No auth: the CONNECT's data is `undefined` (fixext 1), read as {}.
  const plain = connect("/");
  const plainAuth = c.listen(plain, "auth");
  // Auth with binary and non-ASCII: msgpack carries binary in a CONNECT too.
  const withAuth = connect("/custom", { auth: { token: "abc", key: B(1, 2, 3), "é": "😀" } });
  const customAuth = c.listen(withAuth, "auth");
  await Promise.all([c.connected(plain), c.connected(withAuth)]);
  const [a1] = await plainAuth.next();
  const [a2] = await customAuth.next();
  if (mode === "default") await c.upgraded(plain);
  return {
    plain_auth: typed(a1),
    custom_auth: typed(a2),
    ids: [plain.id, withAuth.id],
    transport: c.transportOf(plain),
  };
}

async function invalidNamespaceScenario() {
  const s = connect("/nope");
  const err = await c.connectError(s);
  return { message: err.message, data: typed(err.data) };
}

async function echoScenario(wait) {
  const s = connect("/");
  await c.connected(s);
  if (wait) await c.upgraded(s);
  const echo = c.listen(s, "echo");
  const back = c.listen(s, "message-back");
  const out = {};
  s.emit("echo", "hello", 3.5, null, true, false, { nested: ["a", { b: -1 }] }, [], {});
  out.json = typed(await echo.next());
  s.emit("echo", 0, 127, 128, -33, 65536, 4294967296, -2147483649, 9007199254740991, 0.1, -1.25, 1e-300);
  out.numbers = typed(await echo.next());
  s.emit("echo", "é😀\u2028", "x".repeat(70000));
  const [uni, long] = await echo.next();
  // As UTF-8 hex: a raw U+2028 would split the report line for Python's splitlines().
  out.unicode_utf8 = Buffer.from(uni, "utf8").toString("hex");
  out.long_ok = long === "x".repeat(70000);
  s.emit("message", B(1, 2, 3));
  out.binary_top = typed(await back.next());
  s.emit("message", { a: B(4), b: { c: B(5, 6), d: "text" } }, [B(7), [B(8, 9), "x"], 10], B());
  out.binary_nested = typed(await back.next());
  s.emit("echo", big);
  const [bigBack] = await echo.next();
  out.big_ok = Buffer.isBuffer(bigBack) && Buffer.compare(bigBack, big) === 0;
  // A Node ArrayBuffer / typed array travels as ext type 0, and comes back as bin.
  s.emit("echo", new Uint8Array([0]).buffer, new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]).buffer, new Uint8Array([9, 9]));
  out.array_buffers = typed(await echo.next());
  // Values JSON has no word for: undefined (-> null), a Date (both ways), NaN.
  s.emit("echo", undefined, { k: undefined, d: new Date(Date.UTC(2024, 1, 29, 12, 30, 15, 250)) }, NaN, -Infinity);
  out.js_values = typed(await echo.next());
  out.transport = c.transportOf(s);
  return out;
}

async function acksScenario() {
  const s = connect("/");
  await c.connected(s);
  const out = {};
  out.echo_ack = typed(await c.ack(s, "echo_ack", "a", 2, { k: [null] }, B(0xde, 0xad)));
  out.echo_ack_empty = typed(await c.ack(s, "echo_ack"));
  out.message_with_ack = typed(await c.ack(s, "message-with-ack", "t", B(0), [B(1, 1)]));
  out.many = await Promise.all([...Array(30).keys()].map((i) => c.ack(s, "echo_ack", i)));
  // Server-to-client acks: the server emits ping_client with an ack id; our
  // answer (binary included) comes back as the ack of call_me.
  s.on("ping_client", (x, callback) => callback({ got: x, bin: B(7, 7) }));
  out.call_me = typed(await c.ack(s, "call_me", B(1, 2, 3)));
  out.call_me_json = typed(await c.ack(s, "call_me", { two: [2] }));
  out.transport = c.transportOf(s);
  return out;
}

async function bcastScenario() {
  // A broadcast is encoded once and shared by every recipient.
  const clients = [connect("/"), connect("/"), connect("/")];
  await Promise.all(clients.map((s) => c.connected(s)));
  const room = "mp-room-" + tag + "-" + mode;
  await c.ack(clients[0], "join", room);
  await c.ack(clients[1], "join", room);
  const inboxes = clients.map((s) => c.listen(s, "bcast"));
  clients[2].emit("bcast", { room: room, bin: B(1, 2, 3, 4), n: 1 });
  const got = await Promise.all([inboxes[0].next(), inboxes[1].next()]);
  const roomsMsgs = clients.map((s) => c.listen(s, "room_msg"));
  clients[2].emit("to_room", room, "to-the-room", B(5));
  const roomGot = await Promise.all([roomsMsgs[0].next(), roomsMsgs[1].next()]);
  // Nothing reached the client outside the room.
  await new Promise((r) => setTimeout(r, 300));
  return {
    received: got.map(typed),
    room_msg: roomGot.map(typed),
    outside: [inboxes[2].items.length, roomsMsgs[2].items.length],
  };
}

async function disconnectScenario() {
  const s = connect("/custom");
  await c.connected(s);
  const reason = new Promise((resolve) => s.once("disconnect", (r) => resolve(r)));
  s.emit("disconnect_me");
  return { reason: await c.withTimeout(reason, 8000, "disconnect") };
}

async function wrongParserScenario() {
  // A client on the default parser talks text: the server refuses it (closes
  // that session), and keeps serving everyone else.
  const s = c.connect(url, mode, "/");
  const outcome = new Promise((resolve) => {
    s.once("connect", () => resolve("connected"));
    s.once("connect_error", () => resolve("connect_error"));
    s.once("disconnect", () => resolve("disconnect"));
  });
  const result = await c.withTimeout(outcome, 8000, "the refusal");
  s.disconnect();
  const other = connect("/");
  await c.connected(other);
  const still = await c.ack(other, "echo_ack", "still here");
  return { outcome: result, still: still };
}

const scenarios = {
  connect: connectScenario,
  invalid_namespace: invalidNamespaceScenario,
  echo: () => echoScenario(false),
  acks: acksScenario,
  bcast: bcastScenario,
  disconnect: disconnectScenario,
  wrong_parser: wrongParserScenario,
};
if (mode === "default") scenarios.echo_upgraded = () => echoScenario(true);

c.runAll(scenarios).then(c.finish);
