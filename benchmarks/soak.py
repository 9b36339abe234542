"""Bounded soak: thousands of clients connecting, chatting and dropping in every way.

Not part of ``make test``. Run it by hand::

    .venv/bin/python benchmarks/soak.py                      # 2,000 clients, 3 minutes
    .venv/bin/python benchmarks/soak.py --duration 120 --clients 2000 --json /tmp/soak.json

Two processes besides this one:

* the server: this file with ``--serve``, a ``socketio_core.Server`` with the
  echo handlers (shared/ECHO_SERVER.md) and short heartbeats, printing its
  ``stats()`` counters and its RSS as one JSON line per second;
* the load: Node with the ``ws`` package from tests/interop/node_modules
  (``make npm``), speaking raw Engine.IO v4 / Socket.IO v5. Each of the
  ``--clients`` slots loops until the time is up, picking one behaviour per
  round: a WebSocket client that chats (echo, acks, binary, rooms and room
  broadcasts) then leaves cleanly, resets its TCP connection, goes silent
  until the ping timeout closes it, or dies in the middle of a frame; a
  long-polling client that chats then closes or just stops; an abandoned
  polling handshake; an upgrade that fails (probe closed, garbage probe,
  probe that never sends ``5``, probe reset) and one that succeeds.

When the load is over the harness waits for the server to come back to idle,
then prints whether RSS stayed flat during the load (the median of the last
third of the run against the median of the first third after the ramp-up)
and whether every counter returned to zero. Exit status 0 only if both hold
and the server logged no traceback.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
NODE_MODULES = ROOT / "tests" / "interop" / "node_modules"
ZERO_KEYS = (
    "sessions", "sockets", "rooms", "timers", "buffered_bytes",
    "pending_acks", "busy_workers", "connections",
)


# ----------------------------------------------------------------- the server


def serve(args: argparse.Namespace) -> None:
    """The server process: echo handlers, one JSON line of counters per second."""
    import gc
    import logging
    from time import monotonic

    import gevent

    from socketio_core import Server
    from socketio_core.echo._app import register_echo_handlers

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    sio = Server(
        ping_interval=args.ping_interval,
        ping_timeout=args.ping_timeout,
        connect_timeout=args.connect_timeout,
        upgrade_timeout=args.upgrade_timeout,
        cors_allowed_origins="*",
    )
    register_echo_handlers(sio)
    host, port = sio.start("127.0.0.1", args.port)
    start = monotonic()
    print(json.dumps({"listening": port}), flush=True)

    def rss_kb() -> int:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1])
        return 0

    def sample() -> None:
        n = 0
        while True:
            stats: dict[str, Any] = dict(sio.stats())
            stats["t"] = round(monotonic() - start, 2)
            stats["rss_kb"] = rss_kb()
            stats["timer_heap"] = len(sio.engine.scheduler)
            stats["workers"] = sio.workers.workers
            if n % 10 == 0:
                stats["gc_objects"] = len(gc.get_objects())
            n += 1
            print(json.dumps(stats), flush=True)
            gevent.sleep(args.sample)

    gevent.spawn(sample)
    sio.http_server().serve_forever()


# ------------------------------------------------------------- the load (Node)

LOADGEN_JS = r"""
'use strict';
const WebSocket = require('ws');
const http = require('http');
const [PORT, CLIENTS, DURATION, PING_INTERVAL, PING_TIMEOUT, UPGRADE_TIMEOUT] =
  process.argv.slice(2).map(Number);
const HOST = '127.0.0.1';
const PATH = '/socket.io/';
const END = Date.now() + DURATION * 1000;
const RAMP_MS = Math.min(15000, DURATION * 1000 / 4);
const HEARTBEAT_MS = (PING_INTERVAL + PING_TIMEOUT) * 1000;

const S = { started: {}, done: {}, failed: {}, errors: {}, sent: 0, received: 0, rtt: [],
            silent_closed_in_time: 0, silent_not_closed: 0 };
const bump = (o, k, n = 1) => { o[k] = (o[k] || 0) + n; };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const rand = (a, b) => a + Math.floor(Math.random() * (b - a + 1));
const pick = (xs) => xs[Math.floor(Math.random() * xs.length)];
let nextClientId = 0;

