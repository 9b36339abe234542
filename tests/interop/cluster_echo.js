// Two echo servers on one Redis act as one (tests/cluster/test_echo_cluster.py).
// usage: node cluster_echo.js URL_A URL_B TAG
//
// Four official clients, two per server, over several transports; the
// python-socketio peer (cluster_peer.py) already has one client on each server
// in room-TAG and answers "go" with its own broadcasts. Every message carries
// an id; the script waits until each expected copy arrived, lets late
// duplicates show up, and reports what each client received.
const { c, sleep, until, Rec, allHave } = require("./cluster_common");

const [urlA, urlB, tag] = process.argv.slice(2);
const room = "room-" + tag;
c.watchdog(40000);

async function main() {
  const a1 = new Rec("a1", urlA, "websocket");
  const a2 = new Rec("a2", urlA, "polling");
  const b1 = new Rec("b1", urlB, "websocket");
  const b2 = new Rec("b2", urlB, "default");
  const all = [a1, a2, b1, b2];
  await Promise.all(all.map((r) => r.ready()));
  // a1 and b1 join the room that spans both servers (the peer's clients are in it too).
  await Promise.all([a1.ack("join", room), b1.ack("join", room)]);

  // Broadcasts from either server reach every client, binary included.
  a1.emit("bcast", { id: "from-a", tag });
  b2.emit("bcast", { id: "from-b", tag }, Buffer.from([0, 1, 2, 255]));
  await until(() => all.every((r) => r.has("bcast", "from-a") && r.has("bcast", "from-b")), 8000, "broadcasts");

  // Room messages reach the room's members on both servers, from members and non-members.
  a2.emit("to_room", room, { id: "room-1" });
  b1.emit("to_room", room, { id: "room-2" });
  await until(() => [a1, b1].every((r) => r.has("room_msg", "room-1") && r.has("room_msg", "room-2")), 8000, "room messages");

  // The peer answers "go" with broadcasts from both of its clients and a room message.
  a1.emit("bcast", { id: "go", tag });
  await until(allHave(all, "bcast", "py-a"), 8000, "py-a");
  await until(allHave(all, "bcast", "py-b"), 8000, "py-b");
  await until(allHave([a1, b1], "room_msg", "room-py"), 8000, "room-py");

  await sleep(300); // duplicates, if any, arrive now
  a2.emit("bcast", { id: "end", tag });
  await until(allHave(all, "bcast", "end"), 8000, "end");
  await sleep(200);

  const binary = b1.events.find((e) => e[0] === "bcast" && e[1] && e[1].id === "from-b");
  const results = {};
  for (const r of all) results[r.name] = r.report();
  results.binary = binary ? c.enc(binary[2]) : null;
  return results;
}

main().then(c.finish, (err) => c.finish({ error: String(err && err.stack || err) }));
