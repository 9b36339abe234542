// Clients of a workers=2 server with connection state recovery, across a
// worker killed with SIGKILL (tests/workers/test_workers_kill_recovery.py).
// usage: node workers_kill_recover.js URL
//
// Six clients connect one after the other (WebSocket, WebSocket, polling,
// polling, default, default: new sessions go to the workers in turn, so each
// worker gets one of each; "default" is polling, then the upgrade), join rooms "r" and "own-<name>", join and leave "tmp", and have an
// offset (the echo server's connect handler emits "auth" to each). Prints
// READY, then {"sids", "pids"}. Each client also sets its session data to
// "d-<name>" (set_data) after connecting. Then commands on stdin, each answered by a line:
//   arm NAMES_JSON     -> ARMED (optional, before the kill): those clients
//                         reconnect by themselves, at once, when their
//                         connection drops (the Manager's reconnection, 1 ms);
//   killed NAMES_JSON  -> DOWN once those clients lost their connection
//                         (unarmed, reconnection is manual, so none comes back
//                         before the test says so);
//   send NAMES_JSON    -> SENT: a client not killed sends room "r" m1, m2,
//                         room "tmp" "x", room "own-<n>" "o-<n>" for each
//                         killed name, room "r" m3, m4, m5, and waits until
//                         every live client of this script has m5;
//   reconnect          -> BACK once every killed client connected again
//                         (armed ones: came back by themselves);
//   after              -> the last line: every client has "after" (sent to
//                         "r"); then a JSON report per client, with the
//                         session data the server has for it (get_data).
const readline = require("readline");
const { c, sleep, until } = require("./cluster_common");

const [url] = process.argv.slice(2);
c.watchdog(60000);

class Client {
  constructor(name, mode) {
    this.name = name;
    this.mode = mode;
    this.socket = c.connect(url, mode, "/", { reconnection: false });
    this.events = [];
    this.disconnects = [];
    this.ids = [];
    this.pids = [];
    this.recovered = [];
    this.socket.onAny((event, ...args) => this.events.push([event, ...args]));
    this.socket.on("disconnect", (reason) => this.disconnects.push(reason));
    this.socket.on("connect", () => {
      this.ids.push(this.socket.id);
      this.pids.push(this.socket._pid);
      this.recovered.push(!!this.socket.recovered);
    });
  }

  room() {
    return this.events.filter((e) => e[0] === "room_msg").map((e) => e[1]);
  }

  async setUp() {
    await c.connected(this.socket);
    for (const room of ["r", "own-" + this.name, "tmp"]) await c.ack(this.socket, "join", room);
    await c.ack(this.socket, "leave", "tmp");
    await until(() => this.events.some((e) => e[0] === "auth"), 8000, "an offset");
    await c.ack(this.socket, "set_data", "d-" + this.name);
  }

  arm() {
    const manager = this.socket.io;
    manager.reconnectionDelay(1);
    manager.reconnectionDelayMax(1);
    manager.randomizationFactor(0);
    manager.reconnection(true);
  }

  report() {
    return { ids: [...this.ids], pids: [...this.pids], recovered: [...this.recovered],
             disconnects: [...this.disconnects], room: this.room(), data: this.data,
             transport: this.socket.io.engine && this.socket.io.engine.transport.name };
  }
}

async function main() {
  const modes = ["websocket", "websocket", "polling", "polling", "default", "default"];
  const all = [];
  for (let i = 0; i < modes.length; i++) {
    const client = new Client("c" + i, modes[i]);
    await c.connected(client.socket); // one after the other: the workers take turns
    all.push(client);
  }
  for (const client of all) await client.setUp();
  console.log("READY");
  console.log(JSON.stringify({ sids: Object.fromEntries(all.map((x) => [x.name, x.socket.id])),
                               pids: Object.fromEntries(all.map((x) => [x.name, x.socket._pid])) }));
  const lines = readline.createInterface({ input: process.stdin });
  const next = () => new Promise((resolve) => lines.once("line", resolve));
  let [command, killedJson] = (await next()).split(" ");
  const armed = command === "arm";
  if (armed) {
    for (const x of all.filter((x) => JSON.parse(killedJson).includes(x.name))) x.arm();
    console.log("ARMED");
    [command, killedJson] = (await next()).split(" ");
  }
  const killedNames = JSON.parse(killedJson);
  const killed = all.filter((x) => killedNames.includes(x.name));
  const alive = all.filter((x) => !killedNames.includes(x.name));
  await until(() => killed.every((x) => x.disconnects.length > 0 && (armed || !x.socket.connected)),
              10000, "the killed clients' disconnects");
  console.log("DOWN");
  const [, everyKilledJson] = (await next()).split(" ");
  const sender = alive[0].socket;
  sender.emit("to_room", "r", "m1");
  sender.emit("to_room", "r", "m2");
  sender.emit("to_room", "tmp", "x");
  for (const name of JSON.parse(everyKilledJson)) sender.emit("to_room", "own-" + name, "o-" + name);
  for (const m of ["m3", "m4", "m5"]) sender.emit("to_room", "r", m);
  await until(() => alive.every((x) => x.room().includes("m5")), 8000, "m5 on the live clients");
  console.log("SENT");
  await next();
  if (!armed) for (const x of killed) x.socket.connect();
  await until(() => killed.every((x) => x.socket.connected && x.ids.length > 1), 15000,
              "the killed clients' reconnects");
  console.log("BACK");
  await next();
  sender.emit("to_room", "r", "after");
  await until(() => all.every((x) => x.room().includes("after")), 8000, "after");
  for (const x of all) x.data = (await c.ack(x.socket, "get_data"))[0];
  await sleep(300); // duplicates, if any, arrive now
  const out = {};
  for (const x of all) out[x.name] = x.report();
  return out;
}

main().then(c.finish, (err) => c.finish({ error: String(err && err.stack || err) }));
