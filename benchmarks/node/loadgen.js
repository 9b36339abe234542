// The benchmark's load generator: lean Node on the `ws` package (and Node's own
// raw keep-alive HTTP/1.1 on `net` for long-polling), speaking raw Engine.IO v4 / Socket.IO v5 frames.
//
//   node loadgen.js '<json config>'
//
// The config names a scenario (handshake, echo, ack, polling, broadcast, idle),
// the server's host/port/path and the scenario's sizes. The generator talks to
// the harness (benchmarks/run.py) with JSON lines on stdout:
//   {"mark": NAME, ...}   it then waits for one line on stdin: the harness has
//                         sampled the server's /proc counters at that point
//   {"result": {...}}     the last line: the scenario's counts
// Every loop is bounded in count and time; the generator stops by itself.
'use strict';

const path = require('path');
const net = require('net');
const readline = require('readline');
const { performance } = require('perf_hooks');

function loadWs() {
  // benchmarks/node/node_modules (make bench-setup), else the interop tests' copy
  // (make npm), so that the smoke test runs without the benchmark environment.
  const roots = [__dirname, path.join(__dirname, '..', '..', 'tests', 'interop')];
  for (const root of roots) {
    try {
      return require(require.resolve('ws', { paths: [root] }));
    } catch (e) { /* try the next */ }
  }
  throw new Error('the `ws` package is missing: run `make bench-setup` (or `make npm`)');
}
const WebSocket = loadWs();

const cfg = JSON.parse(process.argv[2] || '{}');
const HOST = cfg.host || '127.0.0.1';
const PORT = cfg.port;
const SIO_PATH = cfg.path || '/socket.io/';
const WS_URL = `ws://${HOST}:${PORT}${SIO_PATH}?EIO=4&transport=websocket`;
const PAD = 'x'.repeat(cfg.payload_bytes || 32);

const now = () => performance.now();
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function out(obj) {
  process.stdout.write(JSON.stringify(obj) + '\n');
}

// ---- the harness handshake: marks wait for one stdin line each ----
const waiters = [];
const rl = readline.createInterface({ input: process.stdin });
rl.on('line', () => {
  const w = waiters.shift();
  if (w) w();
});
rl.on('close', () => {
  // The harness went away: resolve whatever waits, nothing else will.
  while (waiters.length) waiters.shift()();
});
function mark(name, extra) {
  return new Promise((resolve) => {
    waiters.push(resolve);
    out({ mark: name, ...(extra || {}) });
  });
}

// ---- helpers ----
const errorSamples = [];
function noteError(msg) {
  if (errorSamples.length < 10) errorSamples.push(String(msg));
}

// The integer after `"key":` in a JSON text (tolerates a space after the colon).
function intAfter(s, key) {
  let i = s.indexOf(key);
  if (i < 0) return -1;
  i += key.length;
  while (s.charCodeAt(i) === 32) i++;
  let n = 0;
  let any = false;
  for (;;) {
    const c = s.charCodeAt(i);
    if (c < 48 || c > 57) break;
    n = n * 10 + (c - 48);
    any = true;
    i++;
  }
  return any ? n : -1;
}

function percentile(sorted, p) {
  if (!sorted.length) return null;
  const idx = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[idx];
}

function latencyStats(lat) {
  const a = Float64Array.from(lat).sort();
  return { p50_ms: percentile(a, 50), p99_ms: percentile(a, 99), samples: a.length };
}

