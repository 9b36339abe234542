// The echo server's legacy support (allow_eio3), driven by the official socket.io-client 2.x
// (Engine.IO v3 + Socket.IO protocol 4, installed as the npm alias "socket.io-client-v2").
// usage: node eio3_client.js URL polling|websocket|default
// Prints {scenario: observations} as the last stdout line; the expectations live in
// tests/integration/test_eio3_interop.py. A scenario that throws reports {"error": ...}.
const io = require("socket.io-client-v2");
const { enc, withTimeout, runAll, watchdog } = require("./sio_common");

const [url, mode] = process.argv.slice(2);
watchdog(40000);
const tag = Math.random().toString(36).slice(2, 10);
const TRANSPORTS = { polling: ["polling"], websocket: ["websocket"], default: ["polling", "websocket"] };
const B = (...bytes) => Buffer.from(bytes);
// 100 kB with every byte value, in a pattern a truncation or shift would break.
const big = Buffer.alloc(100000, 0);
for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 8)) & 0xff;

const opened = [];

// A fresh Manager (Engine.IO session) per call: forceNew.
function connect(nsp, extra) {
  const socket = io(url + nsp, { forceNew: true, reconnection: false, timeout: 10000,
    transports: TRANSPORTS[mode], ...extra });
  opened.push(socket);
  return socket;
}

// Every occurrence of one event, in arrival order; next() awaits the next one.
function listen(socket, event) {
  const box = { items: [], read: 0, waiters: [] };
  socket.on(event, (...args) => {
    box.items.push(args);
    const waiters = box.waiters;
    box.waiters = [];
    waiters.forEach((w) => w());
  });
  box.next = (ms = 8000) => {
    const index = box.read++;
    const got = new Promise((resolve) => {
      const check = () => (index < box.items.length ? resolve(box.items[index]) : box.waiters.push(check));
      check();
    });
    return withTimeout(got, ms, `${event} #${index}`);
  };
  return box;
}

function connected(socket, ms = 8000) {
  if (socket.connected) return Promise.resolve(socket);
  const done = new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (err) => reject(new Error("connect_error: " + err)));
    socket.once("error", (err) => reject(new Error("error: " + JSON.stringify(err))));
  });
  return withTimeout(done, ms, "connect to " + socket.nsp);
}

// Protocol 4 refusals arrive as the socket's "error" event.
function refused(socket, ms = 8000) {
  const done = new Promise((resolve, reject) => {
    socket.once("connect", () => reject(new Error("connected instead of refused")));
    socket.once("error", (err) => resolve(err));
  });
  return withTimeout(done, ms, "error on " + socket.nsp);
}

function ack(socket, event, ...args) {
  return withTimeout(new Promise((resolve) => socket.emit(event, ...args, (...answer) => resolve(answer))),
    8000, "ack of " + event);
}

function upgraded(socket, ms = 8000) {
  const engine = socket.io.engine;
  const done = new Promise((resolve) => {
    if (engine.transport.name === "websocket") resolve();
    else engine.once("upgrade", () => resolve());
  });
  return withTimeout(done, ms, "upgrade");
}

const transportOf = (socket) => (socket.io.engine ? socket.io.engine.transport.name : null);

async function authScenario() {
  const root = connect("/", { query: { token: "abc", "é": "😀" } });
  const rootAuth = listen(root, "auth");
  await connected(root);
  const [a1] = await rootAuth.next();
  const plain = connect("/");
  const plainAuth = listen(plain, "auth");
  await connected(plain);
  const [a2] = await plainAuth.next();
  const custom = connect("/custom", { query: { where: "custom", n: 1 } });
  const customAuth = listen(custom, "auth");
  await connected(custom);
  const [a3] = await customAuth.next();
  if (mode === "default") await upgraded(root);
  return {
    root_auth: a1,
    plain_auth: a2,
    custom_auth: a3,
    root_id: root.id,
    root_engine_id: root.io.engine.id,
    custom_id: custom.id,
    custom_engine_id: custom.io.engine.id,
    auth_events: [rootAuth.items.length, plainAuth.items.length, customAuth.items.length],
    transport: transportOf(root),
  };
}

async function emitScenario() {
  const s = connect("/");
  await connected(s);
  if (mode === "default") await upgraded(s);
  const back = listen(s, "message-back");
  const echo = listen(s, "echo");
  s.emit("message", 1, "2", { 3: [false] });
  const messageBack = await back.next();
  const unicode = "é😀\u2028\u2029\"\\\n/</script>";
  s.emit("echo", unicode, null, true, 3.5, { nested: ["a", { b: -1 }] }, []);
  const echoed = await echo.next();
  const acked = await ack(s, "message-with-ack", 1, "2", { 3: [false] });
  const ackedEmpty = await ack(s, "echo_ack");
  // The server asks for an ack too: call_me makes it call ping_client on us.
  s.on("ping_client", (x, done) => done({ got: x }));
  const called = await ack(s, "call_me", "hi");
  return {
    message_back: messageBack,
    echo: echoed,
    ack: acked,
    ack_empty: ackedEmpty,
    called: called,
    transport: transportOf(s),
  };
}

