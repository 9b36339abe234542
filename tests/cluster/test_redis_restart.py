"""Redis crashes and restarts in the middle; the servers recover without a restart.

While Redis is down, local delivery continues and broadcasts to the other
server are lost (pub/sub keeps nothing); once it is back, both servers
resubscribe and republish by themselves (backoff capped at 2 s), and each
logs one line per change of state, not one per attempt. No message is ever
delivered twice. Over every pair of drivers (conftest.PAIRS).
"""

from __future__ import annotations

import time
import uuid

import pytest

from socketio_core.redis._codec import all_channel

from .conftest import PAIRS, RedisServer, ServerProcess, counts, echo_server, node, running_pair


@pytest.mark.parametrize("pair", list(PAIRS))
def test_redis_restart_recovers_without_restarting_servers(redis_server: RedisServer, pair: str) -> None:
    with running_pair(echo_server, redis_server.url, pair) as (a, b):
        _restart_redis_under(redis_server, a, b)


def _restart_redis_under(redis_server: RedisServer, a: ServerProcess, b: ServerProcess) -> None:
    tag = uuid.uuid4().hex[:8]
    js = node("cluster_restart.js", a.url, b.url, tag)
    try:
        js.wait_for("READY")
        redis_server.kill()
        js.send("outage")
        js.wait_for("OUTAGE")
        time.sleep(1.0)  # a few failed reconnection attempts: they must not flood the log
        redis_server.start()
        deadline = time.monotonic() + 10
        while redis_server.subscribers(all_channel("socket.io")) < 2:
            assert time.monotonic() < deadline, "the servers did not resubscribe"
            time.sleep(0.05)
        js.send("restarted")
        got = js.result()
    finally:
        js.kill()

    assert "error" not in got, got["error"]
    # Same server processes all along, and the clients never reconnected.
    assert a.proc.poll() is None and b.proc.poll() is None
    for name in ("a", "b"):
        assert got[name]["disconnects"] == [] and got[name]["connected"], got[name]
    bcast = {name: counts(got[name]["events"]["bcast"]) for name in ("a", "b")}
    for name in ("a", "b"):
        assert bcast[name]["before-a"] == bcast[name]["before-b"] == 1, bcast
        assert bcast[name]["after-a"] == bcast[name]["after-b"] == 1, bcast
        assert max(bcast[name].values()) == 1, bcast  # nothing twice, probes included
    assert bcast["a"]["during-a"] == 1  # local delivery went on
    assert "during-a" not in bcast["b"]  # lost for the other server, as documented

    for server in (a, b):
        log = server.log()
        assert log.count("lost the subscription to redis") == 1, log
        assert log.count("subscribed to redis") == 2, log  # at start, and once back
        assert log.count("again") >= 1, log
        assert log.count("publishing to redis at") <= 1, log  # at most one failure line