// ---- a Socket.IO client over a raw WebSocket, namespace "/" ----
// Resolves once the server's CONNECT answer (`40{...}`) arrives. Events (`42...`)
// and acks (`43...`) go to c.onEvent / c.onAck as raw strings; pings are answered.
function sioConnect(timeoutMs) {
  return new Promise((resolve, reject) => {
    let settled = false;
    const ws = new WebSocket(WS_URL, { perMessageDeflate: false });
    const c = { ws, connected: false, closed: false, pings: 0, onEvent: null, onAck: null, onClose: null };
    const timer = setTimeout(() => fail(new Error('connect timeout')), timeoutMs || 15000);
    function fail(err) {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      try { ws.terminate(); } catch (e) { /* already gone */ }
      reject(err);
    }
    ws.on('message', (data) => {
      const s = typeof data === 'string' ? data : data.toString();
      const t = s.charCodeAt(0);
      if (t === 52) { // '4' message -> Socket.IO packet
        const st = s.charCodeAt(1);
        if (st === 50) { if (c.onEvent) c.onEvent(s); } // 2 EVENT
        else if (st === 51) { if (c.onAck) c.onAck(s); } // 3 ACK
        else if (st === 48) { // 0 CONNECT answer
          if (!settled) {
            settled = true;
            c.connected = true;
            clearTimeout(timer);
            resolve(c);
          }
        } else if (st === 52) fail(new Error('connect_error ' + s)); // 4 CONNECT_ERROR
        else if (st === 49) c.nsDisconnected = true; // 1 DISCONNECT
      } else if (t === 50) { // '2' ping
        c.pings++;
        ws.send('3');
      } else if (t === 48) { // '0' open
        ws.send('40');
      }
    });
    ws.on('error', (e) => {
      if (!settled) fail(e);
      else noteError('ws error: ' + e.message);
    });
    ws.on('close', () => {
      c.closed = true;
      if (!settled) fail(new Error('closed before connect'));
      else if (c.onClose) c.onClose();
    });
  });
}

// Connect n clients with at most `concurrency` handshakes in flight.
async function connectMany(n, concurrency, timeoutMs, into) {
  const clients = into || [];
  let failed = 0;
  let next = 0;
  async function worker() {
    while (next < n) {
      next++;
      try {
        clients.push(await sioConnect(timeoutMs));
      } catch (e) {
        failed++;
        noteError(e.message);
      }
    }
  }
  const workers = [];
  for (let i = 0; i < Math.min(concurrency, n); i++) workers.push(worker());
  await Promise.all(workers);
  return { clients, failed };
}

function closeAll(clients) {
  for (const c of clients) {
    try { c.ws.terminate(); } catch (e) { /* gone */ }
  }
}

// Wait until pred() or the deadline; polls every `step` ms.
async function waitUntil(pred, deadline, step) {
  while (!pred() && now() < deadline) await sleep(step || 5);
}

// ---- scenario: WebSocket handshakes per second ----
async function scenarioHandshake(p) {
  let counting = false;
  let stop = false;
  let done = 0;
  let failed = 0;
  const lat = [];
  async function loop() {
    while (!stop) {
      const t0 = now();
      try {
        const c = await sioConnect(p.connect_timeout_ms);
        if (counting) {
          done++;
          lat.push(now() - t0);
        }
        c.ws.send('41');
        c.ws.close();
      } catch (e) {
        if (counting) failed++;
        noteError(e.message);
        await sleep(10);
      }
    }
  }
  const loops = [];
  for (let i = 0; i < p.concurrency; i++) loops.push(loop());
  await sleep(p.warmup_s * 1000);
  await mark('start');
  counting = true;
  const t0 = now();
  await waitUntil(() => done >= p.count, t0 + p.duration_s * 1000, 5);
  counting = false;
  const elapsed = (now() - t0) / 1000;
  await mark('end');
  stop = true;
  await Promise.race([Promise.all(loops), sleep(5000)]);
  return { ops: done, failed, elapsed_s: elapsed, rate: done / elapsed, ...latencyStats(lat) };
}

