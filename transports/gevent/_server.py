"""The gevent TCP server: accepts connections and routes their requests.

It knows nothing of Engine.IO. Requests the endpoint claims (its
:meth:`Endpoint.matches`, the Engine.IO path for :class:`EngineServer`) go
to it; everything else goes to the application callable (a small
:data:`HttpApp` such as the echo server's demo page, or a WSGI app through
:mod:`._wsgi_gateway`). One greenlet per TCP
connection while it is served, taken from a pool of reusable ones (a new
gevent ``Greenlet`` per connection costs about 9 µs, a parked one well under
one); past ``max_connections`` new connections get a 503 and are closed.

Fairness: one connection is served at most ``TURN_REQUESTS`` requests per
loop turn (:mod:`._turns`), in its greenlet and in the hub alike; then the
rest of what it pipelined waits, unread past one read, for the next turn.

Who owns a connection at each moment (its greenlet, the hub, a WebSocket, a
parked poll beside the reader) is one :class:`~transports._ownership.Owner`,
changed only by moves through that module's table.
"""

from __future__ import annotations

import logging
import signal
from time import monotonic
from typing import TYPE_CHECKING, Any, Callable, Protocol

import gevent
from gevent import get_hub
from gevent import ssl as gevent_ssl
from gevent.server import StreamServer

from .._limits import HttpLimits
from .._logtext import peer_text
from .._ownership import GREENLET_OWNED, HUB_WRITES, ON_CLOSE, ON_HAND_OVER, ON_SERVE, ON_SERVED, ON_WATCH, Owner
from ._accept import ShedAtFdLimit
from .._request import ClientGone, HttpRequest
from ._http import HttpConnection
from ._scheduler import Scheduler
from ._turns import TURN_REQUESTS, next_turn
from ._workers import WorkerPool

if TYPE_CHECKING:
    from ._engine import EngineServer

__all__ = ["Endpoint", "HttpApp", "Server", "not_found"]

log = logging.getLogger(__name__)

# An Enum member read through its class costs a descriptor call (~0.1-0.4 µs on
# CPython 3.11, several times a global's); the hot paths compare with these
# module constants instead (see engineio's session).
_GREENLET_PARKED = Owner.GREENLET_PARKED
_WATCHED = Owner.WATCHED
_WATCHED_PARKED = Owner.WATCHED_PARKED

#: A plain request handler for paths outside Engine.IO's. Returns False to close
#: the connection after its answer.
HttpApp = Callable[[HttpConnection, HttpRequest], bool]


class Endpoint(Protocol):
    """What the server asks of the protocol endpoint it serves (:class:`EngineServer`).

    The server itself decides nothing about that protocol: it asks these.
    """

    scheduler: Scheduler

    def matches(self, path: str) -> bool:
        """Whether requests for ``path`` are the endpoint's."""
        ...

    def handle(self, http: HttpConnection, request: HttpRequest, routed: Any = None) -> bool:
        """Serve one request; False when the connection ends (or was taken over).

        ``routed``: what :meth:`repeat_route` returned with ``request`` (else None).
        """
        ...

    def repeat_route(self, http: HttpConnection) -> tuple[HttpRequest, Any] | None:
        """The fast path of the hub: the request whole in ``http``'s buffer, already routed, or None.

        For a request the endpoint recognises without parsing (a head it
        routed before, repeated) and answers without waiting; its head is
        consumed. None declines (nothing consumed): the general path reads it.
        """
        ...

    def answers_in_hub(self, request: HttpRequest) -> bool:
        """Whether a request whole in the buffer can be answered from the hub: it never waits."""
        ...

    def close_all(self) -> None:
        """The server stops: end every session properly."""
        ...


def not_found(http: HttpConnection, request: HttpRequest) -> bool:
    http.discard_body()
    http.respond(404, [("Content-Type", "text/plain")], b"Not Found")
    return True


