// Connection state recovery across a cluster, with the official client: it
// connects to server A, ticks come from A or from another server ("here" or
// "there"), the transport is dropped after tick 3 and the client reconnects,
// to server B when given (the Manager's uri is switched before the drop).
// Every tick must arrive exactly once, in order, on the same socket id.
// usage: node recovery_cluster_client.js URL_A URL_B|- here|there polling|websocket|upgrade [INTERVAL_S [N]]
const { io } = require("socket.io-client");

const [urlA, urlB, where, mode, every, count] = process.argv.slice(2);
const interval = Number(every || 0.05);
const transports = { polling: ["polling"], websocket: ["websocket"], upgrade: ["polling", "websocket"] }[mode];
const N = Number(count || 30);
const socket = io(urlA, {
  transports, auth: { name: "alice" }, forceNew: true,
  reconnectionDelay: 200, reconnectionDelayMax: 300, randomizationFactor: 0,
});
const result = { ticks: [], connects: [], recoveredFlags: [], serverSaid: [], stale: [] };
const { dropTransport, countStale } = require("./recovery_common.js");
let dropping = false;
countStale(socket, result.stale);
const fail = (why) => { console.log(JSON.stringify({ error: why, ...result })); process.exit(1); };
setTimeout(() => fail("timeout"), 20000);

socket.on("connect", () => {
  result.connects.push(socket.id);
  result.recoveredFlags.push(socket.recovered);
  if (result.connects.length === 1) {
    socket.emit("start_ticks", N, interval, where, () => {});
  }
});
socket.on("connect_error", (err) => fail(`connect_error: ${err.message}`));
// Done once tick N and the server's "recovered" note are both in (the note is
// a recorded emit: it travels through Redis, so an ack may overtake it).
let finishing = false;
const maybeFinish = () => {
  if (finishing || !result.ticks.includes(N) || result.serverSaid.length === 0) return;
  finishing = true;
  socket.emit("whoami", (me) => {
    result.whoami = me;
    socket.close();
    console.log(JSON.stringify(result));
    process.exit(0);
  });
};
socket.on("recovered_server_side", (sid) => { result.serverSaid.push(sid); maybeFinish(); });
socket.on("tick", (i) => {
  result.ticks.push(i);
  if (i === 3 && !dropping) {
    dropping = true;
    if (urlB !== "-") socket.io.uri = urlB; // the next connection goes to server B
    dropTransport(socket);
  }
  maybeFinish();
});
