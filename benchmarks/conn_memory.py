#!/usr/bin/env python3
"""What one idle Socket.IO WebSocket connection costs the echo server, in bytes, ranked.

The scale benchmark's ``limit`` part states RSS per connection at ~19,900
clients; this answers *what* those bytes are, cheaply (a few thousand clients,
one minute), so each cut can be measured before and after in one run:

1. RSS: the echo server (gevent driver) is started plain; ``--n`` WebSocket
   clients of ``scale_client.py`` connect (Socket.IO CONNECT to ``/``, then
   idle); RSS before and after, garbage collected both times, per connection.
2. Allocations: the same with ``tracemalloc`` on in the server; the two
   snapshots are compared grouped by traceback (``--frames`` deep) and by
   line, and the live objects are counted by type: bytes and objects per
   connection, largest first.

The server runs in a child process (``--serve``, this same file) that answers
SIGUSR1 with a garbage collection, its RSS and (tracing) a snapshot, written
to the dump folder; the clients are ``scale_client.py`` processes. Numbers
are for one machine and one Python; the ranking is what to cut.

    python benchmarks/conn_memory.py --n 4000
    python benchmarks/conn_memory.py --n 4000 --skip-trace        # RSS only
    git worktree add /tmp/base BASE && python benchmarks/conn_memory.py --before-tree /tmp/base
"""

from __future__ import annotations

import argparse
import gc
import json
import linecache
import os
import pickle
import signal
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections import Counter
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from proc_sample import end_process  # noqa: E402
from scale_procs import BENCH, ROOT, Pool, free_port, split  # noqa: E402

PAGE = os.sysconf("SC_PAGE_SIZE")


# ------------------------------------------------------------------ server side

def _own_rss() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE


_SITED = frozenset({"builtins.list", "builtins.dict", "builtins.method", "builtins.tuple", "builtins.set",
                    "builtins.function", "builtins.cell", "collections.deque"})


def _type_counts() -> dict[str, list[int]]:
    """Live gc-tracked objects by type: [count, shallow bytes]; containers also by allocation site."""
    out: dict[str, list[int]] = {}
    for o in gc.get_objects():
        t = type(o)
        name = f"{t.__module__}.{t.__qualname__}"
        if name in _SITED:
            tb = tracemalloc.get_object_traceback(o)
            if tb is not None:
                fr = tb[-1]  # the most recent frame (a Traceback runs oldest first)
                name = f"{name} @ {'/'.join(fr.filename.split('/')[-2:])}:{fr.lineno}"
        e = out.get(name)
        if e is None:
            e = out[name] = [0, 0]
        e[0] += 1
        try:
            e[1] += sys.getsizeof(o)
        except Exception:
            pass
    return out


def serve(port: int, dump: Path, frames: int) -> int:
    if frames:
        tracemalloc.start(frames)
    import gevent

    seq = [0]

    def probe() -> None:
        seq[0] += 1
        k = seq[0]
        gc.collect()
        info: dict[str, Any] = {"rss": _own_rss()}
        if frames:
            snap = tracemalloc.take_snapshot()
            with open(dump / f"snap-{k}.pickle", "wb") as f:
                pickle.dump(snap, f)
            info["types"] = _type_counts()
            info["traced"] = tracemalloc.get_traced_memory()[0]
        (dump / f"probe-{k}.json.tmp").write_text(json.dumps(info))
        os.rename(dump / f"probe-{k}.json.tmp", dump / f"probe-{k}.json")

    gevent.signal_handler(signal.SIGUSR1, probe)
    import socketio_core
    from socketio_core.echo import main

    print(f"serving {socketio_core.__file__}", file=sys.stderr, flush=True)

    return main(["--port", str(port), "--log-level", "warning"])


# ------------------------------------------------------------------ harness side

