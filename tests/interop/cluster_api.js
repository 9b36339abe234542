// The cluster-wide Server API across two servers (tests/cluster/test_cluster_api.py,
// tests/cluster/_cluster_server.py, whose events expose that API).
// usage: node cluster_api.js URL_A URL_B TAG [thread]
// (`thread`: also the step that has a plain OS thread of A emit, through the
// server's `thread_emit` event)
//
// Two clients per server. Each step asks one server to act on sockets of both
// and records the answer (acks) and what the clients received; the pytest side
// checks it all. Every client answers `question` with "<name>:<question>".
const { c, sleep, until, Rec, allHave } = require("./cluster_common");

const [urlA, urlB, tag, withThread] = process.argv.slice(2);
const room = (name) => `${name}-${tag}`;
c.watchdog(40000);

async function main() {
  const a1 = new Rec("a1", urlA, "websocket");
  const a2 = new Rec("a2", urlA, "polling");
  const b1 = new Rec("b1", urlB, "websocket");
  const b2 = new Rec("b2", urlB, "default");
  const all = [a1, a2, b1, b2];
  await Promise.all(all.map((r) => r.ready()));
  const out = { tag, sids: Object.fromEntries(all.map((r) => [r.name, r.id])) };

  await Promise.all([a1.ack("join", room("f")), b1.ack("join", room("f"))]);
  await b1.ack("set_data", { n: 1, bin: Buffer.from([7]) });

  // fetch_sockets from either server sees the sockets of both.
  out.fetchFromA = c.enc(await a2.ack("fetch", room("f")));
  out.fetchFromB = c.enc(await b2.ack("fetch", room("f")));
  out.fetchAll = (await a1.ack("fetch", null)).map((s) => s.sid).sort();

  // Broadcast acks gathered across servers; a call to a sid on the other server.
  out.gather = await a2.ack("gather", room("f"), "q1");
  out.callRemote = await a2.ack("call_sid", b1.id, "q2");

  // Server-side events and the server count.
  out.askFromA = await a1.ack("ask_servers", "hi");
  out.askFromB = await b1.ack("ask_servers", "ho");
  out.serverCount = await a1.ack("server_count");

  // enter_room for a socket of the other server, then a room emit from the same
  // server: both travel in order, so the new member gets it.
  await a2.ack("join_sid", b2.id, room("j"));
  a2.emit("to_room", room("j"), { id: "j1" });
  await until(allHave([b2], "room_msg", "j1"), 8000, "j1");

  // sockets_join across: the f-room's sockets (a1, b1) join the m-room.
  await b2.ack("move", room("f"), room("m"));
  b2.emit("to_room", room("m"), { id: "m1" });
  await until(allHave([a1, b1], "room_msg", "m1"), 8000, "m1");

  if (withThread === "thread") {
    // An emit from a plain OS thread of A reaches the m-room on both servers.
    await a2.ack("thread_emit", room("m"), { id: "t1" });
    await until(allHave([a1, b1], "room_msg", "t1"), 8000, "t1");
  }

  // disconnect_sockets across: a2 (on A) kicks the f-room: a1 (A) and b1 (B).
  out.kick = await a2.ack("kick", room("f"));
  await until(() => a1.disconnects.length && b1.disconnects.length, 8000, "kicked sockets");
  await sleep(300); // duplicates, or wrong disconnects, show up now
  out.fetchAfterKick = (await b2.ack("fetch", null)).map((s) => s.sid).sort();

  for (const r of all) out[r.name] = r.report();
  return out;
}

main().then(c.finish, (err) => c.finish({ error: String(err && err.stack || err) }));
