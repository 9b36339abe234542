"""The echo server against python-socketio's AsyncClient (5.x with aiohttp, from .venv-peer).

tests/interop/py_async_features.py runs its scenarios over polling only,
WebSocket only and the client's default; the expectations are here. The
echo runs on each of the interop servers (tests.conftest.SERVERS): our
server on gevent and on asyncio, and AsyncServer's ASGI app under uvicorn
and hypercorn.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.conftest import SERVERS, run_clients_against, run_peer_python

MODES = ["polling", "websocket", "default"]


@pytest.fixture(scope="module", params=SERVERS)
def runs(request: pytest.FixtureRequest) -> dict[str, Any]:
    return run_clients_against(request.param, run_peer_python, "py_async_features.py", MODES)


@pytest.fixture(params=MODES)
def mode(request: pytest.FixtureRequest) -> str:
    return str(request.param)


def scenario(runs: dict[str, Any], mode: str, name: str) -> Any:
    result = runs["results"][mode][name]
    if isinstance(result, dict) and "error" in result:
        pytest.fail(f"{name} failed in the client:\n{result['error']}")
    return result


def test_auth_echo_binary_and_acks(runs: dict[str, Any], mode: str) -> None:
    r = scenario(runs, mode, "auth_and_echo")
    assert r["auth"] == [{"token": r["auth"][0]["token"]}] and len(r["auth"][0]["token"]) == 8
    assert r["echo"] == [["a", 1, {"b": [None, True]}, {"$bin": "00ff"}]]
    assert r["ack"] == ["x", 2]
    assert r["empty_ack"] is None
    assert r["transport"] == ("polling" if mode == "polling" else "websocket")


def test_the_server_calls_the_client(runs: dict[str, Any], mode: str) -> None:
    r = scenario(runs, mode, "server_calls_client")
    assert r["asked"] == [42]
    assert r["answer"] == {"pong": 42}


def test_rooms_in_a_namespace(runs: dict[str, Any], mode: str) -> None:
    r = scenario(runs, mode, "rooms_and_namespaces")
    assert r["joined"].startswith("room-")
    assert r["first"] == ["hello"]
    assert r["second_b"] == ["second"]
    assert r["a_extra"] == 0


def test_the_server_disconnects_the_client(runs: dict[str, Any], mode: str) -> None:
    r = scenario(runs, mode, "server_disconnects")
    assert r["reasons"] == [["server disconnect"]]


def test_the_server_logged_no_error(runs: dict[str, Any]) -> None:
    assert "Traceback" not in runs["log"]
    assert " ERROR " not in runs["log"]
