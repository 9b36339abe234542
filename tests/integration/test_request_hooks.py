"""Node's engine hooks: headers on the handshake and on every response, and allow_request.

engine.io-client's "should send cookies with withCredentials: true" needs
the handshake's ``Set-Cookie`` headers its support server adds through
``initial_headers``; socket.io-client's support server delays every
handshake in ``allowRequest``. The server here (_hooks_server.py) waits
50 ms in ``allow_request`` with a gevent sleep.
"""

from __future__ import annotations

import base64
import http.client
import os
import socket
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Iterator

import pytest

from tests.conftest import ROOT, free_port

from ._eio import Eio
from ._wsclient import WsClosed


@pytest.fixture(scope="module")
def hooks() -> Iterator[Eio]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "integration" / "_hooks_server.py"), str(port)],
        cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    listening = threading.Event()
    output: list[str] = []

    def drain() -> None:
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line)
            if line.startswith("listening on"):
                listening.set()

    threading.Thread(target=drain, daemon=True).start()
    try:
        assert listening.wait(20), "".join(output)
        yield Eio(port, "/socket.io/")
    finally:
        proc.terminate()
        proc.wait(10)
    assert "Traceback" not in "".join(output), "".join(output)


def _handshake(eio: Eio, query: str = "") -> http.client.HTTPResponse:
    conn = http.client.HTTPConnection("127.0.0.1", eio.port, timeout=10)
    conn.request("GET", eio.url("EIO=4&transport=polling" + query))
    resp = conn.getresponse()
    resp.read()
    conn.close()
    return resp


def test_initial_headers_go_on_the_handshake_only(hooks: Eio) -> None:
    resp = _handshake(hooks)
    assert resp.status == 200
    assert resp.msg.get_all("Set-Cookie") == ["a=1; Path=/", "b=2; Path=/"]
    assert resp.getheader("X-Every") == "yes"
    sid, _ = hooks.handshake()
    assert hooks.post(sid, "40").body == b"ok"
    poll = hooks.poll(sid, timeout=5)  # the CONNECT reply
    assert poll.body.startswith(b"40")
    assert "set-cookie" not in poll.headers
    assert poll.headers.get("x-every") == "yes"


def test_headers_go_on_posts_too(hooks: Eio) -> None:
    sid, _ = hooks.handshake()
    resp = hooks.post(sid, "40")
    assert resp.body == b"ok"
    assert resp.headers.get("x-every") == "yes"


@pytest.mark.parametrize(
    ("query", "status", "body"),
    [
        ("&deny=1", 403, b'{"code":4,"message":"Forbidden"}'),
        ("&deny_msg=1", 403, b'{"code":4,"message":"not you"}'),
        ("&deny_status=1", 401, b'{"code":4,"message":"who are you"}'),
    ],
)
def test_allow_request_refuses_a_handshake(hooks: Eio, query: str, status: int, body: bytes) -> None:
    resp = hooks.request("GET", "EIO=4&transport=polling" + query)
    assert resp.status == status
    assert resp.body == body


def test_allow_request_refuses_a_websocket_handshake(hooks: Eio) -> None:
    with pytest.raises(Exception) as info:
        client = hooks.ws("EIO=4&transport=websocket&deny=1")
        client.recv()
    assert "403" in str(info.value) or isinstance(info.value, WsClosed)


def test_websocket_handshake_gets_the_headers(hooks: Eio) -> None:
    sock = socket.create_connection(("127.0.0.1", hooks.port), timeout=10)
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET {hooks.url('EIO=4&transport=websocket')} HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        chunk = sock.recv(4096)
        assert chunk
        head += chunk
    sock.close()
    lines = head.split(b"\r\n\r\n")[0].split(b"\r\n")
    assert lines[0].startswith(b"HTTP/1.1 101")
    assert b"Set-Cookie: a=1; Path=/" in lines and b"X-Every: yes" in lines


def test_a_waiting_allow_request_holds_up_no_other_client(hooks: Eio) -> None:
    # Twenty handshakes, each waiting 50 ms in allow_request: in parallel
    # they take about 50 ms, not a second, because each waits in its own greenlet.
    start = time.monotonic()
    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(lambda _: _handshake(hooks).status, range(20)))
    assert statuses == [200] * 20
    assert time.monotonic() - start < 0.9
