// The echo server's Socket.IO features, driven by the official socket.io-client.
// usage: node sio_features.js URL polling|websocket|default
// Prints {scenario: observations} (see sio_common.js); tests/integration/
// test_socketio_node_client.py holds the expectations.
const c = require("./sio_common");

const [url, mode] = process.argv.slice(2);
c.watchdog(30000);
const tag = Math.random().toString(36).slice(2, 10);
const B = (...bytes) => Buffer.from(bytes);
// 100 kB with every byte value, in a pattern a truncation or shift would break.
const big = Buffer.alloc(100000, 0);
for (let i = 0; i < big.length; i++) big[i] = (i * 7 + (i >> 8)) & 0xff;

async function authScenario() {
  const withAuth = c.connect(url, mode, "/", { auth: { token: "abc", nested: [1, { x: null }], "é": "😀" } });
  const auth1 = c.listen(withAuth, "auth");
  let connectedWhenAuth = null;
  withAuth.once("auth", () => { connectedWhenAuth = withAuth.connected; });
  const plain = c.connect(url, mode, "/");
  const auth2 = c.listen(plain, "auth");
  const custom = c.connect(url, mode, "/custom", { auth: { where: "custom" } });
  const auth3 = c.listen(custom, "auth");
  const [a1] = await auth1.next();
  const [a2] = await auth2.next();
  const [a3] = await auth3.next();
  // Nothing but `auth` until the client speaks: the next thing must be our echo.
  const echo = c.listen(withAuth, "echo");
  withAuth.emit("echo", "after-auth");
  const [after] = await echo.next();
  if (mode === "default") await c.upgraded(withAuth);
  return {
    with_auth: a1,
    without_auth: a2,
    custom_auth: a3,
    auth_events: [auth1.items.length, auth2.items.length, auth3.items.length],
    after_auth: after,
    connected_when_auth: connectedWhenAuth,
    ids: [withAuth.id, plain.id, custom.id],
    engine_ids: [withAuth.io.engine.id, plain.io.engine.id],
    transport: c.transportOf(withAuth),
  };
}

async function namespacesScenario() {
  // One Manager, one Engine.IO session, two namespaces.
  const m = c.manager(url, mode);
  const root = m.socket("/", { auth: { ns: "root" } });
  const custom = m.socket("/custom", { auth: { ns: "custom" } });
  c.opened.push(root, custom);
  const rootAuth = c.listen(root, "auth");
  const customAuth = c.listen(custom, "auth");
  root.connect();
  custom.connect();
  await Promise.all([c.connected(root), c.connected(custom)]);
  const [ra] = await rootAuth.next();
  const [ca] = await customAuth.next();
  const rootBack = c.listen(root, "message-back");
  const customBack = c.listen(custom, "message-back");
  custom.emit("message", "to-custom", 1);
  const [cb1, cb2] = await customBack.next();
  root.emit("message", "to-root");
  const [rb] = await rootBack.next();
  const customAck = await c.ack(custom, "echo_ack", "custom-ack");
  const ids = [root.id, custom.id];
  // Leaving /custom keeps / (and the Engine.IO session) alive.
  custom.disconnect();
  const after = await c.ack(root, "echo_ack", "root-after");
  return {
    root_auth: ra,
    custom_auth: ca,
    same_engine: root.io.engine === custom.io.engine,
    ids: ids,
    custom_back: [cb1, cb2],
    root_back: rb,
    root_back_count: rootBack.items.length,
    custom_back_count: customBack.items.length,
    custom_ack: customAck,
    root_after_custom_left: after,
    root_connected: root.connected,
    custom_connected: custom.connected,
  };
}

async function invalidNamespaceScenario() {
  const bad = c.connect(url, mode, "/nope");
  const err = await c.connectError(bad);
  // On a shared Manager the session survives the refusal: / still works.
  const m = c.manager(url, mode);
  const root = m.socket("/");
  const wrong = m.socket("/does-not-exist");
  c.opened.push(root, wrong);
  root.connect();
  await c.connected(root);
  wrong.connect();
  const err2 = await c.connectError(wrong);
  const answer = await c.ack(root, "echo_ack", "still here");
  return {
    message: err.message,
    data: c.enc(err.data),
    shared_message: err2.message,
    root_answer: answer,
    root_connected: root.connected,
  };
}