// ---- scenarios: WebSocket echo round trips (event, or event with ack) ----
async function scenarioEcho(p, withAck) {
  const { clients, failed: connectFailed } = await connectMany(p.clients, 25, p.connect_timeout_ms);
  if (clients.length === 0) throw new Error('no client connected: ' + errorSamples.join('; '));
  let counting = false;
  let stop = false;
  let done = 0;
  let mismatched = 0;
  let closed = 0;
  const lat = [];
  for (const c of clients) {
    c.seq = 0;
    c.t0 = 0;
    const send = () => {
      c.seq++;
      c.t0 = now();
      if (withAck) c.ws.send(`42${c.seq}["echo_ack",{"seq":${c.seq},"data":"${PAD}"}]`);
      else c.ws.send(`42["echo",{"seq":${c.seq},"data":"${PAD}"}]`);
    };
    const got = (s) => {
      const t = now();
      if (intAfter(s, '"seq":') !== c.seq) mismatched++;
      if (counting) {
        done++;
        lat.push(t - c.t0);
      }
      if (!stop) send();
    };
    if (withAck) {
      c.onAck = (s) => {
        // 43<id>[...]: the id must be the one we sent
        if (intAfter(s, '43') !== c.seq) mismatched++;
        got(s);
      };
    } else {
      c.onEvent = (s) => {
        if (s.startsWith('42["echo"')) got(s);
      };
    }
    c.onClose = () => { closed++; };
    c.send = send;
  }
  for (const c of clients) c.send();
  await sleep(p.warmup_s * 1000);
  await mark('start');
  counting = true;
  const t0 = now();
  await waitUntil(() => done >= p.count, t0 + p.duration_s * 1000, 5);
  counting = false;
  const elapsed = (now() - t0) / 1000;
  await mark('end');
  stop = true;
  closeAll(clients);
  return {
    ops: done, elapsed_s: elapsed, rate: done / elapsed, clients: clients.length,
    connect_failed: connectFailed, mismatched, closed_early: closed, ...latencyStats(lat),
  };
}

// ---- scenario: long-polling echo, browser-like (one GET pending, POST to send) ----
// A lean HTTP/1.1 client on a raw TCP socket: one persistent keep-alive
// connection, one request at a time, Content-Length or chunked responses.
// Node's own http client costs the generator more than some servers spend.
class HttpConn {
  constructor() {
    this.sock = null;
    this.buf = null;
    this.pending = null; // {resolve, reject}
  }

  ensure() {
    if (this.sock && !this.sock.destroyed) return;
    const sock = net.connect({ host: HOST, port: PORT });
    sock.setNoDelay(true);
    this.sock = sock;
    this.buf = null;
    sock.on('data', (chunk) => {
      this.buf = this.buf ? Buffer.concat([this.buf, chunk]) : chunk;
      this.parse();
    });
    const gone = (err) => {
      if (this.sock === sock) this.sock = null;
      const p = this.pending;
      this.pending = null;
      if (p) p.reject(err || new Error('connection closed'));
    };
    sock.on('error', gone);
    sock.on('close', () => gone(null));
  }