// ------------------------------------------------------------- WebSocket
class Ws {
  constructor(query) {
    this.ws = new WebSocket(`ws://${HOST}:${PORT}${PATH}?EIO=4&transport=websocket${query || ''}`,
                            { perMessageDeflate: false, handshakeTimeout: 10000 });
    this.queue = []; this.waiters = []; this.silent = false; this.closed = false;
    this.id = nextClientId++;
    this.ackId = 0;
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', resolve);
      this.ws.once('error', reject);
      this.ws.once('close', () => reject(new Error('closed before open')));
    });
    this.opened.catch(() => {});
    this.closedPromise = new Promise((resolve) => this.ws.on('close', () => {
      this.closed = true; this._wake(); resolve();
    }));
    this.ws.on('error', () => {});
    this.ws.on('message', (data, isBinary) => {
      const msg = isBinary ? data : data.toString();
      if (!isBinary && msg === '2') { if (!this.silent) this.send('3'); return; }
      if (this.silent) return;
      S.received++;
      this.queue.push(msg); this._wake();
    });
  }
  _wake() { const ws = this.waiters; this.waiters = []; ws.forEach((w) => w()); }
  send(m) { if (this.ws.readyState === WebSocket.OPEN) { this.ws.send(m); S.sent++; } }
  // The next message matching `pred` (others are dropped); rejects on close or timeout.
  expect(pred, timeoutMs = 10000) {
    return new Promise((resolve, reject) => {
      let timer = null;
      const attempt = () => {
        while (this.queue.length) {
          const m = this.queue.shift();
          if (pred(m)) { clearTimeout(timer); resolve(m); return; }
        }
        if (this.closed) { clearTimeout(timer); reject(new Error('closed')); return; }
        this.waiters.push(attempt);
      };
      timer = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== attempt);
        reject(new Error('timeout'));
      }, timeoutMs);
      attempt();
    });
  }
  async join() {
    await this.opened;
    await this.expect((m) => typeof m === 'string' && m.startsWith('0{'));
    this.send('40');
    await this.expect((m) => typeof m === 'string' && m.startsWith('40{'));
    await this.expect((m) => typeof m === 'string' && m.startsWith('42["auth"'));
  }
  async chatRound() {
    const kind = pick(['echo', 'echo', 'ack', 'binary', 'room']);
    const tag = `${this.id}.${this.ackId}`;
    const t0 = Date.now();
    const pad = 'x'.repeat(rand(0, 300));
    if (kind === 'echo') {
      this.send(`42["echo",{"tag":"${tag}","pad":"${pad}"}]`);
      await this.expect((m) => typeof m === 'string' && m.includes(`"tag":"${tag}"`));
    } else if (kind === 'ack') {
      const id = this.ackId;
      this.send(`42${id}["echo_ack",{"tag":"${tag}","pad":"${pad}"}]`);
      await this.expect((m) => typeof m === 'string' && m.startsWith(`43${id}[`));
    } else if (kind === 'binary') {
      this.send(`451-["echo",{"tag":"${tag}"},{"_placeholder":true,"num":0}]`);
      this.send(Buffer.alloc(rand(1, 2000), this.id & 0xff));
      await this.expect((m) => typeof m === 'string' && m.includes(`"tag":"${tag}"`));
      await this.expect((m) => typeof m !== 'string');
    } else {
      const room = `room-${rand(0, 50)}`;
      const id = this.ackId;
      this.send(`42${id}["join","${room}"]`);
      await this.expect((m) => typeof m === 'string' && m.startsWith(`43${id}[`));
      this.send(`42["bcast",{"room":"${room}","tag":"${tag}"}]`);
      await this.expect((m) => typeof m === 'string' && m.includes(`"tag":"${tag}"`));
    }
    this.ackId++;
    S.rtt.push(Date.now() - t0);
  }
  async chat(rounds) {
    for (let i = 0; i < rounds && Date.now() < END; i++) {
      await this.chatRound();
      await sleep(rand(50, 1500));
    }
  }
  reset() { const s = this.ws._socket; if (s) s.resetAndDestroy(); else this.ws.terminate(); }
}

