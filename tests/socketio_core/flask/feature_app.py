"""A Flask app that uses every function of socketio_core.flask; the tests drive it.

Application-factory style: ``socketio = SocketIO()`` at module level, handlers
registered on it, ``create_app()`` calls ``socketio.init_app``. Served by
``_serve.py`` (``socketio.run``) and by ``gunicorn -k gevent 'feature_app:create_app()'``
for the python-socketio client (tests/interop/flask_features.py), and used
in-process with ``socketio.test_client`` (test_test_client.py). It imports
nothing from the test suite, so gunicorn can load it with ``--chdir``.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from flask import Flask, Response, current_app, g, jsonify, render_template, request, session, stream_with_context

from socketio_core.flask import (
    ConnectionRefusedError,
    Namespace,
    SocketIO,
    call,
    close_room,
    disconnect,
    emit,
    join_room,
    leave_room,
    rooms,
    send,
)

socketio = SocketIO()

#: (namespace, sid, reason) of every disconnect handler call, newest last.
DISCONNECTS: list[list[Any]] = []


def create_app() -> Flask:
    app = Flask(__name__)
    app.config["SECRET_KEY"] = "feature-secret"
    DISCONNECTS.clear()

    @app.route("/")
    def index() -> str:
        return "feature app"

    @app.route("/page")
    def page() -> str:
        return render_template("page.html", title="Page", name=request.args.get("name", "world"))

    @app.route("/login")
    def login() -> str:
        session["user"] = request.args.get("user", "anonymous")
        return "logged in"

    @app.route("/notify")
    def notify() -> str:
        # socketio.emit from an HTTP route: everyone in "/".
        socketio.emit("notify", {"msg": request.args.get("msg")})
        return "ok"

    @app.route("/notify_sid")
    def notify_sid() -> str:
        socketio.emit("direct", {"msg": request.args.get("msg")}, to=request.args["sid"])
        socketio.send("direct message", to=request.args["sid"])
        return "ok"

    @app.route("/chat_notify")
    def chat_notify() -> str:
        socketio.emit("news", request.args.get("msg"), namespace="/chat")
        return "ok"

    @app.route("/thread")
    def thread_emit() -> str:
        # socketio.emit from a plain OS thread (the server is not monkey-patched).
        msg = request.args.get("msg")
        worker = threading.Thread(target=lambda: socketio.emit("thread", {"msg": msg, "thread": True}))
        worker.start()
        worker.join()
        return "ok"

    @app.route("/disconnects")
    def disconnects() -> Response:
        return jsonify(DISCONNECTS)

    @app.route("/stream")
    def stream() -> Response:
        def generate() -> Any:
            for i in range(3):
                yield f"chunk {i}\n"
                socketio.sleep(0.01)

        return Response(stream_with_context(generate()), mimetype="text/plain")

    @app.route("/body", methods=["POST"])
    def body() -> Response:
        return jsonify({"length": len(request.get_data()), "form": request.form.to_dict(),
                        "json": request.get_json(silent=True)})

    @app.route("/big")
    def big() -> Response:
        return Response(b"x" * (3 * 1024 * 1024), mimetype="application/octet-stream")

    socketio.init_app(app)
    return app


# ----------------------------------------------------------------- namespace "/"


@socketio.on("connect")
def on_connect(auth: dict[str, Any] | None) -> Any:
    token = (auth or {}).get("token")
    if token == "bad":
        raise ConnectionRefusedError("unauthorized", {"hint": "send a good token"})
    if token == "false":
        return False
    g.seen = "connect"
    emit("welcome", {
        "sid": request.sid,  # type: ignore[attr-defined]
        "namespace": request.namespace,  # type: ignore[attr-defined]
        "args": request.args.to_dict(),
        "header": request.headers.get("X-Test"),
        "upgrade": request.headers.get("Upgrade"),
        "user": session.get("user"),
        "remote": request.remote_addr,
        "auth": auth,
        "app": current_app.name,
        "g": g.seen,
    })
    return None


@socketio.on("disconnect")
def on_disconnect(reason: str) -> None:
    DISCONNECTS.append(["/", request.sid, reason])  # type: ignore[attr-defined]


@socketio.on("echo")
def echo(data: Any) -> None:
    emit("echo", data)


@socketio.on("echo_ack")
def echo_ack(*args: Any) -> Any:
    return args  # several values: the ack carries them all


@socketio.on("bcast")
def bcast(data: Any) -> None:
    emit("bcast", data, broadcast=True)


@socketio.on("bcast_others")
def bcast_others(data: Any) -> None:
    emit("bcast", data, broadcast=True, include_self=False)


@socketio.on("join")
def join(room: str) -> list[str]:
    join_room(room)
    return rooms()


@socketio.on("leave")
def leave(room: str) -> list[str]:
    leave_room(room)
    return rooms()


@socketio.on("to_room")
def to_room(room: str, data: Any) -> None:
    emit("room_msg", data, to=room)


@socketio.on("to_room_others")
def to_room_others(room: str, data: Any) -> None:
    emit("room_msg", data, to=room, include_self=False)


@socketio.on("close")
def close(room: str) -> None:
    close_room(room)


@socketio.on("send_text")
def send_text(text: str) -> None:
    send(text)


@socketio.on("send_json")
def send_json(obj: Any) -> None:
    send(obj, json=True)


@socketio.on("message")
def message(data: Any) -> None:
    send({"echo": data} if not isinstance(data, str) else "echo: " + data)


@socketio.on("json")
def json_message(data: Any) -> None:
    send(data, json=True)


@socketio.on("disconnect_me")
def disconnect_me() -> None:
    disconnect()


@socketio.on("fail")
def fail(detail: str) -> None:
    raise ValueError(detail)


@socketio.on_error()
def error_root(exc: Exception) -> dict[str, str]:
    emit("error_seen", {"error": str(exc), "event": request.event["message"]})  # type: ignore[attr-defined]
    return {"error": f"{type(exc).__name__}: {exc}"}


@socketio.on("set_session")
def set_session(value: Any) -> None:
    session["value"] = value


@socketio.on("get_session")
def get_session() -> dict[str, Any]:
    return {"value": session.get("value"), "user": session.get("user")}


@socketio.on("context")
def context() -> dict[str, Any]:
    g.x = 42
    return {"g": g.x, "app": current_app.name, "sid": request.sid,  # type: ignore[attr-defined]
            "namespace": request.namespace, "path": request.path,  # type: ignore[attr-defined]
            "args": request.args.to_dict()}


@socketio.on("ask")
def ask(question: Any) -> None:
    asker = request.sid  # type: ignore[attr-defined]

    def answered(*answer: Any) -> None:
        # Runs in the asking client's request context.
        emit("answered", {"answer": list(answer), "same_sid": request.sid == asker})  # type: ignore[attr-defined]

    emit("question", question, callback=answered)


@socketio.on("call_client")
def call_client(question: Any) -> Any:
    try:
        return {"answer": call("question", question, timeout=5)}
    except TimeoutError:
        return {"answer": "timeout"}


@socketio.on("bg")
def background(tag: str) -> None:
    sid = request.sid  # type: ignore[attr-defined]

    def task() -> None:
        socketio.sleep(0.05)
        socketio.emit("bg_done", {"tag": tag}, to=sid)

    socketio.start_background_task(task)


@socketio.on("thread_emit")
def thread_emit_from_handler(tag: str) -> None:
    sid = request.sid  # type: ignore[attr-defined]

    def work() -> None:
        time.sleep(0.02)  # a real, blocking sleep: this is an OS thread
        socketio.emit("thread", {"msg": tag, "thread": True}, to=sid)

    threading.Thread(target=work, daemon=True).start()


@socketio.on("news")
def news(text: str) -> None:
    # From a "/" handler into another namespace: everyone in /chat.
    emit("news", text, namespace="/chat", broadcast=True)


@socketio.on("tuple_args")
def tuple_args() -> None:
    emit("two", (1, "two"))  # a tuple is spread: two arguments


@socketio.on("*")
def catch_all(event: str, *args: Any) -> None:
    emit("caught", {"event": event, "args": list(args)})


@socketio.event
def decorated(data: Any) -> str:
    return f"decorated {data}"


def explicit(data: Any) -> str:
    return f"explicit {data}"


socketio.on_event("explicit", explicit)


# ------------------------------------------------------------ namespace "/chat"


class Chat(Namespace):
    def on_connect(self) -> None:
        emit("chat_welcome", {"namespace": request.namespace, "sid": request.sid})  # type: ignore[attr-defined]

    def on_disconnect(self, reason: str) -> None:
        DISCONNECTS.append(["/chat", request.sid, reason])  # type: ignore[attr-defined]

    def on_say(self, text: str) -> str:
        emit("said", text, broadcast=True)
        return "ok"

    def on_shout(self, text: str) -> None:
        self.emit("shouted", {"text": text})  # Namespace.emit: everyone in /chat

    def on_rooms(self) -> list[str]:
        join_room("lobby")
        return rooms()

    def on_boom(self) -> None:
        raise RuntimeError("chat boom")


socketio.on_namespace(Chat("/chat"))


@socketio.on_error_default
def error_default(exc: Exception) -> str:
    return f"default: {exc}"


# ------------------------------------------------------------ namespace "/private"


@socketio.on("connect", namespace="/private")
def private_connect() -> bool:
    return request.args.get("key") == "open"
