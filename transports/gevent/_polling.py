"""Long-polling over the gevent driver: the GET that waits for output, the POST that carries input.

Strategy: the session decides everything (whether a poll or a send may start,
what a payload holds, what to answer); this module only waits and writes. A
GET with nothing to send waits in one of two ways. On our own server's plain
sockets it is *parked* (:class:`_ParkedPoll`): the request's greenlet goes
back to reading the connection and the answer is written from the hub when
output appears. Elsewhere (TLS, a WSGI server) :func:`serve_poll` keeps the
request's greenlet waiting on an Event, with the socket's read watcher
borrowed to notice a client that leaves. Both build their answer in one
place (:func:`poll_answer`, with a prebuilt-header shortcut in
:func:`poll_response`). A POST's payload is handed up ``TURN_PACKETS``
packets per loop turn (:mod:`._turns`): a long one (a 1 MB body holds up to
500,000 packets) is parked the same way (:class:`_ParkedPost`) and answered
once its last packet is up. [EIO4] "Polling"; PROTOCOL.md 1.
"""

from __future__ import annotations

import logging
from time import monotonic
from typing import TYPE_CHECKING, Any

import gevent
from gevent.event import Event

from engineio import CloseReason, RemoteProtocolError, State

from .._ownership import ON_ANSWERED, ON_PARK
from .._request import BodyTooLarge, ClientGone, HttpRequest
from ._http import HttpConnection
from ._socket import EngineSocket
from .._polling_answer import (
    JSON_HEADERS,
    OK_HEAD,
    TEXT_HEAD,
    ok_headers,
    plain_text_answer,
    poll_answer as _poll_answer,
    post_input,
)
from ._turns import TURN_PACKETS, next_turn

if TYPE_CHECKING:
    from ._engine import EngineServer

__all__ = ["poll", "park_poll", "post", "poll_answer", "poll_response", "serve_poll", "JSON_HEADERS"]

log = logging.getLogger(__name__)

# An Enum member read through its class costs a descriptor call (~0.1-0.4 µs on
# CPython 3.11, several times a global's); the hot paths compare with these
# module constants instead (as engineio's session does).
_CLOSED = State.CLOSED

def poll(server: "EngineServer", http: HttpConnection, request: HttpRequest, esock: EngineSocket) -> bool:
    """Answer a polling GET of ``esock``: at once, parked, or after waiting here.

    Returns whether the connection goes on to its next request.
    """
    grace = esock.poll_probe_grace()
    if grace:  # never in the hub: EngineServer.answers_in_hub declines such a GET
        _let_the_probe_speak(esock, grace)
    if type(http) is HttpConnection and http.can_park:
        return park_poll(server, http, request, esock)
    try:
        body = serve_poll(esock, http)
    except RemoteProtocolError as exc:
        log.info("session %s: %s", esock.sid, exc)
        esock.pump()
        http.respond(exc.http_status, server.cors.response_headers(request), b"")
        return True
    if body is None and esock.session.state is _CLOSED and not _connection_alive(http):
        return False
    http.respond(*poll_answer(server, request, esock, body))
    return True


def _let_the_probe_speak(esock: EngineSocket, grace: float) -> None:
    """Wait while the session upgrades, ``grace`` seconds at most (see
    :meth:`~transports._esocket.EngineSocketBase.poll_probe_grace`): on an
    Event the end of the upgrade sets, with a timeout."""
    waiter = esock.poll_waiter = Event()
    deadline = monotonic() + grace
    try:
        while esock.probe_pending:
            left = deadline - monotonic()
            if left <= 0 or not waiter.wait(left):
                break
            waiter.clear()
    finally:
        esock.poll_waiter = None


def park_poll(
    server: "EngineServer", http: HttpConnection, request: HttpRequest, esock: EngineSocket
) -> bool:
    """A GET answered now if output is ready, else parked (see :class:`_ParkedPoll`).

    :func:`poll`'s way on a parkable connection, and the fast path's
    (``EngineServer.repeat_route`` has checked the probe grace and the
    connection already, in the same hub turn).
    """
    session = esock.session
    refused = esock.start_poll()
    if refused is not None:
        http.respond(refused, server.cors.response_headers(request), b"")
        return True
    body = session.drain_polling()
    if body is None and session.state is not _CLOSED:
        parked = _ParkedPoll(server, esock, http, request)
        esock.poll_waiter = parked
        http.owner = ON_PARK[http.owner]
        http.parked = parked
        return True
    session.poll_finished()
    esock.pump()
    http.write_raw(poll_response(server, http, request, esock, body))
    return True


