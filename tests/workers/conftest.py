"""Fixtures of the workers=N tests: servers of two worker processes behind one port.

Servers are real processes (``socketio-echo --workers 2`` or
tests/cluster/_cluster_server.py with a worker count); clients are the official JS client and
python-socketio, as in tests/cluster/. Every server's log is checked when it
stops: no traceback, and no request answered "Session ID unknown" unless the
test killed a worker (routing must never cause one).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path
from typing import Callable, Iterator

import pytest

from tests.conftest import ServerProcess, free_port

HERE = Path(__file__).resolve().parent
CLUSTER_SERVER = HERE.parent / "cluster" / "_cluster_server.py"


#: A supervisor and its workers (and their Redis clients) starting on a loaded 2-core
#: machine: seen over 15 s at a load of 22.
START_TIMEOUT = 60.0


def workers_server(redis_url: str | None = None, workers: int = 2) -> ServerProcess:
    port = free_port()
    return ServerProcess([sys.executable, str(CLUSTER_SERVER), str(port),
                          redis_url or "-", str(workers)], port, start_timeout=START_TIMEOUT)


def echo_workers(*flags: str, workers: int = 2) -> ServerProcess:
    port = free_port()
    return ServerProcess([sys.executable, "-m", "socketio_core.echo", "--port", str(port),
                          "--workers", str(workers), *flags], port, start_timeout=START_TIMEOUT)


def worker_pids(server: ServerProcess) -> dict[int, int]:
    """slot -> pid of the workers started so far (the newest per slot)."""
    pids: dict[int, int] = {}
    for match in re.finditer(r"worker=(\d+) started \(pid (\d+)\)", server.log()):
        pids[int(match[1])] = int(match[2])
    return pids


def slot_of_socket(server: ServerProcess, sid: str) -> int:
    """Which worker slot logged the Socket.IO connect of ``sid``."""
    match = re.search(r"worker=(\d+) connect: " + re.escape(sid) + r" ", server.log())
    assert match, f"no connect line for {sid}"
    return int(match[1])


def unknown_sid_answers(output: str) -> int:
    return output.count("Session ID unknown")


def handed_back(output: str) -> int:
    match = re.search(r"(\d+) handed back by a worker", output)
    assert match, output[-3000:]
    return int(match[1])


@pytest.fixture(scope="module")
def servers() -> Iterator[Callable[[ServerProcess], ServerProcess]]:
    """``servers(process)`` registers a server to stop and check at the end of the module."""
    started: list[tuple[ServerProcess, bool]] = []

    def keep(server: ServerProcess, *, unknown_sids_allowed: bool = False) -> ServerProcess:
        started.append((server, unknown_sids_allowed))
        return server

    yield keep  # type: ignore[misc]
    for server, allowed in started:
        output = server.stop()
        assert "Traceback" not in output, output[-4000:]
        assert server.proc.returncode == 0, output[-4000:]
        if not allowed:
            assert unknown_sid_answers(output) == 0, output[-4000:]
