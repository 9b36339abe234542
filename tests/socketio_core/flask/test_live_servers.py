"""The feature app served for real, driven by the python-socketio client.

The same app and the same client script (tests/interop/flask_features.py)
run against ``socketio.run`` (our gevent HTTP server: Socket.IO natively, the
Flask routes through the WSGI gateway) and against ``gunicorn -k gevent -w 1``
(everything through ``app.wsgi_app``, which ``SocketIO(app)`` wrapped).
"""

from __future__ import annotations

import http.client
import socket
import urllib.request
from typing import Any, Callable

import pytest

from tests.conftest import run_peer_python

from .conftest import HERE, FlaskServer

APP = HERE / "feature_app.py"
SPEC = "feature_app:create_app()"


@pytest.fixture(scope="module", params=["run", "gunicorn"])
def server(request: Any, module_flask_server: Callable[..., FlaskServer]) -> FlaskServer:
    return module_flask_server(request.param, APP, SPEC)


def test_python_socketio_client(server: FlaskServer) -> None:
    result = run_peer_python("flask_features.py", server.url, timeout=60)
    failed = {name: obs["error"] for name, obs in result.items() if "error" in obs}
    assert not failed, failed

    hs = result["handshake"]
    welcome = hs["welcome"]
    assert welcome["sid"] == hs["sid"] and welcome["namespace"] == "/"
    assert welcome["args"]["room"] == "blue" and welcome["args"]["x"] == "1"
    assert welcome["header"] == "yes"
    assert welcome["user"] == "alice"  # flask.session from the handshake's cookie
    assert welcome["remote"] == "127.0.0.1"
    assert welcome["auth"] == {"token": "good"}
    assert welcome["app"] == "feature_app" and welcome["g"] == "connect"
    assert hs["context"]["sid"] == hs["sid"] and hs["context"]["path"] == "/socket.io/"
    assert hs["context"]["g"] == 42
    assert hs["transport"] == "websocket"  # upgraded from polling

    assert result["refused"] == {
        "bad": {"message": "unauthorized", "data": {"hint": "send a good token"}},
        "false": {"message": "Connection rejected by server"},
    }

    emit = result["emit"]
    assert emit["echo"] == [{"a": [1, 2]}]
    assert emit["ack_many"] == [1, "two"] and emit["ack_one"] == "one"
    assert emit["decorated"] == "decorated x" and emit["explicit"] == "explicit y"
    assert emit["send"] == ["echo: hello"]
    assert emit["send_text"] == ["plain"] and emit["send_json"] == [{"j": True}]
    assert emit["send_binary"] == [{"echo": {"$bin": "0102"}}]
    assert emit["tuple"] == [1, "two"]
    assert emit["caught"] == [{"event": "no such handler", "args": [5]}]

    bc = result["broadcast"]
    assert bc["all"] == [["all"]] * 3
    assert bc["others"] == [["not me"]] * 2 and bc["sender_got_others"] == 0
    assert bc["join_a"] and bc["join_b"] and bc["leave_b"]
    assert bc["room"] == [["hi red"]] * 2 and bc["room_others"] == ["from a"]
    assert bc["after_leave"] == ["after leave"]
    assert bc["counts_after"] == [0, 0, 0, 0]  # nothing after close_room, nothing extra

    dc = result["disconnect"]
    assert dc["client_saw"] == ["server disconnect"]
    # python-socketio sends DISCONNECT then closes at once: either may arrive first.
    assert dc["reasons"][0] == "server namespace disconnect"
    assert dc["reasons"][1] in ("client namespace disconnect", "client disconnect", "transport close")

    assert result["errors"] == {
        "ack": {"error": "ValueError: bad input"},
        "event": [{"error": "bad input", "event": "fail"}],
        "default": "default: chat boom",
    }
    ns = result["namespace"]
    assert ns["welcome"] == [{"namespace": "/chat", "sid": ns["sid"]}]
    assert ns["say_ack"] == "ok" and ns["said"] == [["hey"], ["hey"]]
    assert ns["shouted"] == [[{"text": "HEY"}]] * 2 and ns["rooms"]
    assert ns["news"] == [["from root"]] * 3 and ns["news_route"] == [["from route"]] * 3

    assert result["session"] == {"a": {"value": "for a", "user": "bob"},
                                 "b": {"value": None, "user": "bob"}}
    assert result["callbacks"] == {
        "answered": [{"answer": ["answer to life"], "same_sid": True}],
        "call": {"answer": "answer to q2"},
    }
    ht = result["http_and_threads"]
    assert ht["notify_route"] == "ok" and ht["notify"] == [[{"msg": "route"}]] * 2
    assert ht["direct"] == [[{"msg": "only b"}], ["direct message"]]
    assert ht["thread_route"] == [[{"msg": "from thread", "thread": True}]] * 2
    assert ht["thread_handler"] == [{"msg": "from handler thread", "thread": True}]
    assert ht["bg"] == [{"tag": "tag1"}]
    assert ht["a_extra"] == [0] * 5 and ht["b_extra"] == [0] * 5

    for name in ("polling", "websocket"):
        assert result["transports"][name] == {"echo": [name], "transport": name, "ack": [name, 2]}
    assert result["private"] == {"open": True, "closed": {"message": "Connection rejected by server"}}


