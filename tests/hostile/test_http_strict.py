"""Heads h11 would take but a careful server refuses, over the wire: 400 at once.

Each target is ``/`` (a 404 when served), so a 400 is the strict check's
answer and nothing else's. The answer must come while the client keeps the
connection open and sends nothing more (the header timeout here is 0.5 s, so
a bare-LF request left waiting would get 408 instead).
"""

from __future__ import annotations

import socket

import pytest

from ._harness import PATH, ServerThread, raw_connect

pytestmark = pytest.mark.timeout(30)

KEY = "dGhlIHNhbXBsZSBub25jZQ=="


def first_answer(server: ServerThread, data: bytes, timeout: float = 2.0) -> bytes:
    """The server's first bytes after ``data``, the client keeping its side open."""
    sock = raw_connect(server.port)
    try:
        sock.sendall(data)
        sock.settimeout(timeout)
        try:
            return sock.recv(65536)
        except socket.timeout:
            return b""
    finally:
        sock.close()


@pytest.mark.parametrize("raw", [
    b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length:\r\n 5\r\n\r\nhello",
    b"POST / HTTP/1.1\r\nHost: x\r\nTransfer-Encoding:\r\n chunked\r\n\r\n",
    b"GET / HTTP/1.1\r\nHost: x\r\nX-A: a\x7fb\r\n\r\n",
    b"GET / HTTP/1.1\nHost: x\n\n",
], ids=["cl-and-te", "folded-cl", "folded-te", "del", "bare-lf"])
def test_a_head_h11_would_accept_is_answered_400(server: ServerThread, raw: bytes) -> None:
    answer = first_answer(server, raw)
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    assert b"\r\nConnection: close\r\n" in answer


def _upgrade(key: str, *extra: str) -> bytes:
    lines = [
        f"GET {PATH}?EIO=4&transport=websocket HTTP/1.1", "Host: x", "Upgrade: websocket",
        "Connection: Upgrade", "Sec-WebSocket-Version: 13", f"Sec-WebSocket-Key: {key}", *extra,
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


@pytest.mark.parametrize("extra", [(), ("Sec-WebSocket-Protocol: chat",)], ids=["fast", "wsproto"])
@pytest.mark.parametrize("key", ["not-a-key", "dGhlIHNhbXBsZSBub25j", KEY + "AAAA"])
def test_a_malformed_websocket_key_is_refused_400(
    server: ServerThread, key: str, extra: tuple[str, ...]
) -> None:
    answer = first_answer(server, _upgrade(key, *extra))
    assert answer.startswith(b"HTTP/1.1 400 "), answer[:200]
    # The same upgrade with a valid key is accepted on that path.
    good = first_answer(server, _upgrade(KEY, *extra))
    assert good.startswith(b"HTTP/1.1 101 "), good[:200]
