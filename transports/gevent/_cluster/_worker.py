"""One worker process: serves the connections the supervisor hands it.

The worker runs the ordinary gevent :class:`~transports.gevent.Server`, with
two changes made here: connections arrive as file descriptors on the
handoff socket (with the bytes the supervisor already read) instead of from
``accept``, and the endpoint is wrapped in :class:`RoutingEndpoint`, which
passes back to the supervisor any keep-alive connection whose next request
belongs to another worker's session (its head is rebuilt from the parsed
request, followed by the bytes read past it), so that no request is ever
answered "Session ID unknown" because of where it arrived.

:class:`BusConnection` is the worker's end of the supervisor's bus
(:mod:`._bus`), for the cluster adapter (``socketio_core.cluster``).
"""

from __future__ import annotations

import itertools
import logging
import signal
import socket as _stdsocket
from collections import deque
from time import monotonic
from typing import TYPE_CHECKING, Any, Callable

import gevent
import gevent.event
import gevent.lock
import gevent.socket
from gevent.event import AsyncResult

from ..._request import HttpRequest
from . import _bus as bus
from ._routing import owner_of_sid, sid_factory
from ._handoff import HandoffReader, WorkerContext, close_fd, pack_handoff, unpack_handoff

if TYPE_CHECKING:
    from .._http import HttpConnection
    from .._scheduler import Scheduler
    from .._server import Endpoint, Server

__all__ = ["serve_worker", "BusConnection", "RoutingEndpoint", "install_log_prefix"]

log = logging.getLogger(__name__)


def install_log_prefix(slot: int) -> None:
    """Every log line of this process starts with ``worker=N`` (a process of its own: global is fine)."""
    factory = logging.getLogRecordFactory()
    prefix = f"worker={slot} "

    def record(*args: Any, **kwargs: Any) -> logging.LogRecord:
        rec = factory(*args, **kwargs)
        rec.msg = prefix + str(rec.msg)
        return rec

    logging.setLogRecordFactory(record)


