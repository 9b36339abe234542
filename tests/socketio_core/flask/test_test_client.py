"""``socketio.test_client``: every function of socketio_core.flask, in process.

The test client talks to the server through the real stack (h11, the
WebSocket handshake and frames, the Engine.IO session, the Socket.IO state
machine) over an in-memory socket pair; these tests double as its own tests.
"""

from __future__ import annotations

import builtins
import threading
from typing import Any, Iterator

import pytest
from flask import Flask

from socketio_core.flask import SocketIO, emit

from . import feature_app
from .feature_app import DISCONNECTS, socketio


@pytest.fixture
def app() -> Iterator[Flask]:
    yield feature_app.create_app()


def names(received: list[dict[str, Any]]) -> list[str]:
    return [item["name"] for item in received]


def test_connect_runs_in_a_request_context_built_from_the_handshake(app: Flask) -> None:
    http = app.test_client()
    http.get("/login?user=alice")
    client = socketio.test_client(
        app, query_string="room=blue&x=1", headers={"X-Test": "yes"}, auth={"token": "good"},
        flask_test_client=http,
    )
    assert client.is_connected()
    [welcome] = client.get_received()
    assert welcome["name"] == "welcome"
    info = welcome["args"][0]
    assert info["sid"] == client.sid
    assert info["namespace"] == "/"
    # What the test passed, as Flask-SocketIO's test client gives it: not the
    # upgrade's EIO/transport parameters nor its WebSocket headers.
    assert info["args"] == {"room": "blue", "x": "1"}
    assert info["header"] == "yes"
    assert info["upgrade"] is None
    assert info["user"] == "alice"  # flask.session comes from the handshake's cookie
    assert info["remote"] == "127.0.0.1"
    assert info["auth"] == {"token": "good"}
    assert info["app"] == app.name
    assert info["g"] == "connect"
    context = client.emit("context", callback=True)
    assert context["sid"] == client.sid
    assert context["path"] == "/socket.io/"
    assert context["g"] == 42
    assert context["args"]["room"] == "blue"


def test_connect_refused_by_exception_with_data_or_by_returning_false(app: Flask) -> None:
    refused = socketio.test_client(app, auth={"token": "bad"})
    assert not refused.is_connected()
    assert refused.connect_error() == {"message": "unauthorized", "data": {"hint": "send a good token"}}
    falsy = socketio.test_client(app, auth={"token": "false"})
    assert not falsy.is_connected()
    assert falsy.connect_error()["message"] == "Connection rejected by server"
    assert falsy.get_received() == []


def test_emit_send_and_acks(app: Flask) -> None:
    client = socketio.test_client(app)
    client.get_received()
    client.emit("echo", {"a": [1, 2]})
    assert client.get_received() == [{"name": "echo", "args": [{"a": [1, 2]}], "namespace": "/"}]
    assert client.emit("echo_ack", 1, "two", callback=True) == [1, "two"]
    assert client.emit("echo_ack", "one", callback=True) == "one"
    assert client.emit("decorated", "x", callback=True) == "decorated x"
    assert client.emit("explicit", "y", callback=True) == "explicit y"
    client.send("hello")
    client.send({"k": 1}, json=True)
    client.emit("send_text", "plain")
    client.emit("send_json", {"j": True})
    assert client.get_received() == [
        {"name": "message", "args": "echo: hello", "namespace": "/"},
        {"name": "json", "args": {"k": 1}, "namespace": "/"},  # Flask-SocketIO's event name
        {"name": "message", "args": "plain", "namespace": "/"},
        {"name": "json", "args": {"j": True}, "namespace": "/"},
    ]
    client.emit("tuple_args")
    assert client.get_received() == [{"name": "two", "args": [1, "two"], "namespace": "/"}]
    client.emit("no such handler", 5)
    assert client.get_received() == [
        {"name": "caught", "args": [{"event": "no such handler", "args": [5]}], "namespace": "/"}
    ]
    # Binary travels as an attachment, both ways; an empty ack is [] (as in Flask-SocketIO).
    assert client.send(b"\x01\x02", callback=True) == []
    assert client.get_received() == [{"name": "message", "args": {"echo": b"\x01\x02"}, "namespace": "/"}]


