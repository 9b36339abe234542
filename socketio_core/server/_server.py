"""The public Socket.IO server: construction, calls, rooms, sessions, serving.

Strategy: :class:`Server` is built in layers, one job per module, each a
base class of the next (so the hot paths stay plain method calls on one
object):

- :mod:`._registry`: what the application registers (handlers, namespaces,
  middlewares, observers);
- :mod:`._engine_glue`: the Engine.IO handler the driver's engine calls
  (sessions, messages, connecting and leaving namespaces, running handlers);
- :mod:`._delivery`: ``emit`` with its one fast path, and the
  :class:`~._delivery.LocalDelivery` methods adapters call back into;
- this module: the rest of the public API (``call``, rooms, cluster-wide
  operations, sessions, ``run``/``start``/``stop``).

Per-client state is in :mod:`._sockets`, ack bookkeeping in :mod:`._acks`.
Calls from other OS threads are handed to the loop's thread, so the API
works from anywhere, monkey-patched or not. What differs between drivers
(the hub or the asyncio loop, timers, how handlers run) is the
:class:`~transports._runtime.Runtime` in ``self.runtime``.
"""

from __future__ import annotations

import concurrent.futures
import errno
import logging
import os
import sys
from contextlib import contextmanager
from functools import partial
from typing import TYPE_CHECKING, Any, Callable, Iterable, Iterator

from engineio import Config
from transports import AllowRequest, HeaderHook, HttpLimits, RequestHooks
from transports._runtime import Runtime, Waitable, Workers

from ..protocol._parser import Parser, make_parser
from ..protocol._recovery import RecoveryStore
from ._acks import AckWaiter, TooManyPendingAcks, ack_value
from ._adapter import Adapter, MemoryAdapter, SocketInfo
from ._compat import check_async_mode, ping_options, server_logger
from ._compat import engineio_logger as engineio_logger_option
from ._delivery import _NO_DATA, Delivery, Target
from ._errorlog import FailureLog
from ._sockets import Handshake, Socket, SocketView, wsgi_environ
from ._views import PeerViews

if TYPE_CHECKING:
    from transports import EngineServer, EngineSocket, HttpApp
    from transports import Server as HttpServer

__all__ = ["Server"]

log = logging.getLogger(__name__)


def _any_namespace(name: str, auth: dict[str, Any]) -> bool:
    """``namespaces="*"``: every namespace a client asks for is served."""
    return True


def _gevent_runtime() -> Runtime:
    from transports.gevent._runtime import GeventRuntime

    return GeventRuntime()


class _FutureSetter:
    """A :class:`~transports._runtime.Waitable` face for a ``concurrent.futures.Future``
    (a caller on another OS thread waits on it)."""

    __slots__ = ("set", "set_exception")

    def __init__(self, future: concurrent.futures.Future[Any]) -> None:
        self.set = future.set_result
        self.set_exception = future.set_exception


