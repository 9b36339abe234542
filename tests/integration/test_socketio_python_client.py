"""The echo server against the python-socketio client (5.x, from .venv-peer).

tests/interop/py_features.py runs every scenario over polling only,
WebSocket only and the client's default (polling, upgraded to WebSocket at
connect); it records what the client saw, the expectations are here. One
echo server serves the module, the three runs go in parallel (rooms and
broadcasts are tagged per run), and the server's log tells what it saw.
"""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.conftest import SERVERS, run_clients_against, run_peer_python

MODES = ["polling", "websocket", "default"]


def b(hex_digits: str) -> dict[str, str]:
    return {"$bin": hex_digits}


@pytest.fixture(scope="module", params=SERVERS)
def runs(request: pytest.FixtureRequest) -> dict[str, Any]:
    return run_clients_against(request.param, run_peer_python, "py_features.py", MODES)


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def scenario(runs: dict[str, Any], mode: str, name: str) -> Any:
    run = runs["results"][mode]
    result = run[name]
    if isinstance(result, dict) and "error" in result:
        pytest.fail(f"{name} failed in the client:\n{result['error']}\nclient warnings: {run['client_warnings']}")
    return result


def final_transport(mode: str) -> str:
    return "polling" if mode == "polling" else "websocket"


def logged_reason(log: str, sid: str, namespace: str) -> list[str]:
    return re.findall(rf"disconnect {re.escape(sid)} from {re.escape(namespace)} \(([^)]*)\)", log)


def test_connect_with_auth(runs: dict[str, Any], mode: str) -> None:
    r = scenario(runs, mode, "auth")
    auth = {"token": "py", "n": [1, None], "é": "😀"}
    assert r["auth"] == [auth]
    assert r["custom_auth"] == [auth]  # this client sends the same auth to every namespace
    assert r["no_auth"] == [{}]
    assert r["after_auth"] == ["after-auth"]
    sids = r["sids"]
    assert all(isinstance(s, str) and s for s in sids) and len(set(sids)) == 3
    assert r["engine_sid"] not in sids
    assert r["transport"] == final_transport(mode)


def test_emit_echo_and_acks(runs: dict[str, Any], mode: str) -> None:
    r = scenario(runs, mode, "emit")
    assert r["message_back"] == [1, "2", {"3": [False]}]
    assert r["message_back_single"] == ["single"]
    assert r["echo"] == ["hello", 3.5, None, True, {"nested": ["a", {"b": -1}]}]
    assert r["unicode_ok"] is True
    # call(): several ack args come back as a tuple, one as itself, none as None.
    assert r["call"] == ["a", 2, {"k": [None]}]
    assert r["call_single"] == {"x": 1}
    assert r["call_empty"] is None
    assert r["callback"] == [1, "2"]
    assert r["many"] == list(range(40))
    assert r["transport"] == final_transport(mode)


def test_binary(runs: dict[str, Any], mode: str) -> None:
    r = scenario(runs, mode, "binary")
    for prefix in ("", "custom_"):
        assert r[prefix + "top_level"] == [b("010203")]
        assert r[prefix + "in_object"] == [{"a": b("04"), "b": {"c": b("0506"), "d": "text"}}]
        assert r[prefix + "in_array"] == [[b("07"), [b("0809"), "x"], 10]]
        assert r[prefix + "several"] == [b("01"), "text", b("0202"), {"k": b("030303")}]
        assert r[prefix + "ack"] == [b("dead"), {"x": [b("beef")]}]
    assert r["big_ok"] is True
    assert r["transport"] == final_transport(mode)


def test_server_calls_the_client(runs: dict[str, Any], mode: str) -> None:
    r = scenario(runs, mode, "call_me")
    assert r["plain"] == {"got": 21, "doubled": 42}
    assert r["binary"] == b("030201")
    assert r["two"] == ["first", b("cafe")]
    assert r["custom"] == "custom:x"
    assert r["seen"] == [21, b("010203"), {"two": True}]


