"""Fixtures of the cluster tests: a throwaway redis-server and servers that share it.

Each module gets its own ``redis-server`` on a free port (no persistence,
loopback only; the command line of .ci/redis.sh), started directly so that a
test can kill and restart it. Servers are real processes: the echo server with
``--message-queue`` or tests/cluster/_cluster_server.py, on either driver:
:data:`PAIRS` names the pairs a cluster test runs over (both gevent, both
asyncio, and one of each on the same channel). Clients are the
official JS client (Node scripts in tests/interop/cluster_*.js) and the
python-socketio client (.venv-peer); scripts that must be running while the
test acts are started in the background and report ``READY`` on stdout.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

import pytest

from tests.conftest import INTEROP, PEER_PYTHON, ROOT, ServerProcess, free_port

CLUSTER = Path(__file__).resolve().parent


class RedisServer:
    """A ``redis-server`` child process on ``port``; ``kill()`` and ``start()`` again at will."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.url = f"redis://127.0.0.1:{port}/0"
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--loglevel", "warning"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 10
        while not self.ping():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"redis-server did not start on port {self.port}")
            time.sleep(0.02)

    def ping(self) -> bool:
        try:
            with socket.create_connection(("127.0.0.1", self.port), timeout=1) as s:
                s.sendall(b"PING\r\n")
                return s.recv(16).startswith(b"+PONG")
        except OSError:
            return False

    def command(self, *args: str) -> bytes:
        """One command in the inline protocol; the raw reply (enough for NUMSUB)."""
        with socket.create_connection(("127.0.0.1", self.port), timeout=2) as s:
            s.sendall(" ".join(args).encode() + b"\r\n")
            time.sleep(0.05)
            return s.recv(4096)

    def subscribers(self, channel: str) -> int:
        """``PUBSUB NUMSUB channel``: how many servers are listening right now."""
        reply = self.command("PUBSUB", "NUMSUB", channel).split(b"\r\n")
        # *2 / $len / channel / :count
        return int(reply[3][1:]) if len(reply) > 3 and reply[3].startswith(b":") else 0

    def kill(self) -> None:
        """Crash it (SIGKILL): connections drop without a goodbye."""
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture(scope="module")
def redis_server() -> Iterator[RedisServer]:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed: run `make system-deps` (make test does)")
    server = RedisServer(free_port())
    server.start()
    try:
        yield server
    finally:
        server.kill()


#: The two servers' drivers, by test id: server A's then server B's.
PAIRS = {"gevent": ("gevent", "gevent"), "asyncio": ("asyncio", "asyncio"), "mixed": ("gevent", "asyncio")}


def echo_server(redis_url: str, driver: str = "gevent", *options: str) -> ServerProcess:
    port = free_port()
    return ServerProcess(
        [sys.executable, "-m", "socketio_core.echo", "--port", str(port), "--message-queue", redis_url,
         "--driver", driver, *options],
        port,
    )


def cluster_server(redis_url: str, driver: str = "gevent") -> ServerProcess:
    port = free_port()
    return ServerProcess(
        [sys.executable, str(CLUSTER / "_cluster_server.py"), str(port), redis_url, "-", driver], port
    )


@pytest.fixture(scope="module")
def servers() -> Iterator[Callable[..., ServerProcess]]:
    """Factory ``servers(echo_server, redis_url, *args)`` (``kind(redis_url, *args)``);
    every server is stopped and its log checked."""
    started: list[ServerProcess] = []

    def start(kind: Callable[..., ServerProcess], redis_url: str, *args: str) -> ServerProcess:
        server = kind(redis_url, *args)
        started.append(server)
        return server

    yield start
    for server in started:
        output = server.stop()
        assert "Traceback" not in output, output[-4000:]