class Target:
    def __init__(self, dump: Path, frames: int, python: str, tree: str | None = None) -> None:
        self.dump = dump
        self.port = free_port()
        self.seq = 0
        self.log = open(dump / "server.log", "wb")
        env = dict(os.environ)
        if tree:  # that checkout's packages before the installed ones
            env["PYTHONPATH"] = os.pathsep.join([tree, env.get("PYTHONPATH", "")]).rstrip(os.pathsep)
        self.proc = subprocess.Popen(
            [python, __file__, "--serve", str(self.port), "--dump", str(dump), "--frames", str(frames)],
            cwd=dump, stdout=subprocess.PIPE, stderr=self.log, stdin=subprocess.DEVNULL, env=env)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if b"listening" not in line:
            raise RuntimeError(f"server did not start: {line!r}; see {dump / 'server.log'}")

    def probe(self, timeout: float = 300.0) -> dict[str, Any]:
        self.seq += 1
        path = self.dump / f"probe-{self.seq}.json"
        os.kill(self.proc.pid, signal.SIGUSR1)
        deadline = time.monotonic() + timeout
        while not path.exists():  # the server writes it atomically (rename)
            if time.monotonic() > deadline or self.proc.poll() is not None:
                raise RuntimeError("server did not answer the probe")
            time.sleep(0.05)
        return dict(json.loads(path.read_text()))

    def snapshot(self, k: int) -> tracemalloc.Snapshot:
        with open(self.dump / f"snap-{k}.pickle", "rb") as f:
            snap: tracemalloc.Snapshot = pickle.load(f)
        return snap

    def stop(self) -> None:
        end_process(self.proc, signal.SIGTERM, timeout=60)
        self.log.close()


def connect(pool: Pool, n: int, port: int, addrs: list[str], procs: int | None = None) -> int:
    k = procs or len(pool)
    shares = split(n, k) + [0] * (len(pool) - k)
    cmds: list[dict[str, Any] | None] = []
    for i, share in enumerate(shares):
        cmds.append(None if share == 0 else {
            "cmd": "connect", "n": share, "port": port, "addrs": addrs[i % len(addrs):] + addrs[:i % len(addrs)],
            "transport": "websocket", "inflight": 200, "timeout": 120.0, "group": "main"})
    answers = [a for a in pool.all(cmds, timeout=300) if a is not None]
    ready = sum(a["outcomes"]["ready"] for a in answers)
    return ready