class BusConnection:
    """The worker's end of the bus: send frames, await in-order replies, receive messages.

    ``on_message(channel, payload)`` runs in the reader greenlet. :meth:`send`
    never waits and may be called from the hub itself: the frame is written at
    once when nothing is ahead of it (a session saved while the server drains
    reaches the supervisor before the client can learn that it was closed),
    else queued behind what is, for a writer greenlet. :meth:`send_later`
    (plain broadcasts) writes at the end of this turn of the loop, with every
    frame given meanwhile: a burst of broadcasts (events read together) costs
    one write here, one read and one write per worker in the supervisor, and
    reaches the other workers together, so they deliver it as one batch of
    writes to their clients, as the sender does. Frames go out in the order
    they are given (:meth:`send` writes those held for later first); a reply
    finds its request by id.
    """

    def __init__(self, sock: _stdsocket.socket) -> None:
        self.sock = gevent.socket.socket(fileno=sock.detach())
        self._raw: Any = getattr(self.sock, "_sock")  # the non-blocking stdlib socket under it
        self.on_message: Callable[[str, bytes], None] | None = None
        self._replies: dict[int, AsyncResult[Any]] = {}
        self._ids = itertools.count(1)
        self._out: deque[bytes] = deque()
        self._writing = False
        self._reader: Any = None
        #: Frames held until the end of this turn of the loop (:meth:`send_later`).
        self._later: list[bytes] = []
        self._loop: Any = None
        self.closed = False

    def start(self) -> None:
        self._loop = gevent.get_hub().loop
        self._reader = gevent.spawn(self._read_loop)

    def send_later(self, frame: bytes) -> None:
        """Write ``frame`` at the end of this turn of the loop, with the others given meanwhile."""
        if self.closed:
            return
        if not self._later:
            if self._loop is None:
                self._loop = gevent.get_hub().loop
            self._loop.run_callback(self._flush_later)
        self._later.append(frame)

    def _flush_later(self) -> None:
        if self._later:
            self.send(b"")

    def send(self, frame: bytes) -> None:
        """Write ``frame`` now, or after the frames ahead of it; never waits."""
        if self._later:  # held frames go first
            frame = b"".join(self._later) + frame
            self._later.clear()
        if self.closed or not frame:
            return
        if not self._writing:
            try:
                sent = self._raw.send(frame)
            except BlockingIOError:
                sent = 0
            except OSError:
                return  # the supervisor is gone: the reader notices
            if sent == len(frame):
                return
            frame = frame[sent:]
            self._writing = True
            gevent.spawn(self._write_loop)
        self._out.append(frame)

    def _write_loop(self) -> None:
        try:
            while self._out:
                self.sock.sendall(self._out.popleft())
        except OSError:
            self._out.clear()
        finally:
            self._writing = False

    def request(self, op: bytes, header: dict[str, Any], body: bytes = b"", timeout: float | None = None) -> Any:
        """Send a request and wait for its reply's value. Raises OSError when the bus is gone."""
        if self.closed:
            raise ConnectionError("the bus to the supervisor is closed")
        q = next(self._ids)
        result: AsyncResult[Any] = AsyncResult()
        self._replies[q] = result
        self.send(bus.encode(op, {**header, "q": q}, body))
        try:
            return result.get(timeout=timeout)
        finally:
            self._replies.pop(q, None)

    def _read_loop(self) -> None:
        reader = bus.BusReader()
        try:
            while True:
                data = self.sock.recv(1 << 18)
                if not data:
                    break
                for op, header, body in reader.feed(data):
                    if op == bus.REPLY:
                        waiter = self._replies.pop(header.get("q"), None)  # type: ignore[arg-type]
                        if waiter is not None:
                            waiter.set(header.get("v"))
                    elif op == bus.MESSAGE and self.on_message is not None:
                        self.on_message(str(header.get("ch")), body)
        except OSError:
            pass
        finally:
            self.closed = True
            for waiter in list(self._replies.values()):
                waiter.set_exception(ConnectionError("the supervisor is gone"))
            self._replies.clear()

    def close(self) -> None:
        if self._later:
            self.send(b"")  # the broadcasts of this turn still go
        self.closed = True
        try:
            self.sock.close()
        except OSError:
            pass


class RoutingEndpoint:
    """The engine, plus: a request for another worker's session goes back to the supervisor.

    So does a handshake on a connection that already carried a request here
    (a client's connection pool reuses connections across sessions): the
    supervisor spreads new sessions, so it picks the worker for it.

    Every request of a worker's own sessions passes here, so their check is
    the fast path: a sid the engine holds was made here (it carries this
    worker's wid), so the request is this worker's without reading the sid's
    prefix. Anything else (no session by that sid here: another worker's, a
    closed one, a handshake) takes the general check, :meth:`foreign`.
    ``matches`` and ``close_all`` are the engine's own, with no call in between.
    """

    def __init__(self, engine: "Endpoint", wid: int, give_back: Callable[["HttpConnection", HttpRequest], None]) -> None:
        self.engine = engine
        self.wid = wid
        self.give_back = give_back
        self.scheduler: "Scheduler" = engine.scheduler
        #: The engine's live sessions by sid (the fast path's one lookup).
        self._sessions: dict[str, Any] = getattr(engine, "sessions", {})
        self._engine_handle = engine.handle
        self._engine_answers_in_hub = engine.answers_in_hub
        self.matches: Callable[[str], bool] = engine.matches
        self.close_all: Callable[[], None] = engine.close_all
        #: Requests this worker passed on (a keep-alive connection reused for another session).
        self.passed_on = 0

    def foreign(self, http: "HttpConnection", request: HttpRequest) -> bool:
        """Whether another worker owns ``request`` (or should choose, for a new session).

        The general check, from the sid's prefix; :meth:`handle` and
        :meth:`answers_in_hub` skip it for a session the engine holds.
        """
        if "sid=" not in request.query_string:
            return getattr(http, "_cluster_served", False) and self.engine.matches(request.path)
        sid = request.query.get("sid")
        owner = owner_of_sid(sid) if sid else None
        return owner is not None and owner != self.wid

    def handle(self, http: "HttpConnection", request: HttpRequest, routed: Any = None) -> bool:
        if routed is not None:  # repeat_route's: a head this worker's engine routed before
            return self._engine_handle(http, request, routed)
        if not ("sid=" in request.query_string and request.query.get("sid") in self._sessions) \
                and self.foreign(http, request):
            self.passed_on += 1
            self.give_back(http, request)
            return False
        http._cluster_served = True  # type: ignore[attr-defined]
        return self._engine_handle(http, request)

    def repeat_route(self, http: "HttpConnection") -> tuple[HttpRequest, Any] | None:
        # The engine only repeats heads it routed itself: this worker's sessions.
        return self.engine.repeat_route(http)

    def answers_in_hub(self, request: HttpRequest) -> bool:
        # Requests with a sid only (a handshake is never answered in the hub).
        if "sid=" in request.query_string:
            sid = request.query.get("sid")
            if sid not in self._sessions:
                owner = owner_of_sid(sid) if sid else None
                if owner is not None and owner != self.wid:
                    return False
        return self._engine_answers_in_hub(request)