async function binaryScenario(extra) {
  const s = connect("/", extra);
  await connected(s);
  if (mode === "default") await upgraded(s);
  const back = listen(s, "message-back");
  s.emit("message", B(1, 2, 3), { nested: [B(4), "x", { deep: B() }] });
  const messageBack = await back.next();
  const acked = await ack(s, "message-with-ack", B(5, 6), "text", B(7));
  const echo = listen(s, "echo");
  s.emit("echo", big);
  const [bigBack] = await echo.next(15000);
  return {
    message_back: enc(messageBack),
    ack: enc(acked),
    big_ok: Buffer.compare(Buffer.from(bigBack), big) === 0,
    big_length: bigBack.length,
    transport: transportOf(s),
    engine_supports_binary: s.io.engine.transport.supportsBinary,
  };
}

async function broadcastScenario() {
  const room = "room-" + tag;
  const a = connect("/");
  const b = connect("/");
  const c = connect("/");
  await Promise.all([connected(a), connected(b), connected(c)]);
  if (mode === "default") await Promise.all([upgraded(a), upgraded(b), upgraded(c)]);
  const joinedA = await ack(a, "join", room);
  await ack(b, "join", room);
  const inA = listen(a, "room_msg");
  const inB = listen(b, "room_msg");
  const inC = listen(c, "room_msg");
  c.emit("to_room", room, "hello room", B(9, 8));
  const [gotA] = await Promise.all([inA.next(), inB.next()]);
  await ack(b, "leave", room);
  a.emit("to_room", room, "only a");
  const [gotA2] = await inA.next();
  // The same on a namespace: /custom#<sid> ids are room members like any other.
  const ca = connect("/custom");
  const cb = connect("/custom");
  await Promise.all([connected(ca), connected(cb)]);
  const croom = "croom-" + tag;
  await ack(ca, "join", croom);
  await ack(cb, "join", croom);
  const inCb = listen(cb, "bcast");
  ca.emit("bcast", { room: croom, n: 1 });
  const [cgot] = await inCb.next();
  await new Promise((r) => setTimeout(r, 300));
  return {
    joined: joinedA,
    a: enc(gotA),
    a_second: gotA2,
    b_count: inB.items.length,
    c_count: inC.items.length,
    custom_bcast: cgot,
  };
}

async function namespacesScenario() {
  // One Manager (one Engine.IO session) for / and /custom.
  const root = connect("/", { query: { ns: "root" } });
  const custom = root.io.socket("/custom", { query: { ns: "custom" } });
  opened.push(custom);
  const rootAuth = listen(root, "auth");
  const customAuth = listen(custom, "auth");
  await Promise.all([connected(root), connected(custom)]);
  const [ra] = await rootAuth.next();
  const [ca] = await customAuth.next();
  const customBack = listen(custom, "message-back");
  const rootBack = listen(root, "message-back");
  custom.emit("message", "to-custom");
  const [cb] = await customBack.next();
  root.emit("message", "to-root");
  const [rb] = await rootBack.next();
  // An unknown namespace is refused with the object, and the session lives on.
  const wrong = root.io.socket("/nope");
  opened.push(wrong);
  const err = await refused(wrong);
  const after = await ack(root, "echo_ack", "still here");
  const ids = [root.id, custom.id, root.io.engine.id];
  // Leaving /custom keeps / (and the Engine.IO session) alive.
  custom.disconnect();
  const after2 = await ack(root, "echo_ack", "root-after");
  return {
    root_auth: ra,
    custom_auth: ca,
    same_engine: root.io.engine === custom.io.engine,
    ids,
    custom_back: cb,
    root_back: rb,
    custom_back_count: customBack.items.length,
    root_back_count: rootBack.items.length,
    invalid: err,
    after_invalid: after,
    after_custom_left: after2,
    root_connected: root.connected,
    custom_connected: custom.connected,
  };
}

async function serverDisconnectScenario() {
  const s = connect("/custom");
  await connected(s);
  const reason = new Promise((resolve) => s.once("disconnect", resolve));
  s.emit("disconnect_me");
  return { reason: await withTimeout(reason, 8000, "disconnect") };
}

async function heartbeatScenario() {
  // The v3 client pings; the server answers. Idle for several ping intervals.
  const s = connect("/");
  await connected(s);
  let pongs = 0;
  s.on("pong", () => pongs++);
  await new Promise((r) => setTimeout(r, 1800));
  const answer = await ack(s, "echo_ack", "alive");
  return { pongs, answer, connected: s.connected };
}

runAll({
  auth: authScenario,
  emit: emitScenario,
  binary: () => binaryScenario({}),
  binary_b64: () => binaryScenario({ forceBase64: true }),
  broadcast: broadcastScenario,
  namespaces: namespacesScenario,
  server_disconnect: serverDisconnectScenario,
  heartbeat: heartbeatScenario,
}).then((results) => {
  for (const socket of opened) socket.disconnect();
  // U+2028/2029 escaped: the reader splits lines the way Python's splitlines does.
  console.log(JSON.stringify(results).replace(/\u2028/g, "\\u2028").replace(/\u2029/g, "\\u2029"));
  setTimeout(() => process.exit(0), 200);
});
