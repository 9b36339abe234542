#!/usr/bin/env python3
"""workers=1 against workers=2 on the echo server: CPU per operation, routing cost, throughput.

    python benchmarks/workers_bench.py [--rounds 2] [--quick] [--scenarios ...] [--variants ...]
    python benchmarks/workers_bench.py --variants 1@0 2@0 1 2 --loadgen-cpus 1

For each scenario of the load generator (benchmarks/node/loadgen.js: WebSocket
handshakes, WebSocket echo, keep-alive long-polling echo; ``ack`` and
``broadcast`` on request) the echo server is started as each variant: ``1``
(``--workers 1``: one plain process), ``1s`` (a supervisor and one worker:
the workers code path with nothing to route between), ``2`` (a supervisor and
two workers); ``VARIANT@CPUS`` pins the server's process tree to those CPUs
and ``--loadgen-cpus`` the generator, so that ``1@0`` and ``2@0`` share one
core alike: the part of the 2/1 ratio that is contention on a small machine
rather than work. Rounds are interleaved (1 2, then 2 1, ...) so that
drifts of the shared machine cancel out. Between the generator's ``start``
and ``end`` marks the script reads utime+stime from /proc of every process
of the server (supervisor included) and reports the medians:

- server CPU per operation, summed over all processes, and its ratio to ``1`` run the same
  way (``2@0`` to ``1@0``, ``b2`` to ``b1``; else to the first variant);
- the supervisor's and the workers' CPU per operation apart: on the handshake scenario, where
  every operation is a new TCP connection, that is the routing cost per new
  connection (accept, read the head, pass the descriptor);
- throughput, and the load average at the start and the end of the run.

Not a test: it asserts nothing. Standard library only (the generator needs
Node and the ``ws`` package: ``make bench-setup`` or ``make npm``).
"""

from __future__ import annotations

import argparse
import json
import os
import pstats
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from proc_sample import descendants, process_cpu_s

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
LOADGEN = BENCH / "node" / "loadgen.js"

FULL: dict[str, dict[str, Any]] = {
    "handshake": {"concurrency": 10, "count": 50_000, "warmup_s": 1.0, "duration_s": 4.0},
    "echo": {"clients": 50, "count": 1_000_000, "warmup_s": 1.0, "duration_s": 5.0},
    "polling": {"clients": 20, "count": 1_000_000, "warmup_s": 1.0, "duration_s": 5.0},
    "ack": {"clients": 50, "count": 1_000_000, "warmup_s": 1.0, "duration_s": 5.0},
    "broadcast": {"clients": 200, "messages": 5_000, "warmup_messages": 20, "window": 10,
                  "duration_s": 5.0, "drain_s": 5.0},
}
QUICK: dict[str, dict[str, Any]] = {
    "handshake": {"concurrency": 2, "count": 20, "warmup_s": 0.1, "duration_s": 1.0},
    "echo": {"clients": 5, "count": 20, "warmup_s": 0.1, "duration_s": 1.0},
    "polling": {"clients": 3, "count": 20, "warmup_s": 0.1, "duration_s": 1.0},
    "ack": {"clients": 5, "count": 20, "warmup_s": 0.1, "duration_s": 1.0},
    "broadcast": {"clients": 10, "messages": 20, "warmup_messages": 2, "window": 4,
                  "duration_s": 1.0, "drain_s": 3.0},
}
#: Default scenarios (``--scenarios`` picks others).
DEFAULT_SCENARIOS = ["handshake", "echo", "polling"]
COMMON = {"payload_bytes": 32, "connect_timeout_ms": 20000}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: ``1s``: a supervisor and one worker. ``socketio-echo --workers 1`` runs one plain
#: process, so this passes a count that is 1 but compares as "more than one" to take the
#: workers path: the same code as ``--workers 2`` with a single worker (is the comparison fair?).
_SUPERVISED_ONE = (
    "import sys\n"
    "class One(int):\n"
    "    def __gt__(self, other): return True\n"
    "import socketio_core.echo as echo\n"
    "parser = echo.build_parser()\n"
    "parse = parser.parse_args\n"
    "def parse_args(argv=None):\n"
    "    args = parse(argv)\n"
    "    args.workers = One(1)\n"
    "    return args\n"
    "parser.parse_args = parse_args\n"
    "echo.build_parser = lambda: parser\n"
    "sys.exit(echo.main(sys.argv[1:]))\n"
)


