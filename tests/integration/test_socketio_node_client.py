"""The echo server against the official npm ``socket.io-client`` (4.8).

Every scenario runs over polling only, WebSocket only, and the client's
default (polling, then the upgrade to WebSocket). The Node scripts
(tests/interop/sio_features.js, sio_disconnect.js) only record what the client
observed; the expectations are all here. One echo server serves the whole
module and the six Node runs go in parallel (the scenarios tag their rooms and
broadcasts, so concurrent runs cannot see each other's traffic); the server's
log, read after it stopped, tells what the server saw.
"""

from __future__ import annotations

import re
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from tests.conftest import SERVERS, echo_on, run_node

MODES = ["polling", "websocket", "default"]
SCRIPTS = ["sio_features.js", "sio_disconnect.js"]


def b(hex_digits: str) -> dict[str, str]:
    """How the scripts report a binary value."""
    return {"$bin": hex_digits}


@pytest.fixture(scope="module", params=SERVERS)
def runs(request: pytest.FixtureRequest) -> dict[str, Any]:
    server = echo_on(request.param)
    try:
        with ThreadPoolExecutor(len(MODES) * len(SCRIPTS)) as pool:
            futures = {
                (script, mode): pool.submit(run_node, script, server.url, mode)
                for script in SCRIPTS
                for mode in MODES
            }
            results = {key: future.result() for key, future in futures.items()}
    finally:
        output = server.stop()
    return {"results": results, "log": output}


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def scenario(runs: dict[str, Any], mode: str, name: str, script: str = "sio_features.js") -> Any:
    result = runs["results"][(script, mode)][name]
    assert not (isinstance(result, dict) and "error" in result), result.get("error")
    return result


def final_transport(mode: str) -> str:
    return "polling" if mode == "polling" else "websocket"


# ------------------------------------------------------------------ connect


def test_connect_with_auth(runs: dict[str, Any], mode: str) -> None:
    r = scenario(runs, mode, "auth")
    assert r["with_auth"] == {"token": "abc", "nested": [1, {"x": None}], "é": "😀"}
    assert r["without_auth"] == {}
    assert r["custom_auth"] == {"where": "custom"}
    # `auth` once per connection, after the CONNECT reply, and nothing else
    # until the client speaks: its next event is the echo of its own message.
    assert r["auth_events"] == [1, 1, 1]
    assert r["connected_when_auth"] is True
    assert r["after_auth"] == "after-auth"
    ids = r["ids"]
    assert all(isinstance(i, str) and i for i in ids) and len(set(ids)) == 3
    # The Socket.IO id is not the Engine.IO id.
    assert not set(ids) & set(r["engine_ids"])
    assert r["transport"] == final_transport(mode)


def test_two_namespaces_on_one_session(runs: dict[str, Any], mode: str) -> None:
    r = scenario(runs, mode, "namespaces")
    assert r["root_auth"] == {"ns": "root"}
    assert r["custom_auth"] == {"ns": "custom"}
    assert r["same_engine"] is True
    root_id, custom_id = r["ids"]
    assert root_id and custom_id and root_id != custom_id
    # Each namespace's answers reach only that namespace's socket.
    assert r["custom_back"] == ["to-custom", 1]
    assert r["root_back"] == "to-root"
    assert (r["root_back_count"], r["custom_back_count"]) == (1, 1)
    assert r["custom_ack"] == ["custom-ack"]
    # Leaving /custom keeps / working on the same session.
    assert r["root_after_custom_left"] == ["root-after"]
    assert (r["root_connected"], r["custom_connected"]) == (True, False)


def test_invalid_namespace_gets_connect_error(runs: dict[str, Any], mode: str) -> None:
    r = scenario(runs, mode, "invalid_namespace")
    assert r["message"] == "Invalid namespace"
    assert r["data"] == {"$undefined": True}  # no "data" key in the CONNECT_ERROR
    assert r["shared_message"] == "Invalid namespace"
    # The refusal does not close the session the other namespace uses.
    assert r["root_answer"] == ["still here"]
    assert r["root_connected"] is True


# -------------------------------------------------------------------- emits


# In default mode the plain runs mostly overlap the upgrade; the *_upgraded
# runs wait for it first, so both sides of the switch are covered.
EMIT_RUNS = [(m, "emit") for m in MODES] + [("default", "emit_upgraded")]
BINARY_RUNS = [(m, n) for m in MODES for n in ("binary", "binary_custom")] + [("default", "binary_upgraded")]


@pytest.mark.parametrize(("run_mode", "name"), EMIT_RUNS)
def test_emit_forms(runs: dict[str, Any], run_mode: str, name: str) -> None:
    mode = run_mode
    r = scenario(runs, mode, name)
    assert r["message_back"] == [1, "2", {"3": [False]}]
    assert r["message_back_empty"] == []
    assert r["echo"] == ["hello", 3.5, None, True, {"nested": ["a", {"b": -1}]}, []]
    assert r["echo_unicode_ok"] is True
    assert r["echo_long_ok"] is True
    assert r["echo_ack"] == ["a", 2, {"k": [None]}]
    assert r["echo_ack_empty"] == []
    assert r["message_with_ack"] == [1, "2", {"3": [False]}]
    assert r["emit_with_ack"] == {"single": True}
    assert r["many_acks"] == [[i] for i in range(50)]
    # Exactly one answer per emit: nothing extra arrived.
    assert r["unexpected"] == [2, 3]
    if name == "emit_upgraded" or mode != "default":
        assert r["transport"] == final_transport(mode)


