"""One Engine.IO session over gevent connections: :class:`EngineSocket`.

The session logic (sending, the pump, what each event means, the WebSocket
and upgrade steps) is shared with every driver
(:class:`transports._esocket.EngineSocketBase`); this module adds how
WebSocket output reaches the socket on gevent: what the socket takes at
once is written from the caller, the rest by a writer greenlet, so a slow
client never blocks a broadcast.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import gevent

from engineio import CloseReason, State

from .._esocket import EngineSocketBase, PollWaiter
from .._request import ClientGone
from ._websocket import WebSocket

if TYPE_CHECKING:
    from ._engine import EngineServer

__all__ = ["EngineSocket", "PollWaiter"]

log = logging.getLogger(__name__)

# An Enum member read through its class costs a descriptor call (~0.1-0.4 µs on
# CPython 3.11, several times a global's); the hot paths compare with these
# module constants instead (as engineio's session does).
_CLOSED = State.CLOSED


class EngineSocket(EngineSocketBase):
    """One live Engine.IO session and the gevent connection(s) currently carrying it."""

    __slots__ = ()
    server: "EngineServer"
    ws: WebSocket | None
    probe: WebSocket | None

    def send_frame(self, frame: bytes) -> bool:
        """A broadcast's fast path, beside :meth:`_flush_ws` (its general path): one ready frame, now.

        Declines (False, nothing written) unless the session may be written
        through (open on WebSocket, nothing buffered), no write of ours is
        under way or promised for the end of this turn, and the WebSocket can
        take a frame from the hub (:meth:`WebSocket.send_frame_now`). Then
        what the socket does not take at once goes to the writer greenlet, as
        :meth:`_flush_ws` does with its rest, and what is sent after queues
        behind it. ``tests/socketio_core/server/test_broadcast_frames.py``
        holds it to the general path.
        """
        if self._flushing or self._queued or not self.session.may_write_through():
            return False
        ws = self.ws
        if ws is None:
            return False
        rest = ws.send_frame_now(frame)
        if rest is None:
            return False
        if rest:
            self._flushing = True
            gevent.spawn(self._write_backlog, ws, rest)
        return True

    def _flush_ws(self) -> None:
        """Write buffered packets without ever blocking the caller.

        What the socket does not take at once goes to a writer greenlet;
        meanwhile new packets wait in the session's (bounded) buffer, and a
        client that never catches up is dropped as a slow consumer.
        """
        if self._flushing:
            return  # a writer is busy; it picks the new packets up
        ws = self.ws
        session = self.session
        assert ws is not None
        self._flushing = True
        try:
            # One drain: try_send never yields, so nothing can queue behind it.
            items = session.drain_frames()
            if items:
                rest = ws.try_send(ws.encode(items))
                if rest:
                    gevent.spawn(self._write_backlog, ws, rest)
                    return  # still flushing: the writer clears the flag
        except (OSError, ClientGone):
            session.transport_closed(CloseReason.TRANSPORT_ERROR)
        self._flushing = False
        if session.state is _CLOSED:
            self.pump()

    def _write_backlog(self, ws: WebSocket, data: bytes) -> None:
        session = self.session
        try:
            while data:
                ws.send_blocking(data)
                items = session.drain_frames()
                data = ws.encode(items) if items else b""
        except (OSError, ClientGone):
            session.transport_closed(CloseReason.TRANSPORT_ERROR)
        finally:
            self._flushing = False
        self.pump()
