"""Drives :class:`engineio.Session` objects over real connections.

Strategy, after httpcore: this module translates and waits, it decides nothing
about the protocol. Each request or WebSocket message is handed to the
session; then :meth:`EngineSocket.pump` dispatches the session's events to the
application, writes whatever output is ready to the current transport (the
WebSocket, or the waiting long-poll) and hands the next deadline to the shared
:class:`Scheduler`. Everything runs in gevent greenlets of one thread, and the
session's methods never yield, so no lock is needed.
"""

from __future__ import annotations

import gzip
import logging
import secrets
import zlib
from time import monotonic
from typing import Any, Callable, Protocol, Union

import gevent
from gevent.event import Event

from engineio import (
    BAD_REQUEST,
    BINARY_CONTENT_TYPE,
    FORBIDDEN,
    SESSION_ID_UNKNOWN,
    JSONP_CONTENT_TYPE,
    CloseReason,
    Config,
    MessageReceived,
    RemoteProtocolError,
    RequestRejected,
    Session,
    SessionClosed,
    State,
    UpgradeAborted,
    Upgraded,
    check_request,
    decode_jsonp,
    encode_jsonp,
    is_binary_payload,
    jsonp_index,
    live_polling_session,
    reject,
)

from .._cors import AllowedOrigins, CorsPolicy
from .._request import BodyTooLarge, ClientGone, HttpRequest
from ._http import HttpConnection
from ._scheduler import Scheduler
from ._websocket import (
    HandshakeFailed,
    WebSocket,
    reject_websocket,
    start_websocket,
    websocket_response,
)

__all__ = ["EngineHandler", "EngineSocket", "EngineServer"]

log = logging.getLogger(__name__)

Wire = Union[str, bytes]
_CLOSING = (State.CLOSING, State.CLOSED)
#: Seconds a closed polling session answers a racing GET with its final packet.
_LINGER = 1.0
_TEXT_HEADERS = [("Content-Type", "text/plain; charset=UTF-8"), ("Cache-Control", "no-store")]
#: v3 payloads holding binary, for a client that did not ask for b64=1.
_BINARY_HEADERS = [("Content-Type", BINARY_CONTENT_TYPE), ("Cache-Control", "no-store")]
_JSONP_HEADERS = [("Content-Type", JSONP_CONTENT_TYPE), ("Cache-Control", "no-store")]
_JSON_HEADERS = [("Content-Type", "application/json")]
#: The head of a text polling answer, before its CORS headers and Content-Length.
_TEXT_HEAD = (
    b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=UTF-8\r\nCache-Control: no-store\r\n"
)
_OK_HEAD = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\n"
#: WebSocket output is written at the end of the hub's loop turn, so packets
#: queued for one client in that turn (several broadcasts, a handler's emits)
#: share one system call; past this many buffered bytes it goes at once.
_COALESCE_BYTES = 65536


class EngineHandler(Protocol):
    """What the layer above (Socket.IO, or the bare echo) implements."""

    def on_connect(self, socket: "EngineSocket") -> None: ...

    def on_message(self, socket: "EngineSocket", data: str | bytes) -> None: ...

    def on_disconnect(self, socket: "EngineSocket", reason: str) -> None: ...