def request_head(request: HttpRequest) -> bytes:
    """The head of ``request`` again, as bytes another parser reads the same way."""
    lines = [f"{request.method} {request.target} HTTP/1.1".encode("latin-1")]
    lines.extend(name + b": " + value for name, value in request.headers)
    return b"\r\n".join(lines) + b"\r\n\r\n"


class _HandoffListener:
    """Stands in for gevent's StreamServer: connections come from the supervisor.

    The handoff socket is read by a watcher's callback in the hub, as
    gevent's own server accepts: each readable event reads every handoff
    waiting (up to :data:`_TURN_HANDOFFS`, then the next turn), and each
    connection goes to a pooled greenlet, with no greenlet switch for the
    reading itself.
    """

    def __init__(self, server: "Server", handoff: _stdsocket.socket, submit: Callable[..., Any],
                 on_lost: Callable[[], None], family: int = _stdsocket.AF_INET) -> None:
        self.server = server
        self.on_lost = on_lost
        self.family = family
        self.sock = gevent.socket.socket(fileno=handoff.detach())
        self._raw = getattr(self.sock, "_sock")  # the non-blocking stdlib socket under it
        self._reader = HandoffReader()
        self.submit = submit
        self.address = ("", 0)
        self._lock = gevent.lock.Semaphore()
        self.accepting = True
        self._watcher: Any = gevent.get_hub().loop.io(self.sock.fileno(), 1)
        self._watcher.start(self._on_readable)

    def _on_readable(self) -> None:
        read, raw = self._reader.read, self._raw
        handle = self.server._handle
        for _ in range(_TURN_HANDOFFS):
            try:
                got = read(raw)
            except BlockingIOError:
                return
            except OSError:
                got = None
            except Exception:  # nothing may escape into the hub
                log.exception("reading a handoff failed")
                got = None
            if got is None:
                self._lost()
                return
            message, fds = got
            for extra in fds[1:]:
                close_fd(extra)
            if not fds:
                continue
            if not self.accepting:
                close_fd(fds[0])
                continue
            try:
                address, data = unpack_handoff(message)
            except Exception:  # not a handoff: drop it
                log.exception("a malformed handoff from the supervisor")
                close_fd(fds[0])
                continue
            sock = gevent.socket.socket(self.family, _stdsocket.SOCK_STREAM, 0, fds[0])
            self.submit(handle, sock, address, data)

    def _lost(self) -> None:
        """The supervisor is gone (or its socket failed): stop reading, and stop."""
        self._watcher.stop()
        if self.accepting:
            log.warning("the supervisor closed the handoff socket: stopping")
            self.on_lost()

    def give_back(self, http: "HttpConnection", request: HttpRequest) -> None:
        """Pass ``http`` to the supervisor with ``request`` unanswered; this worker lets go of it."""
        parked = getattr(http, "parked", None)
        if parked is not None:
            parked.wait()  # HTTP answers in order: the waiting poll's answer goes first
        rest = http.take_over()
        message = pack_handoff(http.remote_addr, request_head(request) + rest)
        sock = http.sock
        try:
            with self._lock:
                _stdsocket.send_fds(self.sock, [message], [sock.fileno()])
        except OSError as exc:
            log.warning("could not hand a connection back to the supervisor: %s", exc)
        # Close this process's descriptor only: a shutdown() would end the
        # connection for the worker that serves it now.
        sock.close()

    def stop_accepting(self) -> None:
        self.accepting = False

    def stop(self, timeout: float | None = None) -> None:
        self.accepting = False