class Server:
    """Listens on a TCP port and serves Engine.IO plus an optional application."""

    def __init__(
        self,
        engine: "EngineServer",
        app: HttpApp | None = None,
        *,
        limits: HttpLimits | None = None,
    ) -> None:
        #: The endpoint (typed as the engine for the server's users; the
        #: server itself only uses :class:`Endpoint`'s methods).
        self.engine = engine
        self._endpoint: Endpoint = engine
        self.app = app or not_found
        self.limits = limits or HttpLimits()
        self.connections = 0
        self._server: StreamServer | None = None
        self._secure = False
        self._tls: Any = None
        #: The greenlets that serve connections. A WebSocket hands its
        #: connection to the hub at once, a keep-alive polling client keeps
        #: its greenlet while it waits: the pool grows to what is in use.
        self._greenlets = WorkerPool()
        #: Keep-alive connections waiting in the hub for their next request.
        self._watched: set[_Watched] = set()
        #: Every connection's ``release``: one bound method, not one per connection.
        self._release_one: Callable[[], None] = self._release

    @property
    def address(self) -> tuple[str, int]:
        assert self._server is not None
        address = self._server.address
        return str(address[0]), int(address[1])

    def start(
        self,
        host: str = "127.0.0.1",
        port: int = 5000,
        *,
        certfile: str | None = None,
        keyfile: str | None = None,
    ) -> tuple[str, int]:
        """Bind and start accepting in the background; returns the bound address."""
        if certfile:
            # gevent's SSLContext: its sockets are cooperative (the stdlib's block
            # the hub). The handshake is ours (in _handle), so that a client that
            # fails it costs one log line, not a traceback.
            context = gevent_ssl.SSLContext(gevent_ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(certfile, keyfile)
            self._tls = context
            self._secure = True
        # gevent calls spawn(fn, *args) and ignores what it returns (the stub wants a Greenlet).
        self._server = _Listener(  # type: ignore[call-overload]
            (host, port), self._handle, backlog=2048, spawn=self._greenlets.submit
        )
        self._server.start()
        self._endpoint.scheduler.start()
        return self.address

    def serve_forever(self, *, stop_signals: bool = True) -> None:
        """Block until SIGINT/SIGTERM (or :meth:`stop`), then shut down cleanly."""
        assert self._server is not None
        done = gevent.event.Event()
        if stop_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                gevent.signal_handler(sig, done.set)
        self._done = done
        done.wait()
        self.stop()

    def stop(self, timeout: float = 5.0) -> None:
        """Stop accepting, close every session properly, then close the listener."""
        if self._server is None:
            return
        self._server.stop_accepting()
        self._endpoint.close_all()
        gevent.sleep(0.05)  # let the close packets reach the clients
        for watched in list(self._watched):
            watched.close()
        self._server.stop(timeout=timeout)
        self._endpoint.scheduler.stop()
        self._server = None
        done = getattr(self, "_done", None)
        if done is not None:
            done.set()

    def _handle(self, sock: Any, address: tuple[str, int], data: bytes = b"") -> None:
        """Serve an accepted connection; ``data``: bytes already read from it (``workers=N``)."""
        if self.connections >= self.limits.max_connections:
            log.warning("refusing a connection: max_connections (%d) reached",
                        self.limits.max_connections)
            _refuse(sock)
            return
        if self._tls is not None:
            try:
                sock.settimeout(self.limits.header_timeout)
                sock = self._tls.wrap_socket(sock, server_side=True)
            except (OSError, ValueError) as exc:  # ssl.SSLError is an OSError
                log.info("TLS handshake with %s failed: %s", address[0], exc)
                try:
                    sock.close()
                except OSError:
                    pass
                return
        self.connections += 1
        http = HttpConnection(sock, address, self.limits, secure=self._secure)
        http.release = self._release_one
        if data:
            http.feed(data)
        try:
            self.serve_connection(http)
        finally:
            self._end_if_ours(http)

    def _end_if_ours(self, http: HttpConnection) -> None:
        """A greenlet is done with ``http``: close it, unless the hub or a WebSocket has it now."""
        if http.owner in GREENLET_OWNED:
            parked = http.parked
            if parked is not None:
                parked.abandon()  # ANSWERED: the greenlet has it alone again
            http.owner = ON_CLOSE[http.owner]
            self.connections -= 1
            http.close()

    def _release(self) -> None:
        """A connection served from the hub (a reacting WebSocket) ended."""
        self.connections -= 1

    def serve_connection(self, http: HttpConnection, first: HttpRequest | None = None) -> None:
        """Serve requests on one connection until it closes or is taken over.

        A polling GET may be parked (answered later from the hub) while this
        loop reads on: if the connection ends first, the poll is abandoned.
        Between requests, a plain keep-alive connection of our own server
        waits in the hub instead (:class:`_Watched`) and this returns.
        """
        try:
            self._serve_requests(http, first)
        finally:
            if http.owner is _GREENLET_PARKED:
                http.parked.abandon()

    def _serve_requests(self, http: HttpConnection, first: HttpRequest | None = None) -> None:
        request = first
        # A counter, not a clock: after this many requests without a pause the
        # greenlet lets the hub poll everyone else once. A client that waits
        # for each answer costs one extra wake-up per TURN_REQUESTS requests.
        budget = TURN_REQUESTS
        while True:
            if request is None:
                if http.can_watch:
                    _Watched(self, http).start()  # the wait moves to the hub; this greenlet goes
                    return
                if http.parked is not None and http.has_buffered:
                    http.parked.wait()  # a pipelined request is answered after the parked one
                try:
                    request = http.read_request()
                except ClientGone as exc:
                    if exc.status is not None:
                        log.info("bad request from %s: %s", http.remote_addr, peer_text(exc))
                        http.reject_raw(exc.status)
                    return
                if request is None:
                    return
            if not self._serve_one(http, request):
                return
            request = None
            budget -= 1
            if not budget:
                budget = TURN_REQUESTS
                next_turn()

    def _serve_one(self, http: HttpConnection, request: HttpRequest, routed: Any = None) -> bool:
        """Answer one request; whether the connection goes on to the next.

        ``routed``: what the endpoint's :meth:`Endpoint.repeat_route` said
        (the request is then the endpoint's, already routed).
        """
        try:
            endpoint = self._endpoint
            if routed is not None:
                keep = endpoint.handle(http, request, routed)
            elif endpoint.matches(request.path):
                keep = endpoint.handle(http, request)
            else:
                keep = self.app(http, request)
        except ClientGone as exc:
            if exc.status is not None and http.owner not in HUB_WRITES:
                http.reject_raw(exc.status)  # e.g. 408: a body slower than request_timeout
            return False
        except Exception:
            log.exception("error serving %s %s", peer_text(request.method), peer_text(request.target))
            try:
                http.respond(500, [("Content-Type", "text/plain")],
                             b"Internal Server Error", close=True)
            except ClientGone:
                pass
            return False
        if not keep:
            return False
        if routed is None:  # a routed request's body was read (POST) or it has none (GET)
            try:
                http.discard_body()  # a bodiless GET still owes h11 its EndOfMessage
            except ClientGone:
                return False
        return http.keep_alive

    def _resume(self, http: HttpConnection, first: HttpRequest | None, go_on: bool) -> None:
        """A greenlet takes over a connection the hub served (see :class:`_Watched`)."""
        try:
            if http.unsent:
                data, http.unsent = http.unsent, b""
                http.write_raw(data)
            if go_on:
                if http.owner is _GREENLET_PARKED and not http.at_eof:
                    http.parked.wait()  # a request pipelined behind a waiting poll comes after it
                self.serve_connection(http, first)
        except ClientGone:
            pass
        finally:
            self._end_if_ours(http)


class _Watched:
    """A keep-alive connection waiting for its next request in the hub, with no greenlet.

    Between the requests of a long-polling client (one POST, one GET per
    message) a greenlet per connection costs two switches, a watcher start
    and stop and a timer per request. Here the socket's read watcher calls
    :meth:`readable` in the hub, which answers requests that are plain and
    whole in the buffer and that the endpoint says it answers without
    waiting (:meth:`Endpoint.answers_in_hub`; a write the socket does not
    take whole is finished by a greenlet). Anything else (a partial or
    unusual head, other paths, upgrades, the end of the connection) is
    handed to a pooled greenlet running the ordinary loop, with every check
    and timeout it has. Each step is an ownership move (WATCH, SERVE,
    SERVED, HAND_OVER).
    """

    __slots__ = ("server", "http", "_later")

    def __init__(self, server: Server, http: HttpConnection) -> None:
        self.server = server
        self.http = http
        #: The zero-delay timer that resumes a pipelined burst cut short by
        #: the turn's budget; made the first time one is.
        self._later: Any = None

    def start(self) -> None:
        http = self.http
        http.owner = ON_WATCH[http.owner]
        self.server._watched.add(self)
        http.last_active = 0.0  # the timer starts a full period now: nothing to extend it yet
        http.watch(self.readable, self.timeout)

    def readable(self) -> None:
        http = self.http
        try:
            if not http.recv_now():
                return  # a spurious wake-up
            if http.at_eof or http.owner is _WATCHED_PARKED:
                self._hand_over(None)  # the end, or a request behind a waiting poll
                return
            self._serve_buffered()
        except Exception:  # nothing may escape into the hub
            log.exception("serving %s from the hub failed", http.remote_addr)
            self._hand_over(None, go_on=False)

    def _serve_buffered(self) -> None:
        """Answer the whole requests in the buffer, at most ``TURN_REQUESTS`` this turn.

        Past the budget the read watcher stops (the client's further bytes
        wait in the kernel, held back by TCP) and a zero-delay timer serves
        the rest on the next loop turn, after the hub has polled every other
        socket. The connection stays WATCHED meanwhile: only the hub has it.
        """
        http = self.http
        server = self.server
        answers_in_hub = server._endpoint.answers_in_hub
        repeat_route = server._endpoint.repeat_route
        budget = TURN_REQUESTS
        while http.has_buffered:
            if not budget:
                http.sock._read_event.stop()
                later = self._later
                if later is None:
                    later = self._later = get_hub().loop.timer(0.0)
                later.start(self._on_later)
                break
            # The endpoint's fast path first: a head it routed before, repeated.
            repeat = repeat_route(http)
            if repeat is not None:
                request, routed = repeat
            else:
                buffered = http.buffered_request()
                if buffered is None:
                    self._hand_over(None)  # not whole yet, or for h11 to judge
                    return
                if not (http.can_park and answers_in_hub(buffered)):
                    self._hand_over(buffered)
                    return
                request, routed = buffered, None
            http.owner = ON_SERVE[http.owner]
            try:
                go_on = server._serve_one(http, request, routed)
            finally:
                http.owner = ON_SERVED[http.owner]
            if http.unsent or not go_on:
                self._hand_over(None, go_on=go_on)
                return
            if http.owner is _WATCHED_PARKED and http.has_buffered:
                self._hand_over(None)
                return
            budget -= 1
        http.last_active = monotonic()  # the keep-alive timer, running since start(), checks this

    def _on_later(self) -> None:
        """The next turn of a burst cut short: more requests, then reading again once none wait."""
        http = self.http
        try:
            self._serve_buffered()
            if http.owner is _WATCHED or http.owner is _WATCHED_PARKED:
                if not (self._later is not None and self._later.active):
                    http.sock._read_event.start(self.readable)
        except Exception:  # nothing may escape into the hub
            log.exception("serving %s from the hub failed", http.remote_addr)
            self._hand_over(None, go_on=False)

    def _hand_over(self, first: HttpRequest | None, *, go_on: bool = True) -> None:
        self._stop()
        http = self.http
        http.owner = ON_HAND_OVER[http.owner]
        self.server._greenlets.submit(self.server._resume, self.http, first, go_on)

    def timeout(self) -> None:
        http = self.http
        if http.owner is _WATCHED_PARKED:
            http.restart_timer(self.timeout)  # a waiting poll is not an idle connection
            return
        left = http.idle_left(monotonic())
        if left:
            http.restart_timer_in(left, self.timeout)  # a request came since the timer started
            return
        self._hand_over(None, go_on=False)

    def close(self) -> None:
        """The server stops: end the connection (a waiting poll is abandoned)."""
        self._hand_over(None, go_on=False)

    def _stop(self) -> None:
        self.http.unwatch()
        later, self._later = self._later, None
        if later is not None:
            later.stop()  # not close(): this may run inside that timer's own callback
        self.server._watched.discard(self)

    def throw(self, *exc_info: Any) -> None:
        """gevent cancels the watcher of a socket closed under it this way."""
        self._hand_over(None, go_on=False)


class _Listener(ShedAtFdLimit, StreamServer):
    """gevent's StreamServer, minus its close of every socket when the handler returns.

    At the file-descriptor limit it answers 503 instead of leaving clients in
    the backlog (:class:`ShedAtFdLimit`).

    :meth:`Server._handle` closes each connection itself, except one handed
    over to the hub, which must outlive its greenlet. (Handlers run on the
    server's pool of reusable greenlets: its ``submit`` is the ``spawn``.)
    """

    def do_close(self, *args: Any) -> None:
        pass


def _refuse(sock: Any) -> None:
    body = b"Service Unavailable"
    try:
        sock.sendall(
            b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n"
            b"Content-Type: text/plain\r\nContent-Length: %d\r\n\r\n%s" % (len(body), body)
        )
    except OSError:
        pass
    try:
        sock.close()
    except OSError:
        pass
