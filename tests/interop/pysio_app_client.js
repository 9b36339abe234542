// The python-socketio style application (tests/integration/_pysio_app.py), driven by the
// official socket.io-client. usage: node pysio_app_client.js URL polling|websocket|default
// Prints {scenario: observations}; tests/integration/test_python_socketio_app.py holds the
// expectations.
const c = require("./sio_common");

const [url, mode] = process.argv.slice(2);
c.watchdog(30000);

async function basics() {
  const a = c.connect(url, mode, "/", { auth: { token: "ok" }, extraHeaders: { "X-App": "js" } });
  const welcome = c.listen(a, "welcome");
  const [w] = await welcome.next();
  await c.connected(a);
  const b = c.connect(url, mode, "/");
  await c.connected(b);
  if (mode === "default") await c.upgraded(a);
  const [echo] = await c.ack(a, "echo", { n: [1, 2], s: "é" });
  const [agent] = await c.ack(a, "agent");
  await c.ack(a, "remember", "kept");
  const [recalled] = await c.ack(a, "recall");
  const room = "r-" + mode; // the modes run at once against one server
  const [roomsA] = await c.ack(a, "join", room);
  await c.ack(b, "join", room);
  const said = c.listen(a, "said");
  b.emit("say", { room, text: "hi" });
  const [heard] = await said.next();
  return {
    welcome_is_own_sid: w.sid === a.id,
    has_addr: w.has_addr,
    echo,
    agent,
    recalled,
    rooms: roomsA.sort(),
    own_sid_in_rooms: roomsA.includes(a.id) && roomsA.includes(room),
    heard_from_b: heard.from === b.id,
    heard_text: heard.text,
    transport: c.transportOf(a),
  };
}

async function chat() {
  const s = c.connect(url, mode, "/chat");
  const ready = c.listen(s, "chat_ready");
  const tick = c.listen(s, "tick");
  const shouted = c.listen(s, "shouted");
  const [r] = await ready.next();
  const [t] = await tick.next();
  s.emit("shout", "hello");
  const [loud] = await shouted.next();
  return { ready: r, tick_has_count: typeof t.count === "number", shouted: loud };
}

async function audit() {
  const s = c.connect(url, mode, "/audit");
  await c.connected(s);
  const pong = c.listen(s, "pong_you");
  s.emit("ping_me", 5);
  const [p] = await pong.next();
  const [seen] = await c.ack(s, "seen");
  return { pong: p, seen };
}

async function refused() {
  // Refused (the connect handler raises ConnectionRefusedError): CONNECT_ERROR, or with
  // always_connect a CONNECT followed by a DISCONNECT.
  const s = c.connect(url, mode, "/", { auth: { token: "bad" } });
  let connected = false;
  s.on("connect", () => { connected = true; });
  const outcome = new Promise((resolve) => {
    s.once("connect_error", (err) => resolve({ message: err.message }));
    s.once("disconnect", (reason) => resolve({ reason }));
  });
  const result = await c.withTimeout(outcome, 8000, "refusal");
  return { connected, ...result };
}

async function bye() {
  const s = c.connect(url, mode, "/");
  await c.connected(s);
  const gone = new Promise((resolve) => s.once("disconnect", (reason) => resolve(reason)));
  s.emit("bye");
  return { reason: await c.withTimeout(gone, 8000, "disconnect") };
}

c.runAll({ basics, chat, audit, refused, bye }).then(c.finish);
