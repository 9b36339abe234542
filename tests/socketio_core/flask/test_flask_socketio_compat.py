"""What Flask-SocketIO's own test file relies on (issue 15), each in a test of its own.

The test client runs over the real stack but behaves like Flask-SocketIO's:
handlers' errors reach the caller at once, the environ holds only what the
test passed, server-side keywords are ignored; plus ``namespace="*"``
handlers and python-socketio's ``server.eio`` / ``server.environ`` views.
"""

from __future__ import annotations

import datetime
import json
from time import monotonic
from typing import Any

import pytest
from flask import Flask, request, session

from socketio_core.flask import SocketIO, emit, send


def make() -> tuple[Flask, SocketIO]:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "s"
    socketio = SocketIO(app, allow_upgrades=False, cookie="sticky")

    @socketio.on("connect")
    def connect() -> None:
        send(json.dumps({"args": request.args.to_dict(flat=False), "headers": dict(request.headers)}))

    @socketio.on("echo")
    def echo(data: Any) -> Any:
        emit("echoed", data)
        return data

    @socketio.on("boom")
    def boom() -> None:
        raise KeyError("boom")

    @socketio.on("bad emit")
    def bad_emit() -> None:
        emit("x", {"when": datetime.datetime(2020, 1, 1)})

    @socketio.on("bad ack")
    def bad_ack() -> Any:
        return {"when": datetime.datetime(2020, 1, 1)}

    @socketio.on("anywhere", namespace="*")
    def anywhere(data: Any) -> None:
        emit("seen", [request.namespace, data])

    @socketio.on("remember")
    def remember(value: str) -> None:
        session["value"] = value

    return app, socketio


def test_handlers_see_only_the_query_string_and_headers_the_test_passed() -> None:
    app, socketio = make()
    client = socketio.test_client(app, query_string="?a=1&a=2", headers={"X-Token": "t"})
    [hello] = client.get_received()
    seen = json.loads(hello["args"])
    assert seen["args"] == {"a": ["1", "2"]}
    assert seen["headers"]["X-Token"] == "t"
    assert "Upgrade" not in seen["headers"] and "Sec-Websocket-Key" not in seen["headers"]


def test_emit_ignores_server_side_keywords() -> None:
    app, socketio = make()
    client = socketio.test_client(app)
    client.get_received()
    assert client.emit("echo", 1, callback=True, broadcast=True, to="x") == 1
    assert [m["args"] for m in client.get_received()] == [[1]]


def test_data_that_is_not_json_raises_type_error_at_the_call() -> None:
    app, socketio = make()
    client = socketio.test_client(app)
    with pytest.raises(TypeError):
        client.emit("echo", {"bad": object()})
    with pytest.raises(TypeError):
        client.send(object())


def test_handler_errors_reach_the_caller_at_once() -> None:
    app, socketio = make()
    client = socketio.test_client(app, timeout=30)
    start = monotonic()
    with pytest.raises(KeyError, match="boom"):
        client.emit("boom")
    with pytest.raises(KeyError, match="boom"):
        client.emit("boom", callback=True)
    with pytest.raises(TypeError):
        client.emit("bad emit")
    with pytest.raises(TypeError):
        client.emit("bad ack", callback=True)
    client.emit("bad ack")  # no ack asked: nothing is sent, nothing fails
    assert monotonic() - start < 10  # not the 30 s ack timeout
    assert client.emit("echo", "still fine", callback=True) == "still fine"


def test_a_namespace_star_handler_serves_every_namespace() -> None:
    app, socketio = make()
    client = socketio.test_client(app, namespace="/elsewhere")
    assert client.is_connected("/elsewhere")
    client.emit("anywhere", 5, namespace="/elsewhere")
    assert [m["args"] for m in client.get_received("/elsewhere")] == [[["/elsewhere", 5]]]
    client.connect("/")
    client.get_received()
    client.emit("anywhere", 6)  # "/" has no handler for it either
    assert [m["args"] for m in client.get_received()] == [[["/", 6]]]


def test_server_eio_is_a_view_of_the_engineio_settings() -> None:
    app, socketio = make()
    eio = socketio.server.eio
    assert eio.allow_upgrades is False
    assert eio.cookie == "sticky"
    assert eio.ping_interval == 25 and eio.ping_timeout == 20
    client = socketio.test_client(app)
    assert client.eio_sid in eio.sockets


def test_server_environ_holds_the_managed_session_per_engineio_session() -> None:
    app, socketio = make()
    client = socketio.test_client(app)
    client.emit("remember", "v1")
    assert socketio.server.environ[client.eio_sid]["saved_session"] == {"value": "v1"}
    assert client.eio_sid in list(socketio.server.environ)
    with pytest.raises(KeyError):
        socketio.server.environ["no such sid"]