class _PollWaiter(Protocol):
    """A waiting polling GET: a gevent Event (a greenlet waits) or a :class:`_ParkedPoll`."""

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
        "_probe",
        "_poll_waiter",
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
        self._probe: WebSocket | None = None
        #: The polling GET waiting for output: set() when there may be some.
        self._poll_waiter: _PollWaiter | None = None
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
        return self._poll_waiter is not None

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
        elif self._poll_waiter is not None:
            self._poll_waiter.set()
        if self.session.state is State.CLOSED:
            self.pump()  # the send overflowed the buffer: the session dropped the client

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
        if session.has_output and self.ws is None and self._poll_waiter is not None:
            self._poll_waiter.set()
        if session.state is not State.CLOSED:
            self.server.scheduler.schedule(self, session.next_deadline())

    def _dispatch(self, event: object) -> None:
        handler = self.server.handler
        if type(event) is MessageReceived:
            try:
                handler.on_message(self, event.data)
            except Exception:
                log.exception("message handler failed (session %s)", self.sid)
        elif type(event) is Upgraded:
            self.ws, self._probe = self._probe, None
            if self._poll_waiter is not None:
                self._poll_waiter.set()
            log.debug("session %s upgraded to websocket", self.sid)
        elif type(event) is UpgradeAborted:
            probe, self._probe = self._probe, None
            if probe is not None:
                probe.close()
            log.info("upgrade of session %s aborted: %s", self.sid, event.description)
        elif type(event) is SessionClosed:
            self.server._forget(self)
            self.server.scheduler.cancel(self)
            if self._poll_waiter is not None:
                self._poll_waiter.set()
            for ws in (self.ws, self._probe):
                if ws is not None:
                    ws.close()
            log.debug("session %s closed: %s", self.sid, event.reason.value)
            try:
                handler.on_disconnect(self, event.reason.value)
            except Exception:
                log.exception("disconnect handler failed (session %s)", self.sid)

    def on_deadline(self, now: float) -> None:
        self.session.handle_timeout(now)
        self.pump()

    # ---------------------------------------------------------- transports

    def serve_websocket(self, ws: WebSocket, http: HttpConnection | None = None) -> None:
        """Carry the session over ``ws`` until it closes (native or upgraded).

        Where the socket allows it, messages are read from the hub
        (:meth:`WebSocket.react`). Then, when the connection's owner can let
        it go (``http.release``, our own server), this returns at once and no
        greenlet stays with the connection; otherwise (a WSGI server, which
        closes the socket when we return) it waits here until the end.
        """
        if ws.can_react:
            release = http.release if http is not None else None
            if http is not None and release is not None:
                http.detached = True
                ws.react(self._on_ws_message, lambda: self._on_ws_end(release))
                return
            done = Event()
            ws.react(self._on_ws_message, lambda: self._on_ws_end(done.set))
            done.wait()
            return
        # TLS, permessage-deflate, a socket without gevent's internals: a reader greenlet.
        while self.session.state is not State.CLOSED:
            message = ws.receive()
            if message is None:
                break
            self._on_ws_message(message)
            message = None
            # This reader may see the end of the connection before the hub's
            # end-of-turn flush: what the message produced goes out now.
            self.flush()
        self._on_ws_end(ws.close)

    def _on_ws_message(self, message: Wire) -> None:
        session = self.session
        text = session.take_message(message)
        if text is not None:
            # A plain text message changes no session state (no deadline, no
            # output): hand it up without the event queue and the pump.
            try:
                self.server.handler.on_message(self, text)
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
        if session.state is State.CLOSED and self.ws is not None:
            self.ws.close()

    def _on_ws_end(self, then: Callable[[], None]) -> None:
        session = self.session
        if session.state is not State.CLOSED:
            session.transport_closed(CloseReason.TRANSPORT_CLOSE)
            self.pump()
        then()

    def serve_probe(
        self, ws: WebSocket, http: HttpConnection | None = None, *, supports_binary: bool = True
    ) -> None:
        """Run the upgrade dance on a second connection ([EIO4] "Upgrade")."""
        session = self.session
        try:
            session.begin_upgrade(monotonic(), supports_binary=supports_binary)
        except RemoteProtocolError as exc:
            log.info("session %s: refused a WebSocket: %s", self.sid, exc)
            ws.close()
            return
        self._probe = ws
        self.pump()
        while self._probe is ws:
            message = ws.receive()
            if message is None:
                session.abort_upgrade("probe connection closed")
                self.pump()
                return
            session.receive_probe(message, monotonic())
            replies = session.drain_probe()
            if replies:
                try:
                    ws.send(replies)
                except (OSError, ClientGone):
                    session.abort_upgrade("probe write failed")
            self.pump()
        if self.ws is ws:
            self.serve_websocket(ws, http)
        else:
            ws.close()

    def serve_poll(self, http: HttpConnection) -> bytes | None:
        """Hold a polling GET until there is something to send; the body or None."""
        session = self.session
        session.poll_started()
        try:
            body = session.drain_polling()
            if body is not None or session.state is State.CLOSED:
                return body
            waiter = self._poll_waiter = Event()
            watcher = _watch_readable(http, waiter)
            try:
                while True:
                    waiter.wait()
                    waiter.clear()
                    body = session.drain_polling()
                    if body is not None or session.closed:
                        return body
                    if watcher is not None and watcher.fired:
                        watcher.stop()
                        if not _peer_still_there(http):
                            session.transport_closed(CloseReason.TRANSPORT_CLOSE)
                            return None
                        watcher = None
            finally:
                if watcher is not None:
                    watcher.stop()
                self._poll_waiter = None
        finally:
            session.poll_finished()
            self.pump()


