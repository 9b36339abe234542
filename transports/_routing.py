"""What an Engine.IO request means, decided once for every driver: :class:`EngineCore`.

Strategy: a driver's ``EngineServer`` subclasses :class:`EngineCore` and adds
only I/O. :meth:`EngineCore.route` takes a parsed request and says what to do
with it, as a ``(kind, argument)`` pair: poll or post to a session, answer a
CORS preflight, refuse (with engineio's code, message and status), open a
session (polling handshake) or carry a WebSocket. The checks are
:mod:`engineio`'s (the polling fast check
:func:`engineio.live_polling_session` first, then the general
:func:`engineio.check_request`); this module only applies them in order, owns
the sessions (and, briefly, the closed ones a racing poll may still ask for),
and builds the answers that do not depend on a socket: the handshake's
headers and cookie, a refusal's body. The driver writes them.
"""

from __future__ import annotations

import logging
import secrets
from time import monotonic
from typing import TYPE_CHECKING, Any, Callable, Generic, Protocol, TypeVar

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

from ._cors import AllowedOrigins, CorsPolicy
from ._hooks import RequestHooks
from ._logtext import peer_text
from ._polling_answer import JSON_HEADERS, polling_body
from ._request import HttpRequest

if TYPE_CHECKING:
    from ._esocket import EngineSocketBase

__all__ = [
    "EngineHandler",
    "EngineCore",
    "POLL",
    "POST",
    "PREFLIGHT",
    "PREFLIGHT_REFUSED",
    "REFUSE",
    "REFUSE_NO_CORS",
    "BAD_METHOD",
    "HANDSHAKE",
    "WEBSOCKET",
    "with_headers",
]

log = logging.getLogger(__name__)

#: Seconds a closed polling session answers a racing GET with its final packet.
_LINGER = 1.0

# What :meth:`EngineCore.route` decided (its first value); the second is said beside each.
POLL = 0  #: a polling GET of a session (the session)
POST = 1  #: a polling POST of a session (the session)
PREFLIGHT = 2  #: an allowed CORS preflight: 204 with ``cors.preflight_headers`` (None)
PREFLIGHT_REFUSED = 3  #: a preflight from a refused origin: 403, nothing else (None)
REFUSE = 4  #: refused with CORS headers (the RequestRejected)
REFUSE_NO_CORS = 5  #: refused without them: echoing the Origin would let that page read it
BAD_METHOD = 6  #: neither GET nor POST on a session: 400 (the RequestRejected)
HANDSHAKE = 7  #: a new polling session (the protocol version, 3 or 4)
WEBSOCKET = 8  #: a WebSocket, new (sid None) or an upgrade: ``(sid, protocol)``


class EngineHandler(Protocol):
    """What the layer above (Socket.IO, or the bare echo) implements.

    Named after the Engine.IO events they answer, so that they cannot be
    taken for a Socket.IO application's ``connect``/``message`` handlers.
    Every driver calls them synchronously on its loop's thread.
    """

    def engineio_session_opened(self, socket: Any) -> None: ...

    def engineio_message(self, socket: Any, data: str | bytes) -> None: ...

    def engineio_session_closed(self, socket: Any, reason: str) -> None: ...


S = TypeVar("S", bound="EngineSocketBase")


