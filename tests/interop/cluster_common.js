// Helpers of the cluster_*.js scripts: clients spread over several servers that
// act as one through Redis (tests/cluster/). Each client records every event
// it receives; the pytest side checks that each tagged message arrived exactly
// once where it should and nowhere else.
const readline = require("readline");
const c = require("./sio_common");

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// Poll until pred() holds; throws after ms with `what` in the message.
async function until(pred, ms, what) {
  const t0 = Date.now();
  while (!pred()) {
    if (Date.now() - t0 > ms) throw new Error("timed out waiting for " + what);
    await sleep(15);
  }
}

// A connected client that records what it receives and answers `question`
// acks with "<name>:<question>".
class Rec {
  constructor(name, url, mode, nsp = "/") {
    this.name = name;
    this.socket = c.connect(url, mode, nsp);
    this.events = [];
    this.disconnects = [];
    this.socket.onAny((event, ...args) => this.events.push([event, ...args]));
    this.socket.on("disconnect", (reason) => this.disconnects.push(reason));
    this.socket.on("question", (q, ack) => ack(`${name}:${q}`));
  }

  ready() {
    return c.connected(this.socket);
  }

  get id() {
    return this.socket.id;
  }

  emit(event, ...args) {
    this.socket.emit(event, ...args);
  }

  ack(event, ...args) {
    return c.ack(this.socket, event, ...args).then((answer) => answer[0]);
  }

  // The `id` fields of the first argument of every `event` received, in order.
  ids(event) {
    return this.events
      .filter((e) => e[0] === event && e[1] && typeof e[1] === "object" && "id" in e[1])
      .map((e) => e[1].id);
  }

  has(event, id) {
    return this.ids(event).includes(id);
  }

  report() {
    const byEvent = {};
    for (const [event, first] of this.events) {
      if (first && typeof first === "object" && "id" in first) (byEvent[event] ||= []).push(first.id);
    }
    return {
      sid: this.id || null,
      connected: this.socket.connected,
      events: byEvent,
      disconnects: [...this.disconnects],
      transport: c.transportOf(this.socket),
    };
  }
}

// All of `recs` got message `id` of `event`.
function allHave(recs, event, id) {
  return () => recs.every((r) => r.has(event, id));
}

// Commands from the test on stdin, one per line.
function commands() {
  const lines = [];
  const waiters = [];
  readline.createInterface({ input: process.stdin }).on("line", (line) => {
    const w = waiters.shift();
    if (w) w(line.trim());
    else lines.push(line.trim());
  });
  return (ms = 30000) =>
    c.withTimeout(
      new Promise((resolve) => (lines.length ? resolve(lines.shift()) : waiters.push(resolve))),
      ms,
      "a command on stdin",
    );
}

module.exports = { c, sleep, until, Rec, allHave, commands };