def measure(frames: int, opts: argparse.Namespace) -> dict[str, Any]:
    """One server, base clients, then n more: the probes before and after."""
    dump = Path(tempfile.mkdtemp(prefix="conn-memory-"))
    target = Target(dump, frames, opts.python, getattr(opts, "tree", None))
    procs = max(1, min(4, opts.n // 1000))
    pool = Pool(procs, sys.executable, dump, "client")
    addrs = [f"127.0.0.{i}" for i in range(2, 2 + opts.addrs)]
    try:
        base = connect(pool, 20, target.port, addrs, procs=1)
        time.sleep(0.5)
        before = target.probe()
        ready = connect(pool, opts.n, target.port, addrs)
        time.sleep(1.0)
        after = target.probe()
        out = {"base": base, "ready": ready, "before": before, "after": after, "dump": dump}
        if frames:
            out["snaps"] = (target.snapshot(1), target.snapshot(2))
        return out
    finally:
        pool.close()
        target.stop()


def _where(tb: tracemalloc.Traceback, root: str) -> str:
    parts = []
    for fr in tb:  # oldest call first
        fn = fr.filename
        if "site-packages/" in fn:
            fn = fn.split("site-packages/", 1)[1]
        elif fn.startswith(root):
            fn = fn[len(root) + 1:]
        elif "/lib/python" in fn:
            fn = "stdlib/" + fn.split("/lib/python", 1)[1].split("/", 1)[1]
        parts.append(f"{fn}:{fr.lineno}")
    return " > ".join(parts)


def report(res: dict[str, Any], opts: argparse.Namespace, rss_res: dict[str, Any] | None) -> None:
    n = res["ready"]
    print(f"clients connected: {n} (base {res['base']})")
    if rss_res is not None:
        rn = rss_res["ready"]
        d = rss_res["after"]["rss"] - rss_res["before"]["rss"]
        print(f"RSS (tracemalloc off): {d / rn:8.0f} B/conn   ({d / 1024:.0f} KB over {rn})")
    if "snaps" not in res:
        return
    s1, s2 = res["snaps"]
    traced = res["after"]["traced"] - res["before"]["traced"]
    d = res["after"]["rss"] - res["before"]["rss"]
    print(f"traced by tracemalloc: {traced / n:8.0f} B/conn   (RSS with tracing on {d / n:.0f} B/conn)")
    root = str(getattr(opts, "tree", None) or ROOT)
    flt = [tracemalloc.Filter(False, tracemalloc.__file__), tracemalloc.Filter(False, "<frozen importlib._bootstrap>")]
    s1, s2 = s1.filter_traces(flt), s2.filter_traces(flt)
    for key, title, limit in (("filename", "by file (innermost frame)", opts.top),
                              ("lineno", "by line (innermost frame)", opts.top),
                              ("traceback", f"by traceback ({opts.frames} frames)", opts.top)):
        stats = s2.compare_to(s1, key)
        stats.sort(key=lambda s: -s.size_diff)
        print(f"\n== {title}: bytes/conn, objects/conn")
        shown = 0
        for st in stats:
            if st.size_diff / n < opts.min_bytes:
                break
            where = _where(st.traceback, root)
            line = linecache.getline(st.traceback[-1].filename, st.traceback[-1].lineno).strip()
            print(f"{st.size_diff / n:8.1f} {st.count_diff / n:6.2f}  {where}")
            if key == "lineno":
                print(f"{'':16}{line[:110]}")
            shown += 1
            if shown >= limit:
                break
    t1, t2 = res["before"]["types"], res["after"]["types"]
    rows = []
    for name, (c, b) in t2.items():
        c0, b0 = t1.get(name, (0, 0))
        if c - c0 > 0:
            rows.append(((c - c0) / n, (b - b0) / n, name))
    rows.sort(key=lambda r: -r[1])
    print("\n== gc-tracked objects by type: objects/conn, shallow bytes/conn")
    for c, b, name in rows[:opts.top]:
        if c < 0.05:
            continue
        print(f"{b:8.1f} {c:6.2f}  {name}")


def run(opts: argparse.Namespace) -> None:
    rss_res = None if opts.skip_rss else measure(0, opts)
    if opts.skip_trace:
        assert rss_res is not None
        report(rss_res, opts, rss_res)
        return
    report(measure(opts.frames, opts), opts, rss_res)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--n", type=int, default=4000, help="idle WebSocket clients measured (after 20 base ones)")
    p.add_argument("--frames", type=int, default=6, help="traceback depth of the tracemalloc run")
    p.add_argument("--top", type=int, default=30)
    p.add_argument("--min-bytes", type=float, default=4.0, help="hide rows below this many bytes/conn")
    p.add_argument("--addrs", type=int, default=4, help="loopback source addresses 127.0.0.2 ...")
    p.add_argument("--skip-trace", action="store_true")
    p.add_argument("--skip-rss", action="store_true")
    p.add_argument("--python", default=sys.executable, help="the server's Python")
    p.add_argument("--before-tree", type=Path, help="also measure the server of this checkout first "
                   "(e.g. a git worktree of the base commit), for a before/after in one run")
    p.add_argument("--serve", type=int, help=argparse.SUPPRESS)
    p.add_argument("--dump", type=Path, help=argparse.SUPPRESS)
    opts = p.parse_args()
    if opts.serve:
        return serve(opts.serve, opts.dump, opts.frames)
    if opts.before_tree:
        # the same measurement of another checkout's server first (same Python, its code first on the path)
        print(f"==================== before: {opts.before_tree}")
        run(argparse.Namespace(**{**vars(opts), "tree": str(opts.before_tree.resolve())}))
        print(f"\n==================== after: {ROOT}")
    run(opts)
    return 0


if __name__ == "__main__":
    sys.exit(main())