def test_broadcast_include_self_and_rooms(app: Flask) -> None:
    a = socketio.test_client(app)
    b = socketio.test_client(app)
    c = socketio.test_client(app)
    for client in (a, b, c):
        client.get_received()
    a.emit("bcast", "all")
    assert [x["args"] for x in a.get_received()] == [["all"]]
    assert [x["args"] for x in b.get_received()] == [["all"]]
    assert [x["args"] for x in c.get_received()] == [["all"]]
    a.emit("bcast_others", "not me")
    assert a.get_received() == []
    assert [x["args"] for x in b.get_received()] == [["not me"]]
    assert [x["args"] for x in c.get_received()] == [["not me"]]
    assert sorted(a.emit("join", "red", callback=True)) == sorted([a.sid, "red"])
    assert sorted(b.emit("join", "red", callback=True)) == sorted([b.sid, "red"])
    c.emit("to_room", "red", "hi red")
    assert names(a.get_received()) == ["room_msg"]
    assert names(b.get_received()) == ["room_msg"]
    assert c.get_received() == []
    a.emit("to_room_others", "red", "from a")
    assert a.get_received() == []
    assert [x["args"] for x in b.get_received()] == [["from a"]]
    assert b.emit("leave", "red", callback=True) == [b.sid]
    c.emit("to_room", "red", "again")
    assert names(a.get_received()) == ["room_msg"]
    assert b.get_received() == []
    c.emit("close", "red")
    c.emit("to_room", "red", "closed")
    assert a.get_received() == []


def test_disconnect_from_the_server_and_from_the_client(app: Flask) -> None:
    a = socketio.test_client(app)
    a.emit("disconnect_me")
    assert not a.is_connected()
    b = socketio.test_client(app)
    b.disconnect()
    assert not b.is_connected()
    reasons = {sid: reason for ns, sid, reason in DISCONNECTS if ns == "/"}
    assert reasons[a.sid] == "server namespace disconnect"
    assert reasons[b.sid] == "client namespace disconnect"
    with pytest.raises(RuntimeError):
        b.emit("echo", 1)


def test_error_handlers(app: Flask) -> None:
    client = socketio.test_client(app)
    client.get_received()
    assert client.emit("fail", "bad input", callback=True) == {"error": "ValueError: bad input"}
    assert client.get_received() == [
        {"name": "error_seen", "args": [{"error": "bad input", "event": "fail"}], "namespace": "/"}
    ]
    client.connect("/chat")
    assert client.emit("boom", namespace="/chat", callback=True) == "default: chat boom"


def test_class_based_namespace(app: Flask) -> None:
    a = socketio.test_client(app, namespace="/chat")
    b = socketio.test_client(app, namespace="/chat")
    assert a.is_connected("/chat") and not a.is_connected("/")
    [welcome] = a.get_received("/chat")
    assert welcome == {"name": "chat_welcome", "args": [{"namespace": "/chat", "sid": a.get_sid("/chat")}],
                       "namespace": "/chat"}
    b.get_received("/chat")
    assert a.emit("say", "hey", namespace="/chat", callback=True) == "ok"
    assert b.get_received("/chat") == [{"name": "said", "args": ["hey"], "namespace": "/chat"}]
    b.emit("shout", "HEY", namespace="/chat")
    assert names(a.get_received("/chat")) == ["said", "shouted"]
    assert sorted(a.emit("rooms", namespace="/chat", callback=True)) == sorted([a.get_sid("/chat"), "lobby"])
    a.disconnect("/chat")
    assert ["/chat", a.get_sid("/chat"), "client namespace disconnect"] in DISCONNECTS


def test_emit_to_another_namespace(app: Flask) -> None:
    a = socketio.test_client(app, namespace="/chat")
    b = socketio.test_client(app)
    b.connect("/chat")
    b.emit("news", "from root")  # a "/" handler emits to everyone in /chat
    assert a.get_received("/chat")[-1] == {"name": "news", "args": ["from root"], "namespace": "/chat"}
    assert b.get_received("/chat")[-1] == {"name": "news", "args": ["from root"], "namespace": "/chat"}
    app.test_client().get("/chat_notify?msg=route")
    assert a.get_received("/chat") == [{"name": "news", "args": ["route"], "namespace": "/chat"}]
    assert "news" not in names(b.get_received("/"))  # only the /chat socket got it


def test_the_builtin_connection_refused_error_also_refuses() -> None:
    app = Flask(__name__)
    sio = SocketIO(app)

    @sio.on("connect")
    def connect() -> None:
        raise builtins.ConnectionRefusedError("nope", {"why": 1})  # not socketio_core's

    client = sio.test_client(app)
    assert not client.is_connected()
    assert client.connect_error() == {"message": "nope", "data": {"why": 1}}


def test_namespace_connect_can_use_the_query_string(app: Flask) -> None:
    client = socketio.test_client(app, namespace="/private", query_string="?key=open")
    assert client.is_connected("/private")
    other = socketio.test_client(app, namespace="/private", query_string="key=closed")
    assert not other.is_connected("/private")


