"""The examples through ``socketio.test_client``: the seed and Flask-SocketIO's full example app."""

from __future__ import annotations

from typing import Any

from tests.conftest import ROOT

from .conftest import load_app_module

EXAMPLES = ROOT / "examples"


def data(received: list[dict[str, Any]]) -> list[Any]:
    return [item["args"][0]["data"] for item in received]


def test_seed_app(capsys: Any) -> None:
    seed: Any = load_app_module(EXAMPLES / "flask_seed" / "app.py", "flask_seed_app")
    a = seed.socketio.test_client(seed.app)
    b = seed.socketio.test_client(seed.app)
    assert data(a.get_received()) == ["Connected"]
    assert data(b.get_received()) == ["Connected"]
    a.emit("my event", {"data": "echo"})
    assert data(a.get_received()) == ["echo"]
    assert b.get_received() == []
    a.emit("my broadcast event", {"data": "all"})
    assert data(a.get_received()) == ["all"] and data(b.get_received()) == ["all"]
    b.disconnect()
    assert capsys.readouterr().out == "Client disconnected\n"
    page = seed.app.test_client().get("/")
    assert page.status_code == 200 and b'<script src="/socket.io.min.js">' in page.data


def test_chat_example(capsys: Any) -> None:
    chat: Any = load_app_module(EXAMPLES / "flask_chat" / "app.py", "flask_chat_app")
    a = chat.socketio.test_client(chat.app)
    b = chat.socketio.test_client(chat.app)
    assert a.get_received()[0]["args"][0] == {"data": "Connected", "count": 0}
    b.get_received()
    a.emit("my_event", {"data": "one"})
    a.emit("my_event", {"data": "two"})
    # session["receive_count"] lives in the connection's managed session.
    assert [x["args"][0] for x in a.get_received()] == [{"data": "one", "count": 1}, {"data": "two", "count": 2}]
    a.emit("join", {"room": "r1"})
    [joined] = data(a.get_received())
    assert joined.startswith("In rooms: ") and set(joined[len("In rooms: "):].split(", ")) == {a.sid, "r1"}
    b.emit("join", {"room": "r1"})
    b.get_received()
    a.emit("my_room_event", {"room": "r1", "data": "to room"})
    assert data(a.get_received()) == ["to room"] and data(b.get_received()) == ["to room"]
    b.emit("close_room", {"room": "r1"})
    assert data(a.get_received()) == ["Room r1 is closing."]
    assert data(b.get_received()) == ["Room r1 is closing."]
    a.emit("my_room_event", {"room": "r1", "data": "closed"})
    assert a.get_received() == [] and b.get_received() == []
    a.emit("my_ping")
    assert a.get_received() == [{"name": "my_pong", "args": [], "namespace": "/"}]
    # The client acks "Disconnected!", then the server disconnects it.
    a.on("my_response", lambda msg: None)
    a.emit("disconnect_request")
    assert data(a.get_received()) == ["Disconnected!"]
    assert not a.is_connected()
    assert f"Client disconnected {a.sid} server namespace disconnect" in capsys.readouterr().out
    page = chat.app.test_client().get("/")
    assert b"Async mode is: <b>gevent</b>" in page.data
