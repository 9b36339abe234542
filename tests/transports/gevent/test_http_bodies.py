"""Request bodies and the strict head checks, over in-memory streams.

Bodies: a body the server wants is read exactly (never past its end), within
``request_timeout`` in all; a body nobody wants is dropped when it is already
buffered and otherwise never waited for: the answer says ``Connection:
close`` and the connection ends. Heads: what h11 would accept but RFC 9112
lets us refuse (bare LF, obs-fold, control characters, Content-Length beside
Transfer-Encoding) is answered 400 at once, and the connection closed.
"""

from __future__ import annotations

import gc
import tracemalloc
from typing import Iterator

import gevent
import gevent.event
import pytest

from engineio import Config
from socketio_core.echo import EngineEcho
from transports import EngineServer, HttpConnection, HttpLimits, HttpRequest, Server, not_found

from .._memsock import MemorySocket, parse_responses, request

pytestmark = pytest.mark.timeout(30)

REQ_C = request("GET", "/c")


class AnsweringSocket(MemorySocket):
    """A MemorySocket that says when the server first wrote to it."""

    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        self.answered = gevent.event.Event()

    def send(self, data: bytes) -> int:
        sent = super().send(data)
        self.answered.set()
        return sent


def echo_app(http: HttpConnection, req: HttpRequest) -> bool:
    """Answers with the method, the target and the body it read."""
    body = http.read_body(req, 1_000_000)
    http.respond(200, [("Content-Type", "text/plain")], f"{req.method} {req.target} ".encode() + body)
    return True


@pytest.fixture
def engine() -> Iterator[EngineServer]:
    server = EngineServer(EngineEcho(), Config(max_payload=1000, ping_interval=30, ping_timeout=30))
    yield server
    server.scheduler.stop()


def start(
    engine: EngineServer, sock: MemorySocket, app: object = echo_app, **limits: float
) -> gevent.Greenlet:
    server = Server(engine, app, limits=HttpLimits(**limits))  # type: ignore[arg-type]
    http = HttpConnection(sock, ("127.0.0.1", 1), server.limits)
    return gevent.spawn(server.serve_connection, http)


def finish(worker: gevent.Greenlet, within: float = 5.0) -> None:
    worker.join(within)
    assert worker.dead, "serve_connection did not return"
    worker.get()


def answered_at_once(
    engine: EngineServer, data: bytes, app: object = echo_app, **limits: float
) -> AnsweringSocket:
    """Serve ``data`` on a connection the client keeps open; the answer must come within 2 s.

    The defaults leave header_timeout and body_timeout long (10 s, 30 s), so
    an answer within 2 s is not a timeout's. The client then closes.
    """
    sock = AnsweringSocket([data], eof=False)
    worker = start(engine, sock, app, **limits)
    assert sock.answered.wait(2.0), "no answer while the client waits"
    sock.end()
    finish(worker)
    return sock


# ---------------------------------------------------------------- strict heads


