"""Our msgpack parser against the official socket.io-client + npm socket.io-msgpack-parser.

The server is tests/integration/_msgpack_server.py: the echo server's handlers
(shared/ECHO_SERVER.md) on ``Server(parser="msgpack")`` (the echo server has
no parser option). tests/interop/msgpack_client.js runs every scenario over
polling only, WebSocket only and the client's default (polling, then the
upgrade), all three in parallel against one server; it only records what the
client saw, the expectations are here. A last test reruns
tests/interop/msgpack_vectors.js and checks the byte-level vectors the
sans-IO tests hold are still what Node's parser produces.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator

import pytest

from tests.conftest import ServerProcess, run_node, script_server
from tests.socketio_core.protocol.test_msgpack_parser import NODE_REFUSALS, NODE_VECTORS

MODES = ["polling", "websocket", "default"]


def ParserServer(parser: str) -> ServerProcess:  # noqa: N802 - reads like the class it was
    """``_msgpack_server.py PORT PARSER`` in a subprocess, its output drained all along."""
    return script_server("_msgpack_server.py", parser)


@pytest.fixture(scope="module")
def runs() -> Iterator[dict[str, Any]]:
    server = ParserServer("msgpack")
    try:
        with ThreadPoolExecutor(len(MODES)) as pool:
            futures = {m: pool.submit(run_node, "msgpack_client.js", server.url, m) for m in MODES}
            results = {m: f.result() for m, f in futures.items()}
    finally:
        log = server.stop()
    yield {"results": results, "log": log}


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def scenario(runs: dict[str, Any], mode: str, name: str) -> Any:
    result = runs["results"][mode][name]
    assert not (isinstance(result, dict) and "error" in result), result.get("error")
    return result


def buf(hex_digits: str) -> dict[str, str]:
    """How msgpack_client.js reports a Node Buffer."""
    return {"$buffer": hex_digits}


def final_transport(mode: str) -> str:
    return "polling" if mode == "polling" else "websocket"


def test_connect_with_and_without_auth(runs: dict[str, Any], mode: str) -> None:
    r = scenario(runs, mode, "connect")
    assert r["plain_auth"] == {}  # the CONNECT's data was `undefined`
    # Binary inside the CONNECT's auth, and back in the `auth` event.
    assert r["custom_auth"] == {"token": "abc", "key": buf("010203"), "é": "😀"}
    assert all(isinstance(i, str) and i for i in r["ids"]) and len(set(r["ids"])) == 2
    assert r["transport"] == final_transport(mode)


def test_invalid_namespace(runs: dict[str, Any], mode: str) -> None:
    r = scenario(runs, mode, "invalid_namespace")
    assert r == {"message": "Invalid namespace", "data": {"$undefined": True}}


@pytest.mark.parametrize(("run_mode", "name"), [(m, "echo") for m in MODES] + [("default", "echo_upgraded")])
def test_echo_json_and_binary(runs: dict[str, Any], run_mode: str, name: str) -> None:
    r = scenario(runs, run_mode, name)
    assert r["json"] == ["hello", 3.5, None, True, False, {"nested": ["a", {"b": -1}]}, [], {}]
    assert r["numbers"] == [
        0, 127, 128, -33, 65536, 4294967296, -2147483649, 9007199254740991, 0.1, -1.25, 1e-300,
    ]
    assert bytes.fromhex(r["unicode_utf8"]).decode("utf-8") == "é😀\u2028"
    assert r["long_ok"] is True
    assert r["binary_top"] == [buf("010203")]
    assert r["binary_nested"] == [
        {"a": buf("04"), "b": {"c": buf("0506"), "d": "text"}},
        [buf("07"), [buf("0809"), "x"], 10],
        buf(""),
    ]
    assert r["big_ok"] is True
    # ext type 0 in (ArrayBuffer, typed array, at the ambiguous sizes 1 and 8), bin out.
    assert r["array_buffers"] == [buf("00"), buf("0102030405060708"), buf("0909")]
    # undefined -> None -> null; a Date both ways; NaN and -Infinity as float64.
    assert r["js_values"] == [
        None,
        {"k": None, "d": {"$date": 1709209815250}},
        {"$number": "NaN"},
        {"$number": "-Infinity"},
    ]
    if name == "echo_upgraded" or run_mode != "default":
        assert r["transport"] == final_transport(run_mode)


def test_acks_both_ways(runs: dict[str, Any], mode: str) -> None:
    r = scenario(runs, mode, "acks")
    assert r["echo_ack"] == ["a", 2, {"k": [None]}, buf("dead")]
    assert r["echo_ack_empty"] == []
    assert r["message_with_ack"] == ["t", buf("00"), [buf("0101")]]
    assert r["many"] == [[i] for i in range(30)]
    # Server-to-client ack (ping_client) answered with binary, relayed back.
    assert r["call_me"] == [{"got": buf("010203"), "bin": buf("0707")}]
    assert r["call_me_json"] == [{"got": {"two": [2]}, "bin": buf("0707")}]
    assert r["transport"] == final_transport(mode)


def test_broadcast_is_shared_by_every_recipient(runs: dict[str, Any], mode: str) -> None:
    r = scenario(runs, mode, "bcast")
    room = r["received"][0][0]["room"]
    assert room.startswith("mp-room-")
    assert r["received"] == [[{"room": room, "bin": buf("01020304"), "n": 1}]] * 2
    assert r["room_msg"] == [["to-the-room", buf("05")]] * 2
    assert r["outside"] == [0, 0]


def test_server_disconnect(runs: dict[str, Any], mode: str) -> None:
    assert scenario(runs, mode, "disconnect") == {"reason": "io server disconnect"}


def test_a_client_on_the_default_parser_is_refused_alone(runs: dict[str, Any], mode: str) -> None:
    r = scenario(runs, mode, "wrong_parser")
    assert r["outcome"] != "connected"
    assert r["still"] == ["still here"]


def test_server_log(runs: dict[str, Any]) -> None:
    log = runs["log"]
    assert "Traceback" not in log, log[-4000:]
    errors = [line for line in log.splitlines() if "broke the protocol" in line]
    # Only the wrong-parser clients, one per mode, for sending text.
    assert len(errors) == len(MODES), errors
    assert all("text message" in line for line in errors), errors


def test_the_sans_io_vectors_are_what_node_produces() -> None:
    produced = run_node("msgpack_vectors.js")
    refusals = produced.pop("refusals")
    assert produced == NODE_VECTORS
    assert {name: tuple(value) for name, value in refusals.items()} == NODE_REFUSALS
