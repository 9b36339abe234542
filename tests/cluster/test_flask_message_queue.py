"""Flask-SocketIO's ``message_queue=`` shortcut: two apps joined through a real Redis."""

from __future__ import annotations

import time
from typing import Any

import gevent
import pytest
from flask import Flask

from socketio_core.flask import SocketIO, emit
from socketio_core.redis_adapter import RedisAdapter

from .conftest import RedisServer


def make_app(url: str) -> tuple[Flask, SocketIO]:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "s"
    socketio = SocketIO(app, message_queue=url)

    @socketio.on("shout")
    def shout(message: Any) -> None:
        emit("heard", message, broadcast=True)

    return app, socketio


def received(client: Any, event: str) -> list[Any]:
    return [m["args"] for m in client.get_received() if m["name"] == event]


def test_a_broadcast_on_one_app_reaches_the_clients_of_the_other(redis_server: RedisServer) -> None:
    app_a, sio_a = make_app(redis_server.url)
    app_b, sio_b = make_app(redis_server.url)
    try:
        assert isinstance(sio_a.server.adapter, RedisAdapter)
        client_a = sio_a.test_client(app_a)
        client_b = sio_b.test_client(app_b)
        deadline = time.monotonic() + 10
        while sio_a.server.adapter.server_count() < 2 and time.monotonic() < deadline:
            gevent.sleep(0.05)  # both subscribed
        client_a.emit("shout", "over redis")
        heard_b: list[Any] = []
        while not heard_b and time.monotonic() < deadline:
            gevent.sleep(0.05)
            heard_b += received(client_b, "heard")
        assert heard_b == [["over redis"]]
        assert received(client_a, "heard") == [["over redis"]]  # once, not twice
        client_a.disconnect()
        client_b.disconnect()
    finally:
        sio_a.server.adapter.close()
        sio_b.server.adapter.close()


def test_only_redis_urls_are_taken() -> None:
    with pytest.raises(ValueError, match="Redis"):
        SocketIO(Flask(__name__), message_queue="amqp://guest@localhost//")


def test_socketio_without_an_app_is_a_write_only_emitter(redis_server: RedisServer) -> None:
    """``SocketIO(message_queue=url)`` in an external process: its emits reach the app's clients."""
    app, sio = make_app(redis_server.url)
    external = SocketIO(message_queue=redis_server.url)
    late = SocketIO()
    late.init_app(None, message_queue=redis_server.url)
    try:
        assert external.server_options["client_manager"].write_only
        assert late.server_options["client_manager"].write_only
        assert not sio.server_options["client_manager"].write_only
        client = sio.test_client(app)
        deadline = time.monotonic() + 10
        heard: list[Any] = []
        while not heard and time.monotonic() < deadline:
            external.emit("news", {"n": 1})  # until the app's subscription is up
            gevent.sleep(0.05)
            heard += received(client, "news")
        assert heard[0] == [{"n": 1}]
        late.emit("news", 2, to=client.sid)
        while len(heard) < 2 or heard[-1] != [2]:
            assert time.monotonic() < deadline
            gevent.sleep(0.05)
            heard += received(client, "news")
        with pytest.raises(ValueError, match="callback"):
            external.emit("news", 3, callback=print)
        client.disconnect()
    finally:
        sio.server.adapter.close()
        external.server_options["client_manager"].close()
        late.server_options["client_manager"].close()
