"""Two echo servers (``--message-queue redis://...``) on two ports act as one.

Clients: the official JS client (four, over polling, WebSocket and the
upgrade) and the python-socketio client (one per server), connected to both
servers at once. Every message carries an id; each client must get each
message meant for it exactly once, and nothing meant for others. Over every
pair of drivers (``--driver``, conftest.PAIRS), the mixed one included.
"""

from __future__ import annotations

import uuid
from typing import Iterator

import pytest

from socketio_core.emitter import Emitter

from .conftest import (
    PAIRS, RedisServer, ServerProcess, counts, echo_server, node, our_python, peer_python, running_pair,
)


@pytest.fixture(scope="module", params=list(PAIRS))
def pair(request: pytest.FixtureRequest, redis_server: RedisServer) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    with running_pair(echo_server, redis_server.url, request.param) as servers:
        yield servers


def test_broadcasts_and_rooms_span_both_servers(pair: tuple[ServerProcess, ServerProcess]) -> None:
    a, b = pair
    tag = uuid.uuid4().hex[:8]
    peer = peer_python("cluster_peer.py", a.url, b.url, tag)
    try:
        peer.wait_for("READY")
        js = node("cluster_echo.js", a.url, b.url, tag)
        got = js.result()
        assert "error" not in got, got["error"]
        py = peer.result()
    finally:
        peer.kill()

    every = ["from-a", "from-b", "go", "py-a", "py-b", "end"]
    room = ["room-1", "room-2", "room-py"]
    for name in ("a1", "a2", "b1", "b2"):
        events = got[name]["events"]
        assert counts(events["bcast"]) == {i: 1 for i in every}, (name, events)
        in_room = name in ("a1", "b1")
        assert counts(events.get("room_msg", [])) == ({i: 1 for i in room} if in_room else {}), (name, events)
    assert py["ended"], py
    for name in ("pa", "pb"):
        events = py[name]["events"]
        assert counts(events["bcast"]) == {i: 1 for i in every}, (name, events)
        assert counts(events["room_msg"]) == {i: 1 for i in room}, (name, events)
    # Binary attachments survive the trip through Redis, to both client kinds.
    assert got["binary"] == {"$bin": "000102ff"}
    assert py["pa"]["binary"] == {"$bin": "000102ff"}
    # Transports as asked: the script covered polling, WebSocket and the upgrade.
    assert got["a2"]["transport"] == "polling" and got["a1"]["transport"] == "websocket"


def test_an_emitter_process_reaches_clients_on_both(
    pair: tuple[ServerProcess, ServerProcess], redis_server: RedisServer
) -> None:
    a, b = pair
    tag = uuid.uuid4().hex[:8]
    js = node("cluster_emitter.js", a.url, b.url, tag)
    try:
        js.wait_for("READY")
        emitted = our_python("cluster_emit.py", redis_server.url, tag).result()
        # PUBLISH's count: both servers received every message.
        assert set(emitted.values()) == {2}, emitted
        first = js.wait_json()
        # Then disconnect the room's sockets, from this process (another emitter).
        with Emitter(redis_server.url) as emitter:
            assert emitter.in_("room-e-" + tag).disconnect_sockets() == 2
        js.send("disconnect")
        final = js.result()
    finally:
        js.kill()

    assert "error" not in first, first["error"]
    news = {name: counts(first[name]["events"].get("news", [])) for name in ("a", "b", "b2", "custom")}
    in_room = {"all": 1, "room": 1, "joined": 1, "end": 1}
    assert news["a"] == in_room, news
    assert news["b"] == in_room, news
    assert news["b2"] == {"all": 1, "except": 1, "end": 1}, news
    assert news["custom"] == {"custom": 1, "end": 1}, news
    assert first["binary"] == {"$bin": "0001fe"}

    assert "error" not in final, final["error"]
    assert final["a"]["disconnects"] == ["io server disconnect"]
    assert final["b"]["disconnects"] == ["io server disconnect"]
    assert final["b2"]["disconnects"] == [] and final["b2"]["connected"]
