"""Bodies read through WSGI (``WsgiExchange.read_body``) are bounded like native ones.

A declared length over the limit is refused before a byte is read, a body of
unknown length is refused as soon as it passes the limit, and a body that
dribbles is cut at ``request_timeout`` (gevent's pywsgi has no body timeout
of its own). The input stream is scripted: no server, no socket.
"""

from __future__ import annotations

import gevent
import pytest

from transports import HttpLimits
from transports._request import BodyTooLarge, ClientGone
from transports.gevent._wsgi import WsgiExchange, request_from_environ

pytestmark = pytest.mark.timeout(30)


class Input:
    """A ``wsgi.input`` that hands out ``pieces`` one per read, after ``pause`` seconds each."""

    def __init__(self, pieces: list[bytes], pause: float = 0.0) -> None:
        self.pieces = list(pieces)
        self.pause = pause
        self.asked = 0

    def read(self, size: int) -> bytes:
        self.asked += 1
        if self.pause:
            gevent.sleep(self.pause)  # the client's pace: the stimulus, not a wait
        if not self.pieces:
            return b""
        piece = self.pieces.pop(0)
        if len(piece) > size:
            self.pieces.insert(0, piece[size:])
        return piece[:size]


def exchange(stream: Input, length: int | None, **limits: float) -> tuple[WsgiExchange, object]:
    environ = {"REQUEST_METHOD": "POST", "PATH_INFO": "/socket.io/", "wsgi.input": stream}
    if length is not None:
        environ["CONTENT_LENGTH"] = str(length)
    return WsgiExchange(environ, HttpLimits(**limits)), request_from_environ(environ)


def test_a_body_is_read_whole() -> None:
    wsgi, request = exchange(Input([b"ab", b"cd", b"e"]), 5)
    assert wsgi.read_body(request, 100) == b"abcde"  # type: ignore[arg-type]


def test_a_declared_length_over_the_limit_is_refused_before_reading() -> None:
    stream = Input([b"x" * 10])
    wsgi, request = exchange(stream, 10**17)
    with pytest.raises(BodyTooLarge):
        wsgi.read_body(request, 100)  # type: ignore[arg-type]
    assert stream.asked == 0


def test_a_body_of_unknown_length_is_refused_once_past_the_limit() -> None:
    stream = Input([b"x" * 60] * 100)
    wsgi, request = exchange(stream, None)
    with pytest.raises(BodyTooLarge):
        wsgi.read_body(request, 100)  # type: ignore[arg-type]
    assert stream.asked == 2


def test_a_dribbled_body_is_cut_at_the_request_timeout() -> None:
    stream = Input([b"x"] * 1000, pause=0.02)
    wsgi, request = exchange(stream, 1000, request_timeout=0.3)
    with pytest.raises(ClientGone) as caught:
        wsgi.read_body(request, 10_000)  # type: ignore[arg-type]
    assert caught.value.status == 408
    assert 5 < stream.asked < 100