async function emitScenario(wait) {
  const s = c.connect(url, mode, "/");
  await c.connected(s);
  if (wait) await c.upgraded(s);
  const back = c.listen(s, "message-back");
  const echo = c.listen(s, "echo");
  s.emit("message", 1, "2", { 3: [false] });
  const messageBack = await back.next();
  s.emit("message");
  const messageBackEmpty = await back.next();
  s.emit("echo", "hello", 3.5, null, true, { nested: ["a", { b: -1 }] }, []);
  const echoed = await echo.next();
  const unicode = "é😀\u2028\u2029\"\\\n/</script>";
  s.emit("echo", unicode);
  const [echoedUnicode] = await echo.next();
  const long = "x".repeat(200000);
  s.emit("echo", long);
  const [echoedLong] = await echo.next();
  const echoAck = await c.ack(s, "echo_ack", "a", 2, { k: [null] });
  const echoAckEmpty = await c.ack(s, "echo_ack");
  const withAck = await c.ack(s, "message-with-ack", 1, "2", { 3: [false] });
  const emitWithAck = await s.timeout(8000).emitWithAck("message-with-ack", { single: true });
  // Many in flight at once: every ack comes back, each to its own callback.
  const many = await Promise.all([...Array(50).keys()].map((i) => c.ack(s, "echo_ack", i)));
  return {
    message_back: messageBack,
    message_back_empty: messageBackEmpty,
    echo: echoed,
    echo_unicode_ok: echoedUnicode === unicode,
    echo_long_ok: echoedLong === long,
    echo_ack: echoAck,
    echo_ack_empty: echoAckEmpty,
    message_with_ack: withAck,
    emit_with_ack: emitWithAck,
    many_acks: many,
    unexpected: [back.items.length, echo.items.length],
    transport: c.transportOf(s),
  };
}

async function bcastScenario() {
  const room = "bcast-room-" + tag;
  const clients = [0, 1, 2, 3].map(() => c.connect(url, mode, "/"));
  const other = c.connect(url, mode, "/custom");
  await Promise.all([...clients, other].map((s) => c.connected(s)));
  // Other scenarios share the server: only our tagged broadcasts count.
  const got = clients.map(() => []);
  clients.forEach((s, i) => s.on("bcast", (p) => { if (p && p.tag === tag) got[i].push(p.n); }));
  const otherGot = [];
  other.on("bcast", (p) => { if (p && p.tag === tag) otherGot.push(p.n); });
  const until = (pred, what) =>
    c.withTimeout(new Promise((resolve) => {
      const t = setInterval(() => { if (pred()) { clearInterval(t); resolve(); } }, 5);
    }), 8000, what);
  const has = (i, n) => got[i].includes(n);

  clients[0].emit("bcast", { tag, n: 1 });
  await until(() => [0, 1, 2, 3].every((i) => has(i, 1)), "bcast 1 everywhere");
  const joins = await Promise.all([c.ack(clients[0], "join", room), c.ack(clients[1], "join", room)]);
  // Sent by a client outside the room: the sender is not included.
  clients[3].emit("bcast", { tag, n: 2, room });
  await until(() => has(0, 2) && has(1, 2), "room bcast");
  // A broadcast to everyone after it, from the same sender: once it reached
  // clients 2 and 3, the room broadcast would have reached them too.
  clients[3].emit("bcast", { tag, n: 3 });
  await until(() => [0, 1, 2, 3].every((i) => has(i, 3)), "bcast 3 everywhere");
  other.emit("bcast", { tag, n: 4 });
  await until(() => otherGot.includes(4), "custom bcast");
  clients[2].emit("bcast", { tag, n: 5, data: B(9, 8, 7) });
  await until(() => [0, 1, 2, 3].every((i) => has(i, 5)), "binary bcast");
  let binary = null;
  clients[0].on("bcast", (p) => { if (p && p.tag === tag && p.n === 6) binary = c.enc(p.data); });
  clients[2].emit("bcast", { tag, n: 6, data: B(1, 2, 3, 4) });
  await until(() => [0, 1, 2, 3].every((i) => has(i, 6)), "binary bcast");
  return { received: got, custom_received: otherGot, joins, binary };
}