class EngineCore(Generic[S]):
    """Routing, sessions and the socket-free answers; a driver adds the I/O.

    ``socket_class`` is the driver's EngineSocket (built by :meth:`new_session`).
    """

    socket_class: Callable[..., S]

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
        self.sessions: dict[str, S] = {}
        #: Closed sessions kept briefly for a poll racing with their close.
        self._lingering: dict[str, tuple[S, float]] = {}
        #: WebSocket sessions with output to write at the end of this loop
        #: turn (the driver's ``flush_later`` queues them and :meth:`_flush_pending`).
        self._to_flush: list[S] = []
        self._init_driver()

    def _init_driver(self) -> None:
        """The driver's own state (its scheduler, its flush list): set up here by a subclass."""

    def claim_frame_turn(self) -> bool:
        """Whether a broadcast may write its frames at once (``EngineSocket.send_frame``) now.

        No on a driver that cannot; on gevent, yes for the first broadcast of a loop turn
        (the others queue and share the end-of-turn write: see the gevent driver's).
        """
        return False

    def queue_frames_this_turn(self) -> None:
        """Several broadcasts follow in this loop turn: none of them writes at once.

        A caller that knows a burst is coming (an adapter draining messages
        from the other servers) says so first, so that each recipient gets
        one write for the whole burst instead of one for its first broadcast
        and one for the rest. A driver that never writes at once ignores it.
        """

    def matches(self, path: str) -> bool:
        return path.startswith(self.path) or path == self.path[:-1]

    def _flush_pending(self) -> None:
        """The end-of-turn write of every session ``flush_later`` queued (WebSocket output)."""
        pending, self._to_flush = self._to_flush, []
        for esock in pending:
            try:
                esock.flush_queued()
            except Exception:
                log.exception("flushing session %s failed", esock.sid)

    def close_all(self, reason: CloseReason = CloseReason.SERVER_SHUTDOWN) -> None:
        for esock in list(self.sessions.values()):
            esock.close(reason)

    # ------------------------------------------------------------- routing

    def route(self, request: HttpRequest) -> tuple[int, Any]:
        """What to do with ``request`` on the Engine.IO path: ``(kind, argument)``, see the kinds above.

        May run the application's ``allow_request`` hook (before a session exists).
        """
        method = request.method
        cors = self.cors
        # The hot path: a poll or a send of a live session (engineio's fast check).
        esock = live_polling_session(method, request.query, self.sessions, self.config, monotonic())
        if esock is not None and cors.is_allowed(request):
            return (POLL if method == "GET" else POST), esock
        if method == "OPTIONS":
            return (PREFLIGHT if cors.is_allowed(request) else PREFLIGHT_REFUSED), None
        if not cors.is_allowed(request):
            return REFUSE_NO_CORS, reject(FORBIDDEN)
        try:
            req = check_request(
                method,
                request.query,
                is_websocket=request.wants_websocket,
                config=self.config,
                session_transport=self._transport_of,
                session_protocol=self._protocol_of,
            )
        except RequestRejected as exc:
            return REFUSE, exc
        if req.sid is None and self.hooks.allow_request is not None:
            refusal = self.hooks.refusal(request)
            if refusal is not None:
                return REFUSE, refusal
        if req.transport == "websocket":
            return WEBSOCKET, (req.sid, req.protocol)
        if req.sid is None:
            return HANDSHAKE, req.protocol
        esock = self._session_for(req.sid)
        if method == "GET":
            return POLL, esock
        if method == "POST":
            return POST, esock
        return BAD_METHOD, reject(BAD_REQUEST)

    def refusal_answer(
        self, request: HttpRequest, exc: RequestRejected, *, cors_headers: bool = True
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """Status, headers and body refusing ``request`` (logged here, once for every driver).

        A WebSocket request is refused the reference server's way instead
        (``reject_websocket``: plain text, then close) with the same status and message.
        """
        log.info(
            "refused %s %s from %s: %s", peer_text(request.method), peer_text(request.target),
            request.remote_addr[0] if request.remote_addr else "?", peer_text(exc.message),
        )
        headers = self.cors.response_headers(request) if cors_headers else []
        return exc.http_status, JSON_HEADERS + headers, exc.body()

    def bad_method_answer(self, request: HttpRequest) -> tuple[int, list[tuple[str, str]], bytes]:
        return 400, JSON_HEADERS + self.cors.response_headers(request), reject(BAD_REQUEST).body()

    # ------------------------------------------------------------ sessions

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

    def _session_for(self, sid: str) -> S:
        esock = self.sessions.get(sid)
        if esock is not None:
            return esock
        return self._lingering.pop(sid)[0]

    def forget(self, esock: S) -> None:
        if self.sessions.get(esock.sid) is esock:
            del self.sessions[esock.sid]
            if esock.session.has_output and esock.poll_waiter is None:
                # A closed session still owes a racing poll its final packet
                # (the client closed while its next GET was on the way).
                now = monotonic()
                for sid in [s for s, (_, until) in self._lingering.items() if until <= now]:
                    del self._lingering[sid]
                self._lingering[esock.sid] = (esock, now + _LINGER)

    def new_session(self, transport: str, request: HttpRequest, protocol: int = 4) -> S:
        """Open a session (the application's connect handler runs here)."""
        sid = self.sid_factory()
        query = request.query
        # JSONP (``j``, polling only) is fixed for the session's life, as REF
        # fixes it when it creates the transport; its payloads are text only.
        j = query.get("j") if transport == "polling" else None
        session = Session(
            sid, transport, self.config, monotonic(),
            protocol=protocol, supports_binary=not query.get("b64") and j is None,
        )
        request.compact(self.path)
        esock = self.socket_class(self, session, request)
        if j is not None:
            esock.jsonp = jsonp_index(j)
        self.sessions[sid] = esock
        try:
            self.handler.engineio_session_opened(esock)
        except Exception:
            log.exception("connect handler failed (session %s)", sid)
        return esock

    def handshake_answer(
        self, esock: S, request: HttpRequest
    ) -> tuple[int, list[tuple[str, str]], bytes]:
        """The answer opening a polling session: its OPEN packet, CORS, hooks' headers, cookie."""
        body, headers = polling_body(esock.jsonp, esock.session.drain_polling() or b"")
        headers = headers + self.cors.response_headers(request)
        headers += self.hooks.extra_headers(request, handshake=True)
        if self.cookie is not None:
            headers.append(("Set-Cookie", _cookie_header(esock.sid, self.cookie, request.secure)))
        return 200, headers, body

    def upgrade_headers(self, request: HttpRequest, sid: str | None) -> list[tuple[str, str]]:
        """The hooks' headers for a WebSocket's 101 (the handshake's ones when it opens a session)."""
        return self.hooks.extra_headers(request, handshake=sid is None)


def with_headers(response: bytes, headers: list[tuple[str, str]]) -> bytes:
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
