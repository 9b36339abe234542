"""``socketio-echo --message-queue URL --connection-state-recovery``: any server of the group recovers.

Two echo servers share a Redis. The official client joins a room on A, its
transport drops, another client on A sends the room five messages, and it
reconnects to B (tests/interop/echo_recovery_client.js): same id,
``recovered`` true, the five messages once and in order.
"""

from __future__ import annotations

import sys
import time
from typing import Any

import pytest
import redis

from tests.conftest import free_port

from .conftest import RedisServer, ServerProcess, node


def recovering_echo(redis_url: str) -> ServerProcess:
    port = free_port()
    return ServerProcess(
        [sys.executable, "-m", "socketio_core.echo", "--port", str(port), "--message-queue", redis_url,
         "--connection-state-recovery"],
        port,
    )


@pytest.mark.parametrize("mode", ["websocket", "polling"])
def test_a_client_dropped_on_one_server_is_recovered_by_the_other(
    redis_server: RedisServer, servers: Any, mode: str
) -> None:
    a, b = servers(recovering_echo, redis_server.url), servers(recovering_echo, redis_server.url)
    client = node("echo_recovery_client.js", a.url, b.url, mode, "wait")
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
