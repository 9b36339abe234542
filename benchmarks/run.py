#!/usr/bin/env python3
"""The benchmark harness: our echo server against python-socketio and Node's socket.io.

One run starts each server as its own process on 127.0.0.1 (a fresh process for
every scenario and round), drives it with the same lean Node load generator
(benchmarks/node/loadgen.js: raw Engine.IO/Socket.IO frames over `ws`, a raw
keep-alive HTTP/1.1 client for long-polling), interleaves the rounds (A B C, then C B A, ...)
so that drifts of the shared machine cancel out, and reports medians and ratios:
a table on stdout and in results/<stamp>/table.md, the raw numbers in
results.json, a PNG plot (when matplotlib is importable: `make bench` runs this
script from benchmarks/.venv-peers, which has it).

For every scenario the server's CPU time per operation comes from
/proc/PID/stat (utime + stime) over the measured window; the load generator's
CPU share over the same window is recorded too, and a window where it was above
90% of one core is flagged: the number is then the generator's limit, not the
server's.

Standard library only (matplotlib optional), so the smoke test can run it from
the project's environment against our own server alone:
    python benchmarks/run.py --servers ours --quick --no-plot --json out.json

Benchmarks are not tests: nothing here asserts a speed.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from bench_report import SATURATED, plot, render_table, summarize  # noqa: E402
from bench_servers import SERVER_LABELS, ServerSpec, executable, server_spec  # noqa: E402
from proc_sample import end_process, loadavg, system_cpu, tree_cpu_s, tree_rss_kb  # noqa: E402

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
NODE_DIR = BENCH / "node"
LOADGEN = NODE_DIR / "loadgen.js"


# ---------------------------------------------------------------- sizes

FULL: dict[str, dict[str, Any]] = {
    "handshake": {"concurrency": 10, "count": 50_000, "warmup_s": 1.0, "duration_s": 4.0},
    "echo": {"clients": 50, "count": 1_000_000, "warmup_s": 1.0, "duration_s": 5.0},
    "ack": {"clients": 50, "count": 1_000_000, "warmup_s": 1.0, "duration_s": 5.0},
    "polling": {"clients": 20, "count": 1_000_000, "warmup_s": 1.0, "duration_s": 5.0},
    "broadcast": {"clients": 200, "messages": 5_000, "warmup_messages": 20, "window": 10,
                  "duration_s": 5.0, "drain_s": 5.0},
    # memory per connection barely moves between rounds: two rounds of the longest scenario
    "idle": {"baseline": 20, "steps": [1000, 5000, 10000], "concurrency": 50,
             "settle_s": 1.0, "hold_s": 7.0, "ping_interval_ms": 5000, "rounds": 2},
}
QUICK: dict[str, dict[str, Any]] = {
    "handshake": {"concurrency": 2, "count": 20, "warmup_s": 0.1, "duration_s": 2.0},
    "echo": {"clients": 5, "count": 20, "warmup_s": 0.1, "duration_s": 2.0},
    "ack": {"clients": 5, "count": 20, "warmup_s": 0.1, "duration_s": 2.0},
    "polling": {"clients": 3, "count": 20, "warmup_s": 0.1, "duration_s": 2.0},
    "broadcast": {"clients": 10, "messages": 20, "warmup_messages": 2, "window": 4,
                  "duration_s": 2.0, "drain_s": 3.0},
    "idle": {"baseline": 2, "steps": [10, 20], "concurrency": 5,
             "settle_s": 0.2, "hold_s": 0.5, "ping_interval_ms": 300},
}
SCENARIOS = list(FULL)
COMMON = {"payload_bytes": 32, "connect_timeout_ms": 20000}


@dataclass
class Sample:
    t: float
    server_cpu: float | None
    server_rss_kb: int | None
    loadgen_cpu: float | None
    sys_busy: float
    sys_irq: float
    sys_total: float
    server_alive: bool
    extra: dict[str, Any] = field(default_factory=dict)


def take_sample(server: "RunningServer", loadgen_pid: int, extra: dict[str, Any]) -> Sample:
    busy, irq, total = system_cpu()
    alive = server.proc.poll() is None
    return Sample(time.monotonic(), tree_cpu_s(server.pid) if alive else None,
                  tree_rss_kb(server.pid) if alive else None, tree_cpu_s(loadgen_pid), busy, irq, total,
                  alive, extra)


def window(a: Sample, b: Sample) -> dict[str, Any]:
    wall = b.t - a.t
    srv = (b.server_cpu - a.server_cpu) if a.server_cpu is not None and b.server_cpu is not None else None
    lg = (b.loadgen_cpu - a.loadgen_cpu) if a.loadgen_cpu is not None and b.loadgen_cpu is not None else None
    busy = b.sys_busy - a.sys_busy
    irq = b.sys_irq - a.sys_irq
    # tick accounting charges (soft)irq time to the task it interrupted, so the server's and
    # the generator's own share of it is already in their stime: not subtracted here
    others = busy - (srv or 0) - (lg or 0)
    return {
        "wall_s": wall,
        "server_cpu_s": srv,
        "loadgen_cpu_s": lg,
        "server_cpu_share": srv / wall if srv is not None and wall > 0 else None,
        "loadgen_cpu_share": lg / wall if lg is not None and wall > 0 else None,
        # kernel interrupt/softirq time, all CPUs (loopback TCP; part of it is in the above)
        "irq_cpu_share": irq / wall if wall > 0 else None,
        # the rest of the machine: other processes (other users' work), softirq in idle context
        "others_cpu_share": others / wall if wall > 0 else None,
    }


# ---------------------------------------------------------------- servers

def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RunningServer:
    def __init__(self, spec: ServerSpec, port: int, log_path: Path) -> None:
        self.spec = spec
        self.port = port
        self.log_path = log_path
        self.log = open(log_path, "wb")
        self.proc = subprocess.Popen(spec.argv, cwd=spec.cwd, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL)
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{spec.name} exited ({self.proc.returncode}) before listening:\n"
                                   + self.tail())
            if b"listening on" in log_path.read_bytes() and self._accepts():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{spec.name} did not start listening within 30 s:\n" + self.tail())

    def _accepts(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                return True
        except OSError:
            return False

    @property
    def pid(self) -> int:
        return self.proc.pid

    def tail(self, n: int = 4000) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_bytes()[-n:].decode(errors="replace")

    def stop(self) -> int | None:
        """SIGTERM, then SIGKILL; returns the exit code if it had died on its own."""
        died = self.proc.poll()
        if died is None:
            end_process(self.proc, signal.SIGTERM, timeout=10)
        self.log.close()
        return died

    def log_problems(self) -> list[str]:
        text = self.log_path.read_bytes().decode(errors="replace")
        bad = [ln for ln in text.splitlines()
               if any(k in ln for k in ("Traceback", "ERROR", "Error", "CRITICAL", "Exception"))]
        return bad[:20]


# ---------------------------------------------------------------- one measurement

def run_loadgen(scenario: str, params: dict[str, Any], server: RunningServer, opts: argparse.Namespace,
                time_limit: float, log_path: Path) -> tuple[dict[str, Any], dict[str, Sample]]:
    cfg = {"scenario": scenario, "host": "127.0.0.1", "port": server.port, "path": "/socket.io/",
           "params": {**COMMON, **{k: v for k, v in params.items() if k != "rounds"}},
           "payload_bytes": COMMON["payload_bytes"],
           "time_limit_s": time_limit}
    with open(log_path, "wb") as err:
        lg = subprocess.Popen([opts.node, str(LOADGEN), json.dumps(cfg)], cwd=NODE_DIR,
                              stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err, text=True, bufsize=1)
        killer = threading.Timer(time_limit + 15, lg.kill)
        killer.start()
        samples: dict[str, Sample] = {}
        result: dict[str, Any] | None = None
        error: str | None = None
        try:
            assert lg.stdout is not None and lg.stdin is not None
            for line in lg.stdout:
                line = line.strip()
                if not line:
                    continue
                try:
                    msg = json.loads(line)
                except ValueError:
                    continue
                if "mark" in msg:
                    name = msg["mark"]
                    key, i = name, 1
                    while key in samples:  # repeated marks (idle steps): step, step#2, ...
                        i += 1
                        key = f"{name}#{i}"
                    samples[key] = take_sample(server, lg.pid, msg)
                    try:
                        lg.stdin.write("\n")
                        lg.stdin.flush()
                    except OSError:
                        pass
                elif "result" in msg:
                    result = msg["result"]
                elif "error" in msg:
                    error = msg["error"]
            lg.wait()
        finally:
            killer.cancel()
            if lg.poll() is None:
                lg.kill()
                lg.wait()
    if result is None:
        stderr_tail = log_path.read_bytes()[-2000:].decode(errors="replace")
        raise RuntimeError(f"load generator failed (exit {lg.returncode}): {error or ''}\n{stderr_tail}")
    return result, samples


def measure(scenario: str, server_name: str, params: dict[str, Any], opts: argparse.Namespace,
            logdir: Path, round_no: int) -> dict[str, Any]:
    port = free_port()
    ping = params.get("ping_interval_ms")
    spec = server_spec(server_name, port, ping, opts)
    tag = f"{scenario}-{server_name}-r{round_no}"
    rec: dict[str, Any] = {"scenario": scenario, "server": server_name, "round": round_no, "ok": False}
    try:
        server = RunningServer(spec, port, logdir / f"{tag}.server.log")
    except RuntimeError as e:
        rec["error"] = str(e)
        return rec
    time_limit = opts.time_limit.get(scenario, 120.0)
    try:
        result, samples = run_loadgen(scenario, params, server, opts, time_limit, logdir / f"{tag}.loadgen.log")
        rec["result"] = result
        rec["ok"] = True
    except RuntimeError as e:
        rec["error"] = str(e)
        result, samples = {}, {}
    alive = server.proc.poll() is None
    rec["server_alive_after"] = alive
    problems = server.log_problems()
    died = server.stop()
    if not alive:
        rec["server_exit_code"] = died
        rec["server_death"] = describe_exit(server_name, died)
        rec["server_alive_at_marks"] = {k: v.server_alive for k, v in samples.items()}
        rec["server_log_tail"] = server.tail()
    if problems:
        rec["server_log_problems"] = problems
    if rec["ok"]:
        rec["metrics"] = derive(scenario, result, samples)
    return rec


def describe_exit(server_name: str, code: int | None) -> str:
    if code is None:
        return "unknown"
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    if code == 0 and server_name == "ours":
        return "exited with status 0 (our echo server does that only on SIGINT/SIGTERM: a signal from outside?)"
    return f"exited with status {code}"


def derive(scenario: str, r: dict[str, Any], s: dict[str, Sample]) -> dict[str, Any]:
    """The reported numbers of one measurement (rates, CPU per op, memory)."""
    m: dict[str, Any] = {}
    if scenario == "idle":
        base = s.get("baseline")
        steps = [s[k] for k in sorted((k for k in s if k == "step" or k.startswith("step#")),
                                      key=lambda k: int(k.split("#")[1]) if "#" in k else 1)]
        if base is not None and base.server_rss_kb is not None:
            m["rss_baseline_kb"] = base.server_rss_kb
            n0 = base.extra.get("connected", 0)
            for st in steps:
                n = st.extra.get("n")
                conn = st.extra.get("connected", 0)
                if st.server_rss_kb is not None and conn > n0:
                    m[f"kb_per_conn_{n}"] = (st.server_rss_kb - base.server_rss_kb) / (conn - n0)
                m[f"connected_{n}"] = conn
        if "hold_start" in s and "hold_end" in s:
            w = window(s["hold_start"], s["hold_end"])
            m["idle_cpu_share"] = w["server_cpu_share"]
            m["loadgen_cpu_share"] = w["loadgen_cpu_share"]
            m["others_cpu_share"] = w["others_cpu_share"]
            m["irq_cpu_share"] = w["irq_cpu_share"]
            m["window_s"] = w["wall_s"]
        m["target"] = r.get("target")
        m["connected"] = r.get("connected")
        m["alive_after_hold"] = r.get("alive_after_hold")
        m["pinged_during_hold"] = r.get("pinged_during_hold")
        m["connect_failed"] = r.get("failed")
        connect_s = sum(st.get("connect_s", 0) for st in r.get("steps", []))
        m["connect_rate"] = (r.get("connected", 0) - r.get("baseline", 0)) / connect_s if connect_s else None
        return m
    w = window(s["start"], s["end"]) if "start" in s and "end" in s else {}
    ops = r.get("ops", 0)
    m["rate"] = r.get("rate")
    m["ops"] = ops
    srv = w.get("server_cpu_s")
    m["cpu_us_per_op"] = (srv * 1e6 / ops) if srv is not None and ops else None
    m["server_cpu_share"] = w.get("server_cpu_share")
    m["loadgen_cpu_share"] = w.get("loadgen_cpu_share")
    m["others_cpu_share"] = w.get("others_cpu_share")
    m["irq_cpu_share"] = w.get("irq_cpu_share")
    m["window_s"] = w.get("wall_s")
    for k in ("p50_ms", "p99_ms", "lost", "duplicates", "reorders", "mismatched", "failed",
              "connect_failed", "closed_early", "messages_per_s", "expected", "clients"):
        if k in r:
            m[k] = r[k]
    return m


# ---------------------------------------------------------------- main

def parse_args(argv: list[str] | None) -> argparse.Namespace:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--servers", default="ours,pysio,node",
                   help="comma-separated: ours, pysio, node, base (needs --baseline-tree), aio (--driver "
                        "asyncio), asgi (our ASGI app under uvicorn), pysio-asgi (python-socketio's "
                        "AsyncServer under uvicorn), w1, w2 (--workers 1 / 2)")
    p.add_argument("--scenarios", default=",".join(SCENARIOS), help="comma-separated: " + ", ".join(SCENARIOS))
    p.add_argument("--rounds", type=int, default=3,
                   help="rounds per scenario, alternating order: A B C, C B A, A B C (default 3; "
                        "a scenario's own `rounds` size caps it, idle: 2)")
    p.add_argument("--quick", action="store_true", help="tiny sizes (the smoke test)")
    p.add_argument("--set", action="append", default=[], metavar="SCENARIO.KEY=VALUE",
                   help="override a size, e.g. --set echo.duration_s=10 --set idle.steps=[1000,2000]")
    p.add_argument("--ours-python", default=str(ROOT / ".venv" / "bin" / "python"))
    p.add_argument("--baseline-tree", default=None, metavar="DIR",
                   help="also run our echo server from this checkout (e.g. `git worktree add DIR <old commit>`) "
                        "as server 'base', for a before/after comparison in one run")
    p.add_argument("--driver-tree", default=None, metavar="DIR",
                   help="servers aio and asgi (--driver asyncio, the ASGI app) from this checkout")
    p.add_argument("--driver-python", default=None, metavar="PYTHON",
                   help="the Python of servers aio and asgi (default --ours-python; asgi needs uvicorn)")
    p.add_argument("--workers-tree", default=None, metavar="DIR",
                   help="servers w1 and w2 (--workers 1 / 2) from this checkout")
    p.add_argument("--peers-python", default=str(BENCH / ".venv-peers" / "bin" / "python"))
    p.add_argument("--node", default=shutil.which("node") or "node")
    p.add_argument("--out", default=str(BENCH / "results"), help="results folder (default benchmarks/results)")
    p.add_argument("--json", default=None, help="also write the results JSON here")
    p.add_argument("--no-plot", action="store_true")
    opts = p.parse_args(argv)
    # absolute (the servers run from other folders), but not symlink-resolved (a venv's python)
    opts.ours_python = os.path.abspath(opts.ours_python)
    opts.peers_python = os.path.abspath(opts.peers_python)
    if opts.driver_python is not None:
        opts.driver_python = os.path.abspath(opts.driver_python)
    opts.server_list = [s.strip() for s in opts.servers.split(",") if s.strip()]
    opts.scenario_list = [s.strip() for s in opts.scenarios.split(",") if s.strip()]
    if opts.baseline_tree is not None:
        opts.baseline_tree = os.path.abspath(opts.baseline_tree)
        if not Path(opts.baseline_tree, "socketio_core").is_dir():
            p.error(f"--baseline-tree {opts.baseline_tree}: no socketio_core package there")
        if "base" not in opts.server_list:
            opts.server_list.append("base")
    elif "base" in opts.server_list:
        p.error("server 'base' needs --baseline-tree DIR")
    for s in opts.server_list:
        if s not in SERVER_LABELS:
            p.error(f"unknown server {s!r}")
    for s in opts.scenario_list:
        if s not in FULL:
            p.error(f"unknown scenario {s!r}")
    base = QUICK if opts.quick else FULL
    opts.sizes = {k: dict(v) for k, v in base.items()}
    for item in opts.set:
        key, _, value = item.partition("=")
        scen, _, name = key.partition(".")
        if scen not in opts.sizes or not name:
            p.error(f"bad --set {item!r}")
        opts.sizes[scen][name] = json.loads(value)
    opts.time_limit = {}
    for scen, sz in opts.sizes.items():
        t = sz.get("warmup_s", 0) + sz.get("duration_s", 0) + sz.get("drain_s", 0) + sz.get("hold_s", 0)
        extra = 60.0 if scen != "idle" else 60.0 + max(sz.get("steps", [0])) / 50.0
        opts.time_limit[scen] = t + extra
    return opts


def raise_nofile() -> tuple[int, int]:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return resource.getrlimit(resource.RLIMIT_NOFILE)


def main(argv: list[str] | None = None) -> int:
    opts = parse_args(argv)
    nofile = raise_nofile()
    need = 2 * max(opts.sizes["idle"]["steps"]) + 200 if "idle" in opts.scenario_list else 0
    if nofile[0] < need / 2 + 100:
        print(f"warning: open-files limit {nofile[0]} is too low for the idle scenario "
              f"({max(opts.sizes['idle']['steps'])} connections)", file=sys.stderr)
    for srv in opts.server_list:
        exe = executable(srv, opts)
        if not (Path(exe).exists() or shutil.which(exe)):
            print(f"error: {srv}: {exe} not found (run `make bench-setup` / `make install`)", file=sys.stderr)
            return 2
    stamp = time.strftime("%Y%m%d-%H%M%S")
    outdir = Path(opts.out) / stamp
    logdir = outdir / "logs"
    logdir.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    meta: dict[str, Any] = {
        "stamp": stamp, "rounds": opts.rounds, "servers": opts.server_list, "scenarios": opts.scenario_list,
        "sizes": {k: opts.sizes[k] for k in opts.scenario_list}, "quick": opts.quick,
        "machine": f"{os.cpu_count()} CPUs, {os.uname().release}", "nofile": list(nofile),
        "loadavg_start": loadavg(),
    }
    records: list[dict[str, Any]] = []
    print(f"benchmark: servers {opts.server_list}, scenarios {opts.scenario_list}, {opts.rounds} round(s); "
          f"load average {meta['loadavg_start']}; results in {outdir}", flush=True)
    for scen in opts.scenario_list:
        params = opts.sizes[scen]
        rounds = min(opts.rounds, int(params.get("rounds", opts.rounds)))
        for rnd in range(rounds):
            order = opts.server_list if rnd % 2 == 0 else list(reversed(opts.server_list))
            for srv in order:
                t0 = time.monotonic()
                try:
                    rec = measure(scen, srv, params, opts, logdir, rnd + 1)
                except Exception as exc:  # the harness itself failed: note it, go on
                    import traceback
                    rec = {"scenario": scen, "server": srv, "round": rnd + 1, "ok": False,
                           "error": f"harness error: {exc!r}\n{traceback.format_exc()}"}
                rec["duration_s"] = time.monotonic() - t0
                rec["loadavg"] = loadavg()
                records.append(rec)
                print("  " + one_line(rec), flush=True)
    meta["loadavg_end"] = loadavg()
    one_min = [r["loadavg"][0] for r in records if "loadavg" in r]
    meta["loadavg_1min_range"] = [min(one_min), max(one_min)] if one_min else None
    meta["elapsed"] = f"{time.monotonic() - started:.0f} s"
    summary = summarize(records, opts.server_list, opts.scenario_list, opts.sizes)
    table = render_table(summary, opts.server_list, meta)
    doc = {"meta": meta, "records": records, "summary": summary}
    (outdir / "results.json").write_text(json.dumps(doc, indent=1, default=str))
    (outdir / "table.md").write_text(table + "\n")
    plotted = False
    if not opts.no_plot:
        plotted = plot(summary, opts.server_list, outdir / "plot.png")
        if not plotted:
            print("(no plot: matplotlib is not importable from this Python)", file=sys.stderr)
    if opts.json:
        Path(opts.json).write_text(json.dumps(doc, indent=1, default=str))
    latest = Path(opts.out) / "latest"
    try:
        if latest.is_symlink() or latest.exists():
            latest.unlink()
        latest.symlink_to(stamp)
    except OSError:
        pass
    print()
    print(table)
    print()
    print(f"results: {outdir / 'results.json'}" + (f", plot: {outdir / 'plot.png'}" if plotted else ""))
    return 0


def one_line(rec: dict[str, Any]) -> str:
    head = f"{rec['scenario']:<9} {rec['server']:<5} r{rec['round']} ({rec['duration_s']:.1f} s): "
    if not rec.get("ok"):
        died = "" if rec.get("server_alive_after", True) else f" [server: {rec.get('server_death')}]"
        return head + "FAILED: " + str(rec.get("error", "?")).splitlines()[0][:200] + died
    m = rec["metrics"]
    parts = []
    if rec["scenario"] == "idle":
        for k, v in m.items():
            if k.startswith("kb_per_conn_") and v is not None:
                parts.append(f"{k[12:]}: {v:.1f} KB/conn")
        parts.append(f"connected {m.get('connected')}/{m.get('target')}, alive {m.get('alive_after_hold')}")
        if m.get("idle_cpu_share") is not None:
            parts.append(f"idle CPU {m['idle_cpu_share']:.1%}")
    else:
        parts.append(f"{m['rate']:,.0f}/s")
        if m.get("cpu_us_per_op") is not None:
            parts.append(f"{m['cpu_us_per_op']:.1f} µs/op")
        if m.get("p50_ms") is not None:
            parts.append(f"p50 {m['p50_ms']:.2f} ms p99 {m['p99_ms']:.2f} ms")
        for k in ("lost", "duplicates", "reorders", "mismatched"):
            if m.get(k):
                parts.append(f"{k} {m[k]}")
    if m.get("loadgen_cpu_share") is not None:
        saturated = m["loadgen_cpu_share"] > SATURATED and (m.get("window_s") or 1.0) >= 1.0
        parts.append(f"loadgen {m['loadgen_cpu_share']:.0%}" + (" SATURATED" if saturated else ""))
    if not rec.get("server_alive_after", True):
        parts.append(f"SERVER DIED: {rec.get('server_death')}")
    if rec.get("server_log_problems"):
        parts.append(f"{len(rec['server_log_problems'])} error lines in server log")
    return head + ", ".join(parts)


if __name__ == "__main__":
    sys.exit(main())
