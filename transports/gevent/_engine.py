"""Routes Engine.IO requests to sessions on gevent: :class:`EngineServer`.

Strategy, after httpcore: this module translates and waits, it decides nothing
about the protocol. What a request means (a poll, a send, a preflight, a
refusal, a new session, a WebSocket) is decided once for every driver by
:meth:`transports._routing.EngineCore.route`; this subclass writes the
answers on an :class:`HttpConnection`, hands polls and sends to
:mod:`._polling` and WebSockets to :mod:`._ws_session`, and owns the
scheduler of the sessions' deadlines and the end-of-turn flush of WebSocket
output.
"""

from __future__ import annotations

import logging
from time import monotonic
from typing import Any

import gevent

from engineio import BAD_REQUEST, RequestRejected, live_polling_session, reject

from .._logtext import peer_text
from .._request import HttpRequest
from .._routing import (
    BAD_METHOD,
    HANDSHAKE,
    POLL,
    POST,
    PREFLIGHT,
    PREFLIGHT_REFUSED,
    REFUSE_NO_CORS,
    WEBSOCKET,
    EngineCore,
    EngineHandler,
    with_headers,
)
from ._http import HttpConnection
from ._polling import park_poll, poll, post
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


class EngineServer(EngineCore[EngineSocket]):
    """Routes Engine.IO requests to sessions; owns the sessions and the scheduler."""

    socket_class = EngineSocket

    scheduler: Scheduler

    def _init_driver(self) -> None:
        self._loop: Any = None
        self.scheduler = Scheduler()
        #: A broadcast of this loop turn wrote its frames at once (see claim_frame_turn).
        self._frames_written = False

    def claim_frame_turn(self) -> bool:
        """Whether a broadcast may write its frames at once: the first one of a loop turn may.

        Written at once, a broadcast costs each recipient one ``send`` and
        about three Python calls, where queueing costs a dozen; but several
        broadcasts in one turn (a busy server: many reads, many handlers)
        share one write per recipient when they queue (:meth:`flush_later`),
        which is worth more than the calls: four in a turn cost each
        recipient about 4 µs queued and 11 µs written one by one. So the
        first broadcast of a turn writes at once and the rest queue behind it.
        """
        if self._frames_written:
            return False
        self.queue_frames_this_turn()
        return True

    def queue_frames_this_turn(self) -> None:
        """No broadcast of this loop turn writes at once from now on (see the base class)."""
        if self._frames_written:
            return
        self._frames_written = True
        loop = self._loop
        if loop is None:
            loop = self._loop = gevent.get_hub().loop
        loop.run_callback(self._turn_ended)

    def _turn_ended(self) -> None:
        self._frames_written = False

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

    def answers_in_hub(self, request: HttpRequest) -> bool:
        """Whether ``request``, whole in its connection's buffer, is answered without waiting.

        The HTTP server asks this of a kept-alive connection's next request
        (its hub path, :class:`~transports.gevent._server.Server`): a polling
        GET or POST naming a session either answers at once or parks, and
        never waits for the client. A handshake (it runs the application's
        connect handler), an upgrade (the probe waits for the client) or any
        other request goes to a greenlet instead, as does a GET of a session
        that is upgrading (it first waits a moment for the probe:
        :meth:`~transports._esocket.EngineSocketBase.poll_probe_grace`). Only
        the request's shape and that are looked at here; :meth:`handle`
        checks the request itself.
        """
        method = request.method
        if method != "GET" and method != "POST":
            return False
        path = request.path
        if not (
            (path.startswith(self.path) or path == self.path[:-1])
            and "sid=" in request.query_string
            and request.query.get("transport") == "polling"  # never an upgrade (it would wait)
        ):
            return False
        if method == "GET":
            # A GET that lets its session's upgrade probe speak first waits (poll_probe_grace).
            esock = self.sessions.get(request.query.get("sid", ""))
            return esock is None or not esock.poll_probe_grace()
        return True

    # ------------------------------------------------------------- requests

    def repeat_route(self, http: HttpConnection) -> tuple[HttpRequest, EngineSocket] | None:
        """The fast path of a request whole in ``http``'s buffer: (request, session), or None.

        A polling client's requests repeat: the GET byte for byte, the POST
        but for its Content-Length. Once :meth:`handle` has routed a head
        to a poll or a send of a live session, ``http`` remembers it
        (:meth:`HttpConnection.allow_repeat`) and recognises it again from
        the raw bytes (:meth:`HttpConnection.repeated_request`). What the
        same head bytes meant then they mean now (the parse, the path, the
        query, a static CORS policy's verdict); what may have changed is
        asked again here, exactly as :meth:`route` and
        :meth:`answers_in_hub` ask it: engineio's live-session check, a CORS
        predicate, a GET's probe grace. Anything else declines (None,
        nothing consumed) and the general path runs. When it answers, the
        head is consumed and :meth:`handle` serves the request with the
        session given. ``tests/transports/gevent/test_repeat_route.py``
        holds the two paths together.
        """
        # (No header hooks either: handle() allows a repeat only without them,
        # and an engine's hooks, frozen, are fixed when it is made.)
        found = http.repeated_request()
        if found is None:
            return None
        request, query, head_length, body_length = found
        method = request.method
        esock = live_polling_session(method, query, self.sessions, self.config, monotonic())
        if esock is None:
            return None
        if self.cors.predicate is not None and not self.cors.is_allowed(request):
            return None
        if method == "GET" and esock.poll_probe_grace():
            return None  # it waits for the probe: a greenlet's job
        http.take_repeated(head_length, body_length)
        return request, esock

    def handle(
        self, http: HttpConnection, request: HttpRequest, routed: EngineSocket | None = None
    ) -> bool:
        """Serve one request on the Engine.IO path; False when the connection is taken.

        ``routed``: the session :meth:`repeat_route` found for ``request``.
        """
        if routed is not None:
            if request.method == "GET":
                return park_poll(self, http, request, routed)  # repeat_route checked poll()'s questions
            return post(self, http, request, routed)
        self.scheduler.start()
        kind, arg = self.route(request)
        if kind == POLL or kind == POST:
            if type(http) is HttpConnection and not self.hooks.adds_headers:
                http.allow_repeat(request)
            if kind == POLL:
                return poll(self, http, request, arg)
            return post(self, http, request, arg)
        if kind == HANDSHAKE:
            esock = self.new_session("polling", request, arg)
            http.respond(*self.handshake_answer(esock, request))
            esock.pump()
            return True
        if kind == WEBSOCKET:
            self._websocket(http, request, *arg)
            return False
        if kind == PREFLIGHT:
            http.respond(204, self.cors.preflight_headers(request))
            return True
        if kind == PREFLIGHT_REFUSED:
            http.respond(403, [], b"")
            return True
        if kind == BAD_METHOD:
            http.discard_body()
            http.respond(*self.bad_method_answer(request))
            return True
        return self._reject(http, request, arg, cors_headers=kind != REFUSE_NO_CORS)

    def _reject(
        self, http: HttpConnection, request: HttpRequest, exc: RequestRejected,
        *, cors_headers: bool = True,
    ) -> bool:
        status, headers, body = self.refusal_answer(request, exc, cors_headers=cors_headers)
        if request.wants_websocket:
            reject_websocket(http, exc.http_status, exc.message)
            return False
        http.discard_body()
        http.respond(status, headers, body)
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
            response = with_headers(response, self.upgrade_headers(request, sid))
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
        esock = self.new_session("websocket", request, protocol)
        esock.ws = ws
        esock.pump()
        serve_websocket(esock, ws, http)
