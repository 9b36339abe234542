"""One Engine.IO session over whatever connections carry it: :class:`EngineSocketBase`.

Strategy, after httpcore: this module translates, it decides nothing about
the protocol and waits for nothing. Each request or WebSocket message is
handed to the session; then :meth:`EngineSocketBase.pump` dispatches the
session's events to the application (what each event means for the
connections: an upgrade swaps the WebSocket in, an aborted one drops the
probe, a close wakes the poll and closes the sockets), writes whatever output
is ready to the current transport (the WebSocket, or the waiting long-poll)
and hands the next deadline to the driver's scheduler. A driver subclasses
it and adds one thing, :meth:`_flush_ws` (how WebSocket output reaches its
socket without blocking the caller). Everything runs on one thread (gevent's
hub, an asyncio loop) and the session's methods never wait, so no lock is
needed.

The WebSocket side of a session is here too, as plain methods a driver's
reader calls: :meth:`on_ws_message`, :meth:`on_ws_end`, and the upgrade's
:meth:`begin_probe` / :meth:`on_probe_message` ([EIO4] "Upgrade").
"""

from __future__ import annotations

import logging
from time import monotonic
from typing import TYPE_CHECKING, Any, Iterable, Protocol

from engineio import (
    CloseReason,
    MessageReceived,
    RemoteProtocolError,
    Session,
    SessionClosed,
    State,
    UpgradeAborted,
    Upgraded,
    Wire,
)

from ._request import ClientGone, HttpRequest

if TYPE_CHECKING:
    from ._routing import EngineCore

__all__ = ["EngineSocketBase", "PollWaiter", "WsLike", "COALESCE_BYTES", "PROBE_GRACE_S"]

log = logging.getLogger(__name__)

#: Why an upgrade stops when the client simply went away (logged at DEBUG, not INFO).
_CLIENT_LEFT = frozenset({"session closing", "probe connection closed"})

_CLOSING = (State.CLOSING, State.CLOSED)
# An Enum member read through its class costs a descriptor call (~0.1-0.4 µs on
# CPython 3.11, several times a global's); the hot paths compare with these
# module constants instead (as engineio's session does).
_CLOSED = State.CLOSED
#: WebSocket output is written at the end of the loop turn, so packets
#: queued for one client in that turn (several broadcasts, a handler's emits)
#: share one system call; past this many buffered bytes it goes at once.
COALESCE_BYTES = 65536
#: Seconds at most a polling GET that arrives while its session upgrades waits
#: for the probe to finish first (:meth:`EngineSocketBase.poll_probe_grace`).
PROBE_GRACE_S = 0.02


class PollWaiter(Protocol):
    """A waiting polling GET: woken with set() when there may be output."""

    def set(self) -> None: ...


class WsLike(Protocol):
    """What the session logic needs of a driver's WebSocket."""

    def send(self, items: Iterable[Wire]) -> None: ...

    def close(self, code: int = 1000, reason: str = "") -> None: ...