async function wsClient(ending) {
  const c = new Ws();
  try {
    await c.join();
    await c.chat(rand(1, 12));
    if (ending === 'clean') {
      c.send('41');
      c.ws.close(1000);
    } else if (ending === 'reset') {
      c.reset();
    } else if (ending === 'silent') {
      c.silent = true;  // no pong, nothing read: the server's ping timeout must close it
      const limit = sleep(HEARTBEAT_MS + 5000).then(() => 'late');
      if (await Promise.race([c.closedPromise.then(() => 'closed'), limit]) === 'closed') {
        S.silent_closed_in_time++;
      } else {
        S.silent_not_closed++;
        c.reset();
      }
    } else {  // mid-message: half a masked 10 kB text frame, then gone
      const head = Buffer.from([0x81, 0xfe, 0x27, 0x10, 1, 2, 3, 4]);
      c.ws._socket.write(Buffer.concat([head, Buffer.alloc(rand(0, 3000), 0x41)]));
      await sleep(rand(0, 200));
      if (Math.random() < 0.5) c.reset(); else c.ws._socket.destroy();
    }
    await Promise.race([c.closedPromise, sleep(HEARTBEAT_MS + 5000)]);
  } finally {
    if (!c.closed) c.reset();
  }
}

// --------------------------------------------------------- long-polling
class Poller {
  constructor() {
    this.agent = new http.Agent({ keepAlive: true, maxSockets: 2 });
    this.sid = null;
    this.inbox = [];
  }
  request(method, body, timeoutMs = HEARTBEAT_MS + 5000) {
    const q = `EIO=4&transport=polling${this.sid ? `&sid=${this.sid}` : ''}&t=${Date.now()}`;
    return new Promise((resolve, reject) => {
      const req = http.request({ host: HOST, port: PORT, method, path: `${PATH}?${q}`,
                                 agent: this.agent,
                                 headers: body ? { 'Content-Type': 'text/plain;charset=UTF-8' } : {} },
        (res) => {
          const chunks = [];
          res.on('data', (c) => chunks.push(c));
          res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
          res.on('error', reject);
        });
      req.setTimeout(timeoutMs, () => req.destroy(new Error('timeout')));
      req.on('error', reject);
      if (body) { S.sent++; req.end(body); } else req.end();
    });
  }
  async handshake() {
    const r = await this.request('GET');
    if (r.status !== 200) throw new Error(`handshake ${r.status}`);
    this.sid = JSON.parse(r.body.slice(1)).sid;
  }
  async post(body) {
    const r = await this.request('POST', body);
    if (r.status !== 200) throw new Error(`post ${r.status}`);
  }
  // Poll until a packet matches `pred`; pings are answered.
  async until(pred) {
    for (;;) {
      while (this.inbox.length) { const p = this.inbox.shift(); if (pred(p)) return p; }
      const r = await this.request('GET');
      if (r.status !== 200) throw new Error(`poll ${r.status}`);
      for (const p of r.body.split('\x1e')) {
        if (p === '2') await this.post('3'); else { S.received++; this.inbox.push(p); }
      }
    }
  }
  async join() {
    await this.handshake();
    await this.post('40');
    await this.until((p) => p.startsWith('42["auth"'));
  }
  close() { this.agent.destroy(); }
}

async function pollingClient(ending) {
  const c = new Poller();
  try {
    await c.join();
    const rounds = rand(1, 6);
    for (let i = 0; i < rounds && Date.now() < END; i++) {
      const t0 = Date.now();
      const tag = `p${nextClientId++}`;
      await c.post(`42["echo",{"tag":"${tag}"}]`);
      await c.until((p) => p.includes(`"tag":"${tag}"`));
      S.rtt.push(Date.now() - t0);
      await sleep(rand(50, 1000));
    }
    if (ending === 'clean') await c.post('1');
  } finally {
    c.close();
  }
}

async function abandonedHandshake() {
  const c = new Poller();
  try { await c.handshake(); } finally { c.close(); }
}

