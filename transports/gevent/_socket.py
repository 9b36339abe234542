"""One Engine.IO session over real connections: :class:`EngineSocket`.

Strategy, after httpcore: this module translates and waits, it decides nothing
about the protocol. Each request or WebSocket message is handed to the
session; then :meth:`EngineSocket.pump` dispatches the session's events to the
application, writes whatever output is ready to the current transport (the
WebSocket, or the waiting long-poll) and hands the next deadline to the shared
:class:`Scheduler`. Everything runs in gevent greenlets of one thread, and the
session's methods never yield, so no lock is needed. The polling requests are
answered in :mod:`._polling`, the WebSocket carried by :mod:`._ws_session`,
the routing is :mod:`._engine`'s.
"""

from __future__ import annotations

import logging
from time import monotonic
from typing import TYPE_CHECKING, Any, Protocol

import gevent

from engineio import (
    CloseReason,
    MessageReceived,
    Session,
    SessionClosed,
    State,
    UpgradeAborted,
    Upgraded,
    Wire,
)

from .._request import ClientGone, HttpRequest
from ._websocket import WebSocket

if TYPE_CHECKING:
    from ._engine import EngineServer

__all__ = ["EngineSocket", "PollWaiter"]

log = logging.getLogger(__name__)

#: Why an upgrade stops when the client simply went away (logged at DEBUG, not INFO).
_CLIENT_LEFT = frozenset({"session closing", "probe connection closed"})

_CLOSING = (State.CLOSING, State.CLOSED)
#: WebSocket output is written at the end of the hub's loop turn, so packets
#: queued for one client in that turn (several broadcasts, a handler's emits)
#: share one system call; past this many buffered bytes it goes at once.
_COALESCE_BYTES = 65536


class PollWaiter(Protocol):
    """A waiting polling GET: a gevent Event (a greenlet waits) or a parked poll (:mod:`._polling`)."""

    def set(self) -> None: ...


