"""Two workers behind one port act as one server: the cluster tests, on workers=2.

The scripts of tests/cluster (written for two servers on one Redis) are run
with both URLs the same: the workers' port. Clients land on both workers
(checked from the log), so every broadcast, room operation, ack and
cluster-wide call crosses between them, through the supervisor's bus (no
Redis) or, with ``message_queue``, through Redis. No request may reach a
worker that does not own its session (the fixture counts "Session ID
unknown" answers: zero).
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from tests.cluster.conftest import (  # noqa: F401
    RedisServer, check_peer_api, counts, node, peer_python, redis_server,
)
from tests.conftest import run_peer_python

from .conftest import echo_workers, slot_of_socket, workers_server


@pytest.fixture(scope="module")
def local(servers: Any) -> Any:
    return servers(workers_server())


@pytest.fixture(scope="module")
def api(local: Any) -> dict[str, Any]:
    got: dict[str, Any] = node("cluster_api.js", local.url, local.url, uuid.uuid4().hex[:8]).result()
    assert "error" not in got, got["error"]
    return got


def test_clients_spread_over_both_workers(local: Any, api: dict[str, Any]) -> None:
    slots = {name: slot_of_socket(local, sid) for name, sid in api["sids"].items()}
    assert set(slots.values()) == {0, 1}, slots


def test_fetch_sockets_sees_both_workers(api: dict[str, Any]) -> None:
    sids = api["sids"]
    for answer in (api["fetchFromA"], api["fetchFromB"]):
        assert [s["sid"] for s in answer] == sorted([sids["a1"], sids["b1"]])
        by_sid = {s["sid"]: s for s in answer}
        assert by_sid[sids["b1"]]["data"] == {"value": {"n": 1, "bin": {"$bin": "07"}}}
        assert by_sid[sids["a1"]]["rooms"] == sorted([sids["a1"], "f-" + api["tag"]])
    assert api["fetchAll"] == sorted(sids.values())


def test_broadcast_acks_calls_and_server_events_cross_workers(api: dict[str, Any]) -> None:
    sids = api["sids"]
    assert api["gather"] == {sids["a1"]: "a1:q1", sids["b1"]: "b1:q1"}
    assert api["callRemote"] == "b1:q2"
    for ask, q in ((api["askFromA"], "hi"), (api["askFromB"], "ho")):
        # The other worker answers, exactly once; the asking one does not hear itself.
        assert [a["q"] for a in ask["answers"]] == [q], ask
        assert ask["answers"][0]["pid"] != ask["asker"]["pid"], ask
    assert api["serverCount"] == 2


def test_room_operations_and_disconnects_cross_workers(api: dict[str, Any]) -> None:
    sids = api["sids"]
    assert counts(api["b2"]["events"]["room_msg"]) == {"j1": 1}
    for name in ("a1", "b1"):
        assert counts(api[name]["events"]["room_msg"]) == {"m1": 1}, name
    assert "room_msg" not in api["a2"]["events"]
    assert api["kick"] is True
    assert api["a1"]["disconnects"] == ["io server disconnect"]
    assert api["b1"]["disconnects"] == ["io server disconnect"]
    assert api["a2"]["disconnects"] == [] and api["b2"]["disconnects"] == []
    assert api["fetchAfterKick"] == sorted([sids["a2"], sids["b2"]])


def test_python_socketio_clients_across_workers(local: Any) -> None:
    got = run_peer_python("cluster_peer_api.py", local.url, local.url, uuid.uuid4().hex[:8])
    check_peer_api(got)


def _exact_broadcasts(url_a: str, url_b: str) -> None:
    """cluster_echo.js and cluster_peer.py: every tagged broadcast exactly once everywhere."""
    tag = uuid.uuid4().hex[:8]
    peer = peer_python("cluster_peer.py", url_a, url_b, tag)
    try:
        peer.wait_for("READY")
        got = node("cluster_echo.js", url_a, url_b, tag).result()
        assert "error" not in got, got["error"]
        py = peer.result()
    finally:
        peer.kill()
    every = ["from-a", "from-b", "go", "py-a", "py-b", "end"]
    for name in ("a1", "a2", "b1", "b2"):
        events = got[name]["events"]
        assert counts(events["bcast"]) == {i: 1 for i in every}, (name, events)
        in_room = name in ("a1", "b1")
        expected = {i: 1 for i in ("room-1", "room-2", "room-py")} if in_room else {}
        assert counts(events.get("room_msg", [])) == expected, (name, events)
    assert py["ended"], py
    for name in ("pa", "pb"):
        assert counts(py[name]["events"]["bcast"]) == {i: 1 for i in every}, (name, py)
    assert got["binary"] == {"$bin": "000102ff"} and py["pa"]["binary"] == {"$bin": "000102ff"}
    assert got["a2"]["transport"] == "polling" and got["a1"]["transport"] == "websocket"


def test_broadcasts_exact_over_the_local_adapter(servers: Any) -> None:
    echo = servers(echo_workers())
    _exact_broadcasts(echo.url, echo.url)


def test_broadcasts_exact_with_a_message_queue_and_another_server(
    servers: Any, redis_server: RedisServer  # noqa: F811
) -> None:
    """``--message-queue``: the workers and a plain server on the same Redis are one cluster."""
    echo = servers(echo_workers("--message-queue", redis_server.url))
    from tests.cluster.conftest import echo_server

    other = servers(echo_server(redis_server.url))
    _exact_broadcasts(echo.url, other.url)


def test_python_socketio_clients_upgrade_on_their_worker(local: Any) -> None:
    """Default transports: the polling handshake, its requests and the upgrade reach one worker."""
    tag = uuid.uuid4().hex[:8]
    got = run_peer_python("workers_peer_upgrade.py", local.url, tag)
    for name, client in got.items():
        assert client["transport"] == "websocket", (name, client)
        assert client["ack"] == f"{name}-{tag}", (name, client)
        assert client["got"] == [tag], (name, client)
    slots = {slot_of_socket(local, client["sid"]) for client in got.values()}
    assert slots == {0, 1}, slots