def test_rooms(runs: dict[str, Any], mode: str) -> None:
    r = scenario(runs, mode, "rooms")
    assert r["join"].startswith("py-room-")
    assert r["a_first"] == ["hi", {"n": 1}, b("0506")]
    assert r["b_count_outside"] == 0
    assert r["leave"] is True
    assert r["a_count_after_leave"] == 0
    assert r["b_join"] == r["join"]
    assert r["b_first"] == ["to-b"]


def test_broadcast(runs: dict[str, Any], mode: str) -> None:
    r = scenario(runs, mode, "bcast")
    assert r["received"] == [[1, 2, 3], [1, 2, 3], [1, 3], [1, 3]]
    assert r["joins"][0] == r["joins"][1] and r["joins"][0].startswith("py-bcast-")


def test_invalid_namespace(runs: dict[str, Any], mode: str) -> None:
    r = scenario(runs, mode, "invalid_namespace")
    assert r["data"] == [{"message": "Invalid namespace"}]
    assert r["raised"] and "/nope" in r["raised"]
    assert r["connected"] is False


def test_disconnects(runs: dict[str, Any], mode: str) -> None:
    r = scenario(runs, mode, "disconnect")
    log = runs["log"]
    # python-socketio's own names for the reasons.
    assert r["kicked_root"] == ["/", ["server disconnect"]]
    assert r["kicked_custom"] == ["/custom", ["server disconnect"]]
    assert r["root_after_kick"] == "still"
    assert r["two_disconnects"] == [["/", ["client disconnect"]]]
    assert logged_reason(log, r["kicked_root_sid"], "/") == ["server namespace disconnect"]
    assert logged_reason(log, r["kicked_custom_sid"], "/custom") == ["server namespace disconnect"]
    # Client.disconnect() queues a DISCONNECT per namespace for its writer
    # thread, then closes the Engine.IO connection. Over polling the close
    # travels in a POST, after them; over WebSocket this client closes
    # the socket from the calling thread, racing its own writer, so the
    # server may see the transport close first; behind an ASGI server that
    # close may show as our write failing (uvicorn's send raises once it saw
    # the client go), a transport error. Either way: one line per sid.
    left = {"client namespace disconnect", "transport close"}
    if runs["server"] in ("uvicorn", "hypercorn"):
        left.add("transport error")
    root_sid, custom_sid = r["leaving_sids"]
    leaving = [(r["leaving_root_sid"], "/", r["two_posted"]),
               (root_sid, "/", r["leaving_posted"]), (custom_sid, "/custom", r["leaving_posted"])]
    for sid, namespace, posted in leaving:
        reasons = logged_reason(log, sid, namespace)
        if mode != "polling":
            assert len(reasons) == 1 and reasons[0] in left, (sid, namespace, reasons)
            continue
        # Over polling this client may not send its DISCONNECTs at all: its
        # writer thread stops at the first state check after the POST it is
        # in, dropping what disconnect() queued behind (python-engineio 4.x's
        # Client._write_loop; see tests/interop/py_features.py,
        # scenario_disconnect). Shown on the wire: connect-then-disconnect
        # 40 times against uvicorn, 31 sessions never POSTed their
        # DISCONNECTs (the client's requests, logged by urllib3, and
        # uvicorn's access log both had no such POST), and every one the
        # client did POST was logged here. It was that frequent because
        # _asgi_serve.py's listening socket left Nagle on (each answer ~45 ms
        # late, so connect() returned while the writer still waited for its
        # CONNECT POST); fixed there, 40 of 40 sent, as on our own servers.
        # The client's race remains (rarely), so: what it did send, the server
        # must have handled, exactly one line, for this reason; what it did
        # not send leaves no client disconnect.
        packet = "41" if namespace == "/" else f"41{namespace},"
        sent = any(packet in body.split("\x1e") for body in posted)
        if sent:
            assert reasons == ["client namespace disconnect"], (sid, namespace, reasons, posted)
        else:
            assert "client namespace disconnect" not in reasons and len(reasons) <= 1, (
                sid, namespace, reasons, posted)


def test_server_logged_no_protocol_error_or_exception(runs: dict[str, Any]) -> None:
    log = runs["log"]
    assert "broke the protocol" not in log
    assert "Traceback" not in log
    assert " ERROR " not in log