async function upgrade(kind) {
  const p = new Poller();
  try {
    await p.join();
    const c = new Ws(`&sid=${p.sid}`);
    try {
      await c.opened;
      if (kind === 'garbage') {
        c.send('42["not a probe"]');
      } else {
        c.send('2probe');
        await c.expect((m) => m === '3probe');
        if (kind === 'ok') {
          c.send('5');
          await c.chat(rand(1, 6));
          c.send('41');
          c.ws.close(1000);
          await Promise.race([c.closedPromise, sleep(5000)]);
          return;
        }
        if (kind === 'close') c.ws.close(1000);
        else if (kind === 'reset') c.reset();
        // 'no5': keep the probe open; the server's upgrade timeout closes it
      }
      await Promise.race([c.closedPromise, sleep(UPGRADE_TIMEOUT * 1000 + 5000)]);
    } finally {
      if (!c.closed) c.reset();
    }
    // The session is still on polling: one more echo, then leave or just stop.
    const tag = `u${nextClientId++}`;
    await p.post(`42["echo",{"tag":"${tag}"}]`);
    await p.until((x) => x.includes(`"tag":"${tag}"`));
    if (Math.random() < 0.5) await p.post('1');
  } finally {
    p.close();
  }
}

const BEHAVIOURS = [
  ['ws-clean', 6, () => wsClient('clean')],
  ['ws-reset', 3, () => wsClient('reset')],
  ['ws-silent', 2, () => wsClient('silent')],
  ['ws-mid-message', 2, () => wsClient('mid')],
  ['poll-clean', 2, () => pollingClient('clean')],
  ['poll-stop', 1, () => pollingClient('stop')],
  ['poll-abandoned-handshake', 2, abandonedHandshake],
  ['upgrade-ok', 2, () => upgrade('ok')],
  ['upgrade-probe-closed', 1, () => upgrade('close')],
  ['upgrade-garbage-probe', 1, () => upgrade('garbage')],
  ['upgrade-no-5', 1, () => upgrade('no5')],
  ['upgrade-probe-reset', 1, () => upgrade('reset')],
];
const WEIGHTED = BEHAVIOURS.flatMap(([name, w, fn]) => Array(w).fill([name, fn]));

async function slot(i) {
  await sleep(RAMP_MS * i / CLIENTS);
  while (Date.now() < END) {
    const [name, fn] = pick(WEIGHTED);
    bump(S.started, name);
    try {
      await fn();
      bump(S.done, name);
    } catch (e) {
      bump(S.failed, name);
      bump(S.errors, `${name}: ${e.message}`.slice(0, 80));
      await sleep(rand(100, 1000));
    }
  }
}

function summary() {
  const rtt = S.rtt.slice().sort((a, b) => a - b);
  const q = (f) => (rtt.length ? rtt[Math.min(rtt.length - 1, Math.floor(f * rtt.length))] : null);
  return { started: S.started, done: S.done, failed: S.failed, errors: S.errors,
           sent: S.sent, received: S.received, round_trips: rtt.length,
           rtt_ms: { p50: q(0.5), p90: q(0.9), p99: q(0.99), max: rtt[rtt.length - 1] || null },
           silent_closed_in_time: S.silent_closed_in_time, silent_not_closed: S.silent_not_closed };
}

const progress = setInterval(() => {
  const active = Object.keys(S.started).reduce((n, k) => n + S.started[k] - (S.done[k] || 0) - (S.failed[k] || 0), 0);
  process.stdout.write(JSON.stringify({ progress: { active, sent: S.sent, received: S.received,
    round_trips: S.rtt.length, failed: Object.values(S.failed).reduce((a, b) => a + b, 0) } }) + '\n');
}, 10000);