class EngineSocketBase:
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

    def __init__(self, server: "EngineCore[Any]", session: Session, request: HttpRequest) -> None:
        self.sid = session.sid
        self.session = session
        self.server: Any = server
        #: The handshake request (headers, query, remote address).
        self.request = request
        self.scheduled_at: float | None = None
        self.ws: Any = None
        #: Free slot for the layer above (the Socket.IO client state).
        self.context: Any = None
        #: The second connection of an upgrade while it is on probation.
        self.probe: Any = None
        #: The polling GET waiting for output: set() when there may be some.
        self.poll_waiter: PollWaiter | None = None
        #: A write of WebSocket output is under way (the driver's writer owns the socket).
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
            if session.state is _CLOSED:
                break  # the buffer overflowed: the session dropped the client (slow consumer)
        self._output_ready()
        return session.state not in _CLOSING

    def send_frame(self, frame: bytes) -> bool:
        """A broadcast's fast path: write one ready WebSocket text frame now, or decline.

        True: written (or its unwritten rest handed to the driver's writer,
        which goes on with what is queued after it). False: nothing written,
        and the caller sends the message the general way (:meth:`send_encoded`).
        A driver that can write a frame without waiting overrides it (and its
        engine's ``claim_frame_turn``, which a broadcast asks first); it writes
        only when the session says so (``Session.may_write_through``) and its
        own writer is idle.
        """
        return False

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

    def _flush_ws(self) -> None:
        """Write buffered WebSocket output without ever blocking the caller (the driver's)."""
        raise NotImplementedError

    def _output_ready(self) -> None:
        if self.ws is not None:
            if self._flushing or self._queued:
                pass  # the busy writer, or the flush at the end of this turn, takes it
            elif self.session.buffered_bytes < COALESCE_BYTES:
                self._queued = True
                self.server.flush_later(self)
            else:
                self._flush_ws()
        elif self.poll_waiter is not None:
            self.poll_waiter.set()
        if self.session.state is _CLOSED:
            self.pump()  # the send overflowed the buffer: the session dropped the client

    def flush_queued(self) -> None:
        """The end-of-turn flush the server's ``flush_later`` promised (WebSocket only)."""
        self._queued = False
        if self.ws is not None and not self._flushing:
            self._flush_ws()

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
                        and session.state is not _CLOSED
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
        if session.state is not _CLOSED:
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
            if self.poll_waiter is not None:
                self.poll_waiter.set()  # a GET letting the probe speak first goes on now
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

    # ------------------------------------------------------------- polling

    def poll_probe_grace(self) -> float:
        """How long at most a polling GET arriving now first lets the upgrade's probe finish (0: not at all).

        A client that sent the upgrade's "5" on its WebSocket and then a GET
        on another connection meant the GET to come after the upgrade (it is
        refused then, as the socket.io-protocol suite expects); but the two
        connections race to us (one epoll turn, an ASGI server's queues), so
        the GET may arrive while the session still upgrades. Such a GET
        waits until :attr:`probe_pending` is False or the grace (``PROBE_GRACE_S``)
        has passed, whichever is first, and only then starts (:meth:`start_poll`).
        Only while a probe is open (a browser pauses polling then anyway), and
        not when a GET is pending already (the new one overlaps: refused at
        once). The driver waits its own way, with :attr:`poll_waiter` set to
        what it waits on: the end of the upgrade (done, aborted, the session
        closed) sets it (other output may too: the driver checks again).
        """
        if self.poll_waiter is None and self.session.state is State.UPGRADING:
            return PROBE_GRACE_S
        return 0.0

    @property
    def probe_pending(self) -> bool:
        """An upgrade is under way (a GET that lets the probe speak waits while it is)."""
        return self.session.state is State.UPGRADING

    def start_poll(self) -> int | None:
        """Let a polling GET begin: None, or the HTTP status refusing it (logged, events pumped)."""
        try:
            self.session.poll_started()
        except RemoteProtocolError as exc:
            return self._refused(exc)
        return None

    def start_post(self) -> int | None:
        """Let a polling POST begin: None, or the HTTP status refusing it (logged, events pumped).

        A refused POST's connection is closed after the answer (its body is not read).
        """
        try:
            self.session.post_started()
        except RemoteProtocolError as exc:
            return self._refused(exc)
        return None

    def _refused(self, exc: RemoteProtocolError) -> int:
        log.info("session %s: %s", self.sid, exc)
        self.pump()
        return exc.http_status

    # ----------------------------------------------------------- WebSocket

    def on_ws_message(self, message: Wire) -> None:
        """One message read from the WebSocket: to the session, then to the application."""
        session = self.session
        text = session.take_message(message)
        if text is not None:
            # A plain text message changes no session state (no deadline, no
            # output): hand it up without the event queue and the pump.
            try:
                self.server.handler.engineio_message(self, text)
            except Exception:
                log.exception("message handler failed (session %s)", self.sid)
            if session.has_events:
                self.pump()
            return
        try:
            session.receive_message(message, monotonic())
        except RemoteProtocolError as exc:
            log.info("session %s: %s", self.sid, exc)
        self.pump()
        if session.state is _CLOSED and self.ws is not None:
            self.ws.close()

    def on_ws_end(self) -> None:
        """The WebSocket carrying the session ended: the session learns it."""
        session = self.session
        if session.state is not _CLOSED:
            session.transport_closed(CloseReason.TRANSPORT_CLOSE)
            self.pump()

    def begin_probe(self, ws: WsLike, *, supports_binary: bool = True) -> bool:
        """A second connection offers an upgrade: False (and ``ws`` closed) when the session refuses."""
        try:
            self.session.begin_upgrade(monotonic(), supports_binary=supports_binary)
        except RemoteProtocolError as exc:
            log.info("session %s: refused a WebSocket: %s", self.sid, exc)
            ws.close()
            return False
        self.probe = ws
        self.pump()
        return True

    def on_probe_message(self, ws: WsLike, message: Wire | None) -> bool:
        """One message (None: the end) of the probing connection; whether probing goes on.

        Once it is over, ``self.ws is ws`` says the upgrade won (the caller
        then carries the session on ``ws``); otherwise the caller closes ``ws``.
        """
        session = self.session
        if message is None:
            session.abort_upgrade("probe connection closed")
            self.pump()
            return False
        session.receive_probe(message, monotonic())
        replies = session.drain_probe()
        if replies:
            try:
                ws.send(replies)
            except (OSError, ClientGone):
                session.abort_upgrade("probe write failed")
        self.pump()
        return self.probe is ws