  parse() {
    const buf = this.buf;
    const p = this.pending;
    if (!p || !buf) return;
    const headEnd = buf.indexOf('\r\n\r\n');
    if (headEnd < 0) return;
    const head = buf.toString('latin1', 0, headEnd);
    const status = Number(head.slice(9, 12));
    let length = -1;
    let chunked = false;
    let close = false;
    const lines = head.split('\r\n');
    for (let i = 1; i < lines.length; i++) {
      const line = lines[i];
      const c = line.indexOf(':');
      const name = line.slice(0, c).trim().toLowerCase();
      const value = line.slice(c + 1).trim();
      if (name === 'content-length') length = Number(value);
      else if (name === 'transfer-encoding' && value.toLowerCase().includes('chunked')) chunked = true;
      else if (name === 'connection' && value.toLowerCase() === 'close') close = true;
    }
    let body;
    let consumed;
    if (chunked) {
      const parts = [];
      let i = headEnd + 4;
      for (;;) {
        const eol = buf.indexOf('\r\n', i);
        if (eol < 0) return; // incomplete
        const size = parseInt(buf.toString('latin1', i, eol), 16);
        if (buf.length < eol + 2 + size + 2) return;
        if (size === 0) { consumed = eol + 4; break; }
        parts.push(buf.subarray(eol + 2, eol + 2 + size));
        i = eol + 2 + size + 2;
      }
      body = Buffer.concat(parts).toString('utf8');
    } else if (length >= 0) {
      if (buf.length < headEnd + 4 + length) return;
      body = buf.toString('utf8', headEnd + 4, headEnd + 4 + length);
      consumed = headEnd + 4 + length;
    } else {
      // no length: the body ends with the connection (not expected from these servers)
      p.reject(new Error('response without Content-Length'));
      this.pending = null;
      this.sock.destroy();
      return;
    }
    this.buf = consumed < buf.length ? buf.subarray(consumed) : null;
    this.pending = null;
    if (close) {
      const sock = this.sock;
      this.sock = null;
      sock.end();
    }
    if (status !== 200) p.reject(new Error(`HTTP ${status} ${body.slice(0, 100)}`));
    else p.resolve(body);
  }

  request(method, target, body) {
    return new Promise((resolve, reject) => {
      this.ensure();
      this.pending = { resolve, reject };
      let req = `${method} ${target} HTTP/1.1\r\nHost: ${HOST}:${PORT}\r\nAccept: */*\r\n`;
      if (body !== undefined) {
        req += `Content-Type: text/plain;charset=UTF-8\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`;
      } else {
        req += '\r\n';
      }
      this.sock.write(req);
    });
  }

  close() {
    if (this.sock) this.sock.destroy();
    this.sock = null;
  }
}

class PollClient {
  constructor() {
    this.getConn = new HttpConn(); // the pending GET's connection
    this.postConn = new HttpConn(); // the POSTs' connection
    this.sid = null;
    this.queue = [];
    this.posting = false;
    this.closed = false;
    this.onEvent = null;
    this.pings = 0;
    this.connected = false;
    this.connectWaiter = null;
  }

  target() {
    return `${SIO_PATH}?EIO=4&transport=polling&sid=${this.sid}`;
  }

  async open(timeoutMs) {
    const hs = await this.getConn.request('GET', `${SIO_PATH}?EIO=4&transport=polling`);
    const i = hs.indexOf('0{');
    if (i < 0) throw new Error('bad open packet: ' + hs.slice(0, 100));
    this.sid = JSON.parse(hs.slice(i + 1)).sid;
    const connected = new Promise((resolve, reject) => {
      this.connectWaiter = resolve;
      setTimeout(() => reject(new Error('polling connect timeout')), timeoutMs || 15000);
    });
    this.send('40');
    this.pollLoop();
    await connected;
  }

  async pollLoop() {
    while (!this.closed) {
      let body;
      try {
        body = await this.getConn.request('GET', this.target());
      } catch (e) {
        if (!this.closed) noteError('poll: ' + e.message);
        this.closed = true;
        break;
      }
      for (const pkt of body.split('\x1e')) this.handle(pkt);
    }
  }

  handle(pkt) {
    const t = pkt.charCodeAt(0);
    if (t === 52) {
      const st = pkt.charCodeAt(1);
      if (st === 50) { if (this.onEvent) this.onEvent(pkt); }
      else if (st === 48) {
        this.connected = true;
        if (this.connectWaiter) this.connectWaiter();
      } else if (st === 52) noteError('connect_error ' + pkt);
    } else if (t === 50) {
      this.pings++;
      this.send('3');
    } else if (t === 49) {
      this.closed = true;
    }
  }

  send(pkt) {
    this.queue.push(pkt);
    if (!this.posting) this.flush();
  }

