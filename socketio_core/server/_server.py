"""The public Socket.IO server API: handlers, emits, rooms, acks.

Strategy: the server is the Engine.IO handler of :mod:`transports`. Each
Engine.IO session gets a :class:`_Client` holding the sans-IO
:class:`~socketio_core._connection.Connection`; its events are turned into
handler calls, each in its own greenlet so that a slow handler delays nobody.
Emits encode a packet once and hand the same wire objects to every recipient.
Calls from other OS threads are handed to the gevent hub's thread through a
thread-safe callback, so ``emit`` works from anywhere, monkey-patched or not.
"""

from __future__ import annotations

import concurrent.futures
import functools
import inspect
import logging
import re
import secrets
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import partial
from time import monotonic, time
from typing import Any, Callable, Iterable, Iterator, Pattern, TypeVar, Union, overload

import gevent
from gevent import monkey
from gevent.event import AsyncResult

from engineio import CloseReason, Config
from transports import EngineServer, EngineSocket, HttpLimits, SharedBytes, SharedText, WorkerPool
from transports import Server as HttpServer
from transports import HttpApp

from ._adapter import Adapter, MemoryAdapter, SocketInfo
from ..protocol._connection import (
    AckReceived,
    ConnectRequested,
    Connection,
    ConnectTimedOut,
    DisconnectRequested,
    EventReceived,
    encode_for_engine,
    legacy_socket_id,
    query_auth,
)
from ..protocol._errors import RemoteSocketIOError
from ._namespace import Namespace
from ..protocol._encoder import encode_event_fast
from ..protocol._packets import Packet, PacketType
from ..protocol._parser import Parser, make_parser
from ..protocol._recovery import RecoveryStore, SavedSession

__all__ = ["Server", "ConnectionRefusedError", "Handshake", "ServerListener"]

log = logging.getLogger(__name__)

_real_get_ident: Callable[[], int] = monkey.get_original("_thread", "get_ident")

Handler = Callable[..., Any]
H = TypeVar("H", bound=Callable[..., Any])
NamespaceMatcher = Union[str, Pattern[str], Callable[[str, dict[str, Any]], bool]]
Target = Union[str, Iterable[str], None]


