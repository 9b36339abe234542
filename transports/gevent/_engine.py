"""Routes Engine.IO requests to sessions: :class:`EngineServer`.

Strategy, after httpcore: this module translates and waits, it decides nothing
about the protocol. A request is checked by :mod:`engineio` (the polling fast
check :func:`engineio.live_polling_session` first, then the general
:func:`engineio.check_request`, whose refusals carry the spec's code, message
and HTTP status), then handed to the session it names: a poll or a send to
:mod:`._polling`, a WebSocket to :mod:`._ws_session`. This
module owns the sessions (and, briefly, the closed ones a racing poll may
still ask for), the scheduler of their deadlines, and the end-of-turn flush
of WebSocket output.
"""

from __future__ import annotations

import logging
import secrets
from time import monotonic
from typing import Any, Callable, Protocol

import gevent

from engineio import (
    BAD_REQUEST,
    FORBIDDEN,
    CloseReason,
    Config,
    RequestRejected,
    Session,
    State,
    check_request,
    jsonp_index,
    live_polling_session,
    reject,
)

from .._cors import AllowedOrigins, CorsPolicy
from .._hooks import RequestHooks
from .._logtext import peer_text
from .._request import HttpRequest
from ._http import HttpConnection
from ._polling import JSON_HEADERS, poll, polling_body, post
from ._scheduler import Scheduler
from ._socket import EngineSocket
from ._ws_session import serve_probe, serve_websocket
from ._websocket import (
    HandshakeFailed,
    reject_websocket,
    start_websocket,
    websocket_response,
)

__all__ = ["EngineHandler", "EngineSocket", "EngineServer"]

log = logging.getLogger(__name__)

#: Seconds a closed polling session answers a racing GET with its final packet.
_LINGER = 1.0


class EngineHandler(Protocol):
    """What the layer above (Socket.IO, or the bare echo) implements.

    Named after the Engine.IO events they answer, so that they cannot be
    taken for a Socket.IO application's ``connect``/``message`` handlers.
    """

    def engineio_session_opened(self, socket: "EngineSocket") -> None: ...

    def engineio_message(self, socket: "EngineSocket", data: str | bytes) -> None: ...

    def engineio_session_closed(self, socket: "EngineSocket", reason: str) -> None: ...



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
        hooks: RequestHooks | None = None,
    ) -> None:
        self.handler = handler
        #: The application's response headers and handshake check (transports._hooks).
        self.hooks = hooks or RequestHooks()
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
            try:
                esock.flush_queued()
            except Exception:
                log.exception("flushing session %s failed", esock.sid)

    def matches(self, path: str) -> bool:
        return path.startswith(self.path) or path == self.path[:-1]

    def answers_in_hub(self, request: HttpRequest) -> bool:
        """Whether ``request``, whole in its connection's buffer, is answered without waiting.

        The HTTP server asks this of a kept-alive connection's next request
        (its hub path, :class:`~transports.gevent._server.Server`): a polling
        GET or POST naming a session either answers at once or parks, and
        never waits for the client. A handshake (it runs the application's
        connect handler), an upgrade (the probe waits for the client) or any
        other request goes to a greenlet instead. Only the request's shape is
        looked at here; :meth:`handle` checks the request itself.
        """
        method = request.method
        if method != "GET" and method != "POST":
            return False
        path = request.path
        return (
            (path.startswith(self.path) or path == self.path[:-1])
            and "sid=" in request.query_string
            and request.query.get("transport") == "polling"  # never an upgrade (it would wait)
        )

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

    def forget(self, esock: EngineSocket) -> None:
        if self.sessions.get(esock.sid) is esock:
            del self.sessions[esock.sid]
            if esock.session.has_output and esock.poll_waiter is None:
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
                return poll(self, http, request, esock)
            return post(self, http, request, esock)
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
        if req.sid is None and self.hooks.allow_request is not None:
            # Before any session exists, in this request's greenlet: it may wait.
            refusal = self.hooks.refusal(request)
            if refusal is not None:
                return self._reject(http, request, refusal)
        if req.transport == "websocket":
            self._websocket(http, request, req.sid, req.protocol)
            return False
        if req.sid is None:
            return self._handshake_polling(http, request, req.protocol)
        esock = self._session_for(req.sid)
        if request.method == "GET":
            return poll(self, http, request, esock)
        if request.method == "POST":
            return post(self, http, request, esock)
        http.discard_body()
        http.respond(400, JSON_HEADERS + cors.response_headers(request),
                     reject(BAD_REQUEST).body())
        return True

    def _reject(
        self, http: HttpConnection, request: HttpRequest, exc: RequestRejected,
        *, cors_headers: bool = True,
    ) -> bool:
        log.info(
            "refused %s %s from %s: %s", peer_text(request.method), peer_text(request.target),
            request.remote_addr[0] if request.remote_addr else "?", peer_text(exc.message),
        )
        if request.wants_websocket:
            reject_websocket(http, exc.http_status, exc.message)
            return False
        http.discard_body()
        headers = self.cors.response_headers(request) if cors_headers else []
        http.respond(exc.http_status, JSON_HEADERS + headers, exc.body())
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
            self.handler.engineio_session_opened(esock)
        except Exception:
            log.exception("connect handler failed (session %s)", sid)
        return esock

    def _handshake_polling(self, http: HttpConnection, request: HttpRequest, protocol: int) -> bool:
        esock = self._new_session("polling", request, protocol)
        body, headers = polling_body(esock, esock.session.drain_polling() or b"")
        headers = headers + self.cors.response_headers(request)
        headers += self.hooks.extra_headers(request, handshake=True)
        if self.cookie is not None:
            headers.append(("Set-Cookie", _cookie_header(esock.sid, self.cookie, request.secure)))
        http.respond(200, headers, body)
        esock.pump()
        return True


    def _websocket(
        self, http: HttpConnection, request: HttpRequest, sid: str | None, protocol: int = 4
    ) -> None:
        try:
            response, conn = websocket_response(
                http, request, compression=self.websocket_compression
            )
        except HandshakeFailed as exc:
            log.info("bad WebSocket handshake from %s: %s", request.remote_addr, peer_text(exc))
            err = reject(BAD_REQUEST)
            reject_websocket(http, err.http_status, err.message)
            return
        if self.hooks.adds_headers:
            response = _with_headers(response, self.hooks.extra_headers(request, handshake=sid is None))
        max_size = self.config.max_payload
        if sid is not None:
            http.write_raw(response)
            ws = start_websocket(http, conn, max_message_size=max_size)
            esock_or_none = self.sessions.get(sid)
            if esock_or_none is None:
                ws.close()
                return
            serve_probe(esock_or_none, ws, http, supports_binary=not request.query.get("b64"))
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
        serve_websocket(esock, ws, http)



def _with_headers(response: bytes, headers: list[tuple[str, str]]) -> bytes:
    """A prebuilt 101 response head with ``headers`` added before its blank line."""
    if not headers:
        return response
    lines = "".join(f"{name}: {value}\r\n" for name, value in headers).encode("latin-1", "replace")
    return response[:-2] + lines + b"\r\n"


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
