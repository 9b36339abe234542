"""Shared fixtures: real echo servers on ephemeral ports, and the external clients.

Integration and interop tests talk to a real ``socketio-echo`` process over
127.0.0.1; the official npm clients run under Node from tests/interop, and the
python-socketio client runs from its own virtualenv (.venv-peer), because it
installs a top-level ``engineio`` package that would shadow ours.
"""

from __future__ import annotations

import json
import re
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest
from hypothesis import HealthCheck, settings

# The property tests judge answers, not speed: on a shared 2-core machine one
# example may take seconds, which hypothesis would call a failure (a deadline)
# or refuse to run (too slow). Speed is measured in benchmarks/.
settings.register_profile("shared-machine", deadline=None, suppress_health_check=[HealthCheck.too_slow])
settings.load_profile("shared-machine")

ROOT = Path(__file__).resolve().parent.parent
INTEROP = ROOT / "tests" / "interop"
PEER_PYTHON = ROOT / ".venv-peer" / "bin" / "python"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """A server subprocess that prints ``listening on ...`` once it accepts connections.

    Its output is drained all along (a server whose log pipe fills up blocks)
    and returned by :meth:`stop`.
    """

    def __init__(self, argv: list[str], port: int, *, start_timeout: float = 15.0) -> None:
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        self.proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        self.output: list[str] = []
        self._listening = threading.Event()
        self._ended = False
        self._new_output = threading.Condition()
        self._reader = threading.Thread(target=self._read_output, daemon=True)
        self._reader.start()
        with self._new_output:  # a server that exits at start (port taken) fails at once
            self._new_output.wait_for(lambda: self._listening.is_set() or self._ended, start_timeout)
        if not self._listening.is_set():
            self.stop()
            raise RuntimeError("server did not start:\n" + "".join(self.output))

    def _read_output(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._new_output:
                self.output.append(line)
                if line.startswith("listening on"):
                    self._listening.set()
                self._new_output.notify_all()
        with self._new_output:
            self._ended = True
            self._new_output.notify_all()  # the server ended: waiters stop waiting

    def wait_for_output(self, pattern: str, timeout: float = 10.0) -> re.Match[str]:
        """Wait until the server has printed a line matching ``pattern``; its match.

        Event-driven (woken by each new line), so a test waits as long as the
        server takes and no longer. Raises AssertionError with the log on timeout.
        """
        regex = re.compile(pattern)
        deadline = time.monotonic() + timeout
        with self._new_output:
            while True:
                for line in self.output:
                    match = regex.search(line)
                    if match:
                        return match
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"no line matching {pattern!r} in:\n{self.log()[-4000:]}")
                self._new_output.wait(left)

    def log(self) -> str:
        """Everything the server printed so far."""
        return "".join(self.output)

    def stop(self) -> str:
        """Stop the server (SIGTERM) and return everything it printed."""
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=5)
        return self.log()


class EchoServer(ServerProcess):
    """A running ``python -m socketio_core.echo`` subprocess."""

    def __init__(self, args: list[str], port: int) -> None:
        self.args = args
        super().__init__(
            [sys.executable, "-m", "socketio_core.echo", "--port", str(port), *args], port
        )


def script_server(script: str, *args: str) -> ServerProcess:
    """``python tests/integration/<script> PORT *args`` on a free port."""
    port = free_port()
    return ServerProcess(
        [sys.executable, str(ROOT / "tests" / "integration" / script), str(port), *args], port
    )


#: Where the Socket.IO echo runs in the interop tests: our own server on either
#: driver, and AsyncServer's ASGI app under uvicorn and hypercorn (_asgi_serve.py).
SERVERS = ["gevent", "asyncio", "uvicorn", "hypercorn"]


def echo_on(server: str) -> ServerProcess:
    """The Socket.IO echo (default options) on one of :data:`SERVERS`."""
    if server in ("gevent", "asyncio"):
        return EchoServer(["--driver", server], free_port())
    return script_server("_asgi_serve.py", server)


def run_clients_against(server: str, runner: Callable[..., Any], script: str, modes: list[str]) -> dict[str, Any]:
    """The echo on ``server``; ``runner(script, url, mode)`` for every mode at once.

    ``{"results": {mode: what the script printed}, "log": the server's output, "server": server}``.
    """
    process = echo_on(server)
    try:
        with ThreadPoolExecutor(len(modes)) as pool:
            futures = {mode: pool.submit(runner, script, process.url, mode) for mode in modes}
            results = {mode: future.result() for mode, future in futures.items()}
    finally:
        log = process.stop()
    return {"results": results, "log": log, "server": server}


@pytest.fixture
def echo_server() -> Iterator[Callable[..., EchoServer]]:
    """Factory: ``echo_server("--engineio-only", "--ping-interval", "300")``."""
    started: list[EchoServer] = []

    def start(*args: str) -> EchoServer:
        server = EchoServer(list(args), free_port())
        started.append(server)
        return server

    yield start
    for server in started:
        output = server.stop()
        # Bad input must be answered and logged in one line, never crash a handler.
        assert "Traceback" not in output, output[-4000:]


def run_node(script: str, *args: str, timeout: float = 60, env: dict[str, str] | None = None) -> Any:
    """Run ``tests/interop/<script>`` with Node; it must print one JSON document last."""
    proc = subprocess.run(
        ["node", str(INTEROP / script), *args],
        cwd=INTEROP,
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )
    if proc.returncode != 0:
        raise AssertionError(f"{script} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def note_recovery_result(case: str, n: int, result: Any) -> None:
    """Append a recovery client's result to ``$RECOVERY_RESULTS`` when it is set:
    benchmarks/recovery_loop.py counts duplicates and losses from it."""
    path = os.environ.get("RECOVERY_RESULTS")
    if path:
        with open(path, "a", encoding="utf-8") as out:
            out.write(json.dumps({"case": case, "n": n, "result": result}) + "\n")


def run_peer_python(script: str, *args: str, timeout: float = 60) -> Any:
    """Run ``tests/interop/<script>`` with the python-socketio virtualenv; JSON out."""
    if not PEER_PYTHON.exists():
        raise AssertionError(".venv-peer is missing: run `make peer` (make test does)")
    proc = subprocess.run(
        [str(PEER_PYTHON), str(INTEROP / script), *args],
        cwd=INTEROP,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if proc.returncode != 0:
        raise AssertionError(f"{script} failed ({proc.returncode}):\n{proc.stdout}\n{proc.stderr}")
    return json.loads(proc.stdout.strip().splitlines()[-1])