  async flush() {
    this.posting = true;
    while (this.queue.length && !this.closed) {
      const body = this.queue.join('\x1e');
      this.queue = [];
      try {
        await this.postConn.request('POST', this.target(), body);
      } catch (e) {
        if (!this.closed) noteError('post: ' + e.message);
        this.closed = true;
      }
    }
    this.posting = false;
  }

  close() {
    this.closed = true;
    this.getConn.close();
    this.postConn.close();
  }
}

async function scenarioPolling(p) {
  const clients = [];
  let connectFailed = 0;
  await Promise.all(Array.from({ length: p.clients }, async () => {
    const c = new PollClient();
    try {
      await c.open(p.connect_timeout_ms);
      clients.push(c);
    } catch (e) {
      connectFailed++;
      noteError(e.message);
      c.close();
    }
  }));
  if (clients.length === 0) throw new Error('no client connected: ' + errorSamples.join('; '));
  let counting = false;
  let stop = false;
  let done = 0;
  let mismatched = 0;
  const lat = [];
  for (const c of clients) {
    c.seq = 0;
    c.t0 = 0;
    c.sendEcho = () => {
      c.seq++;
      c.t0 = now();
      c.send(`42["echo",{"seq":${c.seq},"data":"${PAD}"}]`);
    };
    c.onEvent = (s) => {
      if (!s.startsWith('42["echo"')) return;
      const t = now();
      if (intAfter(s, '"seq":') !== c.seq) mismatched++;
      if (counting) {
        done++;
        lat.push(t - c.t0);
      }
      if (!stop) c.sendEcho();
    };
  }
  for (const c of clients) c.sendEcho();
  await sleep(p.warmup_s * 1000);
  await mark('start');
  counting = true;
  const t0 = now();
  await waitUntil(() => done >= p.count, t0 + p.duration_s * 1000, 5);
  counting = false;
  const elapsed = (now() - t0) / 1000;
  await mark('end');
  stop = true;
  const closedEarly = clients.filter((c) => c.closed).length;
  for (const c of clients) c.close();
  return {
    ops: done, elapsed_s: elapsed, rate: done / elapsed, clients: clients.length,
    connect_failed: connectFailed, mismatched, closed_early: closedEarly, ...latencyStats(lat),
  };
}

// ---- scenario: broadcast fan-out, one sender, every client checks order ----
async function scenarioBroadcast(p) {
  const { clients, failed: connectFailed } = await connectMany(p.clients, 25, p.connect_timeout_ms);
  if (clients.length === 0) throw new Error('no client connected: ' + errorSamples.join('; '));
  const N = clients.length;
  const cap = p.warmup_messages + p.messages;
  const deliveries = new Uint32Array(cap); // per seq: how many clients got it
  let fully = 0; // seqs every client got
  let sent = 0;
  let limit = p.warmup_messages; // the sender stops at this seq
  let received = 0; // receipts counted in the window
  let counting = false;
  let duplicates = 0;
  let reorders = 0;
  let foreign = 0;
  let closed = 0;
  const sender = clients[0];
  const pump = () => {
    while (sent < limit && sent - fully < p.window) {
      sender.ws.send(`42["bcast",{"seq":${sent},"data":"${PAD}"}]`);
      sent++;
    }
  };
  clients.forEach((c) => {
    const seen = new Uint8Array(cap);
    let maxSeen = -1;
    c.onEvent = (s) => {
      if (!s.startsWith('42["bcast"')) return;
      const seq = intAfter(s, '"seq":');
      if (seq < 0 || seq >= cap) { foreign++; return; }
      if (seen[seq]) { duplicates++; return; }
      seen[seq] = 1;
      if (seq < maxSeen) reorders++;
      else maxSeen = seq;
      if (counting) received++;
      if (++deliveries[seq] === N) {
        fully++;
        pump();
      }
    };
    c.onClose = () => { closed++; };
  });
  // Warm-up: a few messages, all delivered before the window opens.
  pump();
  await waitUntil(() => fully >= p.warmup_messages, now() + 15000, 2);
  await mark('start');
  counting = true;
  const t0 = now();
  limit = cap;
  pump();
  const sendDeadline = t0 + p.duration_s * 1000;
  await waitUntil(() => sent >= cap, sendDeadline, 5);
  limit = sent; // stop sending; let what is in flight arrive
  await waitUntil(() => fully >= sent, now() + p.drain_s * 1000, 2);
  counting = false;
  const elapsed = (now() - t0) / 1000;
  await mark('end');
  let lost = 0;
  for (let s = 0; s < sent; s++) lost += N - deliveries[s];
  closeAll(clients);
  const messages = sent - p.warmup_messages;
  return {
    ops: received, elapsed_s: elapsed, rate: received / elapsed, messages,
    messages_per_s: messages / elapsed, clients: N, connect_failed: connectFailed,
    expected: sent * N, lost, duplicates, reorders, foreign, closed_early: closed,
  };
}

