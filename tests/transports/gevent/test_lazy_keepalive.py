"""The keep-alive timer of a hub-served connection counts from its last request.

Between the requests of a kept-alive polling client the connection waits in
the hub (``_Watched``) with one keep-alive timer, started when the wait
begins and not re-armed per request: a request only notes its time
(``HttpConnection.last_active``), and the timer, when it fires, waits on for
what is left of the period (``idle_left``). So a connection busy past one
period stays open, and one idle for a whole period after its last request
closes, as when the timer was re-armed each time.
"""

from __future__ import annotations

from time import monotonic

import gevent
import pytest
from gevent.event import Event

from engineio import Config
from transports import EngineServer, EngineSocket, HttpLimits, Server

from .._memsock import MemorySocket, request

pytestmark = pytest.mark.timeout(30)

SID = "lazy-keepalive-sid"
PATH = "/engine.io/"
POLL = f"{PATH}?EIO=4&transport=polling&sid={SID}"
KEEPALIVE = 1.0


class _Quiet:
    def engineio_session_opened(self, socket: EngineSocket) -> None: ...

    def engineio_message(self, socket: EngineSocket, data: str | bytes) -> None: ...

    def engineio_session_closed(self, socket: EngineSocket, reason: str) -> None: ...


class _ClosingSocket(MemorySocket):
    """Says when the server closes it."""

    def __init__(self) -> None:
        super().__init__(eof=False, hub=True)
        self.closed_event = Event()

    def close(self) -> None:
        super().close()
        self.closed_event.set()


def _settle(sock: MemorySocket) -> None:
    last = None
    while (len(sock.sent), sock.bytes_read) != last:
        last = (len(sock.sent), sock.bytes_read)
        gevent.idle()


def test_a_busy_connection_outlives_the_first_period_and_an_idle_one_closes() -> None:
    engine = EngineServer(_Quiet(), Config(ping_interval=600, ping_timeout=600), path=PATH,
                          sid_factory=lambda: SID)
    server = Server(engine, limits=HttpLimits(keepalive_timeout=KEEPALIVE))
    sock = _ClosingSocket()
    worker = gevent.spawn(server._handle, sock, ("127.0.0.1", 1))
    try:
        sock.feed(request("GET", f"{PATH}?EIO=4&transport=polling"))  # the handshake
        _settle(sock)
        post = request("POST", POLL, b"4hi")
        sock.feed(post)  # served by a greenlet: the hub's wait (and its timer) starts after it
        _settle(sock)
        gevent.sleep(KEEPALIVE / 2)
        before = sock.hub_answers
        sock.feed(post)  # half a period later: served from the hub, the timer left running
        _settle(sock)
        last_request = monotonic()
        assert sock.hub_answers == before + 1
        # Past the first period since the wait began: the timer fired and saw the request.
        assert not sock.closed_event.wait(KEEPALIVE * 0.8)
        assert not sock.closed
        # Idle for a whole period after that request: the connection ends.
        assert sock.closed_event.wait(KEEPALIVE * 5)
        assert monotonic() - last_request >= KEEPALIVE * 0.95
        assert sock.sent.count(b"HTTP/1.1 200") == 3
    finally:
        engine.close_all()
        engine.scheduler.stop()
        gevent.kill(worker)