#: Handoffs read per readable event before the hub serves the rest of its turn.
_TURN_HANDOFFS = 64


#: How long a draining worker waits for its sessions to end (bounded by the
#: supervisor's stop_timeout, after which it is killed).
DRAIN_SECONDS = 1.5


def _drain(engine: Any, deadline: float) -> None:
    """Close every session and serve on until each has ended, or until ``deadline``.

    A polling session closes once its client collected the close packet
    (its next poll): only then is it gone, its state saved for recovery. So
    the worker keeps serving its sessions' requests meanwhile (the supervisor
    sends it no new ones), and closes again what a handshake under way when
    the drain began opened since. A bounded wait, checked every 20 ms; then
    the sessions left end as at their close timeout. (A client that
    reconnects before its session was saved is kept waiting by the hub:
    :data:`~._bus.PARK_SECONDS`.)
    """
    while True:
        engine.close_all()
        if not engine.sessions:
            return
        if monotonic() >= deadline:
            # Clients that did not collect their close packet in time: let
            # them go as the close timeout would (their state saved all the same).
            late = monotonic() + engine.config.close_timeout + 1.0
            for esock in list(engine.sessions.values()):
                esock.on_deadline(late)
            return
        gevent.sleep(0.02)


def serve_worker(
    ctx: WorkerContext,
    http_server: "Server",
    setup: Callable[[WorkerContext, BusConnection], Callable[[], None] | None] | None = None,
) -> None:
    """Run in a forked worker: serve handed-over connections until SIGTERM/SIGINT.

    ``setup(ctx, bus)`` runs first (the Socket.IO layer joins the cluster
    there) and may return what to run once the server stopped; the worker
    then tells the supervisor it is ready.
    """
    gevent.reinit()
    # Signals first: a SIGTERM from the supervisor at any point from here on
    # drains (SIGHUP belongs to the supervisor: a terminal's hang-up reaches
    # the whole process group).
    stop = gevent.event.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        gevent.signal_handler(sig, stop.set)
    signal.signal(signal.SIGHUP, signal.SIG_IGN)
    install_log_prefix(ctx.slot)
    connection = BusConnection(ctx.bus)
    connection.start()
    engine = http_server.engine
    engine.sid_factory = sid_factory(ctx.wid)
    teardown = setup(ctx, connection) if setup is not None else None
    listener = _HandoffListener(http_server, ctx.handoff, http_server._greenlets.submit, stop.set,
                                ctx.family)
    http_server._endpoint = RoutingEndpoint(engine, ctx.wid, listener.give_back)
    http_server._server = listener  # type: ignore[assignment]
    http_server._endpoint.scheduler.start()
    connection.send(bus.encode(bus.READY, {"name": f"worker={ctx.slot}"}))
    stop.wait()
    _drain(engine, monotonic() + DRAIN_SECONDS)
    http_server.stop()
    if teardown is not None:
        teardown()
    connection.close()