class _ParkedPoll:
    """A polling GET waiting for output, answered from the hub.

    The usual way (:meth:`EngineSocket.serve_poll`) keeps the request's
    greenlet waiting on an Event plus a borrowed read watcher; when a message
    arrives it is woken, answers, and goes back to read the connection. Here
    the greenlet goes back to reading at once (which also notices a client
    that leaves), and whoever produces output only schedules :meth:`_answer`
    for the end of the hub's loop turn, which drains the session and writes
    the response without blocking. That saves the Event, the watcher and two
    greenlet switches per round trip, and packets queued in one turn share
    one answer. Only for our own server on a plain socket (:attr:`HttpConnection.can_park`).
    """

    __slots__ = ("server", "esock", "http", "request", "_scheduled", "_event")

    def __init__(
        self, server: "EngineServer", esock: EngineSocket, http: HttpConnection, request: HttpRequest
    ) -> None:
        self.server = server
        self.esock = esock
        self.http = http
        self.request = request
        self._scheduled = False
        #: Made only when the connection's reader must wait for the answer (pipelining).
        self._event: Event | None = None

    def set(self) -> None:
        """There may be output: answer at the end of this loop turn (once)."""
        if not self._scheduled:
            self._scheduled = True
            gevent.get_hub().loop.run_callback(self._answer)

    def _answer(self) -> None:
        self._scheduled = False
        esock = self.esock
        if esock._poll_waiter is not self:
            return  # answered or abandoned meanwhile
        session = esock.session
        body = session.drain_polling()
        if body is None and session.state is not State.CLOSED:
            return  # nothing for this transport yet (an upgrade in progress)
        try:
            self._finish(body)
        except Exception:  # nothing may escape into the hub
            log.exception("answering a poll of session %s failed", esock.sid)
            self._release()

    def _finish(self, body: bytes | None) -> None:
        esock = self.esock
        http = self.http
        esock._poll_waiter = None
        esock.session.poll_finished()
        esock.pump()
        try:
            rest = http.try_write(self.server._poll_response(http, self.request, esock, body))
        except ClientGone:
            rest = b""
        if rest:
            gevent.spawn(self._write_rest, rest)  # a big answer: a greenlet may wait
            return
        self._release()

    def _write_rest(self, data: bytes) -> None:
        try:
            self.http.write_raw(data)
        except ClientGone:
            pass  # the reader sees the connection end
        finally:
            self._release()

    def _release(self) -> None:
        """The answer is out: the connection may serve its next request."""
        if self.http.parked is self:
            self.http.parked = None
        if self._event is not None:
            self._event.set()

    def wait(self) -> None:
        """Block the connection's reader until the answer is written."""
        if self.http.parked is not self:
            return
        if self._event is None:
            self._event = Event()
        self._event.wait()

    def abandon(self) -> None:
        """The connection ended (EOF, error, server stop) before the answer."""
        esock = self.esock
        if esock._poll_waiter is self:
            esock._poll_waiter = None
            session = esock.session
            if session.state is not State.CLOSED:
                session.transport_closed(CloseReason.TRANSPORT_CLOSE)
            session.poll_finished()
            esock.pump()
        self._release()