class ConnectionRefusedError(Exception):  # noqa: A001 - the name users expect
    """Raise in a connect handler or middleware to refuse the connection.

    The client receives CONNECT_ERROR ``{"message": message, "data": data}``.
    """

    def __init__(self, message: str = "Connection rejected by server", data: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data


@dataclass(frozen=True, slots=True, kw_only=True)
class Handshake:
    """What the client's first request said; available to handlers as ``environ``."""

    headers: dict[str, str]
    query: dict[str, str]
    address: str
    secure: bool
    url: str
    issued: float
    auth: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        """Mapping-style access for code written against WSGI environs."""
        return getattr(self, key, default)


class ServerListener:
    """Observes a server's sessions, sockets and incoming events (see :meth:`Server.add_listener`).

    Override what you need; every method is called on the gevent hub's
    thread, synchronously, so it must be quick and must not block. Outgoing
    events are observed with :meth:`Server.on_outgoing`, room changes with
    :meth:`Adapter.add_membership_listener`.
    """

    def client_connected(self, esock: EngineSocket) -> None:
        """A new Engine.IO session."""

    def client_disconnected(self, esock: EngineSocket, reason: str) -> None:
        """An Engine.IO session ended (``reason`` as the reference server says it)."""

    def message_received(self, esock: EngineSocket, data: str | bytes) -> None:
        """An Engine.IO message arrived (before it is decoded)."""

    def socket_connected(self, namespace: str, sid: str) -> None:
        """A socket was accepted in ``namespace`` (its connect handler has run)."""

    def socket_disconnected(self, namespace: str, sid: str, reason: str) -> None:
        """A connected socket is leaving ``namespace``; called before it leaves its rooms."""

    def event_received(self, namespace: str, sid: str, data: list[Any]) -> None:
        """An EVENT ``[name, *args]`` from a socket, before its handler runs."""


class _Socket:
    """One client's membership of one namespace."""

    __slots__ = (
        "sid", "namespace", "key", "client", "handshake", "data", "connected", "gone", "pending",
        "pid", "recovered",
    )

    def __init__(
        self, sid: str, namespace: str, key: str, client: "_Client", handshake: Handshake
    ) -> None:
        self.sid = sid
        self.namespace = namespace
        #: Where its handlers are registered: the namespace itself, or the
        #: dynamic pattern it matched when it connected.
        self.key = key
        self.client = client
        self.handshake = handshake
        self.data: dict[str, Any] = {}
        self.connected = False
        self.gone = False
        #: Packets emitted while the connect handler runs; sent after the CONNECT reply.
        self.pending: list[Any] = []
        #: Connection state recovery: private id, and whether this socket was restored.
        self.pid: str | None = None
        self.recovered = False

    def deliver(self, wires: list[Any]) -> None:
        if self.connected:
            esock = self.client.esock
            if len(wires) == 1:
                esock.send_encoded(wires[0])
            else:
                esock.send_many(wires)
        elif not self.gone:
            self.pending.extend(wires)


class _Client:
    """The Socket.IO side of one Engine.IO session."""

    __slots__ = ("esock", "conn", "sockets", "acks", "scheduled_at", "server")

    def __init__(self, server: "Server", esock: EngineSocket, conn: Connection) -> None:
        self.server = server
        self.esock = esock
        self.conn = conn
        self.sockets: dict[str, _Socket] = {}
        self.acks: dict[int, Callable[..., Any]] = {}
        self.scheduled_at: float | None = None

    def on_deadline(self, now: float) -> None:
        self.conn.handle_timeout(now)
        self.server._process(self)


class _Gather:
    """Collects the acks of a broadcast until every recipient answered or time ran out."""

    def __init__(self, expected: list[str], done: Callable[[dict[str, Any]], None]) -> None:
        self.waiting = set(expected)
        self.answers: dict[str, Any] = {}
        self.done = done
        self.finished = False

    def answer(self, sid: str, args: tuple[Any, ...]) -> None:
        if self.finished:
            return
        self.waiting.discard(sid)
        self.answers[sid] = _ack_value(args)
        if not self.waiting:
            self.finish()

    def gone(self, sid: str) -> None:
        """A recipient disconnected: its answer will never come, stop waiting for it."""
        self.waiting.discard(sid)
        if not self.waiting:
            self.finish()

    def finish(self) -> None:
        if not self.finished:
            self.finished = True
            self.done(self.answers)


class _AckWaiter:
    """The ack callback of :meth:`Server.call` / ``call_all``: ``gone()`` runs
    instead if the client disconnects first, so the caller stops waiting at
    once instead of holding its greenlet (or thread) until the timeout."""

    __slots__ = ("answer", "gone")

    def __init__(self, answer: Callable[[tuple[Any, ...]], None], gone: Callable[[], None]) -> None:
        self.answer = answer
        self.gone = gone

    def __call__(self, *args: Any) -> None:
        self.answer(args)


def _ack_value(args: tuple[Any, ...] | list[Any]) -> Any:
    if not args:
        return None
    if len(args) == 1:
        return args[0]
    return tuple(args)


def _ack_args(result: Any) -> list[Any]:
    if result is None:
        return []
    if isinstance(result, tuple):
        return list(result)
    return [result]


@functools.lru_cache(maxsize=1024)
def _positional_count(fn: Callable[..., Any]) -> int:
    """How many positional arguments ``fn`` takes (a large number for ``*args``)."""
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return 99
    count = 0
    for p in params:
        if p.kind is p.VAR_POSITIONAL:
            return 99
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            count += 1
    return count


class Server:
    """A Socket.IO server.

    ``Server(cors_allowed_origins="*", ping_interval=25, ...)`` then
    ``@server.on("event")`` handlers and ``server.run(host, port)``. Times are
    in seconds. ``parser`` is the Socket.IO parser both ends must agree on:
    ``"json"`` (the default, socket.io-parser's format), ``"msgpack"`` (the npm
    socket.io-msgpack-parser's; the ``msgpack`` extra) or a parser object (see
    :class:`~socketio_core.Parser`). ``json`` is the default parser's JSON
    codec: ``"orjson"`` (the ``fast`` extra) or any object with
    ``dumps``/``loads``. Both apply to this server only.
    """

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
    ) -> None:
        self.config = Config(
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            max_payload=max_payload,
            upgrade_timeout=upgrade_timeout,
            transports=tuple(transports),
            allow_upgrades=allow_upgrades,
            allow_eio3=allow_eio3,
        )
        self.engine = EngineServer(
            self,
            self.config,
            path=path,
            cors_allowed_origins=cors_allowed_origins,
            cors_credentials=cors_credentials,
            cookie=cookie,
            http_compression=http_compression,
            compression_threshold=compression_threshold,
            websocket_compression=websocket_compression,
        )
        self.http_limits = http_limits
        self.connect_timeout = connect_timeout
        self.max_attachments = max_attachments
        self.max_namespaces = max_namespaces
        #: Encodes packets to Engine.IO messages, and gives each client its decoder.
        self.parser: Parser = make_parser(parser, json, max_attachments=max_attachments)
        self._encode = self.parser.encode
        self.adapter: Adapter = adapter or MemoryAdapter()
        #: Connection state recovery (``True`` or options of :class:`RecoveryLog`);
        #: the adapter chooses where the log lives (memory, or Redis).
        self.recovery: RecoveryStore | None = None
        if connection_state_recovery:
            options = connection_state_recovery if isinstance(connection_state_recovery, dict) else {}
            self.recovery = self.adapter.recovery_log(dict(options))
        self.adapter.attach(self)
        self._server_handlers: dict[str, Handler] = {}
        self._handlers: dict[str, dict[str, Handler]] = {}
        self._namespace_objects: dict[str, Namespace] = {}
        self._dynamic: list[tuple[NamespaceMatcher, str]] = []
        self._middlewares: dict[str, list[Handler]] = {}
        self._outgoing_hooks: list[Handler] = []
        #: Observers (the admin instrumentation); an empty list costs one test per call site.
        self._listeners: list[ServerListener] = []
        self._sockets: dict[str, _Socket] = {}
        self._http: HttpServer | None = None
        #: Handlers run here: each in a greenlet of its own, reused across calls.
        self.workers = WorkerPool()
        self._hub: Any = None
        self._hub_thread: int | None = None

    # ------------------------------------------------------------ registration

    @staticmethod
    def _namespace_key(namespace: NamespaceMatcher | None) -> str:
        if namespace is None:
            return "/"
        if isinstance(namespace, str):
            return namespace
        return f"<dynamic {id(namespace)}>"

    def _register_namespace_key(self, namespace: NamespaceMatcher | None) -> str:
        key = self._namespace_key(namespace)
        if namespace is not None and not isinstance(namespace, str):
            if all(key != k for _, k in self._dynamic):
                self._dynamic.append((namespace, key))
        self._handlers.setdefault(key, {})
        return key

    @overload
    def on(
        self, event: str, handler: None = None, namespace: NamespaceMatcher | None = None
    ) -> Callable[[H], H]: ...

    @overload
    def on(self, event: str, handler: H, namespace: NamespaceMatcher | None = None) -> H: ...

    def on(
        self, event: str, handler: Handler | None = None, namespace: NamespaceMatcher | None = None
    ) -> Any:
        """Register a handler, as a decorator or directly.

        ``connect(sid, environ, auth)`` (fewer parameters are fine) may return
        False or raise :class:`ConnectionRefusedError`; ``disconnect(sid,
        reason)``; ``"*"`` catches every event without a handler as
        ``(event, sid, *args)``. ``namespace`` is a name, a regex or a
        predicate ``(name, auth) -> bool`` (dynamic namespaces).
        """
        key = self._register_namespace_key(namespace)

        def register(fn: Handler) -> Handler:
            self._handlers[key][event] = fn
            return fn

        if handler is not None:
            return register(handler)
        return register

    def event(self, fn: H) -> H:
        """Decorator: register ``fn`` for the event named like the function."""
        return self.on(fn.__name__, fn)

    def register_namespace(self, namespace_handler: Namespace) -> None:
        """Serve ``namespace_handler.namespace`` with an ``on_<event>`` class."""
        namespace_handler._attach(self)
        key = self._register_namespace_key(namespace_handler.namespace)
        self._namespace_objects[key] = namespace_handler

    def use(self, middleware: Handler, namespace: NamespaceMatcher | None = None) -> Handler:
        """Run ``middleware(sid, handshake)`` before ``connect``; it may raise ConnectionRefusedError."""
        key = self._register_namespace_key(namespace)
        self._middlewares.setdefault(key, []).append(middleware)
        return middleware

    def on_outgoing(self, hook: Handler) -> Handler:
        """Call ``hook(sid, namespace, event, args)`` for every event sent to a socket."""
        self._outgoing_hooks.append(hook)
        return hook

    def add_listener(self, listener: ServerListener) -> ServerListener:
        """Have ``listener`` observe this server's sessions, sockets and incoming events."""
        self._listeners.append(listener)
        return listener

    def remove_listener(self, listener: ServerListener) -> None:
        if listener in self._listeners:
            self._listeners.remove(listener)

    def _resolve_namespace(self, name: str, auth: dict[str, Any]) -> str | None:
        if name in self._handlers:
            return name
        for matcher, key in self._dynamic:
            if isinstance(matcher, re.Pattern):
                if matcher.fullmatch(name):
                    return key
            elif callable(matcher):
                try:
                    if matcher(name, auth):
                        return key
                except Exception:
                    log.exception("namespace predicate failed for %s", name)
        return None

    def _handler(self, key: str, event: str) -> Handler | None:
        fn = self._handlers.get(key, {}).get(event)
        if fn is not None:
            return fn
        obj = self._namespace_objects.get(key)
        if obj is not None:
            return obj.handler_for(event)
        return None

    # ------------------------------------------------------ Engine.IO handler

    def on_connect(self, esock: EngineSocket) -> None:
        # An Engine.IO v3 client speaks Socket.IO protocol 4 (PROTOCOL.md 3.2).
        legacy = esock.session.protocol == 3
        conn = Connection(
            monotonic(),
            connect_timeout=self.connect_timeout,
            parser=self.parser,
            max_namespaces=self.max_namespaces,
            protocol=4 if legacy else 5,
        )
        client = _Client(self, esock, conn)
        esock.context = client
        self.engine.scheduler.schedule(client, conn.next_deadline())
        for listener in self._listeners:
            listener.client_connected(esock)
        if legacy:
            # Protocol 4 clients are joined to / unasked; their auth is the handshake query.
            conn.connect_root(query_auth(esock.request.query))
            self._process(client)

    def on_message(self, esock: EngineSocket, data: str | bytes) -> None:
        client: _Client = esock.context
        if self._listeners:
            for listener in self._listeners:
                listener.message_received(esock, data)
        try:
            event = client.conn.receive_event(data)
        except RemoteSocketIOError as exc:
            log.info("client %s broke the protocol: %s", esock.sid, exc.reason)
            self._process(client)
            esock.close(CloseReason.PARSE_ERROR)
            return
        if event is not None:
            self._on_event(client, event)  # the hot path: no deadline changes
            return
        self._process(client)

    def on_disconnect(self, esock: EngineSocket, reason: str) -> None:
        client: _Client = esock.context
        for listener in self._listeners:
            listener.client_disconnected(esock, reason)
        if client is None:
            return
        for sock in list(client.sockets.values()):
            self._socket_gone(sock, reason)
        acks, client.acks = client.acks, {}
        for callback in acks.values():
            if type(callback) is _AckWaiter:
                # A call() waiting for this client: no answer will come.
                self.workers.submit(callback.gone)
        self.engine.scheduler.cancel(client)
        esock.context = None

    def _process(self, client: _Client) -> None:
        conn = client.conn
        while True:
            event = conn.next_event()
            if event is None:
                break
            # type() identity, not isinstance: the common event costs one check.
            if type(event) is EventReceived:
                self._on_event(client, event)
            elif type(event) is AckReceived:
                callback = client.acks.pop(event.ack_id, None)
                if callback is not None:
                    self.workers.submit(callback, *event.args)
            elif type(event) is ConnectRequested:
                self._start_connect(client, event.namespace, event.auth)
            elif type(event) is DisconnectRequested:
                sock = client.sockets.get(event.namespace)
                if sock is not None:
                    self._socket_gone(sock, "client namespace disconnect")
            elif type(event) is ConnectTimedOut:
                log.info("client %s joined no namespace in time", client.esock.sid)
                client.esock.close()
        self.engine.scheduler.schedule(client, conn.next_deadline())

    def _on_event(self, client: _Client, event: EventReceived) -> None:
        sock = client.sockets.get(event.namespace)
        if sock is not None:
            if self._listeners:
                for listener in self._listeners:
                    listener.event_received(sock.namespace, sock.sid, event.data)
            self.workers.submit(self._run_event, sock, event.data, event.ack_id)

    # ------------------------------------------------------------ connecting

    def _start_connect(self, client: _Client, namespace: str, auth: Any) -> None:
        if not isinstance(auth, dict):
            auth = {}
        key = self._resolve_namespace(namespace, auth)
        if key is None:
            client.esock.send_many(client.conn.refuse_unknown(namespace))
            return
        request = client.esock.request
        handshake = Handshake(
            headers=request.header_map,
            query=request.query,
            address=request.remote_addr[0] if request.remote_addr else "",
            secure=request.secure,
            url=request.target,
            issued=time(),
            auth=auth,
        )
        restored = None
        legacy = client.conn.protocol == 4
        if self.recovery is not None and not legacy and isinstance(auth.get("pid"), str) and isinstance(
            auth.get("offset"), str
        ):
            if self.recovery.blocking:
                # The log is elsewhere (Redis): wait for it in a greenlet, not on the hub.
                self.workers.submit(self._restore_then_open, client, namespace, key, auth, handshake)
                return
            restored = self.recovery.restore(auth["pid"], auth["offset"], monotonic())
        self._open_socket(client, namespace, key, auth, handshake, restored)

    def _restore_then_open(
        self, client: _Client, namespace: str, key: str, auth: dict[str, Any], handshake: Handshake
    ) -> None:
        assert self.recovery is not None
        restored = self.recovery.restore(auth["pid"], auth["offset"], monotonic())
        if client.esock.closed or namespace in client.sockets:
            if restored is not None:
                self.recovery.save(restored[0])  # gone meanwhile: keep its state for a later try
            return
        self._open_socket(client, namespace, key, auth, handshake, restored)

    def _open_socket(
        self,
        client: _Client,
        namespace: str,
        key: str,
        auth: dict[str, Any],
        handshake: Handshake,
        restored: tuple[SavedSession, list[list[Any]]] | None,
    ) -> None:
        if restored is not None and restored[0].sid in self._sockets:
            restored = None  # that socket is still here (a duplicate claim)
        legacy = client.conn.protocol == 4
        if legacy:
            sid = legacy_socket_id(namespace, client.esock.sid)
        else:
            sid = restored[0].sid if restored is not None else _new_socket_id()
        sock = _Socket(sid, namespace, key, client, handshake)
        client.sockets[namespace] = sock
        self._sockets[sock.sid] = sock
        self.adapter.add(namespace, sock.sid, sock.sid)
        if self.recovery is not None:
            sock.pid = restored[0].pid if restored is not None else self.recovery.new_pid()
        if restored is not None:
            saved, missed = restored
            sock.recovered = True
            sock.data = saved.data
            for room in saved.rooms:
                self.adapter.add(namespace, sock.sid, room)
            self.workers.submit(self._run_connect, sock, key, auth, missed)
            return
        self.workers.submit(self._run_connect, sock, key, auth)

    def _run_connect(
        self, sock: _Socket, key: str, auth: dict[str, Any], missed: list[list[Any]] | None = None
    ) -> None:
        refusal: ConnectionRefusedError | None = None
        skip_middlewares = missed is not None and self.recovery is not None and self.recovery.skip_middlewares
        try:
            for middleware in () if skip_middlewares else self._middlewares.get(key, ()):
                middleware(sock.sid, sock.handshake)
            handler = self._handler(key, "connect")
            if handler is not None:
                arity = _positional_count(handler)
                args = (sock.sid, sock.handshake, auth)[: max(1, min(arity, 3))]
                if handler(*args) is False:
                    refusal = ConnectionRefusedError()
        except ConnectionRefusedError as exc:
            refusal = exc
        except Exception:
            log.exception("connect handler failed for namespace %s", sock.namespace)
            refusal = ConnectionRefusedError("Internal server error")
        client = sock.client
        if sock.gone or client.esock.closed:
            self._forget_socket(sock)
            return
        if refusal is not None:
            self._forget_socket(sock)
            client.esock.send_many(client.conn.refuse(sock.namespace, refusal.message, refusal.data))
            return
        wires = client.conn.accept(sock.namespace, sock.sid, sock.pid)
        pending, sock.pending = sock.pending, []
        sock.connected = True
        for listener in self._listeners:
            listener.socket_connected(sock.namespace, sock.sid)
        client.esock.send_many(wires)
        if missed or pending:
            # The CONNECT reply in a write of its own, not merged with what
            # follows at the end of the loop turn: clients that dispatch every
            # frame of one TCP read at once (the ws package the conformance
            # suite pins) can lose the frames behind it.
            client.esock.flush()
        for data in missed or ():
            client.esock.send_many(client.conn.event(sock.namespace, data))
        if pending:
            client.esock.send_many(pending)

    def _forget_socket(self, sock: _Socket) -> None:
        sock.gone = True
        sock.connected = False
        sock.pending = []
        client = sock.client
        if client.sockets.get(sock.namespace) is sock:
            del client.sockets[sock.namespace]
        self._sockets.pop(sock.sid, None)
        self.adapter.discard_all(sock.namespace, sock.sid)

    def _socket_gone(self, sock: _Socket, reason: str) -> None:
        was_connected = sock.connected
        if (
            self.recovery is not None
            and was_connected
            and sock.pid is not None
            and reason not in ("client namespace disconnect", "server namespace disconnect")
        ):
            self.recovery.save(SavedSession(
                sid=sock.sid,
                pid=sock.pid,
                namespace=sock.namespace,
                rooms=self.adapter.rooms_of(sock.namespace, sock.sid) - {sock.sid},
                data=sock.data,
                saved_at=monotonic(),
            ))
        if was_connected:
            for listener in self._listeners:
                listener.socket_disconnected(sock.namespace, sock.sid, reason)
        self._forget_socket(sock)
        if not was_connected:
            return
        handler = self._handler(sock.key, "disconnect")
        if handler is not None:
            args = (sock.sid, reason)[: max(1, min(_positional_count(handler), 2))]
            self.workers.submit(handler, *args)

    # ---------------------------------------------------------------- events

    def _run_event(self, sock: _Socket, data: list[Any], ack_id: int | None) -> None:
        event = data[0]
        key = sock.key
        handler = self._handler(key, event) if isinstance(event, str) else None
        try:
            if handler is not None:
                result = handler(sock.sid, *data[1:])
            else:
                catch_all = self._handler(key, "*")
                if catch_all is None:
                    return
                result = catch_all(event, sock.sid, *data[1:])
        except Exception:
            log.exception("handler for %r failed (namespace %s)", event, sock.namespace)
            return
        if ack_id is not None and not sock.gone:
            sock.deliver(sock.client.conn.ack(sock.namespace, ack_id, _ack_args(result)))

    # -------------------------------------------------------------- emitting

    def _in_hub_thread(self) -> bool:
        return self._hub_thread is None or _real_get_ident() == self._hub_thread

    def _to_hub(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        self._hub.loop.run_callback_threadsafe(lambda: fn(*args, **kwargs))

    def emit(
        self,
        event: str,
        *args: Any,
        to: Target = None,
        room: Target = None,
        skip: Target = None,
        skip_sid: Target = None,
        namespace: str = "/",
        callback: Callable[..., Any] | None = None,
        timeout: float | None = None,
        volatile: bool = False,
    ) -> None:
        """Send ``event`` with ``args`` to ``to`` (a sid, a room, a list; None = everyone).

        ``skip`` leaves out sids or rooms. With ``callback``, a single target
        sid calls ``callback(*ack_args)``; a broadcast calls
        ``callback({sid: answer})`` once every recipient answered or after
        ``timeout`` seconds. ``volatile`` drops the packet for clients that
        cannot take it at once. Safe to call from any thread.
        """
        if not self._in_hub_thread():
            self._to_hub(
                self.emit, event, *args, to=to, room=room, skip=skip, skip_sid=skip_sid,
                namespace=namespace, callback=callback, timeout=timeout, volatile=volatile,
            )
            return
        if (
            type(to) is str and room is None and skip is None and skip_sid is None
            and callback is None and not volatile and self.recovery is None
            and not self._outgoing_hooks
        ):
            # The commonest call, a handler answering its sender: straight to the socket.
            sock = self._sockets.get(to)
            if sock is not None and sock.namespace == namespace:
                sock.deliver(sock.client.conn.event(namespace, [event, *args]))
                return
        target = to if to is not None else room
        excluded = skip if skip is not None else skip_sid
        rooms = None if target is None else ([target] if isinstance(target, str) else list(target))
        skipped = () if excluded is None else ([excluded] if isinstance(excluded, str) else list(excluded))
        data = [event, *args]
        if self.recovery is not None and not volatile and callback is None:
            # Every recoverable packet goes through the log (direct emits too).
            self.recovery.broadcast(self.adapter, namespace, data, rooms, list(skipped), monotonic())
            return
        single = (
            rooms is not None and len(rooms) == 1 and not skipped and rooms[0] in self._sockets
            and self._sockets[rooms[0]].namespace == namespace
        )
        if single:
            assert rooms is not None
            self._emit_to_socket(self._sockets[rooms[0]], data, callback, volatile)
            return
        if callback is not None:
            self.adapter.broadcast_with_ack(namespace, data, rooms, list(skipped), callback, timeout)
        else:
            self.adapter.broadcast(namespace, data, rooms, list(skipped), volatile)

    # ------------------------------------------- local delivery, for adapters

    def deliver_local(
        self,
        namespace: str,
        data: list[Any],
        rooms: list[str] | None,
        skip: list[str],
        volatile: bool = False,
    ) -> int:
        """Emit EVENT ``data`` to this process's sockets in ``rooms``; returns how many."""
        sids = self.adapter.members(namespace, rooms, skip)
        if not sids:
            return 0
        fast = encode_event_fast(namespace, data, None) if self._encode is encode_for_engine else None
        if fast is not None:
            wires: list[Any] = [fast]
        else:
            wires = self._encode(Packet(type=PacketType.EVENT, namespace=namespace, data=data))
        if len(sids) > 1:
            # Encoded once; the WebSocket frame is built by the first writer and shared.
            wires = [SharedText(w) if isinstance(w, str) else SharedBytes(w) for w in wires]
        sockets = self._sockets
        hooks = self._outgoing_hooks
        for sid in sids:
            sock = sockets.get(sid)
            if sock is None:
                continue
            if volatile and not sock.client.esock.writable_now:
                continue
            if hooks:
                self._run_hooks(sock, data)
            sock.deliver(wires)
        return len(sids)

    def deliver_local_with_ack(
        self,
        namespace: str,
        data: list[Any],
        rooms: list[str] | None,
        skip: list[str],
        callback: Callable[[dict[str, Any]], None],
        timeout: float | None,
    ) -> int:
        """Emit to this process's sockets, gathering acks into ``callback({sid: answer})``."""
        sids = self.adapter.members(namespace, rooms, skip)
        self._emit_gathering(sids, data, callback, timeout)
        return len(sids)

    def local_socket_infos(self, namespace: str, rooms: list[str] | None) -> list[SocketInfo]:
        infos = []
        for sid in self.adapter.members(namespace, rooms):
            sock = self._sockets.get(sid)
            if sock is not None and sock.connected:
                hs = sock.handshake
                infos.append(SocketInfo(
                    sid=sid,
                    namespace=namespace,
                    rooms=frozenset(self.adapter.rooms_of(namespace, sid)),
                    handshake={"headers": hs.headers, "query": hs.query, "address": hs.address,
                               "secure": hs.secure, "url": hs.url, "issued": hs.issued,
                               "auth": hs.auth},
                    data=dict(sock.data),
                ))
        return infos

    def local_sockets_join(self, namespace: str, rooms: list[str] | None, new_rooms: list[str]) -> None:
        for sid in self.adapter.members(namespace, rooms):
            for room in new_rooms:
                self.adapter.add(namespace, sid, room)

    def local_sockets_leave(self, namespace: str, rooms: list[str] | None, old_rooms: list[str]) -> None:
        for sid in self.adapter.members(namespace, rooms):
            for room in old_rooms:
                if room != sid:
                    self.adapter.discard(namespace, sid, room)

    def local_disconnect_sockets(self, namespace: str, rooms: list[str] | None, close: bool) -> None:
        for sid in self.adapter.members(namespace, rooms):
            self.disconnect(sid, namespace, close=close)

    def handle_server_event(self, event: str, args: list[Any]) -> Any:
        """Run the handler of an event another server sent with ``server_side_emit``."""
        handler = self._server_handlers.get(event)
        if handler is None:
            return None
        return handler(*args)

    def _run_hooks(self, sock: _Socket, data: list[Any]) -> None:
        for hook in self._outgoing_hooks:
            try:
                hook(sock.sid, sock.namespace, data[0], data[1:])
            except Exception:
                log.exception("outgoing hook failed")

    def _emit_to_socket(
        self, sock: _Socket, data: list[Any], callback: Callable[..., Any] | None, volatile: bool
    ) -> None:
        client = sock.client
        if volatile and not client.esock.writable_now:
            return
        ack_id = None
        if callback is not None:
            ack_id = client.conn.new_ack_id()
            client.acks[ack_id] = callback
        if self._outgoing_hooks:
            self._run_hooks(sock, data)
        sock.deliver(client.conn.event(sock.namespace, data, ack_id))

    def _emit_gathering(
        self, sids: list[str], data: list[Any], callback: Callable[..., Any], timeout: float | None
    ) -> None:
        gather = _Gather(sids, callback)
        for sid in sids:
            sock = self._sockets.get(sid)
            if sock is None:
                gather.waiting.discard(sid)
                continue
            waiter = _AckWaiter(partial(gather.answer, sid), partial(gather.gone, sid))
            self._emit_to_socket(sock, data, waiter, volatile=False)
        if not gather.waiting:
            gather.finish()
        elif timeout is not None:
            gevent.spawn_later(timeout, gather.finish)

    def send(self, data: Any, **kwargs: Any) -> None:
        """Emit a ``message`` event (what the client's ``socket.send`` receives)."""
        self.emit("message", data, **kwargs)

    def call(
        self, event: str, *args: Any, to: str, namespace: str = "/", timeout: float = 60.0
    ) -> Any:
        """Emit to one socket and wait for its ack; returns the ack's value.

        One argument comes back as itself, several as a tuple, none as None.
        Raises TimeoutError when the client does not answer within ``timeout``.
        Works from greenlets and from plain OS threads.
        """
        if to not in self._sockets:
            # Connected to another server (or nowhere): gather its single answer.
            answers = self.call_all(event, *args, to=to, namespace=namespace, timeout=timeout)
            if to not in answers:
                raise TimeoutError(f"no ack for {event!r} from {to} within {timeout} s")
            return answers[to]
        gone_message = f"{to} disconnected before acknowledging {event!r}"
        if self._in_hub_thread():
            result: AsyncResult[tuple[Any, ...]] = AsyncResult()
            waiter = _AckWaiter(result.set, lambda: result.set_exception(TimeoutError(gone_message)))
            self.emit(event, *args, to=to, namespace=namespace, callback=waiter)
            try:
                answer = result.get(timeout=timeout)
            except gevent.Timeout:
                raise TimeoutError(f"no ack for {event!r} from {to} within {timeout} s") from None
            return _ack_value(answer or ())
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self.emit(event, *args, to=to, namespace=namespace, callback=_AckWaiter(
            future.set_result, lambda: future.set_exception(TimeoutError(gone_message))))
        try:
            return _ack_value(future.result(timeout))
        except concurrent.futures.TimeoutError:
            raise TimeoutError(f"no ack for {event!r} from {to} within {timeout} s") from None

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
        """
        if self._in_hub_thread():
            result: AsyncResult[dict[str, Any]] = AsyncResult()
            self.emit(event, *args, to=to, skip=skip, namespace=namespace,
                      callback=result.set, timeout=timeout)
            return result.get() or {}
        # From another OS thread: the gathering runs on the hub, we wait here.
        future: concurrent.futures.Future[dict[str, Any]] = concurrent.futures.Future()
        self.emit(event, *args, to=to, skip=skip, namespace=namespace,
                  callback=future.set_result, timeout=timeout)
        return future.result(timeout + 5.0)

    # ----------------------------------------------------------------- rooms

    def _socket(self, sid: str, namespace: str) -> _Socket:
        sock = self._sockets.get(sid)
        if sock is None or sock.namespace != namespace:
            raise KeyError(f"no socket {sid} in namespace {namespace}")
        return sock

    def enter_room(self, sid: str, room: str, namespace: str = "/") -> None:
        if not self._in_hub_thread():
            return self._to_hub(self.enter_room, sid, room, namespace)
        if sid in self._sockets:
            self._socket(sid, namespace)
            self.adapter.add(namespace, sid, room)
        else:
            self.adapter.sockets_join(namespace, [sid], [room])  # on another server

    def leave_room(self, sid: str, room: str, namespace: str = "/") -> None:
        if not self._in_hub_thread():
            return self._to_hub(self.leave_room, sid, room, namespace)
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
        if not self._in_hub_thread():
            return self._to_hub(self.sockets_join, rooms, to=to, namespace=namespace)
        new = [rooms] if isinstance(rooms, str) else list(rooms)
        self.adapter.sockets_join(namespace, self._rooms_arg(to), new)

    def sockets_leave(self, rooms: str | list[str], to: Target = None, namespace: str = "/") -> None:
        """Make the sockets in ``to`` (all when None), on every server, leave ``rooms``."""
        if not self._in_hub_thread():
            return self._to_hub(self.sockets_leave, rooms, to=to, namespace=namespace)
        old = [rooms] if isinstance(rooms, str) else list(rooms)
        self.adapter.sockets_leave(namespace, self._rooms_arg(to), old)

    def disconnect_sockets(self, to: Target = None, namespace: str = "/", close: bool = False) -> None:
        """Disconnect the sockets in ``to`` (all when None), on every server."""
        if not self._in_hub_thread():
            return self._to_hub(self.disconnect_sockets, to=to, namespace=namespace, close=close)
        self.adapter.disconnect_sockets(namespace, self._rooms_arg(to), close)

    def on_server_event(self, event: str, handler: H | None = None) -> Any:
        """Handle ``event`` sent by another server's ``server_side_emit``; the return value answers it."""
        def register(fn: H) -> H:
            self._server_handlers[event] = fn
            return fn

        return register(handler) if handler is not None else register

    def server_side_emit(
        self,
        event: str,
        *args: Any,
        callback: Callable[[list[Any]], None] | None = None,
        timeout: float | None = 5.0,
    ) -> None:
        """Send ``event`` to every *other* server; ``callback(answers)`` gathers their replies."""
        if not self._in_hub_thread():
            return self._to_hub(self.server_side_emit, event, *args, callback=callback, timeout=timeout)
        self.adapter.server_side_emit(event, list(args), callback, timeout)

    def rooms(self, sid: str, namespace: str = "/") -> list[str]:
        return sorted(self.adapter.rooms_of(namespace, sid))

    # -------------------------------------------------------------- sessions

    def get_session(self, sid: str, namespace: str = "/") -> dict[str, Any]:
        return self._socket(sid, namespace).data

    def save_session(self, sid: str, session: dict[str, Any], namespace: str = "/") -> None:
        self._socket(sid, namespace).data = session

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

    def recovered(self, sid: str, namespace: str = "/") -> bool:
        """Whether this socket's state was restored by connection state recovery."""
        return self._socket(sid, namespace).recovered

    def transport(self, sid: str, namespace: str = "/") -> str:
        return self._socket(sid, namespace).client.esock.transport

    # ------------------------------------------------------------ disconnect

    def disconnect(self, sid: str, namespace: str = "/", *, close: bool = False) -> None:
        """Disconnect a socket from ``namespace`` (``close=True``: the whole client)."""
        if not self._in_hub_thread():
            return self._to_hub(self.disconnect, sid, namespace, close=close)
        sock = self._sockets.get(sid)
        if sock is None:
            self.adapter.disconnect_sockets(namespace, [sid], close)  # on another server
            return
        if sock.namespace != namespace:
            return
        client = sock.client
        if sock.connected:
            client.esock.send_many(client.conn.disconnect(namespace))
        self._socket_gone(sock, "server namespace disconnect")
        if close:
            client.esock.close()

    # ------------------------------------------------------------- serving

    def _bind_hub(self) -> None:
        self._hub = gevent.get_hub()
        self._hub_thread = _real_get_ident()

    def http_server(self, app: HttpApp | None = None) -> HttpServer:
        """The gevent HTTP server serving this Socket.IO server (and ``app`` elsewhere)."""
        if self._http is None:
            self._http = HttpServer(self.engine, app, limits=self.http_limits)
        elif app is not None:
            self._http.app = app
        return self._http

    def wsgi_app(self, other_app: Any = None) -> Any:
        """A WSGI application for gunicorn's gevent worker or gevent's pywsgi.

        Socket.IO is served at this server's path (polling through WSGI,
        WebSocket by taking over the connection); other paths go to ``other_app``.
        """
        from transports import WsgiApp

        self._bind_hub()
        self.engine.scheduler.start()
        return WsgiApp(self.engine, other_app)

    def start(self, host: str = "127.0.0.1", port: int = 5000, **kwargs: Any) -> tuple[str, int]:
        """Start serving in the background (on the calling thread's hub); returns the address."""
        self._bind_hub()
        return self.http_server().start(host, port, **kwargs)

    def run(self, host: str = "127.0.0.1", port: int = 5000, **kwargs: Any) -> None:
        """Serve until SIGINT/SIGTERM, then close every session properly."""
        address = self.start(host, port, **kwargs)
        log.info("listening on http://%s:%d", *address)
        assert self._http is not None
        self._http.serve_forever()

    def stop(self) -> None:
        """Stop serving: close every session properly, release the adapter."""
        if self._http is not None:
            self._http.stop()
        self.adapter.close()

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


def _new_socket_id() -> str:
    return secrets.token_urlsafe(15)