#: ``--count-calls DIR``: run before the server's code in every variant. SIGUSR1 starts a
#: cProfile in the process that receives it (forked workers inherit the handlers), SIGUSR2
#: stops it and writes DIR/PID.prof: Python calls per operation of each process, counted
#: between the generator's marks only (the profiler's overhead makes that run's CPU figures
#: meaningless: use it for counts, and a run without it for time).
_PROFILE_HOOK = (
    "import os, signal, cProfile\n"
    "_prof = [None]\n"
    "def _on(signum, frame):\n"
    "    if _prof[0] is None:\n"
    "        _prof[0] = cProfile.Profile(); _prof[0].enable()\n"
    "def _off(signum, frame):\n"
    "    p, _prof[0] = _prof[0], None\n"
    "    if p is not None:\n"
    "        p.disable(); p.dump_stats(os.path.join(os.environ['WORKERS_BENCH_PROFILE'], f'{os.getpid()}.prof'))\n"
    "signal.signal(signal.SIGUSR1, _on)\n"
    "signal.signal(signal.SIGUSR2, _off)\n"
)
_PLAIN = "import sys\nimport socketio_core.echo as echo\nsys.exit(echo.main(sys.argv[1:]))\n"
_PROFILE_DIR: list[Path] = []
#: ``--perf``: where perf writes its counts (a temporary directory), and its interval.
_PERF_DIR: list[Path] = []
_PERF_INTERVAL_MS = 100

#: ``--baseline-tree``: where variants named ``b1``, ``b2``, ... run from (an older checkout).
_TREES = {"": ROOT}


def variant_command(variant: str, port: int) -> list[str]:
    """The server command of ``variant``: ``1``, ``1s``, ``2``, ... with ``@CPUS`` to pin it (taskset);
    a leading ``b`` runs it from the baseline tree."""
    name, _, cpus = variant.partition(",")[0].partition("@")
    name = name.removeprefix("b")
    common = ["--port", str(port), "--log-level", "warning"]
    hook = _PROFILE_HOOK if _PROFILE_DIR else ""
    if name == "1s":
        cmd = [sys.executable, "-c", hook + _SUPERVISED_ONE, *common]
    elif hook:
        cmd = [sys.executable, "-c", hook + _PLAIN, *common, "--workers", str(int(name))]
    else:
        cmd = [sys.executable, "-m", "socketio_core.echo", *common, "--workers", str(int(name))]
    return (["taskset", "-c", cpus] if cpus else []) + cmd


