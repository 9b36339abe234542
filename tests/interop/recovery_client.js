// Connection state recovery with the official client: ticks keep coming while
// the transport is dropped; after the reconnection the socket is recovered
// (same id, rooms, data) and has every tick exactly once, in order.
// usage: node recovery_client.js URL polling|websocket|upgrade [BURST [deferred|sync]]
// BURST ticks are emitted in one server loop turn (so they travel in one write);
// the transport is dropped from the handler of tick 3 (see recovery_common.js).
const { io } = require("socket.io-client");
const { dropTransport, countStale } = require("./recovery_common.js");

const [url, mode, burstArg, closeMode] = process.argv.slice(2);
const transports = { polling: ["polling"], websocket: ["websocket"], upgrade: ["polling", "websocket"] }[mode];
const N = 30;
const burst = Number(burstArg || 1);
const socket = io(url, {
  transports, auth: { name: "alice" }, forceNew: true,
  reconnectionDelay: 200, reconnectionDelayMax: 300, randomizationFactor: 0,
});
const result = { ticks: [], connects: [], recoveredFlags: [], serverSaid: [], stale: [] };
countStale(socket, result.stale);
const fail = (why) => { console.log(JSON.stringify({ error: why, ...result })); process.exit(1); };
setTimeout(() => fail("timeout"), 15000);

socket.on("connect", () => {
  result.connects.push(socket.id);
  result.recoveredFlags.push(socket.recovered);
  if (result.connects.length === 1) {
    socket.emit("start_ticks", N, 0.05, burst, () => {});
  }
});
// Done once tick N and the server's "recovered" note are both in.
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
let dropping = false;
socket.on("tick", (i) => {
  result.ticks.push(i);
  if (i === 3 && !dropping) {
    dropping = true;
    dropTransport(socket, closeMode);
  }
  maybeFinish();
});
