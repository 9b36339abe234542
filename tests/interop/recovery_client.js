// Connection state recovery with the official client: ticks keep coming while
// the transport is dropped; after the reconnection the socket is recovered
// (same id, rooms, data) and has every tick exactly once, in order.
// usage: node recovery_client.js URL polling|websocket|upgrade
const { io } = require("socket.io-client");

const [url, mode] = process.argv.slice(2);
const transports = { polling: ["polling"], websocket: ["websocket"], upgrade: ["polling", "websocket"] }[mode];
const N = 30;
const socket = io(url, {
  transports, auth: { name: "alice" }, forceNew: true,
  reconnectionDelay: 200, reconnectionDelayMax: 300, randomizationFactor: 0,
});
const result = { ticks: [], connects: [], recoveredFlags: [], serverSaid: [] };
const fail = (why) => { console.log(JSON.stringify({ error: why, ...result })); process.exit(1); };
setTimeout(() => fail("timeout"), 15000);

socket.on("connect", () => {
  result.connects.push(socket.id);
  result.recoveredFlags.push(socket.recovered);
  if (result.connects.length === 1) {
    socket.emit("start_ticks", N, 0.05, () => {});
  }
});
socket.on("recovered_server_side", (sid) => result.serverSaid.push(sid));
socket.on("tick", (i) => {
  result.ticks.push(i);
  if (i === 3 && result.connects.length === 1) {
    socket.io.engine.close(); // drop the transport: the client reconnects on its own
  }
  if (i === N) {
    socket.emit("whoami", (me) => {
      result.whoami = me;
      socket.close();
      console.log(JSON.stringify(result));
      process.exit(0);
    });
  }
});
