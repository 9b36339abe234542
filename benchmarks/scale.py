#!/usr/bin/env python3
"""The scale benchmark (issue 19): one process at its descriptor limit, cost curves, the floor.

Parts (``--parts``, default all but ``workers``):
- ``limit``: each server (``--limit-servers``, default ours and Node) holds as many
  WebSocket Socket.IO clients as one process's descriptor limit allows
  (``--limit-clients``, 19,900): memory per connection, time to connect them
  all, server CPU while idle at the default 25 s ping interval over
  ``--hold-s`` seconds, heartbeats missed (clients dropped, or answered fewer
  pings than the interval allows); then ``--probe`` clients beyond the limit:
  how each one ends (refused with 503, reset, hung) and how fast, and how many
  lines the server logged about it.
- ``curves``: echo and ack round trips at 10 ... 10,000 clients; a broadcast to
  one room of 100 ... 10,000 members (beside 10% non-members, which must get
  nothing): time from emit to last delivery and CPU per delivery; long-polling
  echo at 10 ... 2,000 clients. Every server of ``--servers`` (ours, node,
  pysio, floor), a fresh process per size.
- ``floor`` is not a part: the curves' ``floor`` server (peers/floor_server.py) is
  the denominator of the "ours / floor" table.
- ``workers`` (``--workers-servers``, default ours and Node): ``socketio-echo
  --workers W`` and Node's cluster (``node/sio_cluster.js``: W socket.io workers
  behind @socket.io/sticky, joined by @socket.io/cluster-adapter), each holding
  ``workers_clients`` clients (100,000), each process under the limit: memory per
  connection over the process tree, heartbeats over the hold, a broadcast to one
  room of ``workers_room`` (50,000) members across the workers (the others must
  get nothing) and one to all of them, each delivered exactly once.

The load client is ``scale_client.py`` (several processes, raw frames, spread
over loopback source addresses 127.0.0.2, 127.0.0.3, ...). Server CPU comes
from /proc (the server's whole process tree); results go to
benchmarks/results/<stamp>/ (results.json, table.md, curves.png, logs/).
Benchmarks are not tests: nothing here asserts a speed.

    benchmarks/.venv-peers/bin/python benchmarks/scale.py            # make bench-scale
    python benchmarks/scale.py --quick --servers ours --parts limit,curves   # the smoke run
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import shutil
import statistics
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from proc_sample import loadavg, tree_fds  # noqa: E402
from scale_procs import BENCH, ROOT, Pool, Profiler, Server, free_port, split  # noqa: E402
from scale_report import render, plot  # noqa: E402

FULL: dict[str, Any] = {
    "echo_sizes": [10, 100, 1000, 10000], "bcast_sizes": [100, 1000, 10000],
    "poll_sizes": [10, 100, 1000, 2000], "warmup_s": 2.0, "duration_s": 5.0,
    "limit_clients": 19900, "probe": 100, "hold_s": 60.0, "ping_ms": None,
    "workers_clients": 100_000, "workers_room": 50_000, "workers_room_messages": None, "workers": 6, "client_procs": 4, "per_proc_max": 19_000,
    "server_nofile": None,
}
QUICK: dict[str, Any] = {
    "echo_sizes": [10, 30], "bcast_sizes": [20], "poll_sizes": [5], "warmup_s": 0.2,
    "duration_s": 0.5, "limit_clients": 60, "probe": 60, "hold_s": 1.2, "ping_ms": 500,
    "server_nofile": 120,
    "workers_clients": 200, "workers_room": 100, "workers_room_messages": 20, "workers": 2, "client_procs": 2, "per_proc_max": 19_000,
}


def connect_all(pool: Pool, n: int, port: int, opts: argparse.Namespace, transport: str = "websocket",
                group: str = "main", timeout: float = 60.0, procs: int | None = None) -> dict[str, Any]:
    """n clients over the pool's processes (or the first `procs`); totals of the answers."""
    k = procs or len(pool)
    shares = split(n, k) + [0] * (len(pool) - k)
    t0 = time.monotonic()
    cmds: list[dict[str, Any] | None] = []
    for i, share in enumerate(shares):
        if share == 0:
            cmds.append(None)
            continue
        # each process starts at another source address, so all of them are used
        addrs = opts.addrs[i % len(opts.addrs):] + opts.addrs[:i % len(opts.addrs)]
        cmds.append({"cmd": "connect", "n": share, "port": port, "addrs": addrs, "transport": transport,
                     "inflight": opts.inflight, "timeout": timeout, "group": group})
    answers = [a for a in pool.all(cmds, timeout=timeout + n / 50 + 60) if a is not None]
    out: dict[str, Any] = {"wall_s": time.monotonic() - t0, "ready": sum(a["outcomes"]["ready"] for a in answers),
                           "outcomes": {}, "errors": {}, "shares": shares,
                           "t_max": max((a["t_max"] or 0) for a in answers) if answers else None}
    for a in answers:
        for k2, v in a["outcomes"].items():
            out["outcomes"][k2] = out["outcomes"].get(k2, 0) + v
        for k2, v in a["errors"].items():
            out["errors"][k2] = out["errors"].get(k2, 0) + v
    return out


