// Redis dies and comes back while two servers keep running
// (tests/cluster/test_redis_restart.py).
// usage: node cluster_restart.js URL_A URL_B TAG
//
// Steps, each ended by a line on stdout, the next one started by a command on stdin:
//   READY       clients a (server A) and b (server B) connected; broadcasts cross
//   (outage)    Redis is down: a's broadcast still reaches a (local delivery)
//   OUTAGE
//   (restarted) probes from each side until the other side hears one, then
//               broadcasts from both reach both; prints the report (JSON)
// Reconnection only concerns the servers: the clients' connections never drop.
const { c, sleep, until, Rec, allHave, commands } = require("./cluster_common");

const [urlA, urlB, tag] = process.argv.slice(2);
c.watchdog(50000);
const next = commands();

async function probe(from, to, name, ms) {
  const t0 = Date.now();
  let n = 0;
  while (Date.now() - t0 < ms) {
    from.emit("bcast", { id: `probe-${name}-${n++}`, tag });
    await sleep(200);
    if (to.ids("bcast").some((id) => id.startsWith(`probe-${name}-`))) return n;
  }
  throw new Error(`no probe from ${from.name} reached ${to.name} in ${ms} ms`);
}

async function main() {
  const a = new Rec("a", urlA, "websocket");
  const b = new Rec("b", urlB, "default");
  const both = [a, b];
  await Promise.all(both.map((r) => r.ready()));
  a.emit("bcast", { id: "before-a", tag });
  b.emit("bcast", { id: "before-b", tag });
  await until(() => both.every((r) => r.has("bcast", "before-a") && r.has("bcast", "before-b")), 8000, "before");
  console.log("READY");

  if ((await next()) !== "outage") throw new Error("expected the outage command");
  a.emit("bcast", { id: "during-a", tag });
  await until(allHave([a], "bcast", "during-a"), 8000, "local delivery during the outage");
  await sleep(300);
  console.log("OUTAGE");

  if ((await next()) !== "restarted") throw new Error("expected the restarted command");
  const out = { probes: {} };
  out.probes.ab = await probe(a, b, "ab", 15000);
  out.probes.ba = await probe(b, a, "ba", 15000);
  a.emit("bcast", { id: "after-a", tag });
  b.emit("bcast", { id: "after-b", tag });
  await until(() => both.every((r) => r.has("bcast", "after-a") && r.has("bcast", "after-b")), 8000, "after");
  await sleep(300);
  for (const r of both) out[r.name] = r.report();
  return out;
}

main().then(c.finish, (err) => c.finish({ error: String(err && err.stack || err) }));
