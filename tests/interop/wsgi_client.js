// Drives a server with the official socket.io-client over one transport setting:
// auth on connect, echo with binary, an ack, and reports the final transport.
// usage: node wsgi_client.js URL polling|websocket|upgrade
const { io } = require("socket.io-client");

const [url, mode] = process.argv.slice(2);
const transports = { polling: ["polling"], websocket: ["websocket"], upgrade: ["polling", "websocket"] }[mode];
// rejectUnauthorized: the TLS test serves a self-signed certificate.
const socket = io(url, {
  transports, auth: { token: "wsgi" }, forceNew: true, reconnection: false, rejectUnauthorized: false,
});
const result = { events: [] };
const fail = (why) => { console.log(JSON.stringify({ error: why, ...result })); process.exit(1); };
setTimeout(() => fail("timeout"), 10000);

socket.on("connect_error", (e) => fail("connect_error: " + e.message));
socket.on("auth", (auth) => {
  result.auth = auth;
  socket.emit("echo", "hi", Buffer.from([1, 2, 3]));
});
socket.on("echo", (text, buf) => {
  result.echo = [text, Array.from(buf)];
  socket.emit("echo_ack", { n: 1 }, (answer) => {
    result.ack = answer;
    const finish = () => {
      result.transport = socket.io.engine.transport.name;
      socket.close();
      console.log(JSON.stringify(result));
      process.exit(0);
    };
    if (mode === "upgrade" && socket.io.engine.transport.name !== "websocket") {
      socket.io.engine.once("upgrade", finish);
    } else {
      finish();
    }
  });
});
