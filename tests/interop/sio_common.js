// Helpers shared by the sio_*.js interop scripts (official socket.io-client 4.x).
//
// Each script runs its scenarios concurrently, each on its own Manager
// (forceNew), records what it observed, and prints one JSON document as the
// last stdout line. Assertions live in the pytest files: a scenario that throws
// reports {"error": ...} instead of results, so one failure never hides the rest.
const { io, Manager } = require("socket.io-client");

// Transport setting per mode: "default" leaves the client's own default
// (polling first, then the upgrade to WebSocket).
const MODES = { polling: ["polling"], websocket: ["websocket"], default: undefined };

function options(mode, extra) {
  if (!(mode in MODES)) throw new Error("unknown mode " + mode);
  const opts = { forceNew: true, reconnection: false, timeout: 10000, ...extra };
  if (MODES[mode]) opts.transports = MODES[mode];
  return opts;
}

const opened = [];

function connect(url, mode, nsp, extra) {
  const socket = io(url + nsp, options(mode, extra));
  opened.push(socket);
  return socket;
}

// A shared Manager for several namespaces. autoConnect is off: calling
// connect() on a socket that is already connecting makes the client send a
// second CONNECT for the namespace, which is not what these scenarios test.
function manager(url, mode, extra) {
  return new Manager(url, options(mode, { autoConnect: false, ...extra }));
}

function withTimeout(promise, ms, what) {
  let timer;
  const timeout = new Promise((_, reject) => {
    timer = setTimeout(() => reject(new Error("timed out waiting for " + what)), ms);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

// Binary values in a JSON report: {"$bin": "<hex>"}, whatever the buffer type.
function enc(value) {
  if (value instanceof ArrayBuffer) return { $bin: Buffer.from(value).toString("hex") };
  if (ArrayBuffer.isView(value)) {
    return { $bin: Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("hex") };
  }
  if (Array.isArray(value)) return value.map(enc);
  if (value === undefined) return { $undefined: true };
  if (value && typeof value === "object") {
    const out = {};
    for (const [k, v] of Object.entries(value)) out[k] = enc(v);
    return out;
  }
  return value;
}

// Every occurrence of one event, in arrival order; next() awaits the next one.
class Inbox {
  constructor(socket, event) {
    this.event = event;
    this.items = [];
    this.read = 0;
    this.waiters = [];
    socket.on(event, (...args) => {
      this.items.push(args);
      const waiters = this.waiters;
      this.waiters = [];
      waiters.forEach((w) => w());
    });
  }

  next(ms = 8000) {
    const index = this.read++;
    const got = new Promise((resolve) => {
      const check = () => (index < this.items.length ? resolve(this.items[index]) : this.waiters.push(check));
      check();
    });
    return withTimeout(got, ms, `${this.event} #${index}`);
  }
}

const listen = (socket, event) => new Inbox(socket, event);

function connected(socket, ms = 8000) {
  if (socket.connected) return Promise.resolve(socket);
  const done = new Promise((resolve, reject) => {
    socket.once("connect", () => resolve(socket));
    socket.once("connect_error", (err) => reject(new Error("connect_error: " + err.message)));
  });
  return withTimeout(done, ms, "connect to " + socket.nsp);
}

function connectError(socket, ms = 8000) {
  const done = new Promise((resolve, reject) => {
    socket.once("connect", () => reject(new Error("connected instead of connect_error")));
    socket.once("connect_error", (err) => resolve(err));
  });
  return withTimeout(done, ms, "connect_error on " + socket.nsp);
}

// Emit with an ack request; resolves with every argument of the ack.
function ack(socket, event, ...args) {
  const done = new Promise((resolve, reject) => {
    socket.timeout(8000).emit(event, ...args, (err, ...answer) => (err ? reject(err) : resolve(answer)));
  });
  return withTimeout(done, 9000, "ack of " + event);
}

// Resolves once the socket's Engine.IO connection runs over WebSocket.
function upgraded(socket, ms = 8000) {
  const done = connected(socket, ms).then(
    () =>
      new Promise((resolve) => {
        const engine = socket.io.engine;
        if (engine.transport.name === "websocket") resolve();
        else engine.once("upgrade", () => resolve());
      }),
  );
  return withTimeout(done, ms, "upgrade");
}

function transportOf(socket) {
  return socket.io.engine ? socket.io.engine.transport.name : null;
}

async function runAll(scenarios) {
  const names = Object.keys(scenarios);
  const settled = await Promise.allSettled(names.map((name) => scenarios[name]()));
  const results = {};
  names.forEach((name, i) => {
    const s = settled[i];
    results[name] = s.status === "fulfilled" ? s.value : { error: String(s.reason && s.reason.stack || s.reason) };
  });
  return results;
}

function finish(results) {
  for (const socket of opened) socket.disconnect();
  console.log(JSON.stringify(results));
  // Let the DISCONNECT packets leave before the process ends.
  setTimeout(() => process.exit(0), 200);
}

function watchdog(ms) {
  setTimeout(() => {
    console.log(JSON.stringify({ error: "script timed out after " + ms + " ms" }));
    process.exit(1);
  }, ms).unref();
}

module.exports = {
  MODES, options, connect, manager, withTimeout, enc, listen, connected, connectError, ack,
  upgraded, transportOf, runAll, finish, watchdog, opened,
};
