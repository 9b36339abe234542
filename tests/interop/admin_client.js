// The Admin UI's protocol, driven by the official client against tests/socketio_core/admin/_admin_server.py.
// usage: node admin_client.js URL SCENARIO ADMIN_MODE
//   SCENARIO    full | wrong | readonly | production | noauth
//   ADMIN_MODE  polling | websocket | default (the admin connection's transports)
// The admin socket connects to /admin as the dashboard does (auth {username,
// password}, then {sessionId}); ordinary clients connect to / meanwhile. Every
// event the admin receives is recorded in order; the JSON report holds what
// each step observed, the assertions live in tests/socketio_core/admin/test_admin_protocol.py.
const c = require("./sio_common");

const [url, scenario, adminMode] = process.argv.slice(2);
c.watchdog(50000);

const CREDENTIALS = { username: "admin", password: "secret" };

// Every event an admin socket receives, and a way to wait for one that matches.
class Recorder {
  constructor(socket) {
    this.log = [];
    this.waiters = [];
    socket.onAny((event, ...args) => {
      this.log.push([event, args]);
      this.waiters = this.waiters.filter((w) => !w());
    });
  }

  // Resolves with the args of the first event `event` (from index `since`) matching `pred`.
  wait(event, pred = () => true, since = 0, ms = 8000) {
    const found = new Promise((resolve) => {
      const check = () => {
        for (let i = since; i < this.log.length; i++) {
          const [ev, args] = this.log[i];
          if (ev === event && pred(...args)) {
            resolve(args);
            return true;
          }
        }
        return false;
      };
      if (!check()) this.waiters.push(check);
    });
    return c.withTimeout(found, ms, `${event} (admin received: ${this.events().join(" ")})`);
  }

  events() {
    return this.log.map(([ev]) => ev);
  }

  all(event) {
    return this.log.filter(([ev]) => ev === event).map(([, args]) => args);
  }
}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function admin(auth) {
  const socket = c.connect(url, adminMode, "/admin", { auth });
  return { socket, rec: new Recorder(socket) };
}

// The counters of every server_stats received so far, summed per type.
function aggregated(rec) {
  const sums = {};
  for (const [stats] of rec.all("server_stats")) {
    for (const e of stats.aggregatedEvents || []) {
      const key = e.subType ? `${e.type}:${e.subType}` : e.type;
      sums[key] = (sums[key] || 0) + e.count;
    }
  }
  return sums;
}

async function full() {
  const out = {};
  const a = admin(CREDENTIALS);
  await c.connected(a.socket);
  const [session] = await a.rec.wait("session");
  const [config] = await a.rec.wait("config");
  const [allSockets] = await a.rec.wait("all_sockets");
  const [firstStats] = await a.rec.wait("server_stats");
  Object.assign(out, { session, config, allSockets, firstStats, adminId: a.socket.id });

  // An ordinary client: polling first, then the upgrade.
  const user = c.connect(url, "default", "/", { auth: { name: "alice" } });
  const announce = c.listen(user, "announce");
  await c.connected(user);
  out.userId = user.id;
  const [connectedSocket, connectedAt] = await a.rec.wait("socket_connected", (s) => s.id === user.id);
  out.socketConnected = { socket: connectedSocket, timestamp: connectedAt };
  out.joinedOwnRoom = await a.rec.wait("room_joined", (n, room, id) => id === user.id && room === user.id);

  out.joinAck = await c.ack(user, "join", "room1");
  out.roomJoined = await a.rec.wait("room_joined", (n, room, id) => id === user.id && room === "room1");
  out.helloAck = await c.ack(user, "hello", { x: 1 });
  out.eventReceived = await a.rec.wait("event_received", (n, id, args) => id === user.id && args[0] === "hello");
  out.eventSent = await a.rec.wait("event_sent", (n, id, args) => id === user.id && args[0] === "reply");

  await c.upgraded(user);
  // Reported at the next stats tick, unless the upgrade beat the CONNECT.
  out.socketUpdated = connectedSocket.transport === "polling"
    ? await a.rec.wait("socket_updated", (s) => s.id === user.id)
    : null;

  // The dashboard's commands.
  a.socket.emit("join", "/", "room2", user.id);
  out.adminJoin = await a.rec.wait("room_joined", (n, room, id) => id === user.id && room === "room2");
  out.roomsAfterJoin = (await c.ack(user, "rooms"))[0];
  a.socket.emit("leave", "/", "room2", user.id);
  out.adminLeave = await a.rec.wait("room_left", (n, room, id) => id === user.id && room === "room2");
  out.roomsAfterLeave = (await c.ack(user, "rooms"))[0];
  a.socket.emit("emit", "/", user.id, "announce", "from the admin", 42);
  out.announce = await announce.next();

  // A server_stats that saw the user connected.
  const [stats] = await a.rec.wait(
    "server_stats",
    (s) => s.namespaces.some((n) => n.name === "/" && n.socketsCount === 1),
  );
  out.statsWithUser = stats;

  const userGone = new Promise((resolve) => user.once("disconnect", resolve));
  a.socket.emit("_disconnect", "/", false, user.id);
  out.userDisconnectReason = await c.withTimeout(userGone, 8000, "user disconnect");
  // (the client forgets its id once disconnected)
  out.socketDisconnected = await a.rec.wait("socket_disconnected", (n, id) => id === out.userId);
  out.roomLeftOnDisconnect = await a.rec.wait(
    "room_left", (n, room, id) => id === out.userId && room === "room1",
  );
  const mark = a.rec.log.length;
  await a.rec.wait("server_stats", () => true, mark);
  out.aggregated = aggregated(a.rec);

  // The dashboard reconnects with its session id instead of the password.
  const again = admin({ sessionId: session });
  await c.connected(again.socket);
  out.reconnectConfig = (await again.rec.wait("config"))[0];
  out.reconnectGotSession = again.rec.all("session").length;

  const bogus = admin({ sessionId: "not-a-session" });
  out.bogusSession = (await c.connectError(bogus.socket)).message;

  out.eventOrder = a.rec.events();
  out.ownEventsReported = a.rec.all("event_received").filter(([nsp]) => nsp === "/admin").length
    + a.rec.all("event_sent").filter(([nsp]) => nsp === "/admin").length;
  return out;
}

