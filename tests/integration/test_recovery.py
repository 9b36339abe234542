"""Connection state recovery with the official JS client, over every transport."""

from __future__ import annotations

from typing import Iterator

import pytest

from tests.conftest import run_node, script_server


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    server = script_server("_recovery_server.py")
    yield server.url
    output = server.stop()
    assert "Traceback" not in output, output[-4000:]


@pytest.mark.parametrize("mode", ["polling", "websocket", "upgrade"])
def test_missed_events_arrive_once_in_order_after_a_transport_drop(server_url: str, mode: str) -> None:
    result = run_node("recovery_client.js", server_url, mode)
    assert result["ticks"] == list(range(1, 31)), result
    assert len(result["connects"]) == 2
    assert result["connects"][0] == result["connects"][1]  # the same socket id
    assert result["recoveredFlags"] == [False, True]
    assert result["serverSaid"] == [result["connects"][0]]
    assert result["whoami"] == {"name": "alice", "rooms": sorted(["r", result["connects"][0]])}
