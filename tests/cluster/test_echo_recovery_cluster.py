"""``socketio-echo --message-queue URL --connection-state-recovery``: any server of the group recovers.

Two echo servers share a Redis. The official client joins a room on A, its
transport drops, another client on A sends the room five messages, and it
reconnects to B (tests/interop/echo_recovery_client.js): same id,
``recovered`` true, the five messages once and in order. Over every pair of
drivers (conftest.PAIRS): in the mixed pair a gevent server's client is
recovered by an asyncio server.
"""

from __future__ import annotations

import time
from typing import Any

import pytest
import redis

from .conftest import PAIRS, RedisServer, echo_server, node, running_pair


@pytest.mark.parametrize("pair", list(PAIRS))
@pytest.mark.parametrize("mode", ["websocket", "polling"])
def test_a_client_dropped_on_one_server_is_recovered_by_the_other(
    redis_server: RedisServer, mode: str, pair: str
) -> None:
    with running_pair(echo_server, redis_server.url, pair, "--connection-state-recovery") as (a, b):
        _recovered_by_the_other(redis_server, a.url, b.url, mode)


def _recovered_by_the_other(redis_server: RedisServer, url_a: str, url_b: str, mode: str) -> None:
    client = node("echo_recovery_client.js", url_a, url_b, mode, "wait")
    client.wait_for("AWAY")
    # Alice reconnects once A has saved her session: B could otherwise claim it
    # first and find nothing (A learns of her drop on its own connection).
    saved: Any = redis.Redis.from_url(redis_server.url)
    try:
        deadline = time.monotonic() + 10
        while not saved.keys("*#session#*"):
            assert time.monotonic() < deadline, "server A never saved the dropped session"
            time.sleep(0.02)
    finally:
        saved.close()
    client.send("GO")
    result = client.result()
    assert "error" not in result, result
    assert result["recovered"] == [False, True], result
    assert result["connects"][0] == result["connects"][1], result
    assert result["messages"] == ["m1", "m2", "m3", "m4", "m5"], result
