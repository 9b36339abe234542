// Clients on two servers receiving what an emitter process publishes
// (tests/cluster/test_echo_cluster.py, cluster_emit.py).
// usage: node cluster_emitter.js URL_A URL_B TAG
//
// Prints READY once every client is connected and in its rooms, then records
// every `news` event until each client got {"id": "end"}, and reports. On the
// command `disconnect` (after the test's emitter disconnected room-e-TAG),
// waits for those disconnects and reports again: the last line is the result.
const { c, sleep, until, Rec, allHave, commands } = require("./cluster_common");

const [urlA, urlB, tag] = process.argv.slice(2);
const room = "room-e-" + tag;
c.watchdog(40000);
const next = commands();

async function main() {
  const a = new Rec("a", urlA, "websocket"); // in room
  const b = new Rec("b", urlB, "polling"); // in room
  const b2 = new Rec("b2", urlB, "websocket"); // not in room
  const custom = new Rec("custom", urlA, "websocket", "/custom");
  const all = [a, b, b2, custom];
  await Promise.all(all.map((r) => r.ready()));
  await Promise.all([a.ack("join", room), b.ack("join", room)]);
  console.log("READY");
  await until(allHave(all, "news", "end"), 15000, "end");
  await sleep(300);
  const results = {};
  for (const r of all) results[r.name] = r.report();
  const first = a.events.find((e) => e[0] === "news" && e[1].id === "all");
  results.binary = first ? c.enc(first[2]) : null;
  console.log(JSON.stringify(results));

  if ((await next()) === "disconnect") {
    await until(() => a.disconnects.length && b.disconnects.length, 8000, "disconnects");
    await sleep(300);
    for (const r of all) results[r.name] = r.report();
  }
  return results;
}

main().then(c.finish, (err) => c.finish({ error: String(err && err.stack || err) }));