@contextmanager
def running_pair(
    kind: Callable[..., ServerProcess], redis_url: str, pair: str, *options: str
) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    """Servers A and B of :data:`PAIRS` ``[pair]`` (``kind(redis_url, driver, *options)``),
    stopped on exit, their logs checked: a pair leaves the channel before the next one joins."""
    started: list[ServerProcess] = []
    try:
        for driver in PAIRS[pair]:
            started.append(kind(redis_url, driver, *options))
        yield started[0], started[1]
    finally:
        outputs = [server.stop() for server in started]
    for output in outputs:
        assert "Traceback" not in output, output[-4000:]


class Background:
    """A client script running while the test acts: waits for lines, takes commands, ends in JSON."""

    def __init__(self, argv: list[str], env: dict[str, str] | None = None) -> None:
        self.proc = subprocess.Popen(
            argv,
            cwd=INTEROP,
            env={**os.environ, **(env or {})},
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        self.lines: list[str] = []
        self._new_line = threading.Condition()
        self.stderr = ""
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self._err = threading.Thread(target=self._read_err, daemon=True)
        self._err.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._new_line:
                self.lines.append(line.rstrip("\n"))
                self._new_line.notify_all()
        with self._new_line:
            self._new_line.notify_all()

    def _read_err(self) -> None:
        assert self.proc.stderr is not None
        self.stderr = self.proc.stderr.read()

    def wait_for(self, line: str, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        with self._new_line:
            while line not in self.lines:
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"no {line!r} line from {self.proc.args!r}:\n"
                                         + "\n".join(self.lines) + "\n" + self.stderr)
                self._new_line.wait(min(left, 0.2))

    def wait_json(self, timeout: float = 30) -> Any:
        """The first line that is a JSON object (a report the script prints before ending)."""
        deadline = time.monotonic() + timeout
        with self._new_line:
            while True:
                for line in self.lines:
                    if line.startswith("{"):
                        return json.loads(line)
                left = deadline - time.monotonic()
                if left <= 0 or (self.proc.poll() is not None and not self._reader.is_alive()):
                    raise AssertionError(f"no JSON line from {self.proc.args!r}:\n"
                                         + "\n".join(self.lines) + "\n" + self.stderr)
                self._new_line.wait(min(left, 0.2))

    def send(self, command: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(command + "\n")
        self.proc.stdin.flush()

    def result(self, timeout: float = 45) -> Any:
        try:
            self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self._reader.join(timeout=5)
        self._err.join(timeout=5)
        if self.proc.returncode != 0 or not self.lines:
            raise AssertionError(f"{self.proc.args!r} failed ({self.proc.returncode}):\n"
                                 + "\n".join(self.lines) + "\n" + self.stderr)
        return json.loads(self.lines[-1])

    def kill(self) -> None:
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


def node(script: str, *args: str) -> Background:
    return Background(["node", str(INTEROP / script), *args])


def peer_python(script: str, *args: str) -> Background:
    if not PEER_PYTHON.exists():
        raise AssertionError(".venv-peer is missing: run `make peer` (make test does)")
    return Background([str(PEER_PYTHON), str(INTEROP / script), *args])


def our_python(script: str, *args: str) -> Background:
    """A script of tests/interop run with this package's interpreter (it imports socketio_core)."""
    return Background([sys.executable, str(INTEROP / script), *args], env={"PYTHONPATH": str(ROOT)})


def counts(ids: list[str]) -> dict[str, int]:
    out: dict[str, int] = {}
    for i in ids:
        out[i] = out.get(i, 0) + 1
    return out


def check_peer_api(got: dict[str, Any]) -> None:
    """What tests/interop/cluster_peer_api.py (python-socketio clients pa, pb on two servers or
    workers, pc watching) must observe, however the servers are joined."""
    sids = got["sids"]
    assert got["fetch"] == sorted([sids["pa"], sids["pb"]])
    assert got["gather"] == {sids["pa"]: "pa:q", sids["pb"]: "pb:q"}
    assert got["room_msgs"] == {"pa": ["from-pa", "from-pc"], "pb": ["from-pa", "from-pc"], "pc": []}
    assert got["kick"] is True
    assert got["kicked"] == {"pa": True, "pb": True}
    assert got["pc_connected"] is True
