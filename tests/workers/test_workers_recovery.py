"""Connection state recovery across workers, through the supervisor's log (no Redis).

``socketio-echo --workers 2 --connection-state-recovery``: the official client
joins a room, its transport drops, another client sends the room five
messages, and it reconnects through the same port, to whichever worker the
supervisor picks, the other one since new sessions go to the workers in
turn (tests/interop/echo_recovery_client.js): same id, ``recovered`` true,
the five messages once and in order.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.cluster.conftest import node

from .conftest import echo_workers


@pytest.fixture(scope="module")
def recovering(servers: Any) -> Any:
    return servers(echo_workers("--connection-state-recovery"))


@pytest.mark.parametrize("mode", ["websocket", "polling"])
def test_a_dropped_client_is_recovered_by_a_worker(recovering: Any, mode: str) -> None:
    result = node("echo_recovery_client.js", recovering.url, "-", mode).result()
    assert "error" not in result, result
    assert result["recovered"] == [False, True], result
    assert result["connects"][0] == result["connects"][1], result
    assert result["messages"] == ["m1", "m2", "m3", "m4", "m5"], result
    sid = result["connects"][0]
    slots = re.findall(r"worker=(\d) connect: " + re.escape(sid) + r" ", recovering.log())
    # New sessions go to the workers in turn: the reconnection is the other worker's.
    assert len(slots) == 2 and slots[0] != slots[1], recovering.log()[-3000:]
