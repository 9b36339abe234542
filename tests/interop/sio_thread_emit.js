// Clients of tests/integration/_thread_emit_server.py, whose emits come from OS threads.
// usage: node sio_thread_emit.js URL polling|websocket|default
// Three clients at once; each records the ticks in arrival order, answers the
// server's question, and stops at `done`.
const c = require("./sio_common");

const [url, mode] = process.argv.slice(2);
c.watchdog(30000);

async function client(n) {
  const s = c.connect(url, mode, "/");
  const order = [];
  s.onAny((event, ...args) => order.push(event === "tick" ? args[0] : event));
  s.on("question", (q, callback) => callback(`answer ${n} to ${q}`));
  const room = c.listen(s, "room_tick");
  const done = c.listen(s, "done");
  const [info] = await done.next(10000);
  return {
    ticks: order.filter((x) => typeof x === "number"),
    room: await room.next(),
    info,
    transport: c.transportOf(s),
  };
}

c.runAll({ a: () => client(1), b: () => client(2), c: () => client(3) }).then(c.finish);