def test_managed_session_is_a_per_connection_copy(app: Flask) -> None:
    http = app.test_client()
    http.get("/login?user=bob")
    a = socketio.test_client(app, flask_test_client=http)
    b = socketio.test_client(app, flask_test_client=http)
    a.emit("set_session", "for a")
    assert a.emit("get_session", callback=True) == {"value": "for a", "user": "bob"}
    assert b.emit("get_session", callback=True) == {"value": None, "user": "bob"}
    # The copy is shared by the namespaces of one connection.
    a.connect("/chat")
    http.get("/login?user=carol")  # a later HTTP login does not reach connected sockets
    assert a.emit("get_session", callback=True)["user"] == "bob"


def test_ack_callbacks_run_in_the_emitters_request_context(app: Flask) -> None:
    client = socketio.test_client(app)
    client.get_received()
    client.on("question", lambda q: f"answer to {q}")
    client.emit("ask", "life")
    assert client.get_received() == [
        {"name": "question", "args": ["life"], "namespace": "/"},
        {"name": "answered", "args": [{"answer": ["answer to life"], "same_sid": True}], "namespace": "/"},
    ]
    assert client.emit("call_client", "q2", callback=True) == {"answer": "answer to q2"}


def test_emit_from_http_route_thread_and_background_task(app: Flask) -> None:
    a = socketio.test_client(app)
    b = socketio.test_client(app)
    for client in (a, b):
        client.get_received()
    http = app.test_client()
    assert http.get("/notify?msg=route").data == b"ok"
    assert a.get_received() == [{"name": "notify", "args": [{"msg": "route"}], "namespace": "/"}]
    assert names(b.get_received()) == ["notify"]
    http.get(f"/notify_sid?sid={b.sid}&msg=only b")
    assert a.get_received() == []
    assert b.get_received() == [
        {"name": "direct", "args": [{"msg": "only b"}], "namespace": "/"},
        {"name": "message", "args": "direct message", "namespace": "/"},
    ]
    http.get("/thread?msg=from thread")
    assert a.get_received() == [{"name": "thread", "args": [{"msg": "from thread", "thread": True}],
                                 "namespace": "/"}]
    # A plain threading.Thread in the test itself.
    worker = threading.Thread(target=lambda: socketio.emit("thread", {"msg": "t"}, to=a.sid))
    worker.start()
    worker.join()
    assert a.get_received() == [{"name": "thread", "args": [{"msg": "t"}], "namespace": "/"}]
    assert b.get_received() == [{"name": "thread", "args": [{"msg": "from thread", "thread": True}],
                                 "namespace": "/"}]
    a.emit("bg", "tag1")
    socketio.sleep(0.2)
    assert a.get_received() == [{"name": "bg_done", "args": [{"tag": "tag1"}], "namespace": "/"}]


def test_context_functions_outside_a_handler() -> None:
    app = Flask(__name__)
    sio = SocketIO(app)
    with app.test_request_context("/"):
        with pytest.raises(RuntimeError, match="to= or broadcast"):
            emit("x", 1)
    sio.emit("nobody", 1)  # no client: nothing happens, nothing fails


def test_factory_pattern_and_decorators_before_init_app() -> None:
    sio = SocketIO(cors_allowed_origins="*", ping_interval=10)
    seen: list[Any] = []

    @sio.on("hello", namespace="/f")
    def hello(data: Any) -> str:
        seen.append(data)
        return "hi"

    app = Flask(__name__)
    sio.init_app(app, ping_timeout=5)
    assert sio.server is not None
    assert sio.server.config.ping_interval == 10 and sio.server.config.ping_timeout == 5
    assert app.extensions["socketio"] is sio
    client = sio.test_client(app, namespace="/f")
    assert client.emit("hello", 3, namespace="/f", callback=True) == "hi"
    assert seen == [3]
    client.disconnect("/f")


def test_unsupported_options_are_refused() -> None:
    with pytest.raises(ValueError, match="gevent"):
        SocketIO(Flask(__name__), async_mode="threading")
    with pytest.raises(ValueError, match="either"):
        SocketIO(Flask(__name__), message_queue="redis://", adapter=object())


def test_unmanaged_session_is_read_from_the_handshake_cookie_on_every_event() -> None:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "s"
    sio = SocketIO(app, manage_session=False)

    @app.route("/login")
    def login() -> str:
        from flask import session

        session["user"] = "dora"
        return "ok"

    @sio.on("whoami")
    def whoami() -> Any:
        from flask import session

        user = session.get("user")
        session["user"] = "changed"  # saved through the session interface: the cookie cannot change
        return user

    http = app.test_client()
    http.get("/login")
    client = sio.test_client(app, flask_test_client=http)
    assert client.emit("whoami", callback=True) == "dora"
    assert client.emit("whoami", callback=True) == "dora"