class _ReadWatcher:
    """Wakes a waiting long-poll when its connection becomes readable (closed, usually)."""

    __slots__ = ("io", "fired", "waiter")

    def __init__(self, io: Any, waiter: Event) -> None:
        self.io = io
        self.fired = False
        self.waiter = waiter
        io.start(self._on_readable)

    def _on_readable(self) -> None:
        self.fired = True
        self.io.stop()
        self.waiter.set()

    def stop(self) -> None:
        self.io.stop()

    def throw(self, *exc_info: Any) -> None:
        """gevent cancels a socket's watcher this way when the socket closes."""
        self._on_readable()


def _watch_readable(http: HttpConnection, waiter: Event) -> _ReadWatcher | None:
    # The socket's own read watcher is idle while its request waits (nobody
    # reads the connection then): borrowing it saves creating a libev watcher
    # per poll, which cost a tenth of a polling round trip.
    io = getattr(http.sock, "_read_event", None)
    if io is not None and not io.active:
        return _ReadWatcher(io, waiter)
    try:
        fileno = http.sock.fileno()
    except (OSError, AttributeError):
        return None
    if fileno < 0:
        return None
    return _ReadWatcher(gevent.get_hub().loop.io(fileno, 1), waiter)


def _peer_still_there(http: HttpConnection) -> bool:
    """A waiting poll's socket became readable: EOF means the client left.

    Bytes (a pipelined request) are kept for h11 to parse after the answer.
    """
    try:
        data = http.sock.recv(65536)
    except OSError:
        return False
    if not data:
        return False
    http.feed(data)
    return True


