"""What the in-hub differential tests share: an echo handler, a settle loop, a served session.

Each of them (``test_hub_polling``, ``test_repeat_route``) drives one
Engine.IO polling session over :class:`MemorySocket` connections served by
a real :class:`~transports.Server` in this process and compares the bytes
written by two variants of the server; the harness is written once so that
both compare the same way.
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from typing import Any, Iterator

import gevent

from transports import EngineServer, EngineSocket, Server

from .._memsock import MemorySocket


class Echo:
    """An Engine.IO handler that sends every message back."""

    def engineio_session_opened(self, socket: EngineSocket) -> None: ...

    def engineio_message(self, socket: EngineSocket, data: str | bytes) -> None:
        socket.send(data)

    def engineio_session_closed(self, socket: EngineSocket, reason: str) -> None: ...


class ErrorLog(logging.Handler):
    """Collects what the server logs at ERROR: an exception caught in the hub (an illegal
    ownership move, say) is logged there, not raised into the test."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


def settle(socks: dict[str, MemorySocket]) -> None:
    """Let the hub run until nothing moves: every greenlet waits, every callback ran."""
    last: tuple[tuple[int, int], ...] | None = None
    while True:
        gevent.idle()
        now = tuple((len(s.sent), s.bytes_read) for s in socks.values())
        if now == last:
            return
        last = now


def server_op(engine: EngineServer, sid: str, op: tuple[Any, ...]) -> None:
    """A server-side step: ``("push", size)`` sends that many bytes, anything else closes."""
    esock = engine.sessions.get(sid)
    if esock is not None:
        if op[0] == "push":
            esock.send("x" * op[1])
        else:
            esock.close()


class Served:
    """What :func:`serving` tells after the client left: the connections the server still counts."""

    open_connections = -1


@contextmanager
def serving(engine: EngineServer, server: Server, socks: dict[str, MemorySocket]) -> Iterator[Served]:
    """Serve ``socks`` (one greenlet each); on leaving, the client ends every connection and
    nothing may have been logged at ERROR or raised in a greenlet."""
    workers = [gevent.spawn(server._handle, sock, ("127.0.0.1", n)) for n, sock in enumerate(socks.values())]
    errors = ErrorLog()
    logging.getLogger("transports").addHandler(errors)
    served = Served()
    try:
        yield served
        for sock in socks.values():
            sock.end()
        settle(socks)
        served.open_connections = server.connections
        assert not errors.records, [r.getMessage() for r in errors.records]
        assert not [w.exception for w in workers if w.dead and w.exception is not None]
    finally:
        logging.getLogger("transports").removeHandler(errors)
        engine.close_all()
        engine.scheduler.stop()
        gevent.killall(workers)
