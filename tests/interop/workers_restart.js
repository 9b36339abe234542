// Clients of a workers=N server across a worker's death or a reload
// (tests/workers/test_workers_lifecycle.py).
// usage: node workers_restart.js URL
//
// Six clients (WebSocket, polling, and the upgrade) join room "r" and print
// READY, then a JSON line of their sids. When a line comes on stdin (the
// test killed or reloaded workers), each client that lost its connection
// must connect again; once all are connected, one of them broadcasts "after"
// and every client must get it exactly once. The report says, per client,
// its disconnect reasons, its ids and whether each connect was a recovery.
const readline = require("readline");
const { c, sleep, until, allHave } = require("./cluster_common");

const [url] = process.argv.slice(2);
c.watchdog(40000);

class Client {
  constructor(name, mode) {
    this.name = name;
    this.socket = c.connect(url, mode, "/", { reconnection: true, reconnectionDelay: 50, reconnectionDelayMax: 200,
                                              randomizationFactor: 0 });
    this.events = [];
    this.disconnects = [];
    this.ids = [];
    this.recovered = [];
    this.socket.onAny((event, ...args) => this.events.push([event, ...args]));
    this.socket.on("disconnect", (reason) => this.disconnects.push(reason));
    this.socket.on("connect", () => {
      this.ids.push(this.socket.id);
      this.recovered.push(!!this.socket.recovered);
      // A new session (not recovered) joins the room again.
      if (!this.socket.recovered) this.socket.emit("join", "r", () => { this.joins += 1; });
    });
    this.joins = 0;
  }

  has(event, id) {
    return this.events.some((e) => e[0] === event && e[1] && e[1].id === id);
  }

  bcasts() {
    return this.events.filter((e) => e[0] === "bcast").map((e) => e[1].id);
  }

  report() {
    return { ids: [...this.ids], recovered: [...this.recovered], disconnects: [...this.disconnects],
             bcast: this.bcasts(), room: this.events.filter((e) => e[0] === "room_msg").map((e) => e[1]),
             transport: this.socket.io.engine && this.socket.io.engine.transport.name };
  }
}

async function main() {
  const modes = ["websocket", "polling", "default", "websocket", "polling", "default"];
  const all = modes.map((m, i) => new Client("c" + i, m));
  await until(() => all.every((x) => x.socket.connected && x.joins >= 1), 10000, "first connects");
  console.log("READY");
  console.log(JSON.stringify({ sids: Object.fromEntries(all.map((x) => [x.name, x.socket.id])) }));
  await new Promise((resolve) => readline.createInterface({ input: process.stdin }).once("line", resolve));
  // Everyone who lost the connection is back (a new session joined the room again).
  await until(() => all.every((x) => x.socket.connected && x.joins + x.recovered.filter(Boolean).length === x.ids.length),
              20000, "reconnects");
  all[0].socket.emit("to_room", "r", "in-room");
  all[1].socket.emit("bcast", { id: "after" });
  await until(allHave(all, "bcast", "after"), 8000, "the broadcast after");
  await until(() => all.every((x) => x.events.some((e) => e[0] === "room_msg" && e[1] === "in-room")), 8000, "room");
  await sleep(300); // duplicates, if any, arrive now
  const out = {};
  for (const x of all) out[x.name] = x.report();
  return out;
}

main().then(c.finish, (err) => c.finish({ error: String(err && err.stack || err) }));