class EngineServer:
    """Routes Engine.IO requests to sessions; owns the sessions and the scheduler."""

    def __init__(
        self,
        handler: EngineHandler,
        config: Config | None = None,
        *,
        path: str = "/engine.io/",
        cors_allowed_origins: AllowedOrigins = None,
        cors_credentials: bool = True,
        cookie: str | dict[str, Any] | None = None,
        http_compression: bool = True,
        compression_threshold: int = 1024,
        websocket_compression: bool = False,
        sid_factory: Callable[[], str] | None = None,
    ) -> None:
        self.handler = handler
        self.config = config or Config()
        self.path = "/" + path.strip("/") + "/"
        self.cors = CorsPolicy(cors_allowed_origins, credentials=cors_credentials)
        self.cookie = _cookie_options(cookie)
        self.http_compression = http_compression
        self.compression_threshold = compression_threshold
        self.websocket_compression = websocket_compression
        self.sid_factory = sid_factory or _new_sid
        self.sessions: dict[str, EngineSocket] = {}
        #: WebSocket sessions with output to write at the end of this loop turn.
        self._to_flush: list[EngineSocket] = []
        self._loop: Any = None
        #: Closed sessions kept briefly for a poll racing with their close.
        self._lingering: dict[str, tuple[EngineSocket, float]] = {}
        self.scheduler = Scheduler()

    def flush_later(self, esock: EngineSocket) -> None:
        """Write ``esock``'s WebSocket output once this loop turn's work is done.

        gevent runs callbacks after the I/O watchers of the turn that queued
        them, so every read handled and every handler run in one turn adds to
        the buffers first, and each client then gets one write for all of it
        (Nagle's idea, without his timer). Node writes each frame at once.
        """
        pending = self._to_flush
        pending.append(esock)
        if len(pending) == 1:
            loop = self._loop
            if loop is None:
                loop = self._loop = gevent.get_hub().loop
            loop.run_callback(self._flush_pending)

    def _flush_pending(self) -> None:
        pending, self._to_flush = self._to_flush, []
        for esock in pending:
            esock._queued = False
            if esock.ws is not None and not esock._flushing:
                try:
                    esock._flush_ws()
                except Exception:
                    log.exception("flushing session %s failed", esock.sid)

    def matches(self, path: str) -> bool:
        return path.startswith(self.path) or path == self.path[:-1]

    def _transport_of(self, sid: str) -> str | None:
        esock = self.sessions.get(sid)
        if esock is not None:
            # A deadline the scheduler has not reached yet still counts: a
            # request arriving after a ping timeout finds the session gone.
            due = esock.session.next_deadline()
            if due is not None and due <= monotonic():
                esock.on_deadline(monotonic())
            if esock.session.state is not State.CLOSED:
                return esock.session.transport
        lingering = self._lingering.get(sid)
        if lingering is not None:
            if lingering[1] > monotonic():
                return lingering[0].session.transport
            del self._lingering[sid]
        return None

    def _protocol_of(self, sid: str) -> int | None:
        esock = self.sessions.get(sid)
        if esock is None:
            lingering = self._lingering.get(sid)
            esock = lingering[0] if lingering is not None else None
        return esock.session.protocol if esock is not None else None

    def _session_for(self, sid: str) -> EngineSocket:
        esock = self.sessions.get(sid)
        if esock is not None:
            return esock
        return self._lingering.pop(sid)[0]

    def _forget(self, esock: EngineSocket) -> None:
        if self.sessions.get(esock.sid) is esock:
            del self.sessions[esock.sid]
            if esock.session.has_output and esock._poll_waiter is None:
                # A closed session still owes a racing poll its final packet
                # (the client closed while its next GET was on the way).
                now = monotonic()
                for sid in [s for s, (_, until) in self._lingering.items() if until <= now]:
                    del self._lingering[sid]
                self._lingering[esock.sid] = (esock, now + _LINGER)

    def close_all(self, reason: CloseReason = CloseReason.SERVER_SHUTDOWN) -> None:
        for esock in list(self.sessions.values()):
            esock.close(reason)

    # ------------------------------------------------------------- requests

    def handle(self, http: HttpConnection, request: HttpRequest) -> bool:
        """Serve one request on the Engine.IO path; False when the connection is taken."""
        self.scheduler.start()
        method = request.method
        cors = self.cors
        # The hot path: a poll or a send of a live session (engineio's fast check).
        esock = live_polling_session(method, request.query, self.sessions, self.config, monotonic())
        if esock is not None and cors.is_allowed(request):
            if method == "GET":
                return self._poll(http, request, esock)
            return self._post(http, request, esock)
        if request.method == "OPTIONS":
            if not cors.is_allowed(request):
                http.respond(403, [], b"")
                return True
            http.respond(204, cors.preflight_headers(request))
            return True
        if not cors.is_allowed(request):
            # No CORS headers: echoing a refused Origin would let that page read the answer.
            return self._reject(http, request, reject(FORBIDDEN), cors_headers=False)
        try:
            req = check_request(
                request.method,
                request.query,
                is_websocket=request.wants_websocket,
                config=self.config,
                session_transport=self._transport_of,
                session_protocol=self._protocol_of,
            )
        except RequestRejected as exc:
            return self._reject(http, request, exc)
        if req.transport == "websocket":
            self._websocket(http, request, req.sid, req.protocol)
            return False
        if req.sid is None:
            return self._handshake_polling(http, request, req.protocol)
        esock = self._session_for(req.sid)
        if request.method == "GET":
            return self._poll(http, request, esock)
        if request.method == "POST":
            return self._post(http, request, esock)
        http.discard_body()
        http.respond(400, _JSON_HEADERS + cors.response_headers(request),
                     reject(BAD_REQUEST).body())
        return True

    def _reject(
        self, http: HttpConnection, request: HttpRequest, exc: RequestRejected,
        *, cors_headers: bool = True,
    ) -> bool:
        log.info(
            "refused %s %s from %s: %s", request.method, request.target,
            request.remote_addr[0] if request.remote_addr else "?", exc.message,
        )
        if request.wants_websocket:
            reject_websocket(http, exc.http_status, exc.message)
            return False
        http.discard_body()
        headers = self.cors.response_headers(request) if cors_headers else []
        http.respond(exc.http_status, _JSON_HEADERS + headers, exc.body())
        return True

    def _new_session(self, transport: str, request: HttpRequest, protocol: int = 4) -> EngineSocket:
        sid = self.sid_factory()
        query = request.query
        # JSONP (``j``, polling only) is fixed for the session's life, as REF
        # fixes it when it creates the transport; its payloads are text only.
        j = query.get("j") if transport == "polling" else None
        session = Session(
            sid, transport, self.config, monotonic(),
            protocol=protocol, supports_binary=not query.get("b64") and j is None,
        )
        request.compact()
        esock = EngineSocket(self, session, request)
        if j is not None:
            esock.jsonp = jsonp_index(j)
        self.sessions[sid] = esock
        try:
            self.handler.on_connect(esock)
        except Exception:
            log.exception("connect handler failed (session %s)", sid)
        return esock

    def _handshake_polling(self, http: HttpConnection, request: HttpRequest, protocol: int) -> bool:
        esock = self._new_session("polling", request, protocol)
        body, headers = _polling_body(esock, esock.session.drain_polling() or b"")
        headers = headers + self.cors.response_headers(request)
        if self.cookie is not None:
            headers.append(("Set-Cookie", _cookie_header(esock.sid, self.cookie, request.secure)))
        http.respond(200, headers, body)
        esock.pump()
        return True

    def _poll(self, http: HttpConnection, request: HttpRequest, esock: EngineSocket) -> bool:
        if type(http) is HttpConnection and http.can_park:
            return self._park_poll(http, request, esock)
        try:
            body = esock.serve_poll(http)
        except RemoteProtocolError as exc:
            log.info("session %s: %s", esock.sid, exc)
            esock.pump()
            http.respond(exc.http_status, self.cors.response_headers(request), b"")
            return True
        if body is None and esock.session.state is State.CLOSED and not _connection_alive(http):
            return False
        http.respond(*self._poll_answer(request, esock, body))
        return True

    def _park_poll(self, http: HttpConnection, request: HttpRequest, esock: EngineSocket) -> bool:
        """A GET answered now if output is ready, else parked (see :class:`_ParkedPoll`)."""
        session = esock.session
        try:
            session.poll_started()
        except RemoteProtocolError as exc:
            log.info("session %s: %s", esock.sid, exc)
            esock.pump()
            http.respond(exc.http_status, self.cors.response_headers(request), b"")
            return True
        body = session.drain_polling()
        if body is None and session.state is not State.CLOSED:
            parked = _ParkedPoll(self, esock, http, request)
            esock._poll_waiter = parked
            http.parked = parked
            return True
        session.poll_finished()
        esock.pump()
        http.write_raw(self._poll_response(http, request, esock, body))
        return True

    def _poll_response(
        self, http: HttpConnection, request: HttpRequest, esock: EngineSocket, body: bytes | None
    ) -> bytes:
        """The bytes answering a parked GET: ``body``, or for None "Session ID unknown"."""
        if (
            body is not None
            and esock.jsonp is None
            and not is_binary_payload(body)
            and (not self.http_compression or len(body) < self.compression_threshold)
        ):
            # The usual answer, from prebuilt header bytes.
            return http.finish_response(_TEXT_HEAD + self.cors.header_block(request), body)
        return http.format_response(*self._poll_answer(request, esock, body))

    def _poll_answer(
        self, request: HttpRequest, esock: EngineSocket, body: bytes | None
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """Status, headers and body answering a poll: ``body``, or for None "Session ID unknown"."""
        if body is None:
            err = reject(SESSION_ID_UNKNOWN)
            return err.http_status, _JSON_HEADERS + self.cors.response_headers(request), err.body()
        body, headers = _polling_body(esock, body)
        headers += self.cors.response_headers(request)
        if self.http_compression and len(body) >= self.compression_threshold:
            body, encoding = _compress(body, request.header("accept-encoding", "") or "")
            if encoding:
                headers.append(("Content-Encoding", encoding))
        return 200, headers, body

    def _post(self, http: HttpConnection, request: HttpRequest, esock: EngineSocket) -> bool:
        session = esock.session
        try:
            session.post_started()
        except RemoteProtocolError as exc:
            log.info("session %s: %s", esock.sid, exc)
            esock.pump()
            http.respond(exc.http_status, self.cors.response_headers(request), b"", close=True)
            return False
        try:
            try:
                body = http.read_body(request, self.config.max_payload)
            except BodyTooLarge:
                log.info("session %s: POST body over max_payload", esock.sid)
                session.transport_closed(CloseReason.TRANSPORT_ERROR)
                http.respond(413, self.cors.response_headers(request), b"", close=True)
                return False
            content_type = request.header("content-type")
            binary = content_type is not None and content_type.startswith("application/octet-stream")
            if esock.jsonp is not None:
                body, binary = decode_jsonp(body), False  # form-encoded ``d=<payload>``
            try:
                session.receive_payload(body, monotonic(), binary=binary)
            except RemoteProtocolError as exc:
                log.info("session %s: %s", esock.sid, exc)
                http.respond(exc.http_status, self.cors.response_headers(request), b"")
                return True
        finally:
            session.post_finished()
            esock.pump()
        if type(http) is HttpConnection:
            http.write_raw(http.finish_response(_OK_HEAD + self.cors.header_block(request), b"ok"))
        else:
            http.respond(200, [("Content-Type", "text/html")] + self.cors.response_headers(request), b"ok")
        return True

    def _websocket(
        self, http: HttpConnection, request: HttpRequest, sid: str | None, protocol: int = 4
    ) -> None:
        try:
            response, conn = websocket_response(
                http, request, compression=self.websocket_compression
            )
        except HandshakeFailed as exc:
            log.info("bad WebSocket handshake from %s: %s", request.remote_addr, exc)
            err = reject(BAD_REQUEST)
            reject_websocket(http, err.http_status, err.message)
            return
        max_size = self.config.max_payload
        if sid is not None:
            http.write_raw(response)
            ws = start_websocket(http, conn, max_message_size=max_size)
            esock_or_none = self.sessions.get(sid)
            if esock_or_none is None:
                ws.close()
                return
            esock_or_none.serve_probe(ws, http, supports_binary=not request.query.get("b64"))
            return
        # The 101 and the OPEN packet go in two writes. One would save a system
        # call, but clients that dispatch every frame of the 101's TCP read at
        # once (the ws package the conformance suites pin) then lose the OPEN
        # packet: the v3 suite's WebSocket message test failed every run.
        http.write_raw(response)
        ws = start_websocket(http, conn, max_message_size=max_size)
        esock = self._new_session("websocket", request, protocol)
        esock.ws = ws
        esock.pump()
        esock.serve_websocket(ws, http)


def _polling_body(esock: EngineSocket, body: bytes) -> tuple[bytes, list[tuple[str, str]]]:
    """A polling response body and its content headers: JSONP-wrapped, binary (v3) or text."""
    if esock.jsonp is not None:
        return encode_jsonp(body, esock.jsonp), list(_JSONP_HEADERS)
    if is_binary_payload(body):
        return body, list(_BINARY_HEADERS)
    return body, list(_TEXT_HEADERS)


def _connection_alive(http: HttpConnection) -> bool:
    try:
        return bool(http.sock.fileno() >= 0)
    except (OSError, AttributeError):
        return False


def _compress(body: bytes, accept_encoding: str) -> tuple[bytes, str | None]:
    accepted = {part.split(";")[0].strip().lower() for part in accept_encoding.split(",")}
    if "gzip" in accepted:
        return gzip.compress(body, compresslevel=6), "gzip"
    if "deflate" in accepted:
        return zlib.compress(body, 6), "deflate"
    return body, None


def _new_sid() -> str:
    """128 bits from the OS CSPRNG, URL-safe (22 characters)."""
    return secrets.token_urlsafe(16)


def _cookie_options(cookie: str | dict[str, Any] | None) -> dict[str, Any] | None:
    if not cookie:
        return None
    if isinstance(cookie, str):
        return {"name": cookie}
    options = dict(cookie)
    options.setdefault("name", "io")
    return options


def _cookie_header(sid: str, options: dict[str, Any], secure: bool) -> str:
    parts = [f"{options['name']}={sid}", f"Path={options.get('path', '/')}"]
    if options.get("http_only", True):
        parts.append("HttpOnly")
    parts.append(f"SameSite={options.get('same_site', 'Lax')}")
    if options.get("secure", secure):
        parts.append("Secure")
    if "max_age" in options:
        parts.append(f"Max-Age={int(options['max_age'])}")
    if "domain" in options:
        parts.append(f"Domain={options['domain']}")
    return "; ".join(parts)