@pytest.mark.parametrize("raw", [
    # RFC 9112 6.1: both framings; h11 would go by Transfer-Encoding.
    b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
    b"POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\nContent-Length: 0\r\n\r\n0\r\n\r\n",
    # obs-fold inside Content-Length: h11 unfolds it to "5"
    b"POST /x HTTP/1.1\r\nHost: t\r\nContent-Length:\r\n 5\r\n\r\nhello",
    # a folded Transfer-Encoding: h11 unfolds it and waits for chunks forever
    b"POST /x HTTP/1.1\r\nHost: t\r\nTransfer-Encoding:\r\n chunked\r\n\r\n",
    b"GET /x HTTP/1.1\r\nHost: t\r\nX-Folded: a\r\n\tb\r\n\r\n",
    # DEL and other controls in a value: h11 accepts them
    b"GET /x HTTP/1.1\r\nHost: t\r\nX-A: a\x7fb\r\n\r\n",
    b"GET /x HTTP/1.1\r\nHost: t\r\nOrigin: http://a\x1b[2J\r\n\r\n",
    b"GET /x HTTP/1.1\r\nHost: t\r\nX-A: a\x00b\r\n\r\n",
    # a CR alone inside a line
    b"GET /x HTTP/1.1\r\nHost: t\r\nX-A: a\rb\r\n\r\n",
    # bare LF: complete for a lenient client, never for our CRLF CRLF search
    b"GET /x HTTP/1.1\nHost: t\n\n",
    b"GET /x HTTP/1.1\r\nHost: t\n\r\n",
    b"GET /x HTTP/1.1\r\nHost: t\r\n\n",
    # bare LF inside a head that does end in CRLF CRLF
    b"GET /x HTTP/1.1\nHost: t\r\n\r\n",
], ids=[
    "cl-and-te", "te-and-cl", "folded-cl", "folded-te", "folded-other", "del", "escape",
    "nul", "bare-cr", "bare-lf", "bare-lf-end-1", "bare-lf-end-2", "bare-lf-line",
])
def test_a_head_h11_would_accept_is_refused_400_at_once(engine: EngineServer, raw: bytes) -> None:
    sock = answered_at_once(engine, raw + REQ_C)
    responses = parse_responses(sock.sent)
    assert [r.status for r in responses] == [400]  # REQ_C after it is never served
    assert responses[0].headers.get("connection") == "close"


def test_the_strict_checks_leave_ordinary_heads_alone(engine: EngineServer) -> None:
    """HTAB and obs-text in values, HTTP/1.0, a chunked body: still served (h11's path)."""
    raw = (
        b"GET /a HTTP/1.1\r\nHost: t\r\nX-Tab: a\tb\r\nX-Latin: caf\xe9\r\n\r\n"
        b"POST /b HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nok\r\n0\r\n\r\n"
        b"GET /c HTTP/1.0\r\nHost: t\r\n\r\n"
    )
    sock = MemorySocket([raw])
    finish(start(engine, sock))
    assert [r.body for r in parse_responses(sock.sent)] == [b"GET /a ", b"POST /b ok", b"GET /c "]


# --------------------------------------------------------------------- bodies


def test_a_body_is_read_exactly_however_it_is_cut(engine: EngineServer) -> None:
    body = bytes(range(256)) * 40
    data = request("POST", "/p", body) + REQ_C
    head_size = data.index(b"\r\n\r\n") + 4
    pieces = [data[:head_size + 3]] + [data[i:i + 7] for i in range(head_size + 3, len(data), 7)]
    sock = MemorySocket(pieces)
    finish(start(engine, sock))
    assert [r.body for r in parse_responses(sock.sent)] == [b"POST /p " + body, b"GET /c "]


def test_a_body_read_stops_at_its_end(engine: EngineServer) -> None:
    """Reads never take bytes past the body: what follows is the next request's."""
    seen: list[int] = []

    def app(http: HttpConnection, req: HttpRequest) -> bool:
        http.read_body(req, 1_000_000)
        seen.append(sock.bytes_read)
        http.respond(200, [], b"")
        return False

    head = request("POST", "/p", b"x" * 5000)[:-5000]
    sock = MemorySocket([head, b"x" * 2000, b"x" * 3000 + REQ_C])
    finish(start(engine, sock, app))
    assert seen == [len(head) + 5000]


