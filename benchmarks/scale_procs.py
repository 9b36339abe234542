"""The scale benchmark's processes: servers under test, load-client pools, /proc sampling.

A server may be a tree of processes (``--workers N``): CPU and memory are
summed over the process and all its descendants, found through
``/proc/PID/task/TID/children``.
"""

from __future__ import annotations

import json
import os
import resource
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from proc_sample import descendants, end_process, tree_cpu_s, tree_rss_kb

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent


def server_argv(name: str, port: int, opts: Any, ping_ms: int | None = None,
                workers: int | None = None) -> tuple[list[str], Path]:
    ping = ["--ping-interval", str(ping_ms)] if ping_ms else []
    if name in ("ours", "ours-asyncio") or name.startswith("ours-w"):
        argv = [opts.ours_python, "-m", "socketio_core.echo", "--port", str(port), "--log-level", "warning", *ping]
        if name == "ours-asyncio":
            argv += ["--driver", "asyncio"]
        if workers:
            argv += ["--workers", str(workers)]
            # `-m` puts the working directory first on sys.path: another checkout's
            # packages (--workers-tree) shadow this one's
            return argv, Path(opts.workers_tree or ROOT)
        return argv, ROOT
    if name == "base":
        # Our echo from another checkout (--base-tree, a before/after in one run):
        # `-m` puts the working directory first on sys.path, so its packages win.
        argv = [opts.ours_python, "-m", "socketio_core.echo", "--port", str(port), "--log-level", "warning", *ping]
        return argv, Path(opts.base_tree)
    if name == "floor":
        return [opts.ours_python, str(BENCH / "peers" / "floor_server.py"), "--port", str(port), *ping], BENCH
    if name == "pysio":
        return [opts.peers_python, str(BENCH / "peers" / "pysio_server.py"), "--port", str(port), *ping], BENCH
    if name == "node":
        return [opts.node, str(BENCH / "node" / "sio_server.js"), "--port", str(port), *ping], BENCH / "node"
    if name == "node-w":
        # Node's cluster: a primary handing connections to `workers` socket.io workers
        # (@socket.io/sticky), joined by @socket.io/cluster-adapter
        return [opts.node, str(BENCH / "node" / "sio_cluster.js"), "--port", str(port),
                "--workers", str(workers or 2), *ping], BENCH / "node"
    raise ValueError(name)


class Server:
    """One server under test, started fresh; its log goes to a file."""

    def __init__(self, name: str, port: int, opts: Any, log_path: Path, ping_ms: int | None = None,
                 workers: int | None = None, start_timeout: float = 60.0, nofile: int | None = None) -> None:
        self.name = name
        self.port = port
        self.log_path = log_path
        argv, cwd = server_argv(name, port, opts, ping_ms, workers)
        self.log = open(log_path, "wb")
        # nofile: a lower descriptor limit (soft and hard, so the server cannot raise it
        # back), to reach "the limit" with a few dozen clients in the smoke run
        limit = None if nofile is None else (lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (nofile, nofile)))
        self.proc = subprocess.Popen(argv, cwd=cwd, stdout=self.log, stderr=subprocess.STDOUT,
                                     stdin=subprocess.DEVNULL, start_new_session=True, preexec_fn=limit)
        deadline = time.monotonic() + start_timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{name} exited ({self.proc.returncode}) before listening:\n{self.tail()}")
            if b"listening on" in log_path.read_bytes():
                return
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"{name} did not start listening within {start_timeout:.0f} s:\n{self.tail()}")

    @property
    def pid(self) -> int:
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc.poll() is None

    def cpu(self) -> float:
        return tree_cpu_s(self.pid) or 0.0

    def rss_kb(self) -> int:
        return tree_rss_kb(self.pid) or 0

    def fds_by_process(self) -> list[int]:
        """Open descriptors of each process of the tree, most first (each must stay under the limit)."""
        out = []
        for p in descendants(self.pid):
            try:
                out.append(len(os.listdir(f"/proc/{p}/fd")))
            except OSError:
                pass
        return sorted(out, reverse=True)

    def tail(self, n: int = 3000) -> str:
        if not self.log.closed:
            self.log.flush()
        return self.log_path.read_bytes()[-n:].decode(errors="replace")

    def log_lines(self, *needles: str) -> int:
        text = self.log_path.read_bytes().decode(errors="replace")
        return sum(1 for ln in text.splitlines() if any(k in ln for k in needles))

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                os.killpg(self.proc.pid, signal.SIGTERM)
            except OSError:
                pass
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                try:
                    os.killpg(self.proc.pid, signal.SIGKILL)
                except OSError:
                    pass
                self.proc.wait()
        self.log.close()


class Pool:
    """Several load-client processes (scale_client.py); one command to each, answers gathered."""

    def __init__(self, count: int, python: str, log_dir: Path, tag: str) -> None:
        self.procs = []
        self.logs = []
        for i in range(count):
            log = open(log_dir / f"{tag}.client{i}.log", "wb")
            self.logs.append(log)
            self.procs.append(subprocess.Popen(
                [python, str(BENCH / "scale_client.py")], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                stderr=log, bufsize=0))

    def __len__(self) -> int:
        return len(self.procs)

    def send(self, i: int, cmd: dict[str, Any]) -> None:
        p = self.procs[i]
        assert p.stdin is not None
        p.stdin.write((json.dumps(cmd) + "\n").encode())

    def recv(self, i: int, timeout: float = 600.0) -> dict[str, Any]:
        p = self.procs[i]
        assert p.stdout is not None
        import select
        deadline = time.monotonic() + timeout
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                raise RuntimeError(f"load client {i} did not answer within {timeout:.0f} s")
            r, _, _ = select.select([p.stdout], [], [], left)
            if r:
                line = p.stdout.readline()
                if not line:
                    raise RuntimeError(f"load client {i} exited ({p.wait()}); see its log")
                return dict(json.loads(line))

    def all(self, cmds: list[dict[str, Any] | None], timeout: float = 600.0) -> list[dict[str, Any] | None]:
        """Send cmds[i] to process i (None: nothing), then gather the answers."""
        for i, c in enumerate(cmds):
            if c is not None:
                self.send(i, c)
        return [self.recv(i, timeout) if c is not None else None for i, c in enumerate(cmds)]

    def close(self) -> None:
        for i, p in enumerate(self.procs):
            try:
                self.send(i, {"cmd": "exit"})
                assert p.stdin is not None
                p.stdin.close()
            except OSError:
                pass
        for p in self.procs:
            try:
                p.wait(timeout=15)
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait()
        for log in self.logs:
            log.close()


def split(n: int, parts: int) -> list[int]:
    """n as `parts` near-equal shares."""
    return [n // parts + (1 if i < n % parts else 0) for i in range(parts)]


def free_port() -> int:
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def python_of_this_harness() -> str:
    return sys.executable


class Profiler:
    """py-spy recording one server's measured window into a flame graph (SVG), if asked for.

    ``--nonblocking`` samples without stopping the process (the window's CPU
    figures stay honest, at the price of an occasional torn stack).
    """

    def __init__(self, py_spy: str | None, pid: int, path: Path) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        if py_spy:
            self.log = open(path.with_suffix(".py-spy.log"), "wb")
            self.proc = subprocess.Popen(
                [py_spy, "record", "--pid", str(pid), "--output", str(path), "--format", "flamegraph",
                 "--rate", "200", "--nonblocking", "--subprocesses"],
                stdout=self.log, stderr=subprocess.STDOUT)

    def stop(self) -> None:
        if self.proc is None:
            return
        end_process(self.proc, signal.SIGINT, timeout=30)
        self.log.close()
