// Connection state recovery against the echo server (--connection-state-recovery),
// with the official client. Alice joins room "r" on server A, her transport is
// dropped (and her next connection goes to server B when given); while she is
// away Bob (on A) sends room_msg m1..m5 to "r"; once Bob's last emit is acked
// Alice reconnects. She must come back with the same id, `recovered` true,
// and every missed message exactly once, in order.
// With "wait", she reconnects only when a line GO comes on stdin (after printing
// AWAY): the test first sees her session saved in Redis by server A, which a
// reconnection to B must not overtake (A learns of the drop on a connection of
// its own, Bob's acks on another).
// usage: node echo_recovery_client.js URL_A URL_B|- polling|websocket [wait]
const { io } = require("socket.io-client");
const readline = require("readline");

const [urlA, urlB, mode, wait] = process.argv.slice(2);
const transports = [mode];
const result = { connects: [], recovered: [], messages: [] };
const fail = (why) => { console.log(JSON.stringify({ error: why, ...result })); process.exit(1); };
setTimeout(() => fail("timeout"), 20000);

const bob = io(urlA, { transports, forceNew: true, reconnection: false });
const alice = io(urlA, { transports, forceNew: true, reconnection: false });

const finish = () => {
  alice.close();
  bob.close();
  console.log(JSON.stringify(result));
  process.exit(0);
};

bob.on("connect_error", (e) => fail("bob: " + e.message));
alice.on("connect_error", (e) => fail("alice: " + e.message));
alice.on("room_msg", (m) => {
  result.messages.push(m);
  if (m === "m5") alice.emit("echo_ack", "done", finish);  // anything duplicated arrives before this ack
});
let gotAuth = false;
alice.on("auth", () => { gotAuth = true; });
alice.on("connect", () => {
  result.connects.push(alice.id);
  result.recovered.push(alice.recovered);
  if (result.connects.length === 2) {
    if (!alice.recovered) finish();  // nothing will come: report what happened
    return;
  }
  const away = () => {
    alice.once("disconnect", () => {
      for (let i = 1; i <= 5; i++) bob.emit("to_room", "r", "m" + i);
      bob.emit("echo_ack", "sent", () => {  // the server handled all five
        if (wait !== "wait") return alice.connect();
        readline.createInterface({ input: process.stdin }).once("line", () => alice.connect());
        console.log("AWAY");
      });
    });
    if (urlB !== "-") alice.io.uri = urlB;
    alice.io.engine.close();  // drop the transport, as a network failure would
  };
  // Away once she is in the room, Bob is connected, and she holds an offset:
  // the server's "auth" note is a recorded emit (through Redis with
  // --message-queue), so her join's ack may overtake it; without an offset
  // she could not ask to be recovered.
  const joined = new Promise((resolve) => alice.emit("join", "r", resolve));
  const noted = new Promise((resolve) => (gotAuth ? resolve() : alice.once("auth", resolve)));
  const bobIn = new Promise((resolve) => (bob.connected ? resolve() : bob.once("connect", resolve)));
  Promise.all([joined, noted, bobIn]).then(away);
});