def test_a_body_over_the_limit_is_413_before_it_is_read(engine: EngineServer) -> None:
    def app(http: HttpConnection, req: HttpRequest) -> bool:
        from transports._request import BodyTooLarge
        try:
            http.read_body(req, 100)
        except BodyTooLarge:
            http.respond(413, [], b"", close=True)
            return False
        raise AssertionError("read a body over the limit")

    head = b"POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999\r\n\r\n"
    sock = answered_at_once(engine, head + b"x" * 10, app)
    assert [r.status for r in parse_responses(sock.sent)] == [413]
    assert sock.bytes_read <= len(head) + 10


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_an_unwanted_body_is_not_waited_for(engine: EngineServer, framing: str) -> None:
    """A 404 on a body still coming: answered at once with Connection: close."""
    if framing == "length":
        raw = b"POST /nowhere HTTP/1.1\r\nHost: t\r\nContent-Length: 99999999999999999\r\n\r\nxxxx"
    else:
        raw = b"POST /nowhere HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n10000\r\nxxxx"
    sock = answered_at_once(engine, raw, not_found)
    responses = parse_responses(sock.sent)
    assert [r.status for r in responses] == [404]
    assert responses[0].headers.get("connection") == "close"


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_an_unwanted_body_already_buffered_is_dropped_and_the_connection_kept(
    engine: EngineServer, framing: str
) -> None:
    if framing == "length":
        first = request("POST", "/nowhere", b"GET /evil HTTP/1.1\r\n\r\n")
    else:
        first = b"POST /nowhere HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n"
    sock = MemorySocket([first + REQ_C])
    finish(start(engine, sock, not_found))
    responses = parse_responses(sock.sent)
    assert [r.status for r in responses] == [404, 404]
    assert all("connection" not in r.headers for r in responses)


def test_an_app_that_answers_without_reading_gets_connection_close(engine: EngineServer) -> None:
    """The settling happens when the answer is written, so the answer can say so."""
    def lazy(http: HttpConnection, req: HttpRequest) -> bool:
        http.respond(204, [])
        return True

    raw = b"OPTIONS /x HTTP/1.1\r\nHost: t\r\nContent-Length: 1000\r\n\r\n"
    sock = answered_at_once(engine, raw, lazy)
    responses = parse_responses(sock.sent)
    assert [r.status for r in responses] == [204]
    assert responses[0].headers.get("connection") == "close"


@pytest.mark.parametrize("framing", ["length", "chunked"])
def test_a_dribbled_body_is_cut_at_the_request_timeout(engine: EngineServer, framing: str) -> None:
    """One byte every 20 ms never trips body_timeout (1 s); request_timeout (0.3 s) cuts it: 408."""
    if framing == "length":
        head = b"POST /p HTTP/1.1\r\nHost: t\r\nContent-Length: 100000\r\n\r\n"
    else:
        head = b"POST /p HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n186a0\r\n"
    sock = AnsweringSocket([head], eof=False)
    worker = start(engine, sock, body_timeout=1.0, request_timeout=0.3)
    started = gevent.get_hub().loop.now()

    def dribble() -> None:
        while not sock.closed:
            sock.feed(b"x")
            gevent.sleep(0.02)  # the client's pace: the stimulus, not a wait

    dribbler = gevent.spawn(dribble)
    try:
        assert sock.answered.wait(3.0), "the dribbled body was never cut"
        elapsed = gevent.get_hub().loop.now() - started
        finish(worker)
    finally:
        dribbler.kill()
    assert 0.25 < elapsed < 2.0
    responses = parse_responses(sock.sent)
    assert [r.status for r in responses] == [408]
    assert responses[0].headers.get("connection") == "close"


# ------------------------------------------------------------------ head cache


def _retained_after_one_request(head_padding: int) -> int:
    """Bytes an idle keep-alive connection still holds after one request with a big header."""
    sock = MemorySocket([request("GET", "/a", headers=[("Cookie", "c" * head_padding)])], eof=False)
    limits = HttpLimits()
    http = HttpConnection(sock, ("127.0.0.1", 1), limits)
    gc.collect()
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        req = http.read_request()
        assert req is not None
        http.respond(200, [], b"ok")
        del req
        gc.collect()
        return tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()


def test_an_idle_connection_does_not_keep_a_big_head() -> None:
    small = _retained_after_one_request(100)
    big = _retained_after_one_request(15_000)
    assert big < small + 4096, (small, big)
