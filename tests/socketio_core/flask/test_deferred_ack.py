"""Flask handlers that answer an ack through a keyword-only ``ack`` (socketio_core.Ack)."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, request

from socketio_core import Ack
from socketio_core.flask import SocketIO


def test_a_flask_handler_answers_later_through_ack() -> None:
    app = Flask(__name__)
    socketio = SocketIO(app)
    kept: list[Ack] = []
    seen_sid: list[str] = []

    @socketio.on("later")
    def later(data: Any, *, ack: Ack) -> str:
        seen_sid.append(request.sid)  # type: ignore[attr-defined]  # still in a request context
        kept.append(ack)
        return "not sent"

    @socketio.on("now")
    def now(data: Any, *, ack: Ack | None) -> None:
        assert ack is not None
        ack(data, "both")

    client = socketio.test_client(app)
    client.timeout = 0.5
    with pytest.raises(TimeoutError):
        client.emit("later", 1, callback=True)  # unanswered: no "[]" ack
    assert len(kept) == 1 and seen_sid
    assert client.emit("now", 2, callback=True) == [2, "both"]
    client.disconnect()


def test_a_class_based_namespace_method_answers_through_ack() -> None:
    from socketio_core.flask import Namespace

    app = Flask(__name__)
    socketio = SocketIO(app)
    seen: list[str] = []

    class Chat(Namespace):
        def on_ask(self, data: Any, *, ack: Ack | None) -> str:
            assert ack is not None
            seen.append(request.sid)  # type: ignore[attr-defined]
            ack(data, "answered")
            return "not sent: the ack answered"

        def on_plain(self, data: Any) -> Any:
            return data

    socketio.on_namespace(Chat("/chat"))
    client = socketio.test_client(app, namespace="/chat")
    assert client.emit("ask", 7, namespace="/chat", callback=True) == [7, "answered"]
    assert len(seen) == 1  # in a request context, once
    assert client.emit("plain", "p", namespace="/chat", callback=True) == "p"
    client.disconnect(namespace="/chat")