def poll_response(
    server: "EngineServer",
    http: HttpConnection,
    request: HttpRequest,
    esock: EngineSocket,
    body: bytes | None,
) -> bytes:
    """The bytes answering a parked GET: ``body``, or for None "Session ID unknown"."""
    if plain_text_answer(server, esock.jsonp, body):
        # The usual answer, from prebuilt header bytes.
        return http.finish_response(TEXT_HEAD + server.cors.header_block(request), body)  # type: ignore[arg-type]
    return http.format_response(*poll_answer(server, request, esock, body))


def poll_answer(
    server: "EngineServer", request: HttpRequest, esock: EngineSocket, body: bytes | None
) -> tuple[int, list[tuple[str, str]], bytes]:
    """Status, headers and body answering a poll (:func:`transports._polling_answer.poll_answer`)."""
    return _poll_answer(server, request, esock.jsonp, body)


def post(server: "EngineServer", http: HttpConnection, request: HttpRequest, esock: EngineSocket) -> bool:
    """Hand a polling POST's payload to the session and answer "ok".

    The session acts on at most ``TURN_PACKETS`` packets per loop turn; a
    browser's POST holds a few and is answered at once. A longer payload
    goes on over the next turns (:func:`_rest_of_payload`) and is answered
    when its last packet has been handed up (or with 400 at a malformed
    one, as a short payload is), so the client sends no second POST
    meanwhile. Returns whether the connection goes on to its next request.
    """
    session = esock.session
    refused = esock.start_post()
    if refused is not None:
        http.respond(refused, server.cors.response_headers(request), b"", close=True)
        return False
    finished = True
    try:
        try:
            body = http.read_body(request, server.config.max_payload)
        except BodyTooLarge:
            log.info("session %s: POST body over max_payload", esock.sid)
            session.transport_closed(CloseReason.TRANSPORT_ERROR)
            http.respond(413, server.cors.response_headers(request), b"", close=True)
            return False
        body, binary = post_input(request, body, esock.jsonp)
        try:
            done = session.receive_payload(body, monotonic(), binary=binary, max_packets=TURN_PACKETS)
        except RemoteProtocolError as exc:
            log.info("session %s: %s", esock.sid, exc)
            http.respond(exc.http_status, server.cors.response_headers(request), b"")
            return True
        del body  # the session keeps what it still has to decode
        if not done:
            finished = False
            return _rest_of_payload(server, http, request, esock)
    finally:
        if finished:
            session.post_finished()
            esock.pump()
    _answer_ok(server, http, request)
    return True


def _answer_ok(server: "EngineServer", http: HttpConnection, request: HttpRequest) -> None:
    if type(http) is HttpConnection and not server.hooks.adds_headers:
        http.write_raw(http.finish_response(OK_HEAD + server.cors.header_block(request), b"ok"))
    else:
        http.respond(200, ok_headers(server, request), b"ok")


def _rest_of_payload(
    server: "EngineServer", http: HttpConnection, request: HttpRequest, esock: EngineSocket
) -> bool:
    """The packets of a long payload after the first turn's: one budget per loop turn.

    On our own server's plain sockets the POST is parked (:class:`_ParkedPost`:
    the hub takes a budget per turn and writes the answer, the connection's
    reader goes on and answers a pipelined request only after it). Elsewhere
    (TLS, chunked bodies, a WSGI server) this greenlet takes a budget, lets
    the hub run a turn, and so on, then answers.
    """
    session = esock.session
    if type(http) is HttpConnection and http.can_park:
        esock.pump()  # this turn's share goes up now
        parked = _ParkedPost(server, esock, http, request)
        http.owner = ON_PARK[http.owner]
        http.parked = parked
        parked.start()
        return True
    try:
        done = False
        while not done:
            esock.pump()
            next_turn()
            try:
                done = session.continue_payload(monotonic(), max_packets=TURN_PACKETS)
            except RemoteProtocolError as exc:
                log.info("session %s: %s", esock.sid, exc)
                http.respond(exc.http_status, server.cors.response_headers(request), b"")
                return True
    finally:
        session.post_finished()
        esock.pump()
    _answer_ok(server, http, request)
    return True


def serve_poll(esock: EngineSocket, http: HttpConnection) -> bytes | None:
    """Hold a polling GET until there is something to send; the body or None."""
    session = esock.session
    session.poll_started()
    try:
        body = session.drain_polling()
        if body is not None or session.state is _CLOSED:
            return body
        waiter = esock.poll_waiter = Event()
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
            esock.poll_waiter = None
    finally:
        session.poll_finished()
        esock.pump()