def procs_for(n: int, opts: argparse.Namespace) -> int:
    return max(1, min(opts.sizes["client_procs"], math.ceil(n / 500)))


# ---------------------------------------------------------------- limit

def run_limit(name: str, opts: argparse.Namespace, logdir: Path) -> dict[str, Any]:
    sz = opts.sizes
    n = int(sz["limit_clients"])
    rec: dict[str, Any] = {"server": name, "target": n}
    port = free_port()
    server = Server(name, port, opts, logdir / f"limit-{name}.server.log", ping_ms=sz["ping_ms"],
                    nofile=sz["server_nofile"])
    pool = Pool(max(sz["client_procs"], math.ceil(n / sz["per_proc_max"])), opts.client_python, logdir,
                f"limit-{name}")
    try:
        base_n = min(20, n)
        base = connect_all(pool, base_n, port, opts, procs=1)
        time.sleep(0.5)
        rss0 = server.rss_kb()
        rest = connect_all(pool, n - base_n, port, opts, timeout=120)
        rec["connect_s"] = rest["wall_s"]
        rec["connect_outcomes"] = rest["outcomes"]
        rec["connect_errors"] = rest["errors"]
        ready = base["ready"] + rest["ready"]
        rec["connected"] = ready
        time.sleep(1.0)
        rss1 = server.rss_kb()
        rec["rss_base_kb"], rec["rss_kb"] = rss0, rss1
        rec["kb_per_conn"] = (rss1 - rss0) / (ready - base["ready"]) if ready > base["ready"] else None
        rec["server_fds"] = tree_fds(server.pid)
        # beyond the limit: every extra client should end at once (503 or refused), none hang
        probe = connect_all(pool, int(sz["probe"]), port, opts, group="probe", timeout=10.0, procs=1)
        rec["probe"] = probe
        pool.all([{"cmd": "close_group", "group": "probe"}] + [None] * (len(pool) - 1))
        # hold at the ping interval: CPU while idle, heartbeats
        interval = (sz["ping_ms"] or 25000) / 1000
        hold = float(sz["hold_s"])
        c0, t0 = server.cpu(), time.monotonic()
        answers = pool.all([{"cmd": "hold", "until": t0 + hold}] * len(pool), timeout=hold + 120)
        c1, t1 = server.cpu(), time.monotonic()
        rec["idle_cpu_share"] = (c1 - c0) / (t1 - t0)
        expect = int(hold // interval)
        got = [a for a in answers if a is not None]
        rec["hold_s"], rec["ping_interval_s"], rec["expected_pings_min"] = hold, interval, expect
        rec["alive_after_hold"] = sum(a["alive"] for a in got)
        rec["dropped"] = sum(a["dropped"] for a in got)
        below = sum(a["below"].get(str(expect), 0) for a in got) if 1 <= expect <= 3 else 0
        rec["late_pings"] = below
        rec["heartbeats_missed"] = rec["dropped"] + below
        rec["min_pings"] = min((a["min_pings"] for a in got if a["min_pings"] is not None), default=None)
    except Exception as exc:  # noqa: BLE001 - a failed part is reported, the run goes on
        rec["error"] = repr(exc)
    finally:
        rec["server_alive"] = server.alive()
        pool.close()
        server.stop()
        rec["log_fd_warnings"] = server.log_lines("out of file descriptors")
        rec["log_tracebacks"] = server.log_lines("Traceback")
        rec["log_emfile"] = server.log_lines("Errno 24", "EMFILE")
    return rec


# ---------------------------------------------------------------- curves

def profiler(server: Server, opts: argparse.Namespace, tag: str) -> Profiler:
    """A flame graph of this window (--py-spy), for our server and the floor only."""
    want = opts.py_spy if server.name in ("ours", "floor") else None
    return Profiler(want, server.pid, opts.outdir / f"flame-{tag}-{server.name}.svg")


def measure_window(server: Server, pool: Pool, cmd: dict[str, Any], opts: argparse.Namespace,
                   procs: int, tag: str = "") -> dict[str, Any]:
    """Echo/ack round trips by all clients; server CPU over the clients' counting window."""
    sz = opts.sizes
    start = time.monotonic() + 0.2
    t0, t1 = start + sz["warmup_s"], start + sz["warmup_s"] + sz["duration_s"]
    cmds: list[dict[str, Any] | None] = [dict(cmd, t0=t0, t1=t1) if i < procs else None for i in range(len(pool))]
    for i, c in enumerate(cmds):
        if c is not None:
            pool.send(i, c)
    time.sleep(max(0.0, t0 - time.monotonic()))
    prof = profiler(server, opts, tag)
    c0, w0 = server.cpu(), time.monotonic()
    time.sleep(max(0.0, t1 - time.monotonic()))
    c1, w1 = server.cpu(), time.monotonic()
    prof.stop()
    answers = [pool.recv(i, 120) for i, c in enumerate(cmds) if c is not None]
    ops = sum(a["ops"] for a in answers)
    lat = sorted(x for a in answers for x in a["lat"])
    return {"ops": ops, "rate": ops / (t1 - t0), "cpu_us_per_op": (c1 - c0) * 1e6 / ops if ops else None,
            "server_cpu_share": (c1 - c0) / (w1 - w0),
            "p50_ms": lat[len(lat) // 2] * 1e3 if lat else None,
            "p99_ms": lat[int(len(lat) * 0.99)] * 1e3 if lat else None,
            "mismatched": sum(a["mismatched"] for a in answers),
            "unanswered": sum(a["unanswered"] for a in answers),
            "dropped": sum(a["dropped"] for a in answers)}


def run_curve_point(kind: str, name: str, size: int, opts: argparse.Namespace, logdir: Path) -> list[dict[str, Any]]:
    """One fresh server, `size` clients: echo + ack (kind ws), polling echo, or a room broadcast."""
    sz = opts.sizes
    tag = f"{kind}-{size}-{name}"
    recs: list[dict[str, Any]] = []
    port = free_port()
    extra = max(10, size // 10) if kind == "bcast" else 0
    total = size + extra
    procs = procs_for(total, opts)
    try:
        server = Server(name, port, opts, logdir / f"{tag}.server.log", ping_ms=sz["ping_ms"])
    except RuntimeError as exc:
        return [{"scenario": s, "server": name, "size": size, "error": str(exc)[:300]}
                for s in (("echo", "ack") if kind == "ws" else (kind,))]
    pool = Pool(procs, opts.client_python, logdir, tag)
    try:
        conn = connect_all(pool, total, port, opts, transport="polling" if kind == "polling" else "websocket",
                           timeout=60)
        base = {"server": name, "size": size, "connected": conn["ready"], "connect_s": conn["wall_s"],
                "connect_failed": total - conn["ready"]}
        if conn["ready"] < total:
            return [dict(base, scenario=s, error=f"connected {conn['ready']}/{total}: {conn['outcomes']}")
                    for s in (("echo", "ack") if kind == "ws" else (kind,))]
        if kind in ("ws", "polling"):
            for scen in (("echo", "ack") if kind == "ws" else ("polling",)):
                m = measure_window(server, pool, {"cmd": "echo", "kind": "ack" if scen == "ack" else "echo"},
                                   opts, procs, tag=f"{scen}-{size}")
                recs.append(dict(base, scenario=scen, **m))
        else:
            recs.append(dict(base, scenario="bcast", **run_bcast(server, pool, size, procs, "r1", opts=opts,
                                                                 tag=f"bcast-{size}")))
    except Exception as exc:  # noqa: BLE001
        recs.append({"server": name, "size": size, "scenario": kind, "error": repr(exc)[:300]})
    finally:
        alive = server.alive()
        pool.close()
        server.stop()
        problems = server.log_lines("Traceback", "ERROR", "CRITICAL")
        for r in recs:
            r["server_alive"] = alive
            r["log_problems"] = problems
    return recs


def run_bcast(server: Server, pool: Pool, members: int, procs: int, room: str,
              messages: int | None = None, timeout: float = 120.0, opts: argparse.Namespace | None = None,
              tag: str = "") -> dict[str, Any]:
    """`members` clients (spread over the processes) join `room` (all: room ""), one sends."""
    shares = split(members, procs) + [0] * (len(pool) - procs)
    if room:
        joined = pool.all([{"cmd": "join", "room": room, "count": s, "timeout": 60} if s else None for s in shares])
        n_joined = sum(a["joined"] for a in joined if a is not None)
        if n_joined < members:
            raise RuntimeError(f"only {n_joined}/{members} joined the room")
    m = messages or max(10, min(2000, 200_000 // members))
    active = [i < procs for i in range(len(pool))]
    pool.all([{"cmd": "bcast_arm", "room": room, "m": m, "window": 1} if a else None for a in active])
    prof = profiler(server, opts, tag) if opts is not None else None
    c0, w0 = server.cpu(), time.monotonic()
    pool.all([{"cmd": "bcast_send"}] + [None] * (len(pool) - 1))
    answers = [a for a in pool.all([{"cmd": "bcast_wait", "timeout": timeout} if a else None for a in active],
                                   timeout=timeout + 60) if a is not None]
    c1, w1 = server.cpu(), time.monotonic()
    if prof is not None:
        prof.stop()
    deliveries = sum(a["deliveries"] for a in answers)
    emit = answers[0]["emit"]
    last = [max(a["last_rx"][s] for a in answers) for s in range(m)]
    spans = sorted(last[s] - emit[s] for s in range(min(m, len(emit))) if last[s] > 0)
    return {"messages": m, "members": sum(a["members"] for a in answers), "deliveries": deliveries, "ops": deliveries,
            "expected": m * members, "lost": sum(a["lost"] for a in answers),
            "duplicates": sum(a["dups"] for a in answers), "reorders": sum(a["reorders"] for a in answers),
            "strays": sum(a["strays"] for a in answers), "dropped": sum(a["dropped"] for a in answers),
            "rate": deliveries / (w1 - w0), "cpu_us_per_op": (c1 - c0) * 1e6 / deliveries if deliveries else None,
            # messages some member did not get: {seq: members missing it} (the first 20)
            "missing_by_seq": {s: members - n for s, n in enumerate(
                sum(a["per_seq"][s] for a in answers) for s in range(m)) if n != members and s < 20},
            "emit_to_last_ms_p50": spans[len(spans) // 2] * 1e3 if spans else None,
            "emit_to_last_ms_max": spans[-1] * 1e3 if spans else None}


def run_curves(opts: argparse.Namespace, logdir: Path) -> list[dict[str, Any]]:
    sz = opts.sizes
    out: list[dict[str, Any]] = []
    plan = [("ws", s) for s in sz["echo_sizes"]] + [("bcast", s) for s in sz["bcast_sizes"]] + \
           [("polling", s) for s in sz["poll_sizes"]]
    for i, (kind, size) in enumerate(plan):
        order = opts.server_list if i % 2 == 0 else list(reversed(opts.server_list))
        for name in order:
            if name == "pysio" and size > opts.pysio_max:
                out.append({"scenario": kind, "server": name, "size": size, "skipped": "above --pysio-max"})
                continue
            t = time.monotonic()
            recs = run_curve_point(kind, name, size, opts, logdir)
            for r in recs:
                print(f"  {r['scenario']:<8} {size:>6} {name:<6} ({time.monotonic() - t:4.1f} s) " + brief(r), flush=True)
            out.extend(recs)
    return out


def brief(r: dict[str, Any]) -> str:
    if r.get("error"):
        return "FAILED: " + str(r["error"]).splitlines()[0][:160]
    parts = [f"{r['rate']:,.0f}/s", f"{r['cpu_us_per_op']:.1f} µs/op" if r.get("cpu_us_per_op") else "cpu n/a"]
    if r.get("p50_ms") is not None:
        parts.append(f"p50 {r['p50_ms']:.2f} ms")
    if r.get("emit_to_last_ms_p50") is not None:
        parts.append(f"emit->last p50 {r['emit_to_last_ms_p50']:.1f} ms")
    for k in ("mismatched", "unanswered", "dropped", "lost", "duplicates", "reorders", "strays"):
        if r.get(k):
            parts.append(f"{k} {r[k]}")
    return ", ".join(parts)


# ---------------------------------------------------------------- workers

WORKERS_LABELS = {"ours": "ours --workers {w}", "node": "Node cluster ×{w} (sticky + cluster-adapter)"}
WORKERS_SERVERS = {"ours": "ours-w", "node": "node-w"}


def run_workers(name: str, opts: argparse.Namespace, logdir: Path) -> dict[str, Any]:
    """One server over W worker processes (ours: ``--workers W``; Node: ``node/sio_cluster.js``).

    Holds ``workers_clients`` clients; memory over the whole process tree, descriptors of
    each process (each under the limit), heartbeats over the hold, then a broadcast to one
    room of ``workers_room`` members (the rest must get nothing) and one to everybody,
    each delivered exactly once. The room goes first: a broadcast to all makes every
    client a member in the load client's eyes.
    """
    sz = opts.sizes
    n, w = int(sz["workers_clients"]), int(sz["workers"])
    rec: dict[str, Any] = {"server": name, "label": WORKERS_LABELS[name].format(w=w), "target": n, "workers": w}
    port = free_port()
    try:
        server = Server(WORKERS_SERVERS[name], port, opts, logdir / f"workers-{name}.server.log",
                        ping_ms=sz["ping_ms"], workers=w)
    except RuntimeError as exc:
        rec["error"] = str(exc)[:500]
        return rec
    pool = Pool(max(sz["client_procs"], math.ceil(n / sz["per_proc_max"])), opts.client_python, logdir,
                f"workers-{name}")
    try:
        time.sleep(1.0)
        rss0 = server.rss_kb()
        rec["rss_base_mb"] = rss0 / 1024
        conn = connect_all(pool, n, port, opts, timeout=180)
        rec.update(connected=conn["ready"], connect_s=conn["wall_s"], connect_outcomes=conn["outcomes"],
                   connect_errors=conn["errors"])
        time.sleep(2.0)
        rss1 = server.rss_kb()
        rec["kb_per_conn"] = (rss1 - rss0) / conn["ready"] if conn["ready"] else None
        rec["kb_per_conn_total"] = rss1 / conn["ready"] if conn["ready"] else None
        rec["rss_total_mb"] = rss1 / 1024
        rec["fds_by_process"] = server.fds_by_process()
        interval = (sz["ping_ms"] or 25000) / 1000
        hold = float(sz["hold_s"])
        c0, t0 = server.cpu(), time.monotonic()
        got = [a for a in pool.all([{"cmd": "hold", "until": t0 + hold}] * len(pool), timeout=hold + 180) if a]
        rec["idle_cpu_share"] = (server.cpu() - c0) / (time.monotonic() - t0)
        expect = int(hold // interval)
        rec["hold_s"], rec["ping_interval_s"] = hold, interval
        rec["dropped"] = sum(a["dropped"] for a in got)
        rec["late_pings"] = sum(a["below"].get(str(expect), 0) for a in got) if 1 <= expect <= 3 else 0
        rec["alive_after_hold"] = sum(a["alive"] for a in got)
        # clients that connected but were gone before the hold began (a ping timeout while
        # the rest were still connecting): the hold's own count starts after them
        rec["dropped_before_hold"] = conn["ready"] - rec["alive_after_hold"] - rec["dropped"]
        rec["heartbeats_missed"] = rec["dropped_before_hold"] + rec["dropped"] + rec["late_pings"]
        members = min(int(sz["workers_room"]), rec["alive_after_hold"])
        try:
            rec["room"] = run_bcast(server, pool, members, len(pool), "big", messages=sz["workers_room_messages"],
                                    timeout=180, opts=opts,
                                    tag=f"workers-room-{members}")
        except Exception as exc:  # noqa: BLE001 - the broadcast to all still runs
            rec["room"] = {"members": members, "error": repr(exc)[:300]}
        rec["bcast"] = run_bcast(server, pool, rec["alive_after_hold"], len(pool), "", messages=3, timeout=180)
    except Exception as exc:  # noqa: BLE001
        rec["error"] = repr(exc)[:500]
    finally:
        rec["server_alive"] = server.alive()
        pool.close()
        server.stop()
        rec["log_tracebacks"] = server.log_lines("Traceback")
        rec["log_errors"] = server.log_lines("ERROR", "Error:")
    return rec


def workers_brief(r: dict[str, Any]) -> str:
    if r.get("error") and r.get("connected") is None:
        return "FAILED: " + str(r["error"]).splitlines()[0][:200]
    b, room = r.get("bcast") or {}, r.get("room") or {}
    return (f"connected {r.get('connected')}/{r['target']} in {fmt(r.get('connect_s'), '{:.1f}')} s, "
            f"{fmt(r.get('kb_per_conn'), '{:.1f}')} KB/conn, idle CPU {fmt(r.get('idle_cpu_share'), '{:.1%}')}, "
            f"heartbeats missed {r.get('heartbeats_missed')}, fds/process {r.get('fds_by_process')}, "
            f"room {room.get('deliveries')}/{room.get('expected')} ({fmt(room.get('cpu_us_per_op'), '{:.1f}')} "
            f"µs/delivery), all {b.get('deliveries')}/{b.get('expected')}"
            + (f", ERROR {r['error'][:200]}" if r.get("error") else ""))


# ---------------------------------------------------------------- main

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--parts", default="limit,curves", help="comma-separated: limit, curves, workers")
    p.add_argument("--servers", default="ours,node,pysio,floor", help="curves: ours, node, pysio, floor, base")
    p.add_argument("--limit-servers", default="ours,node", help="limit: ours, node, pysio")
    p.add_argument("--workers-servers", default="ours,node",
                   help="workers: ours (socketio-echo --workers W), node (Node's cluster as socket.io documents "
                        "it, node/sio_cluster.js)")
    p.add_argument("--pysio-max", type=int, default=2000,
                   help="python-socketio only up to this many clients (53 KB each, slow to connect)")
    p.add_argument("--quick", action="store_true", help="tiny sizes (the smoke test)")
    p.add_argument("--set", action="append", default=[], metavar="KEY=JSON",
                   help="override a size, e.g. --set echo_sizes=[10,100] --set hold_s=30")
    p.add_argument("--addrs", type=int, default=8, help="loopback source addresses 127.0.0.2 ... (default 8)")
    p.add_argument("--inflight", type=int, default=200, help="connects in flight per client process")
    p.add_argument("--ours-python", default=str(ROOT / ".venv" / "bin" / "python"))
    p.add_argument("--base-tree", default=None, metavar="DIR",
                   help="curves: the server `base` is our echo from this checkout (a before/after in one run)")
    p.add_argument("--workers-tree", default=None, metavar="DIR",
                   help="workers part: run `socketio-echo --workers` from this checkout (default: this one)")
    p.add_argument("--peers-python", default=str(BENCH / ".venv-peers" / "bin" / "python"))
    p.add_argument("--client-python", default=sys.executable)
    p.add_argument("--node", default=shutil.which("node") or "node")
    p.add_argument("--out", default=str(BENCH / "results"))
    p.add_argument("--json", default=None, help="also write the results JSON here")
    p.add_argument("--no-plot", action="store_true")
    p.add_argument("--py-spy", nargs="?", const=str(BENCH / ".venv-peers" / "bin" / "py-spy"), default=None,
                   metavar="PATH", help="record a flame graph (SVG) of ours and the floor over every measured "
                                        "window (py-spy, default from benchmarks/.venv-peers)")
    opts = p.parse_args(argv)
    opts.ours_python = os.path.abspath(opts.ours_python)
    opts.peers_python = os.path.abspath(opts.peers_python)
    opts.part_list = [s for s in opts.parts.split(",") if s]
    opts.server_list = [s for s in opts.servers.split(",") if s]
    opts.limit_list = [s for s in opts.limit_servers.split(",") if s]
    opts.workers_list = [s for s in opts.workers_servers.split(",") if s]
    opts.sizes = dict(QUICK if opts.quick else FULL)
    for item in opts.set:
        key, _, value = item.partition("=")
        if key not in opts.sizes:
            p.error(f"unknown size {key!r}")
        opts.sizes[key] = json.loads(value)
    opts.addrs = [f"127.0.0.{i + 2}" for i in range(opts.addrs)]
    return opts


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    stamp = time.strftime("%Y%m%d-%H%M%S") + "-scale"
    outdir = Path(opts.out) / stamp
    logdir = outdir / "logs"
    logdir.mkdir(parents=True, exist_ok=True)
    opts.outdir = outdir
    started = time.monotonic()
    meta: dict[str, Any] = {"stamp": stamp, "parts": opts.part_list, "servers": opts.server_list,
                            "limit_servers": opts.limit_list, "workers_servers": opts.workers_list,
                            "sizes": opts.sizes, "quick": opts.quick,
                            "machine": f"{os.cpu_count()} CPUs, {os.uname().release}",
                            "nofile": list(resource.getrlimit(resource.RLIMIT_NOFILE)),
                            "loadavg_start": loadavg()}
    print(f"scale benchmark: parts {opts.part_list}; load average at start {meta['loadavg_start']}; "
          f"results in {outdir}", flush=True)
    doc: dict[str, Any] = {"meta": meta, "limit": [], "curves": [], "workers": []}
    if "limit" in opts.part_list:
        for name in opts.limit_list:
            t = time.monotonic()
            rec = run_limit(name, opts, logdir)
            print(f"  limit    {name:<6} ({time.monotonic() - t:4.1f} s) connected {rec.get('connected')}"
                  f"/{rec['target']}, {fmt(rec.get('kb_per_conn'), '{:.1f}')} KB/conn, idle CPU "
                  f"{fmt(rec.get('idle_cpu_share'), '{:.1%}')}, heartbeats missed {rec.get('heartbeats_missed')}"
                  + (f", ERROR {rec['error']}" if rec.get("error") else ""), flush=True)
            doc["limit"].append(rec)
    if "curves" in opts.part_list:
        doc["curves"] = run_curves(opts, logdir)
    if "workers" in opts.part_list:
        for name in opts.workers_list:
            t = time.monotonic()
            rec = run_workers(name, opts, logdir)
            print(f"  workers  {name:<6} ({time.monotonic() - t:4.1f} s) {workers_brief(rec)}", flush=True)
            doc["workers"].append(rec)
    meta["loadavg_end"] = loadavg()
    meta["elapsed_s"] = round(time.monotonic() - started)
    table = render(doc)
    (outdir / "results.json").write_text(json.dumps(doc, indent=1, default=str))
    (outdir / "table.md").write_text(table + "\n")
    if opts.json:
        Path(opts.json).write_text(json.dumps(doc, indent=1, default=str))
    plotted = False if opts.no_plot or not doc["curves"] else plot(doc, outdir / "curves.png")
    latest = Path(opts.out) / "latest-scale"
    try:
        if latest.is_symlink() or latest.exists():
            latest.unlink()
        latest.symlink_to(stamp)
    except OSError:
        pass
    print()
    print(table)
    print(f"\nresults: {outdir / 'results.json'}" + (f", plot: {outdir / 'curves.png'}" if plotted else ""))
    return 0


def fmt(v: Any, f: str) -> str:
    return "—" if v is None else f.format(v)


if __name__ == "__main__":
    sys.exit(main())