async function roomsScenario() {
  const room = "room-" + tag;
  const a = c.connect(url, mode, "/");
  const b = c.connect(url, mode, "/");
  await Promise.all([c.connected(a), c.connected(b)]);
  const aRoom = c.listen(a, "room_msg");
  const bRoom = c.listen(b, "room_msg");
  const aEcho = c.listen(a, "echo");
  const bEcho = c.listen(b, "echo");
  const steps = {};
  steps.join = await c.ack(a, "join", room);
  b.emit("to_room", room, "hi", { n: 1 }, B(5, 6));
  steps.a_first = c.enc(await aRoom.next());
  b.emit("echo", "b-marker");
  await bEcho.next();
  steps.b_count_outside = bRoom.items.length;
  a.emit("to_room", room, "self");
  steps.a_self = await aRoom.next();
  steps.leave = await c.ack(a, "leave", room);
  a.emit("to_room", room, "gone");
  a.emit("echo", "a-marker");
  await aEcho.next();
  steps.a_count_after_leave = aRoom.items.length;
  steps.b_join = await c.ack(b, "join", room);
  a.emit("to_room", room, "to-b");
  steps.b_first = await bRoom.next();
  a.emit("echo", "a-marker-2");
  await aEcho.next();
  steps.a_count_end = aRoom.items.length;
  steps.to_empty_room = await (async () => {
    a.emit("to_room", "nobody-" + tag, "lost");
    a.emit("echo", "a-marker-3");
    await aEcho.next();
    return aRoom.items.length;
  })();
  return steps;
}

async function callMeScenario() {
  const s = c.connect(url, mode, "/");
  const custom = c.connect(url, mode, "/custom");
  const seen = [];
  s.on("ping_client", (x, callback) => {
    seen.push(c.enc(x));
    if (x && x.two) callback("first", B(0xca, 0xfe));
    else if (Buffer.isBuffer(x) || x instanceof ArrayBuffer || ArrayBuffer.isView(x)) callback(Buffer.from(x).reverse());
    else callback({ got: x, doubled: x * 2 });
  });
  custom.on("ping_client", (x, callback) => callback("custom:" + x));
  await Promise.all([c.connected(s), c.connected(custom)]);
  const plain = await c.ack(s, "call_me", 21);
  const binary = await c.ack(s, "call_me", B(1, 2, 3));
  const two = await c.ack(s, "call_me", { two: true });
  const inCustom = await c.ack(custom, "call_me", "x");
  // Several round trips interleaved on one socket.
  const parallel = await Promise.all([1, 2, 3, 4, 5].map((n) => c.ack(s, "call_me", n)));
  return {
    plain,
    binary: c.enc(binary),
    two: c.enc(two),
    custom: inCustom,
    parallel,
    seen,
  };
}

async function binaryScenario(wait, nsp = "/") {
  const s = c.connect(url, mode, nsp);
  await c.connected(s);
  if (wait) await c.upgraded(s);
  const back = c.listen(s, "message-back");
  const echo = c.listen(s, "echo");
  const out = {};
  s.emit("message", B(1, 2, 3));
  out.top_level = c.enc(await back.next());
  s.emit("message", { a: B(4), b: { c: B(5, 6), d: "text" } });
  out.in_object = c.enc(await back.next());
  s.emit("message", [B(7), [B(8, 9), "x"], 10]);
  out.in_array = c.enc(await back.next());
  s.emit("echo", B(1), "text", B(2, 2), { k: B(3, 3, 3) }, [B(4, 4, 4, 4)]);
  out.several = c.enc(await echo.next());
  s.emit("echo", Buffer.alloc(0), "after-empty");
  out.empty = c.enc(await echo.next());
  s.emit("echo", new Uint8Array([0, 255, 128]).buffer);
  out.array_buffer = c.enc(await echo.next());
  s.emit("echo", big);
  const [bigBack] = await echo.next();
  out.big_ok = Buffer.compare(Buffer.from(bigBack), big) === 0;
  out.big_len = bigBack.byteLength;
  out.ack = c.enc(await c.ack(s, "echo_ack", B(0xde, 0xad), { x: [B(0xbe, 0xef)] }));
  out.message_with_ack = c.enc(await c.ack(s, "message-with-ack", "t", B(0), [B(1, 1)]));
  out.ack_many_buffers = c.enc(await c.ack(s, "echo_ack", ...[...Array(10).keys()].map((i) => B(i))));
  out.transport = c.transportOf(s);
  return out;
}

const scenarios = {
  auth: authScenario,
  namespaces: namespacesScenario,
  invalid_namespace: invalidNamespaceScenario,
  emit: () => emitScenario(false),
  bcast: bcastScenario,
  rooms: roomsScenario,
  call_me: callMeScenario,
  binary: () => binaryScenario(false),
  binary_custom: () => binaryScenario(false, "/custom"),
};
if (mode === "default") {
  // The same again once on WebSocket (the plain runs mostly overlap the upgrade).
  scenarios.emit_upgraded = () => emitScenario(true);
  scenarios.binary_upgraded = () => binaryScenario(true);
}

c.runAll(scenarios).then(c.finish);