def start_server(variant: str, port: int, perf_out: Path | None = None) -> subprocess.Popen[bytes]:
    tree = _TREES["b"] if variant.startswith("b") else ROOT
    proc = subprocess.Popen(
        (perf_prefix(perf_out) if perf_out is not None else []) + variant_command(variant, port),
        cwd=tree, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL,
        env={**os.environ, "PYTHONPATH": str(tree),
             **({"WORKERS_BENCH_PROFILE": str(_PROFILE_DIR[0])} if _PROFILE_DIR else {})},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith(b"listening on"):
        proc.kill()
        raise RuntimeError(f"the server did not start: {line!r}")
    return proc


def measure(scenario: str, params: dict[str, Any], variant: str, loadgen_cpus: str = "",
            use_perf: bool = False) -> dict[str, Any]:
    port = free_port()
    # VARIANT,KEY=N,...: this variant's own sizes (e.g. 2,clients=100: as many clients per worker as 1 has)
    for override in variant.split(",")[1:]:
        key, _, value = override.partition("=")
        params = {**params, key: int(value)}
    perf_out = _PERF_DIR[0] / f"perf-{port}.csv" if use_perf and _PERF_DIR else None
    launched = time.monotonic()
    server = start_server(variant, port, perf_out)
    # taskset execs the server in place: the pid is the server's either way (perf's child
    # with --perf).
    pids = descendants(server.pid)[1 if perf_out is not None else 0:]
    cfg = {"scenario": scenario, "host": "127.0.0.1", "port": port, "path": "/socket.io/",
           "params": {**COMMON, **params}, "payload_bytes": COMMON["payload_bytes"],
           "time_limit_s": params["duration_s"] + 30}
    marks: dict[str, tuple[float, list[float], list[int]]] = {}
    result: dict[str, Any] = {}
    try:
        pin = ["taskset", "-c", loadgen_cpus] if loadgen_cpus else []
        gen = subprocess.Popen([*pin, "node", str(LOADGEN), json.dumps(cfg)], cwd=LOADGEN.parent,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        assert gen.stdout is not None and gen.stdin is not None
        for raw in gen.stdout:
            msg = json.loads(raw) if raw.startswith("{") else {}
            if "mark" in msg:
                marks[msg["mark"]] = (time.monotonic(), [process_cpu_s(pid) or 0.0 for pid in pids],
                                      [switches(pid) for pid in pids])
                if _PROFILE_DIR:
                    for pid in pids:
                        os.kill(pid, signal.SIGUSR1 if msg["mark"] == "start" else signal.SIGUSR2)
                gen.stdin.write("\n")
                gen.stdin.flush()
            elif "result" in msg:
                result = msg["result"]
        gen.wait()
    finally:
        if _PROFILE_DIR:
            time.sleep(0.5)  # the processes write their profiles at their next Python turn
        os.kill(pids[0], signal.SIGTERM)
        server.wait(timeout=20)
    (t0, c0, k0), (t1, c1, k1) = marks["start"], marks["end"]
    ops = result.get("ops") or 0
    used = [b - a for a, b in zip(c0, c1)]
    supervised = len(pids) > 1
    calls = profile_calls(pids, ops) if _PROFILE_DIR else {}
    counted = perf_window(perf_out, t0 - launched, t1 - launched) if perf_out is not None else {}
    return {
        "ctxsw_per_op": sum(b - a for a, b in zip(k0, k1)) / ops if ops else None,
        **({"syscalls_per_op": counted.get("raw_syscalls:sys_enter", 0) / ops,
            "migrations_per_op": counted.get("cpu-migrations", 0) / ops} if ops and counted else {}),
        "calls_per_op": sum(calls.values()) if calls else None,
        "supervisor_calls_per_op": sum(v for (pid, _), v in calls.items() if pid == pids[0])
        if calls and supervised else 0.0,
        "functions": {re.sub(r" at 0x[0-9a-f]+", "", f"{fn[0].rsplit('/', 2)[-1]}:{fn[1]}({fn[2]})"): v
                      for fn, v in _by_function(calls).items()} if calls else {},
        "ops": ops, "rate": result.get("rate"), "wall_s": t1 - t0,
        "cpu_us_per_op": sum(used) * 1e6 / ops if ops else None,
        "supervisor_us_per_op": used[0] * 1e6 / ops if ops and supervised else 0.0,
        "workers_us_per_op": sum(used[1:] if supervised else used) * 1e6 / ops if ops else None,
        "cpu_share": sum(used) / (t1 - t0),
    }


def switches(pid: int) -> int:
    """Voluntary + involuntary context switches of one process so far (0 when it is gone):
    about one per wake-up of an event loop that waits in epoll."""
    count = 0
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(("voluntary_ctxt_switches", "nonvoluntary_ctxt_switches")):
                    count += int(line.split()[1])
    except OSError:
        pass
    return count


def perf_prefix(path: Path) -> list[str]:
    """``perf stat`` in front of the server: system calls of its whole tree (children
    inherit the counter), printed every 100 ms so that the marks' window can be cut out
    (attaching to a running process counts nothing on this machine)."""
    return ["perf", "stat", "-I", str(_PERF_INTERVAL_MS), "-x", ",", "-e",
            "raw_syscalls:sys_enter,cpu-migrations", "-o", str(path), "--"]


def perf_window(path: Path, start_s: float, end_s: float) -> dict[str, int]:
    """Counts by event (system calls, CPU migrations: a process moved to another core, its
    caches left behind) between ``start_s`` and ``end_s`` after the server's launch
    (whole intervals, so up to one interval off at each end)."""
    totals: dict[str, int] = {}
    for line in path.read_text().splitlines():
        fields = line.strip().split(",")
        if len(fields) < 4 or not fields[1].isdigit():
            continue
        if start_s < float(fields[0]) <= end_s:
            totals[fields[3]] = totals.get(fields[3], 0) + int(fields[1])
    return totals


def profile_calls(pids: list[int], ops: int) -> dict[tuple[int, Any], float]:
    """Python calls per operation, by (pid, function), from the profiles the processes wrote."""
    out: dict[tuple[int, Any], float] = {}
    for pid in pids:
        path = _PROFILE_DIR[0] / f"{pid}.prof"
        if not path.exists() or not ops:
            continue
        stats = pstats.Stats(str(path)).stats  # type: ignore[attr-defined]
        for fn, (_cc, nc, _tt, _ct, _callers) in stats.items():
            out[(pid, fn)] = nc / ops
        path.unlink()
    return out


def _by_function(calls: dict[tuple[int, Any], float]) -> dict[Any, float]:
    merged: dict[Any, float] = {}
    for (_, fn), v in calls.items():
        merged[fn] = merged.get(fn, 0.0) + v
    return merged


def routing_micro(n: int = 3000) -> float:
    """CPU µs the supervisor spends per new connection, measured alone in this process:
    its own accept path (``Router.on_accept``: accept, read the head, find its
    worker, pass the descriptor, close) against a stand-in worker; the client's side
    and the receiving worker's are not counted."""
    sys.path.insert(0, str(ROOT))
    import selectors

    from transports.gevent._cluster._bus import Peer
    from transports.gevent._cluster._process import WorkerProcess
    from transports.gevent._cluster._supervisor import Supervisor

    supervisor = Supervisor(lambda ctx: None, 1)
    address = supervisor.bind("127.0.0.1", 0)
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    b.setblocking(False)  # (recv_fds ignores its flags before Python 3.12)
    worker = WorkerProcess(0, 1, os.getpid(), a, a, Peer(send=lambda frame: None), 0.0, ready=True)
    supervisor._slots[0] = worker
    supervisor._by_wid[1] = worker
    head = b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n"
    spent = 0.0
    try:
        while supervisor.router.routed < n:
            client = socket.create_connection(address)
            client.sendall(head)
            t0 = time.thread_time()
            supervisor.router.on_accept(supervisor._listener, selectors.EVENT_READ)
            spent += time.thread_time() - t0
            while True:
                try:
                    _, fds, _, _ = socket.recv_fds(b, 65536, 4)
                except BlockingIOError:
                    break
                for fd in fds:
                    os.close(fd)
            client.close()
    finally:
        supervisor._close_all()
        a.close()
        b.close()
    return spent * 1e6 / supervisor.router.routed


def print_function_diffs(raw: dict[str, dict[str, list[dict[str, Any]]]], variants: list[str],
                         top: int) -> None:
    """Per scenario, the functions whose Python calls per op differ most from the first
    variant's (means over rounds), so that a gap can be read by function."""
    def mean_calls(rows: list[dict[str, Any]]) -> dict[str, float]:
        out: dict[str, float] = {}
        for row in rows:
            for fn, v in row.get("functions", {}).items():
                out[fn] = out.get(fn, 0.0) + v / len(rows)
        return out

    for scenario, by_variant in raw.items():
        base = mean_calls(by_variant[variants[0]])
        for variant in variants[1:]:
            other = mean_calls(by_variant[variant])
            diffs = sorted(((other.get(fn, 0.0) - base.get(fn, 0.0), fn) for fn in set(base) | set(other)),
                           key=lambda d: -abs(d[0]))
            print(f"{scenario}: Python calls per op, {variant} minus {variants[0]} (largest first)")
            for d, fn in diffs[:top]:
                print(f"  {d:+8.2f}  {base.get(fn, 0.0):8.2f} -> {other.get(fn, 0.0):8.2f}  {fn}")


def ratio_base(variant: str, variants: list[str]) -> str:
    """The variant ``variant``'s ratio is taken against: ``1`` with the same tree, pinning and
    sizes when it was run (``2@0`` against ``1@0``, ``b2`` against ``b1``), else the first."""
    head = variant.partition(",")[0].partition("@")[0]  # "b2" of "b2@0,clients=100"
    candidate = ("b" if head.startswith("b") else "") + "1" + variant[len(head):]
    return candidate if candidate in variants else variants[0]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="write the raw numbers here")
    parser.add_argument("--scenarios", nargs="+", choices=list(FULL), default=DEFAULT_SCENARIOS)
    parser.add_argument("--variants", nargs="+", default=["1", "2"],
                        help="servers compared, the first is the base of the ratio: 1 (one plain "
                             "process), 1s (a supervisor and one worker), 2, N; VARIANT@CPUS pins "
                             "the server to those CPUs (taskset), e.g. 1@0 2@0; VARIANT,KEY=N sets a "
                             "size for that variant, e.g. 2,clients=100 (as many per worker as 1 has)")
    parser.add_argument("--loadgen-cpus", default="",
                        help="pin the load generator to these CPUs (taskset), e.g. 1 with 1@0 2@0: "
                             "the server tree shares one core whatever its process count")
    parser.add_argument("--baseline-tree", type=Path, default=None,
                        help="an older checkout (git worktree add ../base COMMIT): variants b1, b2, "
                             "b1s, ... run from it, for before/after in one run")
    parser.add_argument("--duration", type=float, default=None, help="measured seconds per run")
    parser.add_argument("--count-calls", type=Path, default=None, metavar="DIR",
                        help="also count Python calls per operation (cProfile in every server process "
                             "between the marks, profiles written to DIR): a run for counts, not time")
    parser.add_argument("--top", type=int, default=12,
                        help="with --count-calls: the functions whose calls per op differ most from "
                             "the first variant's")
    parser.add_argument("--perf", action="store_true",
                        help="also count system calls per operation, all processes of the server "
                             "together (perf stat -I in front of it; needs perf and its tracepoints)")
    opts = parser.parse_args()
    if opts.perf:
        _PERF_DIR.append(Path(tempfile.mkdtemp(prefix="workers_bench_perf")))
    if opts.count_calls is not None:
        opts.count_calls.mkdir(parents=True, exist_ok=True)
        _PROFILE_DIR.append(opts.count_calls.resolve())
    sizes = {k: dict(v) for k, v in (QUICK if opts.quick else FULL).items() if k in opts.scenarios}
    if opts.duration is not None:
        for params in sizes.values():
            params["duration_s"] = opts.duration
    variants: list[str] = opts.variants
    if opts.baseline_tree is not None:
        _TREES["b"] = opts.baseline_tree.resolve()
    elif any(v.startswith("b") for v in variants):
        parser.error("variants b1, b2, ... need --baseline-tree")
    load_start = os.getloadavg()
    raw: dict[str, dict[str, list[dict[str, Any]]]] = {s: {v: [] for v in variants} for s in sizes}
    for round_ in range(opts.rounds):
        order = variants if round_ % 2 == 0 else variants[::-1]
        for scenario, params in sizes.items():
            for variant in order:
                raw[scenario][variant].append(measure(scenario, params, variant, opts.loadgen_cpus,
                                                         opts.perf))
    load_end = os.getloadavg()

    def med(rows: list[dict[str, Any]], key: str) -> float:
        values = [r[key] for r in rows if r.get(key) is not None]
        return statistics.median(values) if values else float("nan")

    print(f"load average at start {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}, "
          f"at end {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}; {os.cpu_count()} CPUs; "
          f"{opts.rounds} rounds, medians"
          + (f"; load generator on CPU {opts.loadgen_cpus}" if opts.loadgen_cpus else ""))
    print(f"{'scenario':<10} {'server':>6} {'ops/s':>10} {'CPU µs/op':>10} {'ratio':>6} "
          f"{'superv. µs/op':>14} {'workers µs/op':>14} {'CPU share':>9} {'ctxsw/op':>9} "
          f"{'syscalls/op':>11} {'migr./kop':>9}" + (f" {'Py calls/op':>11} {'superv.':>8}" if _PROFILE_DIR else ""))
    for scenario in sizes:
        for variant in variants:
            base = med(raw[scenario][ratio_base(variant, variants)], "cpu_us_per_op")
            rows = raw[scenario][variant]
            cpu = med(rows, "cpu_us_per_op")
            print(f"{scenario:<10} {variant:>6} {med(rows, 'rate'):>10,.0f} {cpu:>10.1f} "
                  f"{cpu / base if base else float('nan'):>6.2f} {med(rows, 'supervisor_us_per_op'):>14.2f} "
                  f"{med(rows, 'workers_us_per_op'):>14.1f} {med(rows, 'cpu_share'):>9.0%} "
                  f"{med(rows, 'ctxsw_per_op'):>9.3f} {med(rows, 'syscalls_per_op'):>11.2f} "
                  f"{med(rows, 'migrations_per_op') * 1000:>9.2f}"
                  + (f" {med(rows, 'calls_per_op'):>11.1f} {med(rows, 'supervisor_calls_per_op'):>8.2f}"
                     if _PROFILE_DIR else ""))
    if _PROFILE_DIR:
        print_function_diffs(raw, variants, opts.top)
    print(f"routing cost per new connection (supervisor CPU, measured alone): {routing_micro():.1f} µs")
    if opts.json is not None:
        opts.json.write_text(json.dumps({"load": [load_start, load_end], "raw": raw}, indent=1))


if __name__ == "__main__":
    main()