Promise.all(Array.from({ length: CLIENTS }, (_, i) => slot(i))).then(() => {
  clearInterval(progress);
  process.stdout.write(JSON.stringify({ summary: summary() }) + '\n');
  process.exit(0);
});
// Whatever still hangs after the grace period is reported and cut.
setTimeout(() => {
  process.stdout.write(JSON.stringify({ summary: summary(), cut: true }) + '\n');
  process.exit(0);
}, (DURATION + 60) * 1000).unref();
"""


# -------------------------------------------------------------- the harness


class Proc:
    """A child process whose stdout lines are collected by a thread."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.lines: list[str] = []
        self.stderr: list[str] = []
        self.proc = subprocess.Popen(
            argv, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
            env={**os.environ, **(env or {})},
        )
        self._out = threading.Thread(target=self._read, args=(self.proc.stdout, self.lines), daemon=True)
        self._err = threading.Thread(target=self._read, args=(self.proc.stderr, self.stderr), daemon=True)
        self._out.start()
        self._err.start()

    @staticmethod
    def _read(stream: Any, into: list[str]) -> None:
        for line in stream:
            into.append(line)

    def json_lines(self) -> list[dict[str, Any]]:
        out = []
        for line in list(self.lines):
            try:
                out.append(json.loads(line))
            except ValueError:
                pass
        return out

    def stop(self, timeout: float = 15) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._out.join(5)
        self._err.join(5)


def _samples(server: Proc) -> list[dict[str, Any]]:
    return [s for s in server.json_lines() if "rss_kb" in s]


def _fmt_mb(kb: float) -> str:
    return f"{kb / 1024:.1f} MB"