class _ParkedAnswer:
    """What a parked poll and a parked POST share: the answer written from the
    hub (a greenlet finishes what the socket did not take), then the
    connection handed back to its reader through the ownership table."""

    __slots__ = ()
    http: HttpConnection
    _event: Event | None

    def _write_rest(self, data: bytes) -> None:
        try:
            self.http.write_raw(data)
        except ClientGone:
            pass  # the reader sees the connection end
        finally:
            self._release()

    def _release(self) -> None:
        """The answer is out (or never will be): the connection may serve its next request."""
        http = self.http
        if http.parked is self:
            http.parked = None
            http.owner = ON_ANSWERED[http.owner]
        if self._event is not None:
            self._event.set()

    def wait(self) -> None:
        """Block the connection's reader until the answer is written."""
        if self.http.parked is not self:
            return
        if self._event is None:
            self._event = Event()
        self._event.wait()


class _ParkedPoll(_ParkedAnswer):
    """A polling GET waiting for output, answered from the hub.

    The usual way (:func:`serve_poll`) keeps the request's
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
        if esock.poll_waiter is not self:
            return  # answered or abandoned meanwhile
        session = esock.session
        body = session.drain_polling()
        if body is None and session.state is not _CLOSED:
            return  # nothing for this transport yet (an upgrade in progress)
        try:
            self._finish(body)
        except Exception:  # nothing may escape into the hub
            log.exception("answering a poll of session %s failed", esock.sid)
            self._release()

    def _finish(self, body: bytes | None) -> None:
        esock = self.esock
        http = self.http
        esock.poll_waiter = None
        esock.session.poll_finished()
        esock.pump()
        try:
            rest = http.try_write(poll_response(self.server, http, self.request, esock, body))
        except ClientGone:
            rest = b""
        if rest:
            gevent.spawn(self._write_rest, rest)  # a big answer: a greenlet may wait
            return
        self._release()

    def abandon(self) -> None:
        """The connection ended (EOF, error, server stop) before the answer."""
        esock = self.esock
        if esock.poll_waiter is self:
            esock.poll_waiter = None
            session = esock.session
            if session.state is not _CLOSED:
                session.transport_closed(CloseReason.TRANSPORT_CLOSE)
            session.poll_finished()
            esock.pump()
        self._release()


class _ParkedPost(_ParkedAnswer):
    """A polling POST whose long payload is handed up over several loop turns, answered from the hub.

    Each turn (a zero-delay timer: it fires after the hub has polled every
    other socket) the session acts on ``TURN_PACKETS`` more packets and the
    events go up; after the last one the answer ("ok", or 400 at a
    malformed record) is written without blocking, and the connection may
    serve its next request. Like :class:`_ParkedPoll` it is the connection's
    parked request (the PARK and ANSWERED moves): a request pipelined behind
    it waits for its answer. If the connection ends first the payload is
    still handed up (it arrived whole), only the answer is dropped.
    """

    __slots__ = ("server", "esock", "http", "request", "_timer", "_event", "_gone")

    def __init__(
        self, server: "EngineServer", esock: EngineSocket, http: HttpConnection, request: HttpRequest
    ) -> None:
        self.server = server
        self.esock = esock
        self.http = http
        self.request = request
        self._timer: Any = None
        #: Made only when the connection's reader must wait for the answer (pipelining).
        self._event: Event | None = None
        #: The connection ended: nobody is left to answer.
        self._gone = False

    def start(self) -> None:
        self._timer = gevent.get_hub().loop.timer(0.0)
        self._timer.start(self._turn)

    def _turn(self) -> None:
        esock = self.esock
        status = 200
        try:
            if not esock.session.continue_payload(monotonic(), max_packets=TURN_PACKETS):
                esock.pump()
                self._timer.start(self._turn)
                return
        except RemoteProtocolError as exc:
            log.info("session %s: %s", esock.sid, exc)
            status = exc.http_status
        except Exception:  # nothing may escape into the hub
            log.exception("handing up a payload of session %s failed", esock.sid)
            status = 500
        try:
            self._finish(status)
        except Exception:
            log.exception("answering a POST of session %s failed", esock.sid)
            self._release()

    def _finish(self, status: int) -> None:
        self._timer.stop()
        esock = self.esock
        esock.session.post_finished()
        esock.pump()
        if self._gone:
            return
        http = self.http
        server = self.server
        if status == 200 and server.hooks.adds_headers:
            data = http.format_response(200, ok_headers(server, self.request), b"ok")
        elif status == 200:
            data = http.finish_response(OK_HEAD + server.cors.header_block(self.request), b"ok")
        else:
            data = http.format_response(status, server.cors.response_headers(self.request), b"")
        try:
            rest = http.try_write(data)
        except ClientGone:
            rest = b""
        if rest:
            gevent.spawn(self._write_rest, rest)  # the client reads slowly: a greenlet may wait
            return
        self._release()

    def abandon(self) -> None:
        """The connection ended (EOF, error, server stop) before the answer."""
        self._gone = True
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


def _connection_alive(http: HttpConnection) -> bool:
    try:
        return bool(http.sock.fileno() >= 0)
    except (OSError, AttributeError):
        return False