class EngineSocket:
    """One live Engine.IO session and the connection(s) currently carrying it."""

    __slots__ = (
        "sid",
        "session",
        "server",
        "request",
        "scheduled_at",
        "ws",
        "context",
        "probe",
        "poll_waiter",
        "_flushing",
        "_pumping",
        "_queued",
        "jsonp",
        "__weakref__",
    )

    def __init__(self, server: "EngineServer", session: Session, request: HttpRequest) -> None:
        self.sid = session.sid
        self.session = session
        self.server = server
        #: The handshake request (headers, query, remote address).
        self.request = request
        self.scheduled_at: float | None = None
        self.ws: WebSocket | None = None
        #: Free slot for the layer above (the Socket.IO client state).
        self.context: Any = None
        #: The second connection of an upgrade while it is on probation.
        self.probe: WebSocket | None = None
        #: The polling GET waiting for output: set() when there may be some.
        self.poll_waiter: PollWaiter | None = None
        self._flushing = False
        self._pumping = False
        #: Waiting in the server's list of WebSockets to flush at the end of this loop turn.
        self._queued = False
        #: JSONP polling (``j=<index>`` on the handshake): the callback index.
        self.jsonp: str | None = None

    @property
    def transport(self) -> str:
        return self.session.transport

    @property
    def closed(self) -> bool:
        return self.session.state in _CLOSING

    @property
    def writable_now(self) -> bool:
        """Whether a packet sent now would leave at once (volatile emits need it)."""
        if self.session.state in _CLOSING:
            return False
        if self.ws is not None:
            return not self._flushing
        return self.poll_waiter is not None

    # ------------------------------------------------------------- sending

    def send(self, data: str | bytes) -> bool:
        """Queue a message and write it out if the transport can take it now.

        Returns False (and drops the message) once the session is closing.
        """
        session = self.session
        if session.state in _CLOSING:
            return False
        session.send_message(data)
        self._output_ready()
        return True

    def send_encoded(self, wire: Wire) -> bool:
        """Like :meth:`send` for a packet already encoded (``"42[...]"``)."""
        session = self.session
        if session.state in _CLOSING:
            return False
        session.send_encoded(wire)
        self._output_ready()
        return True

    def send_many(self, wires: list[Wire]) -> bool:
        """Queue encoded packets that must travel back to back (attachments)."""
        session = self.session
        if session.state in _CLOSING:
            return False
        for wire in wires:
            session.send_encoded(wire)
            if session.state is State.CLOSED:
                break  # the buffer overflowed: the session dropped the client (slow consumer)
        self._output_ready()
        return session.state not in _CLOSING

    def flush(self) -> None:
        """Write what is queued now rather than at the end of the loop turn.

        What is sent next then travels in a write of its own (WebSocket only:
        a long-poll answers with everything it has anyway).
        """
        if self.ws is not None and not self._flushing:
            self._flush_ws()

    def close(self, reason: CloseReason = CloseReason.FORCED_CLOSE) -> None:
        """Close from the server side: flush, send a close packet, end the session."""
        self.session.close(monotonic(), reason)
        self.pump()

    # ------------------------------------------------------------ plumbing

    def _output_ready(self) -> None:
        if self.ws is not None:
            if self._flushing or self._queued:
                pass  # the busy writer, or the flush at the end of this turn, takes it
            elif self.session.buffered_bytes < _COALESCE_BYTES:
                self._queued = True
                self.server.flush_later(self)
            else:
                self._flush_ws()
        elif self.poll_waiter is not None:
            self.poll_waiter.set()
        if self.session.state is State.CLOSED:
            self.pump()  # the send overflowed the buffer: the session dropped the client

    def flush_queued(self) -> None:
        """The end-of-turn flush :meth:`EngineServer.flush_later` promised (WebSocket only)."""
        self._queued = False
        if self.ws is not None and not self._flushing:
            self._flush_ws()

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
        if session.state is State.CLOSED:
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

    def pump(self) -> None:
        """Dispatch pending events, write ready output, reschedule the next deadline."""
        if self._pumping:
            return
        self._pumping = True
        session = self.session
        try:
            while True:
                event = session.next_event()
                if event is None:
                    if (
                        session.has_output
                        and self.ws is not None
                        and not self._flushing
                        and session.state is not State.CLOSED
                    ):
                        self._pumping = False
                        self._flush_ws()
                        self._pumping = True
                        continue
                    break
                self._dispatch(event)
        finally:
            self._pumping = False
        if session.has_output and self.ws is None and self.poll_waiter is not None:
            self.poll_waiter.set()
        if session.state is not State.CLOSED:
            self.server.scheduler.schedule(self, session.next_deadline())

    def _dispatch(self, event: object) -> None:
        handler = self.server.handler
        if type(event) is MessageReceived:
            try:
                handler.engineio_message(self, event.data)
            except Exception:
                log.exception("message handler failed (session %s)", self.sid)
        elif type(event) is Upgraded:
            self.ws, self.probe = self.probe, None
            if self.poll_waiter is not None:
                self.poll_waiter.set()
            log.debug("session %s upgraded to websocket", self.sid)
        elif type(event) is UpgradeAborted:
            probe, self.probe = self.probe, None
            if probe is not None:
                probe.close()
            # The client leaving (its session closing, its probe closed) is no news;
            # a timeout or a misbehaving probe is (a proxy breaking WebSocket, say).
            level = logging.DEBUG if event.description in _CLIENT_LEFT else logging.INFO
            log.log(level, "upgrade of session %s aborted: %s", self.sid, event.description)
        elif type(event) is SessionClosed:
            self.server.forget(self)
            self.server.scheduler.cancel(self)
            if self.poll_waiter is not None:
                self.poll_waiter.set()
            for ws in (self.ws, self.probe):
                if ws is not None:
                    ws.close()
            log.debug("session %s closed: %s", self.sid, event.reason.value)
            try:
                handler.engineio_session_closed(self, event.reason.value)
            except Exception:
                log.exception("disconnect handler failed (session %s)", self.sid)

    def on_deadline(self, now: float) -> None:
        self.session.handle_timeout(now)
        self.pump()
