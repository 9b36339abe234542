#!/usr/bin/env python3
"""workers=1 against workers=2 on the echo server: CPU per operation, routing cost, throughput.

    python benchmarks/workers_bench.py [--rounds 2] [--quick]

For each scenario of the load generator (benchmarks/node/loadgen.js: WebSocket
handshakes, WebSocket echo, keep-alive long-polling echo) the echo server is
started with ``--workers 1`` (one plain process) and ``--workers 2`` (a
supervisor and two workers), rounds interleaved (1 2, then 2 1, ...) so that
drifts of the shared machine cancel out. Between the generator's ``start``
and ``end`` marks the script reads utime+stime from /proc of every process
of the server (supervisor included) and reports the medians:

- server CPU per operation, summed over all processes, and its ratio 2/1;
- the supervisor's own CPU per operation: on the handshake scenario, where
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
import socket
import statistics
import subprocess
import sys
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
}
QUICK: dict[str, dict[str, Any]] = {
    "handshake": {"concurrency": 2, "count": 20, "warmup_s": 0.1, "duration_s": 1.0},
    "echo": {"clients": 5, "count": 20, "warmup_s": 0.1, "duration_s": 1.0},
    "polling": {"clients": 3, "count": 20, "warmup_s": 0.1, "duration_s": 1.0},
}
COMMON = {"payload_bytes": 32, "connect_timeout_ms": 20000}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(workers: int, port: int) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "socketio_core.echo", "--port", str(port), "--workers", str(workers),
         "--log-level", "warning"],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if not line.startswith(b"listening on"):
        proc.kill()
        raise RuntimeError(f"the server did not start: {line!r}")
    return proc


def measure(scenario: str, params: dict[str, Any], workers: int) -> dict[str, Any]:
    port = free_port()
    server = start_server(workers, port)
    pids = descendants(server.pid)
    cfg = {"scenario": scenario, "host": "127.0.0.1", "port": port, "path": "/socket.io/",
           "params": {**COMMON, **params}, "payload_bytes": COMMON["payload_bytes"],
           "time_limit_s": params["duration_s"] + 30}
    marks: dict[str, tuple[float, list[float]]] = {}
    result: dict[str, Any] = {}
    try:
        gen = subprocess.Popen(["node", str(LOADGEN), json.dumps(cfg)], cwd=LOADGEN.parent,
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1)
        assert gen.stdout is not None and gen.stdin is not None
        for raw in gen.stdout:
            msg = json.loads(raw) if raw.startswith("{") else {}
            if "mark" in msg:
                marks[msg["mark"]] = (time.monotonic(), [process_cpu_s(pid) or 0.0 for pid in pids])
                gen.stdin.write("\n")
                gen.stdin.flush()
            elif "result" in msg:
                result = msg["result"]
        gen.wait()
    finally:
        server.terminate()
        server.wait(timeout=20)
    (t0, c0), (t1, c1) = marks["start"], marks["end"]
    ops = result.get("ops") or 0
    used = [b - a for a, b in zip(c0, c1)]
    return {
        "ops": ops, "rate": result.get("rate"), "wall_s": t1 - t0,
        "cpu_us_per_op": sum(used) * 1e6 / ops if ops else None,
        "supervisor_us_per_op": used[0] * 1e6 / ops if ops and workers > 1 else 0.0,
        "cpu_share": sum(used) / (t1 - t0),
    }


def routing_micro(n: int = 3000) -> float:
    """CPU µs the supervisor spends per new connection, measured alone in this process:
    accept, read the head, find its worker, pass the descriptor, close (the client's
    side and the receiving worker's are not counted)."""
    sys.path.insert(0, str(ROOT))
    from transports.gevent._cluster._routing import head_end, owner_of_head
    from transports.gevent._cluster._supervisor import pack_handoff

    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(128)
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    head = b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n\r\n"
    spent = 0.0
    for _ in range(n):
        client = socket.create_connection(listener.getsockname())
        client.sendall(head)
        t0 = time.thread_time()
        conn, address = listener.accept()
        data = conn.recv(65536)
        if head_end(data) >= 0:
            owner_of_head(data)
        socket.send_fds(a, [pack_handoff(address, data)], [conn.fileno()])
        conn.close()
        spent += time.thread_time() - t0
        _, fds, _, _ = socket.recv_fds(b, 65536, 4)
        for fd in fds:
            os.close(fd)
        client.close()
    listener.close()
    a.close()
    b.close()
    return spent * 1e6 / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--json", type=Path, default=None, help="write the raw numbers here")
    parser.add_argument("--scenarios", nargs="+", choices=list(FULL), default=list(FULL))
    opts = parser.parse_args()
    sizes = {k: v for k, v in (QUICK if opts.quick else FULL).items() if k in opts.scenarios}
    load_start = os.getloadavg()
    raw: dict[str, dict[int, list[dict[str, Any]]]] = {s: {1: [], 2: []} for s in sizes}
    for round_ in range(opts.rounds):
        order = (1, 2) if round_ % 2 == 0 else (2, 1)
        for scenario, params in sizes.items():
            for workers in order:
                raw[scenario][workers].append(measure(scenario, params, workers))
    load_end = os.getloadavg()

    def med(rows: list[dict[str, Any]], key: str) -> float:
        values = [r[key] for r in rows if r.get(key) is not None]
        return statistics.median(values) if values else float("nan")

    print(f"load average at start {load_start[0]:.2f} {load_start[1]:.2f} {load_start[2]:.2f}, "
          f"at end {load_end[0]:.2f} {load_end[1]:.2f} {load_end[2]:.2f}; {os.cpu_count()} CPUs; "
          f"{opts.rounds} rounds, medians")
    print(f"{'scenario':<10} {'w':>2} {'ops/s':>10} {'CPU µs/op':>10} {'ratio':>6} "
          f"{'superv. µs/op':>14} {'CPU share':>9}")
    for scenario in sizes:
        base = med(raw[scenario][1], "cpu_us_per_op")
        for workers in (1, 2):
            rows = raw[scenario][workers]
            cpu = med(rows, "cpu_us_per_op")
            print(f"{scenario:<10} {workers:>2} {med(rows, 'rate'):>10,.0f} {cpu:>10.1f} "
                  f"{cpu / base:>6.2f} {med(rows, 'supervisor_us_per_op'):>14.2f} "
                  f"{med(rows, 'cpu_share'):>9.0%}")
    print(f"routing cost per new connection (supervisor CPU, measured alone): {routing_micro():.1f} µs")
    if opts.json is not None:
        opts.json.write_text(json.dumps({"load": [load_start, load_end], "raw": raw}, indent=1))


if __name__ == "__main__":
    main()