async function wrong() {
  const attempts = {
    password: { username: "admin", password: "nope" },
    username: { username: "root", password: "secret" },
    missing: undefined,
    types: { username: 1, password: ["secret"] },
  };
  const out = {};
  for (const [name, auth] of Object.entries(attempts)) {
    const a = admin(auth);
    const err = await c.connectError(a.socket);
    out[name] = { message: err.message, data: err.data === undefined ? null : err.data };
  }
  // The right credentials still work afterwards.
  const ok = admin(CREDENTIALS);
  await c.connected(ok.socket);
  out.configAfter = (await ok.rec.wait("config"))[0];
  return out;
}

async function readonly() {
  const out = {};
  const a = admin(CREDENTIALS);
  await c.connected(a.socket);
  out.config = (await a.rec.wait("config"))[0];
  const user = c.connect(url, "websocket", "/");
  const announce = c.listen(user, "announce");
  await c.connected(user);
  await a.rec.wait("socket_connected", (s) => s.id === user.id);
  let disconnected = null;
  user.on("disconnect", (reason) => (disconnected = reason));
  a.socket.emit("_disconnect", "/", false, user.id);
  a.socket.emit("_disconnect", "/", true);
  a.socket.emit("join", "/", "roomX", user.id);
  a.socket.emit("emit", "/", null, "announce", "should not arrive");
  await sleep(800);
  out.disconnected = disconnected;
  out.stillConnected = user.connected;
  out.rooms = (await c.ack(user, "rooms"))[0];
  out.announced = announce.items.length;
  out.helloAck = await c.ack(user, "hello", "still here");
  out.eventReceived = await a.rec.wait("event_received", (n, id, args) => id === user.id && args[0] === "hello");
  return out;
}

async function production() {
  const out = {};
  const a = admin(CREDENTIALS);
  await c.connected(a.socket);
  out.config = (await a.rec.wait("config"))[0];
  const user = c.connect(url, "polling", "/");
  await c.connected(user);
  await c.ack(user, "join", "room1");
  await c.ack(user, "hello", "production");
  const [stats] = await a.rec.wait(
    "server_stats",
    (s) => s.namespaces.some((n) => n.name === "/" && n.socketsCount === 1) && s.pollingClientsCount === 1,
  );
  out.stats = stats;
  user.disconnect();
  await a.rec.wait("server_stats", (s) => s.namespaces.some((n) => n.name === "/" && n.socketsCount === 0));
  const mark = a.rec.log.length;
  await a.rec.wait("server_stats", () => true, mark);
  out.aggregated = aggregated(a.rec);
  out.events = [...new Set(a.rec.events())].sort();
  return out;
}

async function noauth() {
  const a = admin(undefined);
  await c.connected(a.socket);
  const [config] = await a.rec.wait("config");
  const [sockets] = await a.rec.wait("all_sockets");
  return { config, sockets, sessions: a.rec.all("session").length };
}

const scenarios = { full, wrong, readonly, production, noauth };
c.runAll({ [scenario]: scenarios[scenario] }).then(c.finish);
