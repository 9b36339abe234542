// Disconnections in both directions with the official socket.io-client.
// usage: node sio_disconnect.js URL polling|websocket|default
// Reports the socket ids and the reasons the client saw; the pytest side
// matches the ids against the reasons the echo server logged.
const c = require("./sio_common");

const [url, mode] = process.argv.slice(2);
c.watchdog(30000);

function disconnected(socket, ms = 8000) {
  return c.withTimeout(new Promise((resolve) => socket.once("disconnect", (reason) => resolve(reason))),
    ms, "disconnect of " + socket.nsp);
}

async function ready(socket) {
  await c.connected(socket);
  if (mode === "default") await c.upgraded(socket);
  return socket.id;
}

async function serverKick(nsp) {
  const s = c.connect(url, mode, nsp);
  const id = await ready(s);
  const gone = disconnected(s);
  s.emit("disconnect_me");
  const reason = await gone;
  // A kicked socket may come back: a new CONNECT, a new id, auth again.
  const auth = c.listen(s, "auth");
  s.auth = { again: true };
  s.connect();
  await c.connected(s);
  const [again] = await auth.next();
  const answer = await c.ack(s, "echo_ack", "back");
  return { id, reason, connected_after: s.connected, new_id_differs: s.id !== id, auth_again: again, answer };
}

async function clientLeaves(nsp) {
  const s = c.connect(url, mode, nsp);
  const id = await ready(s);
  const gone = disconnected(s);
  s.disconnect();
  return { id, reason: await gone };
}

async function multiplexed() {
  // One Engine.IO session: leaving or being kicked from /custom leaves / alone.
  const m = c.manager(url, mode);
  const root = m.socket("/");
  const custom = m.socket("/custom");
  c.opened.push(root, custom);
  root.connect();
  await ready(root);
  custom.connect();
  await c.connected(custom);
  const customId = custom.id;
  custom.disconnect();
  const afterLeave = await c.ack(root, "echo_ack", "after-leave");
  // Join /custom again on the same session, and get kicked from it.
  custom.connect();
  await c.connected(custom);
  const kickedId = custom.id;
  const gone = disconnected(custom);
  custom.emit("disconnect_me");
  const kickedReason = await gone;
  const afterKick = await c.ack(root, "echo_ack", "after-kick");
  const rootId = root.id;
  const rootGone = disconnected(root);
  root.disconnect();
  return {
    root_id: rootId,
    custom_id: customId,
    kicked_id: kickedId,
    kicked_reason: kickedReason,
    root_reason: await rootGone,
    after_leave: afterLeave,
    after_kick: afterKick,
  };
}

async function transportClosed() {
  // The whole connection goes away (no DISCONNECT packet): the server sees the transport close.
  const s = c.connect(url, mode, "/");
  const id = await ready(s);
  const gone = disconnected(s);
  s.io.engine.close();
  return { id, reason: await gone };
}

c.runAll({
  server_kick_root: () => serverKick("/"),
  server_kick_custom: () => serverKick("/custom"),
  client_root: () => clientLeaves("/"),
  client_custom: () => clientLeaves("/custom"),
  multiplexed,
  transport_closed: transportClosed,
}).then(c.finish);