def run(args: argparse.Namespace) -> int:
    if not (NODE_MODULES / "ws").is_dir():
        print("tests/interop/node_modules/ws is missing: run `make npm` first", file=sys.stderr)
        return 2
    server = Proc([
        sys.executable, str(Path(__file__).resolve()), "--serve", "--port", str(args.port),
        "--ping-interval", str(args.ping_interval), "--ping-timeout", str(args.ping_timeout),
        "--connect-timeout", str(args.connect_timeout), "--upgrade-timeout", str(args.upgrade_timeout),
        "--sample", str(args.sample),
    ])
    deadline = time.monotonic() + 20
    port = None
    while port is None:
        if time.monotonic() > deadline or server.proc.poll() is not None:
            server.stop()
            print("server did not start:\n" + "".join(server.stderr), file=sys.stderr)
            return 2
        for line in server.json_lines():
            if "listening" in line:
                port = int(line["listening"])
        time.sleep(0.05)
    print(f"server pid {server.proc.pid} on port {port}; {args.clients} clients for {args.duration:.0f} s",
          flush=True)

    with tempfile.NamedTemporaryFile("w", suffix=".js", delete=False) as script:
        script.write(LOADGEN_JS)
    load_start = time.monotonic()
    load = Proc(
        ["node", script.name, str(port), str(args.clients), str(args.duration),
         str(args.ping_interval), str(args.ping_timeout), str(args.upgrade_timeout)],
        env={"NODE_PATH": str(NODE_MODULES)},
    )
    t_load_start = _samples(server)[-1]["t"] if _samples(server) else 0.0
    last_report = 0.0
    try:
        while load.proc.poll() is None:
            time.sleep(1)
            elapsed = time.monotonic() - load_start
            if elapsed - last_report >= args.report:
                last_report = elapsed
                samples = _samples(server)
                if samples:
                    s = samples[-1]
                    print(f"  t={elapsed:5.0f}s rss={_fmt_mb(s['rss_kb'])} sessions={s['sessions']} "
                          f"sockets={s['sockets']} rooms={s['rooms']} connections={s['connections']} "
                          f"timers={s['timers']} buffered={s['buffered_bytes']} "
                          f"acks={s['pending_acks']} busy={s['busy_workers']}", flush=True)
    except KeyboardInterrupt:
        load.stop()
    load.stop()
    os.unlink(script.name)
    load_end_t = _samples(server)[-1]["t"] if _samples(server) else 0.0
    load_result: dict[str, Any] = next(
        (x for x in reversed(load.json_lines()) if "summary" in x), {}
    )

    # Back to idle: every silent or abandoned session needs a heartbeat (or a
    # close timeout, for a polling client that never collects its close packet).
    idle_deadline = time.monotonic() + args.ping_interval + args.ping_timeout + 30 + 10
    idle_at: float | None = None
    final: dict[str, Any] = {}
    while time.monotonic() < idle_deadline:
        samples = _samples(server)
        if samples:
            final = samples[-1]
            if final["t"] > load_end_t and all(final[k] == 0 for k in ZERO_KEYS):
                idle_at = final["t"] - load_end_t
                break
        time.sleep(args.sample)
    time.sleep(args.sample * 2)
    idle_rss = _samples(server)[-1]["rss_kb"] if _samples(server) else 0
    server.stop()
    errors = "".join(server.stderr)
    tracebacks = errors.count("Traceback")

    # ------------------------------------------------------------ analysis
    samples = [s for s in _samples(server) if t_load_start <= s["t"] <= load_end_t]
    ramp = min(20.0, args.duration / 4)
    steady = [s for s in samples if s["t"] >= t_load_start + ramp]
    third = max(1, len(steady) // 3)
    early = statistics.median(s["rss_kb"] for s in steady[:third]) if steady else 0
    late = statistics.median(s["rss_kb"] for s in steady[-third:]) if steady else 0
    peak = max((s["rss_kb"] for s in samples), default=0)
    growth = late - early
    flat = growth <= max(args.rss_tolerance_mb * 1024, early * args.rss_tolerance_pct / 100)
    zero = bool(final) and all(final.get(k) == 0 for k in ZERO_KEYS)
    peaks = {k: max((s[k] for s in samples), default=0) for k in ("sessions", "sockets", "rooms", "connections")}
    gc_counts = [s["gc_objects"] for s in steady if "gc_objects" in s]

    print()
    print("== load")
    summary = load_result.get("summary", {})
    started = summary.get("started", {})
    for name in sorted(started):
        print(f"  {name:28s} started {started[name]:6d}  done {summary['done'].get(name, 0):6d}"
              f"  failed {summary['failed'].get(name, 0):5d}")
    print(f"  messages sent {summary.get('sent')} received {summary.get('received')}; "
          f"round trips {summary.get('round_trips')} rtt {summary.get('rtt_ms')}")
    print(f"  silent clients closed by the ping timeout in time: {summary.get('silent_closed_in_time')}, "
          f"not closed: {summary.get('silent_not_closed')}")
    top_errors = sorted(summary.get("errors", {}).items(), key=lambda kv: -kv[1])[:8]
    for err, count in top_errors:
        print(f"    {count:6d} x {err}")
    print("== server")
    print(f"  peaks: {peaks}")
    print(f"  RSS: first third after ramp-up {_fmt_mb(early)}, last third {_fmt_mb(late)} "
          f"({growth / 1024:+.1f} MB), peak {_fmt_mb(peak)}, idle after the load {_fmt_mb(idle_rss)}")
    if gc_counts:
        print(f"  gc objects: first {gc_counts[0]}, last {gc_counts[-1]}, max {max(gc_counts)}")
    print(f"  RSS flat: {'YES' if flat else 'NO'}")
    if zero:
        print(f"  every counter back to zero: YES ({idle_at:.1f} s after the load ended)")
    else:
        print(f"  every counter back to zero: NO, last sample {final}")
    print(f"  tracebacks in the server log: {tracebacks}")
    if tracebacks:
        print(errors[-6000:])
    if args.json:
        Path(args.json).write_text(json.dumps({
            "args": vars(args), "load": load_result, "samples": _samples(server),
            "rss_early_kb": early, "rss_late_kb": late, "rss_peak_kb": peak, "rss_idle_kb": idle_rss,
            "flat": flat, "zero": zero, "idle_after_s": idle_at, "tracebacks": tracebacks,
        }, indent=1))
    return 0 if flat and zero and not tracebacks else 1


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    p.add_argument("--duration", type=float, default=180, help="seconds of load (default 180)")
    p.add_argument("--clients", type=int, default=2000, help="concurrent client slots (default 2000)")
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--ping-interval", type=float, default=4.0)
    p.add_argument("--ping-timeout", type=float, default=3.0)
    p.add_argument("--connect-timeout", type=float, default=5.0)
    p.add_argument("--upgrade-timeout", type=float, default=3.0)
    p.add_argument("--sample", type=float, default=1.0, help="seconds between server samples")
    p.add_argument("--report", type=float, default=15.0, help="seconds between progress lines")
    p.add_argument("--rss-tolerance-mb", type=float, default=16.0)
    p.add_argument("--rss-tolerance-pct", type=float, default=10.0)
    p.add_argument("--json", default=None, help="write every sample and figure to this file")
    p.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = p.parse_args(argv)
    if args.serve:
        serve(args)
        return 0
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
