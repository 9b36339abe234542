"""Flask-SocketIO behaviours and options an app switching over relies on (issue 15)."""

from __future__ import annotations

import logging
import os
import ssl
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, request

from socketio_core.flask import Namespace, SocketIO, emit, send
from socketio_core.server import MemoryAdapter
from tests.conftest import free_port


def test_send_with_json_true_sends_a_json_event() -> None:
    app = Flask(__name__)
    socketio = SocketIO(app)

    @socketio.on("go")
    def go() -> None:
        send({"a": 1}, json=True)
        socketio.send({"b": 2}, json=True, to=request.sid)  # type: ignore[attr-defined]
        send("plain")

    client = socketio.test_client(app)
    client.emit("go")
    assert [(m["name"], m["args"]) for m in client.get_received()] == [
        ("json", {"a": 1}), ("json", {"b": 2}), ("message", "plain")]


def test_namespace_class_has_call_and_the_server_side_session() -> None:
    app = Flask(__name__)
    socketio = SocketIO(app)

    class Chat(Namespace):
        def on_ask(self) -> Any:
            sid = request.sid  # type: ignore[attr-defined]
            self.save_session(sid, {"n": 1})
            with self.session(sid) as stored:
                stored["n"] += 1
            return [self.call("question", "why?"), self.get_session(sid)]

    socketio.on_namespace(Chat("/chat"))
    client = socketio.test_client(app, namespace="/chat")
    client.on("question", lambda text: text.upper(), namespace="/chat")
    assert client.emit("ask", callback=True, namespace="/chat") == ["WHY?", {"n": 2}]


class CountingAdapter(MemoryAdapter):
    """Counts the emits that went through the adapter (to the other servers, with Redis)."""

    def __init__(self) -> None:
        super().__init__()
        self.broadcasts = 0

    def broadcast(self, *args: Any, **kwargs: Any) -> None:
        self.broadcasts += 1
        super().broadcast(*args, **kwargs)


def test_emit_with_ignore_queue_reaches_local_clients_without_the_adapter() -> None:
    app = Flask(__name__)
    adapter = CountingAdapter()
    socketio = SocketIO(app, adapter=adapter)

    @socketio.on("local")
    def local(data: Any) -> None:
        emit("got", data, ignore_queue=True, broadcast=True)
        socketio.emit("got", data + 1, ignore_queue=True)

    client = socketio.test_client(app)
    client.emit("local", 1)
    assert [m["args"] for m in client.get_received()] == [[1], [2]]
    assert adapter.broadcasts == 0
    socketio.emit("got", 3)  # without it: through the adapter
    assert [m["args"] for m in client.get_received()] == [[3]]
    assert adapter.broadcasts == 1


def test_socketio_reason_names_the_disconnect_reasons() -> None:
    app = Flask(__name__)
    socketio = SocketIO(app)
    reasons: list[str] = []

    @socketio.on("disconnect")
    def gone(reason: str) -> None:
        reasons.append(reason)

    client = socketio.test_client(app)
    client.disconnect()
    assert reasons == [SocketIO.reason.CLIENT_DISCONNECT]
    assert socketio.reason.PING_TIMEOUT == "ping timeout"
    assert socketio.reason.TRANSPORT_CLOSE == "transport close"


def test_python_engineio_options_are_taken() -> None:
    app = Flask(__name__)
    socketio = SocketIO(app, ping_interval=(10, 5), ping_timeout=8, max_http_buffer_size=1234,
                        async_handlers=True)
    eio = socketio.server.eio
    assert (eio.ping_interval, eio.ping_timeout, eio.max_http_buffer_size) == (10, 13, 1234)
    with pytest.raises(ValueError):
        SocketIO(Flask(__name__), ping_interval=(1, 2, 3))


def test_namespaces_option_accepts_namespaces_without_handlers() -> None:
    app = Flask(__name__)
    listed = SocketIO(app, namespaces=["/", "/extra"])
    client = listed.test_client(app, namespace="/extra")
    assert client.is_connected("/extra")
    client.connect("/other")
    assert not client.is_connected("/other")
    app = Flask(__name__)
    every = SocketIO(app, namespaces="*")
    client = every.test_client(app, namespace="/anything")
    assert client.is_connected("/anything")


def test_logger_objects_receive_the_library_records() -> None:
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    mine = logging.getLogger("test.flask.mine")
    mine.setLevel(logging.DEBUG)
    mine.addHandler(Keep())
    mine.propagate = False
    package = logging.getLogger("socketio_core")
    saved = (list(package.handlers), package.level, package.propagate)
    try:
        app = Flask(__name__)
        socketio = SocketIO(app, logger=mine)

        @socketio.on("fail")
        def fail() -> None:
            raise RuntimeError("handler broke")

        client = socketio.test_client(app)
        with pytest.raises(RuntimeError):
            client.emit("fail")
        assert any("fail" in r.getMessage() and r.name.startswith("socketio_core") for r in records)
    finally:
        package.handlers[:] = saved[0]
        package.setLevel(saved[1])
        package.propagate = saved[2]


def test_run_refuses_unknown_keywords() -> None:
    app = Flask(__name__)
    socketio = SocketIO(app)
    with pytest.raises(TypeError, match="'worker_count'"):
        socketio.run(app, worker_count=4)
    with pytest.raises(TypeError, match="ssl_context"):
        socketio.run(app, ssl_context="adhoc")


TLS_APP = textwrap.dedent('''
    import os, sys
    from flask import Flask
    from socketio_core.flask import SocketIO

    app = Flask(__name__)
    socketio = SocketIO(app)

    @app.route("/hello")
    def hello():
        return "secure"

    socketio.run(app, port=int(os.environ["PORT"]), ssl_context=(sys.argv[1], sys.argv[2]),
                 allow_unsafe_werkzeug=True)
''')


def test_run_serves_tls_with_an_ssl_context_pair(tmp_path: Path) -> None:
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1"],
        check=True, capture_output=True,
    )
    app_file = tmp_path / "tls_app.py"
    app_file.write_text(TLS_APP)
    port = free_port()
    env = {**os.environ, "PORT": str(port)}
    proc = subprocess.Popen([sys.executable, str(app_file), str(cert), str(key)], cwd=tmp_path, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        assert proc.stdout is not None
        for line in proc.stdout:  # wait for the startup line
            if "Running on" in line:
                assert "https://" in line
                break
        context = ssl.create_default_context()
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        body = urllib.request.urlopen(f"https://127.0.0.1:{port}/hello", context=context, timeout=5).read()
        assert body == b"secure"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_auth_is_none_when_the_client_sent_none() -> None:
    app = Flask(__name__)
    socketio = SocketIO(app)
    seen: list[Any] = []

    @socketio.on("connect")
    def connect(auth: Any) -> None:
        seen.append(auth)

    class Chat(Namespace):
        def on_connect(self, auth: Any) -> None:
            seen.append(("chat", auth))

    socketio.on_namespace(Chat("/chat"))
    socketio.test_client(app)
    socketio.test_client(app, auth={})
    socketio.test_client(app, auth={"token": 1})
    socketio.test_client(app, namespace="/chat")
    assert seen == [None, {}, {"token": 1}, ("chat", None)]