// ---- scenario: idle connections (memory per connection, N held at once) ----
async function scenarioIdle(p) {
  const clients = [];
  let failed = 0;
  let closed = 0;
  const steps = [];
  // A few connections first, so lazy imports and first-use costs are in the baseline.
  const base = await connectMany(p.baseline, 10, p.connect_timeout_ms, clients);
  failed += base.failed;
  for (const c of clients) c.onClose = () => { closed++; };
  await sleep(p.settle_s * 1000);
  await mark('baseline', { connected: clients.length });
  for (const n of p.steps) {
    const t0 = now();
    const before = clients.length;
    const r = await connectMany(n - clients.length - failed, p.concurrency, p.connect_timeout_ms, clients);
    failed += r.failed;
    for (let i = before; i < clients.length; i++) clients[i].onClose = () => { closed++; };
    const connectS = (now() - t0) / 1000;
    await sleep(p.settle_s * 1000);
    const alive = clients.filter((c) => !c.closed).length;
    steps.push({ n, connected: clients.length, alive, failed, connect_s: connectS });
    await mark('step', { n, connected: clients.length, alive });
  }
  const pingsBefore = clients.map((c) => c.pings);
  await mark('hold_start', { connected: clients.length });
  const t0 = now();
  await sleep(p.hold_s * 1000);
  const holdS = (now() - t0) / 1000;
  const alive = clients.filter((c) => !c.closed && !c.nsDisconnected).length;
  let pinged = 0;
  clients.forEach((c, i) => { if (c.pings > pingsBefore[i]) pinged++; });
  await mark('hold_end', { alive });
  closeAll(clients);
  return {
    ops: clients.length, steps, baseline: p.baseline, target: p.steps[p.steps.length - 1],
    connected: clients.length, failed, alive_after_hold: alive, closed_early: closed,
    pinged_during_hold: pinged, hold_s: holdS,
  };
}

async function main() {
  const p = cfg.params || {};
  let result;
  switch (cfg.scenario) {
    case 'handshake': result = await scenarioHandshake(p); break;
    case 'echo': result = await scenarioEcho(p, false); break;
    case 'ack': result = await scenarioEcho(p, true); break;
    case 'polling': result = await scenarioPolling(p); break;
    case 'broadcast': result = await scenarioBroadcast(p); break;
    case 'idle': result = await scenarioIdle(p); break;
    default: throw new Error('unknown scenario ' + cfg.scenario);
  }
  result.errors = errorSamples;
  out({ result });
}

const hardStop = setTimeout(() => {
  out({ error: `loadgen: hard time limit (${cfg.time_limit_s}s) reached`, errors: errorSamples });
  process.exit(3);
}, (cfg.time_limit_s || 300) * 1000);
hardStop.unref();

main().then(
  () => process.exit(0),
  (e) => {
    out({ error: String(e && e.stack ? e.stack : e), errors: errorSamples });
    process.exit(2);
  },
);