def _get(url: str, method: str = "GET", data: bytes | None = None,
         headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], bytes]:
    request = urllib.request.Request(url, data=data, method=method, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, {k.lower(): v for k, v in exc.headers.items()}, exc.read()


def test_flask_routes_static_files_templates_and_the_client_script(server: FlaskServer) -> None:
    assert _get(server.url + "/")[2] == b"feature app"
    status, headers, body = _get(server.url + "/page?name=Ada")
    assert status == 200 and b"Hello Ada" in body and headers["content-type"].startswith("text/html")
    assert _get(server.url + "/static/hello.txt")[2] == b"hello static\n"
    status, headers, body = _get(server.url + "/socket.io.min.js")
    assert status == 200 and headers["content-type"].startswith("application/javascript")
    assert b"io" in body and len(body) > 10_000
    assert _get(server.url + "/missing")[0] == 404
    status, _, body = _get(server.url + "/stream")
    assert status == 200 and body == b"chunk 0\nchunk 1\nchunk 2\n"
    status, _, body = _get(server.url + "/body", "POST", b"a=1&b=two",
                           {"Content-Type": "application/x-www-form-urlencoded"})
    assert status == 200 and b'"form":{"a":"1","b":"two"}' in body.replace(b" ", b"")
    status, _, body = _get(server.url + "/big")
    assert status == 200 and len(body) == 3 * 1024 * 1024
    status, headers, body = _get(server.url + "/static/hello.txt", "HEAD")
    assert status == 200 and body == b"" and headers["content-length"] == "13"


def test_keep_alive_and_streaming_on_one_connection(server: FlaskServer) -> None:
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    try:
        for path in ("/", "/stream", "/static/hello.txt", "/stream", "/"):
            conn.request("GET", path)
            response = conn.getresponse()
            assert response.status == 200
            response.read()
    finally:
        conn.close()


def _read_all(sock: socket.socket) -> bytes:
    chunks = []
    while True:
        data = sock.recv(65536)
        if not data:
            return b"".join(chunks)
        chunks.append(data)


def test_expect_100_continue_and_http_1_0_streaming(server: FlaskServer) -> None:
    body = b"x" * 5000
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(b"POST /body HTTP/1.1\r\nHost: t\r\nContent-Type: application/octet-stream\r\n"
                     b"Content-Length: 5000\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n")
        interim = sock.recv(1024)  # before the body is sent
        assert interim.startswith(b"HTTP/1.1 100 Continue\r\n\r\n"), interim
        sock.sendall(body)
        answer = interim[len(b"HTTP/1.1 100 Continue\r\n\r\n"):] + _read_all(sock)
        assert answer.startswith(b"HTTP/1.1 200") and b'"length":5000' in answer.replace(b" ", b"")
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        # HTTP/1.0 knows no chunked encoding: the streamed body ends with the connection.
        sock.sendall(b"GET /stream HTTP/1.0\r\nHost: t\r\n\r\n")
        answer = _read_all(sock)
        head, _, streamed = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.") and b" 200 " in head.split(b"\r\n")[0]
        assert b"chunked" not in head.lower()
        assert streamed == b"chunk 0\nchunk 1\nchunk 2\n"
