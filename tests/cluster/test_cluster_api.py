"""The cluster-wide Server API over two servers on one Redis.

tests/cluster/_cluster_server.py exposes ``fetch_sockets``, ``disconnect_sockets``,
``call_all``, ``call`` to a remote sid, ``enter_room`` for a remote sid,
``sockets_join``, ``server_side_emit`` with answers, ``server_count`` and an
emit from a plain OS thread as events with acks; cluster_api.js drives them
with the official client. Over every pair of drivers (conftest.PAIRS): in the
mixed pair, A (gevent) asks B (asyncio) and B asks A.
"""

from __future__ import annotations

import uuid
from typing import Any, Iterator

import pytest

from tests.conftest import run_peer_python

from .conftest import (
    PAIRS, RedisServer, ServerProcess, check_peer_api, cluster_server, counts, node, running_pair,
)


@pytest.fixture(scope="module", params=list(PAIRS))
def pair(request: pytest.FixtureRequest, redis_server: RedisServer) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    with running_pair(cluster_server, redis_server.url, request.param) as servers:
        yield servers


@pytest.fixture(scope="module")
def api(pair: tuple[ServerProcess, ServerProcess]) -> dict[str, Any]:
    a, b = pair
    got: dict[str, Any] = node("cluster_api.js", a.url, b.url, uuid.uuid4().hex[:8], "thread").result()
    assert "error" not in got, got["error"]
    got["ports"] = {"a": a.port, "b": b.port}
    return got


def test_fetch_sockets_sees_both_servers(api: dict[str, Any]) -> None:
    sids = api["sids"]
    expected = sorted([sids["a1"], sids["b1"]])
    for answer in (api["fetchFromA"], api["fetchFromB"]):
        assert [s["sid"] for s in answer] == expected
        by_sid = {s["sid"]: s for s in answer}
        assert by_sid[sids["b1"]]["data"] == {"value": {"n": 1, "bin": {"$bin": "07"}}}
        assert by_sid[sids["a1"]]["rooms"] == sorted([sids["a1"], "f-" + api["tag"]])
        assert by_sid[sids["a1"]]["data"] == {}
    assert api["fetchAll"] == sorted(sids.values())


def test_broadcast_acks_and_calls_cross_servers(api: dict[str, Any]) -> None:
    sids = api["sids"]
    assert api["gather"] == {sids["a1"]: "a1:q1", sids["b1"]: "b1:q1"}
    assert api["callRemote"] == "b1:q2"


def test_server_side_emit_and_server_count(api: dict[str, Any]) -> None:
    ports = api["ports"]
    # Each server hears from the *other* one only.
    assert api["askFromA"] == {"asker": {"port": ports["a"]},
                               "answers": [{"port": ports["b"], "q": "hi"}]}
    assert api["askFromB"] == {"asker": {"port": ports["b"]},
                               "answers": [{"port": ports["a"], "q": "ho"}]}
    assert api["serverCount"] == 2


def test_room_operations_cross_servers_exactly_once(api: dict[str, Any]) -> None:
    assert counts(api["b2"]["events"]["room_msg"]) == {"j1": 1}
    for name in ("a1", "b1"):
        # m1 from a handler of B; t1 from a plain OS thread of A.
        assert counts(api[name]["events"]["room_msg"]) == {"m1": 1, "t1": 1}, name
    assert "room_msg" not in api["a2"]["events"]


def test_disconnect_sockets_cross_servers(api: dict[str, Any]) -> None:
    sids = api["sids"]
    assert api["kick"] is True
    assert api["a1"]["disconnects"] == ["io server disconnect"]
    assert api["b1"]["disconnects"] == ["io server disconnect"]
    assert api["a2"]["disconnects"] == [] and api["a2"]["connected"]
    assert api["b2"]["disconnects"] == [] and api["b2"]["connected"]
    assert api["fetchAfterKick"] == sorted([sids["a2"], sids["b2"]])


def test_python_socketio_clients_across_servers(pair: tuple[ServerProcess, ServerProcess]) -> None:
    a, b = pair
    got = run_peer_python("cluster_peer_api.py", a.url, b.url, uuid.uuid4().hex[:8])
    check_peer_api(got)
