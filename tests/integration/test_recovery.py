"""Connection state recovery with the official JS client, over every transport."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from typing import Iterator

import pytest

from tests.conftest import ROOT, free_port, run_node


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "integration" / "_recovery_server.py"), str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("listening on") or not line:
            break
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


@pytest.mark.parametrize("mode", ["polling", "websocket", "upgrade"])
def test_missed_events_arrive_once_in_order_after_a_transport_drop(server_url: str, mode: str) -> None:
    result = run_node("recovery_client.js", server_url, mode)
    assert result["ticks"] == list(range(1, 31)), result
    assert len(result["connects"]) == 2
    assert result["connects"][0] == result["connects"][1]  # the same socket id
    assert result["recoveredFlags"] == [False, True]
    assert result["serverSaid"] == [result["connects"][0]]
    assert result["whoami"] == {"name": "alice", "rooms": sorted(["r", result["connects"][0]])}