def test_broadcast_reaches_every_client_and_rooms_narrow_it(runs: dict[str, Any], mode: str) -> None:
    r = scenario(runs, mode, "bcast")
    full = [1, 2, 3, 5, 6]
    outside = [1, 3, 5, 6]
    # Clients 0 and 1 joined the room; client 3 sent the room broadcast from outside it.
    assert r["received"] == [full, full, outside, outside]
    # /custom is another namespace: it got its own broadcast only.
    assert r["custom_received"] == [4]
    assert r["joins"][0] == r["joins"][1] and r["joins"][0][0].startswith("bcast-room-")
    assert r["binary"] == b("01020304")


def test_rooms_join_to_room_leave(runs: dict[str, Any], mode: str) -> None:
    r = scenario(runs, mode, "rooms")
    assert r["join"][0].startswith("room-") and len(r["join"]) == 1
    assert r["a_first"] == ["hi", {"n": 1}, b("0506")]
    assert r["b_count_outside"] == 0
    assert r["a_self"] == ["self"]
    assert r["leave"] == [True]
    assert r["a_count_after_leave"] == 2
    assert r["b_join"] == r["join"]
    assert r["b_first"] == ["to-b"]
    assert r["a_count_end"] == 2
    assert r["to_empty_room"] == 2


def test_server_to_client_ack_round_trip(runs: dict[str, Any], mode: str) -> None:
    r = scenario(runs, mode, "call_me")
    assert r["plain"] == [{"got": 21, "doubled": 42}]
    assert r["binary"] == [b("030201")]
    # Two ack arguments from the client come back as two arguments.
    assert r["two"] == ["first", b("cafe")]
    assert r["custom"] == ["custom:x"]
    assert r["parallel"] == [[{"got": n, "doubled": 2 * n}] for n in range(1, 6)]
    assert r["seen"] == [21, b("010203"), {"two": True}, 1, 2, 3, 4, 5]


# ------------------------------------------------------------------- binary


@pytest.mark.parametrize(("run_mode", "name"), BINARY_RUNS)
def test_binary_in_every_position(runs: dict[str, Any], run_mode: str, name: str) -> None:
    mode = run_mode
    r = scenario(runs, mode, name)
    assert r["top_level"] == [b("010203")]
    assert r["in_object"] == [{"a": b("04"), "b": {"c": b("0506"), "d": "text"}}]
    assert r["in_array"] == [[b("07"), [b("0809"), "x"], 10]]
    assert r["several"] == [b("01"), "text", b("0202"), {"k": b("030303")}, [b("04040404")]]
    assert r["empty"] == [b(""), "after-empty"]
    assert r["array_buffer"] == [b("00ff80")]
    assert r["big_ok"] is True and r["big_len"] == 100_000
    assert r["ack"] == [b("dead"), {"x": [b("beef")]}]
    assert r["message_with_ack"] == ["t", b("00"), [b("0101")]]
    assert r["ack_many_buffers"] == [b(f"{i:02x}") for i in range(10)]
    if name == "binary_upgraded" or mode != "default":
        assert r["transport"] == final_transport(mode)


# --------------------------------------------------------------- disconnect


def logged_reason(log: str, sid: str, namespace: str) -> list[str]:
    return re.findall(rf"disconnect {re.escape(sid)} from {re.escape(namespace)} \(([^)]*)\)", log)


@pytest.mark.parametrize("namespace", ["/", "/custom"])
def test_server_disconnect(runs: dict[str, Any], mode: str, namespace: str) -> None:
    name = "server_kick_root" if namespace == "/" else "server_kick_custom"
    r = scenario(runs, mode, name, "sio_disconnect.js")
    assert r["reason"] == "io server disconnect"
    assert logged_reason(runs["log"], r["id"], namespace) == ["server namespace disconnect"]
    # Kicked is not banned: the socket connects again, with a new id and auth.
    assert r["connected_after"] is True and r["new_id_differs"] is True
    assert r["auth_again"] == {"again": True}
    assert r["answer"] == ["back"]


@pytest.mark.parametrize("namespace", ["/", "/custom"])
def test_client_disconnect(runs: dict[str, Any], mode: str, namespace: str) -> None:
    name = "client_root" if namespace == "/" else "client_custom"
    r = scenario(runs, mode, name, "sio_disconnect.js")
    assert r["reason"] == "io client disconnect"
    assert logged_reason(runs["log"], r["id"], namespace) == ["client namespace disconnect"]


def test_namespace_disconnects_on_a_shared_session(runs: dict[str, Any], mode: str) -> None:
    r = scenario(runs, mode, "multiplexed", "sio_disconnect.js")
    log = runs["log"]
    assert logged_reason(log, r["custom_id"], "/custom") == ["client namespace disconnect"]
    assert logged_reason(log, r["kicked_id"], "/custom") == ["server namespace disconnect"]
    assert logged_reason(log, r["root_id"], "/") == ["client namespace disconnect"]
    assert r["kicked_reason"] == "io server disconnect"
    assert r["after_leave"] == ["after-leave"]
    assert r["after_kick"] == ["after-kick"]
    assert r["root_reason"] == "io client disconnect"


def test_transport_close(runs: dict[str, Any], mode: str) -> None:
    r = scenario(runs, mode, "transport_closed", "sio_disconnect.js")
    assert r["reason"] == "forced close"  # the client's own name for closing its engine
    assert logged_reason(runs["log"], r["id"], "/") == ["transport close"]


def test_server_logged_no_protocol_error_or_exception(runs: dict[str, Any]) -> None:
    log = runs["log"]
    assert "broke the protocol" not in log
    assert "Traceback" not in log
    assert " ERROR " not in log
    assert "(parse error)" not in log