class Server(Delivery, PeerViews):
    """A Socket.IO server.

    ``Server(cors_allowed_origins="*", ping_interval=25, ...)`` then
    ``@server.on("event")`` handlers and ``server.run(host, port)``. Times are
    in seconds. ``parser`` is the Socket.IO parser both ends must agree on:
    ``"json"`` (the default, socket.io-parser's format), ``"msgpack"`` (the npm
    socket.io-msgpack-parser's; the ``msgpack`` extra) or a parser object (see
    :class:`~socketio_core.Parser`). ``json`` is the default parser's JSON
    codec: ``"orjson"`` (the ``fast`` extra) or any object with
    ``dumps``/``loads``. Both apply to this server only.

    python-socketio's options are accepted as it spells them (see
    :mod:`._compat`): ``async_mode`` (gevent only; others are refused with
    advice), ``logger``/``engineio_logger`` (True, False or a Logger),
    ``always_connect``, ``max_http_buffer_size`` (= ``max_payload``),
    ``ping_interval=(interval, grace)``, ``client_manager`` (= ``adapter``),
    ``namespaces`` (a list, or ``"*"`` for any), ``async_handlers`` (False:
    one client's event handlers run one at a time, in arrival order; other
    clients are never held back), ``monitor_clients`` and ``serializer="default"``.

    Node's engine hooks: ``initial_headers(headers, request)`` adds response
    headers to a handshake, ``headers(headers, request)`` to every Engine.IO
    response (both mutate the ``headers`` dict; a list value gives several
    lines), and ``allow_request(request)`` accepts (True) or refuses (False:
    403 ``Forbidden``; a message; or ``(status, message)``) a handshake
    before its session exists. It runs in the request's greenlet, so it may
    wait. See README "Request hooks".
    """

    #: Builds this server's :class:`~transports._runtime.Runtime` (the driver
    #: it runs on); :class:`~socketio_core.AsyncServer` names the asyncio one.
    _new_runtime: Callable[[], Runtime] = staticmethod(_gevent_runtime)

    def __init__(
        self,
        *,
        path: str = "/socket.io/",
        ping_interval: float = 25.0,
        ping_timeout: float = 20.0,
        max_payload: int = 1_000_000,
        upgrade_timeout: float = 10.0,
        transports: Iterable[str] = ("polling", "websocket"),
        allow_upgrades: bool = True,
        allow_eio3: bool = False,
        connect_timeout: float = 45.0,
        cors_allowed_origins: Any = None,
        cors_credentials: bool = True,
        cookie: Any = None,
        http_compression: bool = True,
        compression_threshold: int = 1024,
        websocket_compression: bool = False,
        json: Any = None,
        parser: Any = "json",
        adapter: Adapter | None = None,
        http_limits: HttpLimits | None = None,
        max_attachments: int = 10,
        max_namespaces: int = 100,
        connection_state_recovery: bool | dict[str, Any] = False,
        allow_request: AllowRequest | None = None,
        initial_headers: HeaderHook | None = None,
        headers: HeaderHook | None = None,
        max_pending_acks: int = 1000,
        # python-socketio's spellings (see _compat)
        async_mode: str | None = None,
        logger: bool | logging.Logger | None = None,
        engineio_logger: bool | logging.Logger | None = None,
        always_connect: bool = False,
        max_http_buffer_size: int | None = None,
        client_manager: Adapter | None = None,
        namespaces: str | list[str] | None = None,
        async_handlers: bool = True,
        monitor_clients: bool = True,
        serializer: str = "default",
    ) -> None:
        #: How code runs on this server's driver (gevent, or asyncio for AsyncServer).
        self.runtime: Runtime = self._new_runtime()
        check_async_mode(async_mode)
        if serializer not in ("default", "json", "msgpack"):
            raise ValueError(f"serializer={serializer!r} is not supported: use parser='json' or 'msgpack'")
        if serializer == "msgpack":
            parser = "msgpack"
        super().__init__()
        #: This server's own lines: connects, refusals, disconnects, events, emits, handler errors.
        self.logger: logging.Logger = server_logger(logger)
        #: ``logger=False``: python-socketio's "say nothing" (no startup line on stderr).
        self._quiet = logger is False
        self.failures = FailureLog(lambda: self.logger, later=self._later_in_worker)
        engineio_logger_option(engineio_logger)
        ping_interval, ping_timeout = ping_options(ping_interval, ping_timeout)
        if max_http_buffer_size is not None:
            max_payload = max_http_buffer_size
        #: python-socketio's ``always_connect``: accept first, then run the connect handler.
        self.always_connect = always_connect
        self.output_held = 0
        self.async_handlers = async_handlers
        self.config = Config(
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            max_payload=max_payload,
            upgrade_timeout=upgrade_timeout,
            transports=tuple(transports),
            allow_upgrades=allow_upgrades,
            allow_eio3=allow_eio3,
        )
        self.engine: EngineServer = self.runtime.engine_server(
            self,
            self.config,
            path=path,
            cors_allowed_origins=cors_allowed_origins,
            cors_credentials=cors_credentials,
            cookie=cookie,
            http_compression=http_compression,
            compression_threshold=compression_threshold,
            websocket_compression=websocket_compression,
            hooks=RequestHooks(
                initial_headers=initial_headers, headers=headers, allow_request=allow_request
            ),
        )
        self.http_limits = http_limits
        self.connect_timeout = connect_timeout
        self.max_attachments = max_attachments
        self.max_namespaces = max_namespaces
        #: Acks one client may owe at once (``call``, ``emit(callback=...)``):
        #: past it the caller gets TooManyPendingAcks instead of a new waiter.
        self.max_pending_acks = max_pending_acks
        #: Encodes packets to Engine.IO messages, and gives each client its decoder.
        self.parser: Parser = make_parser(parser, json, max_attachments=max_attachments)
        self._encode = self.parser.encode
        self._sockets: dict[str, Socket] = {}
        self._http: HttpServer | None = None
        #: Handlers run here (gevent: each in a pooled greenlet; asyncio: on the loop, or a task).
        self.workers: Workers = self.runtime.workers
        self._hub: Any = None
        self._hub_thread: int | None = None
        self.adapter: Adapter = adapter or client_manager or MemoryAdapter()
        #: Connection state recovery (``True`` or options of :class:`RecoveryLog`);
        #: the adapter chooses where the log lives (memory, or Redis).
        self.recovery: RecoveryStore | None = None
        if connection_state_recovery:
            options = connection_state_recovery if isinstance(connection_state_recovery, dict) else {}
            self.recovery = self.adapter.recovery_log(dict(options))
        self.adapter.attach(self)
        if namespaces == "*":
            self.on("connect", lambda sid: None, namespace=_any_namespace)
        elif namespaces:
            for name in [namespaces] if isinstance(namespaces, str) else namespaces:
                self._register_namespace_key(name)
        self.refresh_log_levels()

    def send(self, data: Any, **kwargs: Any) -> None:
        """Emit a ``message`` event (what the client's ``socket.send`` receives)."""
        self.emit("message", data, **kwargs)

    def call(
        self,
        event: str,
        *args: Any,
        to: str | None = None,
        namespace: str | None = "/",
        timeout: float = 60.0,
        sid: str | None = None,
        data: Any = _NO_DATA,
    ) -> Any:
        """Emit to one socket and wait for its ack; returns the ack's value.

        One argument comes back as itself, several as a tuple, none as None.
        Raises TimeoutError when the client does not answer within ``timeout``
        or disconnects first (at once, then), and :class:`TooManyPendingAcks`
        when it already owes ``max_pending_acks`` acks. Either way the server
        keeps nothing of the call: the time limit is a timer of the hub's loop
        that forgets the ack (no greenlet waits for it but the caller).
        Works from greenlets and from plain OS threads. python-socketio's
        ``sid=`` (for ``to=``), ``data=`` and ``namespace=None`` are accepted.
        """
        event, args, to, namespace = self._call_target(event, args, to, namespace, sid, data)
        if self.in_hub_thread():
            result = self.runtime.waitable()
            self._begin_call(to, namespace, event, args, timeout, result)
            return ack_value(result.get() or ())
        # From another OS thread: the call runs on the hub, we wait here.
        future: concurrent.futures.Future[tuple[Any, ...]] = concurrent.futures.Future()
        self.run_on_hub(self._begin_call, to, namespace, event, args, timeout, _FutureSetter(future))
        try:
            # The hub's timer answers at ``timeout``; the margin only guards a stuck hub.
            return ack_value(future.result(timeout + 5.0))
        except concurrent.futures.TimeoutError:
            if future.done():
                raise  # the waiter's own TimeoutError (the same class since Python 3.11)
            raise TimeoutError(self._late(event, to, timeout)) from None

    @staticmethod
    def _call_target(
        event: str, args: tuple[Any, ...], to: str | None, namespace: str | None, sid: str | None, data: Any
    ) -> tuple[str, tuple[Any, ...], str, str]:
        """``call``'s arguments, python-socketio's spellings folded in: (event, args, to, namespace)."""
        if data is not _NO_DATA:
            args = (*args, *data) if type(data) is tuple else (*args, data)
        to = to if to is not None else sid
        if to is None:
            raise TypeError("call() needs the socket to ask: to=sid")
        return event, args, to, namespace or "/"

    @staticmethod
    def _late(event: str, to: str, timeout: float) -> str:
        return f"no ack for {event!r} from {to} within {timeout} s"

    def _begin_call(
        self, to: str, namespace: str, event: str, args: tuple[Any, ...], timeout: float, result: Waitable
    ) -> None:
        """On the loop: ask ``to`` for an ack to ``event``; ``result`` gets the ack's
        arguments, or TimeoutError (no answer in time, or it left first), or
        :class:`TooManyPendingAcks`. Either way the server keeps nothing of the call."""
        late = self._late(event, to, timeout)
        sock = self._sockets.get(to)
        if sock is None or sock.namespace != namespace:
            # Connected to another server (or nowhere): gather its single answer.
            def answered(answers: dict[str, Any]) -> None:
                if to in answers:
                    result.set((answers[to],))
                else:
                    result.set_exception(TimeoutError(late))

            self.adapter.broadcast_with_ack(namespace, [event, *args], [to], [], answered, timeout)
            return
        gone = f"{to} disconnected before acknowledging {event!r}"
        waiter = AckWaiter(
            result.set, lambda: result.set_exception(TimeoutError(gone)),
            lambda: result.set_exception(TimeoutError(late)), inline=True,
        )
        try:
            self.emit(event, *args, to=to, namespace=namespace, callback=waiter, timeout=timeout)
        except TooManyPendingAcks as exc:
            result.set_exception(exc)

    def call_all(
        self,
        event: str,
        *args: Any,
        to: Target = None,
        skip: Target = None,
        namespace: str = "/",
        timeout: float = 10.0,
    ) -> dict[str, Any]:
        """Broadcast and wait for every recipient's ack: ``{sid: answer}``.

        Recipients that did not answer within ``timeout`` are missing from the result.
        Always gathered (a single sid too: ``emit`` would hand its callback the bare answer).
        """
        if self.in_hub_thread():
            result = self.runtime.waitable()
            self._begin_call_all(event, args, to, skip, namespace, timeout, result)
            return result.get() or {}
        # From another OS thread: the gathering runs on the hub, we wait here.
        future: concurrent.futures.Future[dict[str, Any]] = concurrent.futures.Future()
        self.run_on_hub(self._begin_call_all, event, args, to, skip, namespace, timeout, _FutureSetter(future))
        return future.result(timeout + 5.0)

    def _begin_call_all(
        self, event: str, args: tuple[Any, ...], to: Target, skip: Target, namespace: str, timeout: float,
        result: Waitable,
    ) -> None:
        """On the loop: broadcast ``event``; ``result`` gets ``{sid: answer}``."""
        rooms = self._rooms_arg(to)
        skipped = self._rooms_arg(skip) or []
        self.adapter.broadcast_with_ack(namespace, [event, *args], rooms, skipped, result.set, timeout)

    # ----------------------------------------------------------------- rooms

    def _socket(self, sid: str, namespace: str) -> Socket:
        sock = self._sockets.get(sid)
        if sock is None or sock.namespace != namespace:
            raise KeyError(f"no socket {sid} in namespace {namespace}")
        return sock

    def enter_room(self, sid: str, room: str, namespace: str = "/") -> None:
        if not self.in_hub_thread():
            return self.run_on_hub(self.enter_room, sid, room, namespace)
        if sid in self._sockets:
            self._socket(sid, namespace)
            self.adapter.add(namespace, sid, room)
        else:
            self.adapter.sockets_join(namespace, [sid], [room])  # on another server

    def leave_room(self, sid: str, room: str, namespace: str = "/") -> None:
        if not self.in_hub_thread():
            return self.run_on_hub(self.leave_room, sid, room, namespace)
        if sid in self._sockets:
            self.adapter.discard(namespace, sid, room)
        else:
            self.adapter.sockets_leave(namespace, [sid], [room])  # on another server

    def close_room(self, room: str, namespace: str = "/") -> None:
        """Make every socket (on every server) leave ``room``."""
        self.sockets_leave(room, to=room, namespace=namespace)

    # ----------------------------------------------- cluster-wide operations

    @staticmethod
    def _rooms_arg(to: Target) -> list[str] | None:
        return None if to is None else ([to] if isinstance(to, str) else list(to))

    def fetch_sockets(self, to: Target = None, namespace: str = "/") -> list[SocketInfo]:
        """Every socket of ``namespace`` in ``to`` (all when None), on every server."""
        return self.adapter.fetch_sockets(namespace, self._rooms_arg(to))

    def sockets_join(self, rooms: str | list[str], to: Target = None, namespace: str = "/") -> None:
        """Make the sockets in ``to`` (all when None), on every server, join ``rooms``."""
        if not self.in_hub_thread():
            return self.run_on_hub(self.sockets_join, rooms, to=to, namespace=namespace)
        new = [rooms] if isinstance(rooms, str) else list(rooms)
        self.adapter.sockets_join(namespace, self._rooms_arg(to), new)

    def sockets_leave(self, rooms: str | list[str], to: Target = None, namespace: str = "/") -> None:
        """Make the sockets in ``to`` (all when None), on every server, leave ``rooms``."""
        if not self.in_hub_thread():
            return self.run_on_hub(self.sockets_leave, rooms, to=to, namespace=namespace)
        old = [rooms] if isinstance(rooms, str) else list(rooms)
        self.adapter.sockets_leave(namespace, self._rooms_arg(to), old)

    def disconnect_sockets(self, to: Target = None, namespace: str = "/", close: bool = False) -> None:
        """Disconnect the sockets in ``to`` (all when None), on every server."""
        if not self.in_hub_thread():
            return self.run_on_hub(self.disconnect_sockets, to=to, namespace=namespace, close=close)
        self.adapter.disconnect_sockets(namespace, self._rooms_arg(to), close)

    def server_side_emit(
        self,
        event: str,
        *args: Any,
        callback: Callable[[list[Any]], None] | None = None,
        timeout: float | None = 5.0,
    ) -> None:
        """Send ``event`` to every *other* server; ``callback(answers)`` gathers their replies."""
        if not self.in_hub_thread():
            return self.run_on_hub(self.server_side_emit, event, *args, callback=callback, timeout=timeout)
        self.adapter.server_side_emit(event, list(args), callback, timeout)

    def rooms(self, sid: str, namespace: str = "/") -> list[str]:
        return sorted(self.adapter.rooms_of(namespace, sid))

    # -------------------------------------------------------------- sessions

    def get_session(self, sid: str, namespace: str = "/") -> dict[str, Any]:
        return self._socket(sid, namespace).data

    def save_session(self, sid: str, session: dict[str, Any], namespace: str = "/") -> None:
        """Make ``session`` the socket's data (what connection state recovery saves with it).

        Listeners hear of it (``session_saved``, on the hub's thread): with
        ``workers=N`` the supervisor's copy of the socket is brought up to
        date, so it recovers with this data even if its worker is killed.
        """
        self._socket(sid, namespace).data = session
        if self._listeners:
            if self.in_hub_thread():
                self._session_saved(namespace, sid)
            else:
                self.run_on_hub(self._session_saved, namespace, sid)

    def _session_saved(self, namespace: str, sid: str) -> None:
        for listener in self._listeners:
            listener.session_saved(namespace, sid)

    @contextmanager
    def session(self, sid: str, namespace: str = "/") -> Iterator[dict[str, Any]]:
        """``with server.session(sid) as s: s["user"] = ...`` (per socket, per namespace)."""
        data = self.get_session(sid, namespace)
        yield data
        self.save_session(sid, data, namespace)

    def handshake(self, sid: str, namespace: str = "/") -> Handshake:
        return self._socket(sid, namespace).handshake

    def engine_socket(self, sid: str) -> EngineSocket:
        """The Engine.IO session under socket ``sid``, shared by the client's namespaces.

        Its ``request`` is the handshake request. Raises KeyError for a sid
        that is not connected to this process.
        """
        sock = self._sockets.get(sid)
        if sock is None:
            raise KeyError(f"no socket {sid}")
        return sock.client.esock

    def local_socket(self, sid: str, namespace: str) -> SocketView | None:
        """Socket ``sid`` of ``namespace`` if it is on this process (connected or connecting), else None."""
        sock = self._sockets.get(sid)
        if sock is None or sock.namespace != namespace:
            return None
        return sock

    def local_sockets(self) -> list[SocketView]:
        """Every socket of this process, in every namespace (connected or connecting)."""
        return list(self._sockets.values())

    def recovered(self, sid: str, namespace: str = "/") -> bool:
        """Whether this socket's state was restored by connection state recovery."""
        return self._socket(sid, namespace).recovered

    def transport(self, sid: str, namespace: str = "/") -> str:
        return self._socket(sid, namespace).client.esock.transport

    # ------------------------------------------------------------ disconnect

    def disconnect(self, sid: str, namespace: str = "/", *, close: bool = False) -> None:
        """Disconnect a socket from ``namespace`` (``close=True``: the whole client)."""
        if not self.in_hub_thread():
            return self.run_on_hub(self.disconnect, sid, namespace, close=close)
        sock = self._sockets.get(sid)
        if sock is None:
            self.adapter.disconnect_sockets(namespace, [sid], close)  # on another server
            return
        if sock.namespace == namespace:
            self._disconnect_socket(sock, close)

    # ------------------------------------------------------------- serving

    def http_server(self, app: HttpApp | None = None) -> HttpServer:
        """The driver's HTTP server serving this Socket.IO server (and ``app`` elsewhere)."""
        if self._http is None:
            self._http = self.runtime.http_server(self.engine, app, self.http_limits)
        elif app is not None:
            self._http.app = app
        return self._http

    def wsgi_app(self, other_app: Any = None) -> Any:
        """A WSGI application for gunicorn's gevent worker or gevent's pywsgi.

        Socket.IO is served at this server's path (polling through WSGI,
        WebSocket by taking over the connection); other paths go to ``other_app``.
        """
        from transports import WsgiApp

        self.bind_hub()
        self.engine.scheduler.start()
        return WsgiApp(self.engine, other_app, limits=self.http_limits)

    def start(self, host: str = "127.0.0.1", port: int = 5000, **kwargs: Any) -> tuple[str, int]:
        """Start serving in the background (on the calling thread's hub); returns the address."""
        self.bind_hub()
        return self.http_server().start(host, port, **kwargs)

    def run(self, host: str = "127.0.0.1", port: int = 5000, *, workers: int = 1, **kwargs: Any) -> None:
        """Serve until SIGINT/SIGTERM, then close every session properly.

        ``workers=N`` (N > 1): N processes behind the one port, sticky, acting
        as one cluster (README "Workers"; :func:`socketio_core.cluster.run_workers`).

        Says where it listens in one line, as Flask's ``run`` does: on this
        server's logger at INFO when that is enabled, else on stderr (unless
        ``logger=False``). A port already in use (or any other failure to
        listen) ends the program with one line (SystemExit), not a traceback.
        """
        if workers != 1:
            from ..cluster import run_workers

            return run_workers(self, host, port, workers, **kwargs)
        try:
            address = self.start(host, port, **kwargs)
        except OSError as exc:
            raise self._cannot_listen(exc, host, port) from None
        self._announce(address, bool(kwargs.get("certfile")))
        assert self._http is not None
        self._http.serve_forever()

    @staticmethod
    def _cannot_listen(exc: OSError, host: str, port: int) -> SystemExit:
        """The one line a failure to listen ends the program with."""
        return SystemExit(
            f"socketio-core: cannot listen on {host}:{port}: "
            f"{os.strerror(exc.errno) if exc.errno else exc}"
            + (" (another server is running there: stop it or choose another port)"
               if exc.errno == errno.EADDRINUSE else "")
        )

    def _announce(self, address: tuple[str, int], tls: bool) -> None:
        """Where we listen, on the logger at INFO when enabled, else on stderr (unless ``logger=False``)."""
        scheme = "https" if tls else "http"
        line = " * Socket.IO server running on %s://%s:%d (Press CTRL+C to quit)"
        if self.logger.isEnabledFor(logging.INFO):
            self.logger.info(line, scheme, *address)
        elif not self._quiet:
            print(line % (scheme, *address), file=sys.stderr, flush=True)

    def stop(self) -> None:
        """Stop serving: close every session properly, release the adapter."""
        if self._http is not None:
            self._http.stop()
        self.adapter.close()

    def shutdown(self) -> None:
        """python-socketio's ``shutdown``: disconnect every client, stop the background work.

        Every session is closed properly (clients see the server's close),
        timers stop and the adapter is released. Under :meth:`run`/:meth:`start`
        it is :meth:`stop`; under a WSGI server, call it before stopping that server.
        """
        if not self.in_hub_thread():
            return self.run_on_hub(self.shutdown)
        if self._http is not None:
            self.stop()
            return
        self._close_sessions()

    def _close_sessions(self) -> None:
        """Close every session properly, stop the timers, release the adapter (no HTTP server of ours)."""
        self.engine.close_all()
        self.engine.scheduler.stop()
        self.adapter.close()

    # ----------------------------------------------- python-socketio's helpers

    def sleep(self, seconds: float = 0) -> None:
        """python-socketio's ``sio.sleep``: a gevent sleep (never blocks other clients)."""
        self.runtime.sleep(seconds)

    def start_background_task(self, target: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``target(*args, **kwargs)`` in a greenlet; returns it (``join()`` waits for it).

        An exception it raises is logged, with the function's name, on this
        server's logger.
        """
        return self.runtime.start_background_task(target, args, kwargs, partial(self._task_failed, target))

    def _task_failed(self, target: Any) -> None:
        self.logger.exception("background task %s failed", getattr(target, "__qualname__", target))

    def get_environ(self, sid: str, namespace: str | None = None) -> dict[str, Any] | None:
        """The WSGI-style environ of ``sid``'s handshake request (None for an unknown sid)."""
        sock = self._sockets.get(sid)
        if sock is None or (namespace is not None and sock.namespace != namespace):
            return None
        return sock.handshake.environ or wsgi_environ(sock.client.esock.request)

    def instrument(self, **options: Any) -> Any:
        """python-socketio's ``sio.instrument(auth=...)``: :func:`socketio_core.admin.instrument`."""
        from ..admin import instrument

        return instrument(self, **options)

    def stats(self) -> dict[str, int]:
        """Debug counters; with no client connected every one of them is zero.

        ``sessions`` Engine.IO sessions, ``sockets`` namespace memberships,
        ``rooms`` room memberships, ``timers`` sessions and clients holding a
        deadline, ``buffered_bytes`` messages waiting to be written,
        ``pending_acks`` acks we wait for, ``busy_workers`` handler greenlets
        running or blocked, ``connections`` open TCP connections.
        """
        clients = [e.context for e in self.engine.sessions.values() if e.context is not None]
        workers = self.workers
        return {
            "sessions": len(self.engine.sessions),
            "sockets": len(self._sockets),
            "rooms": self.adapter.membership_count(),
            "timers": self.engine.scheduler.active,
            "buffered_bytes": sum(e.session.buffered_bytes for e in self.engine.sessions.values()),
            "pending_acks": sum(len(c.acks) for c in clients),
            "busy_workers": workers.workers - workers.idle_count,
            "connections": self._http.connections if self._http is not None else 0,
        }

    def _later_in_worker(self, delay: float, fn: Callable[[], None]) -> Any:
        """After ``delay`` seconds, ``fn`` in a worker (it may log, and logging may block)."""
        return self.runtime.call_later(delay, self.workers.submit, fn)


