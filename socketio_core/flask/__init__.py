"""Flask integration in the style of Flask-SocketIO: ``from socketio_core.flask import SocketIO, emit``.

Strategy: :class:`SocketIO` owns a :class:`socketio_core.Server` and registers
on it a thin wrapper around each Flask-style handler. When an event arrives,
the wrapper (already in its own worker greenlet) pushes a Flask request
context built from the client's handshake request (method GET, its path,
query string, headers, remote address), sets ``request.sid``,
``request.namespace`` and ``request.event``, calls the handler with the
event's arguments (no sid: it is ``request.sid``), and returns its value as
the ack. The context functions (:func:`emit`, :func:`send`, :func:`join_room`
...) read the sid and namespace from that context.

``flask.session`` inside handlers is, by default (``manage_session=True``,
as in Flask-SocketIO), a copy of the HTTP session the client had when it
connected, taken on its first event and kept for the life of its Engine.IO
connection (shared by its namespaces): handlers may change it, but the
changes never reach the browser's cookie, nor does a later HTTP login reach
a connected socket. With ``manage_session=False`` each event opens the
session from the handshake's cookie and saves it back through the app's
session interface (useful only with server-side sessions).

Serving: ``SocketIO(app)`` wraps ``app.wsgi_app``, so whatever serves the
Flask app also serves Socket.IO (gunicorn's gevent worker, gevent's pywsgi)
and the official client script at ``/socket.io.min.js``. ``socketio.run(app)``
serves both on our own gevent HTTP server, with a reloader for development,
and so does ``flask run`` (:mod:`._cli`, a ``flask.commands`` entry point).
Module map: :mod:`._dispatch` (running a handler in its socket's contexts),
:mod:`._context` (context functions, class namespaces), :mod:`._options`
(Flask-SocketIO option names), :mod:`._middleware` (the WSGI wrapper),
:mod:`._serving` (``run``), :mod:`._testing` (the test client).
"""

from __future__ import annotations

import logging
import sys
import weakref
from typing import TYPE_CHECKING, Any, Callable, TypeVar

import flask
import gevent

from engineio import CloseReason
from transports import EngineSocket

from ._dispatch import HandlerDispatch, _Connection
from ._middleware import SocketIOMiddleware
from ._options import split_options, use_loggers
from ._context import (
    Namespace,
    _current_socket,
    _NamespaceAdapter,
    _spread,
    call,
    close_room,
    disconnect,
    emit,
    join_room,
    leave_room,
    rooms,
    send,
)
from ..server import ConnectionRefusedError, Server

if TYPE_CHECKING:
    from ._testing import SocketIOTestClient

__all__ = [
    "SocketIO",
    "Namespace",
    "ConnectionRefusedError",
    "emit",
    "send",
    "call",
    "join_room",
    "leave_room",
    "close_room",
    "rooms",
    "disconnect",
]

log = logging.getLogger(__name__)

F = TypeVar("F", bound=Callable[..., Any])
StartResponse = Callable[..., Any]


class _Reason:
    """The disconnect reasons handlers receive (``SocketIO.reason``, python-socketio's names).

    The values are the strings the Socket.IO reference server uses, which
    is what a ``disconnect(reason)`` handler here is given.
    """

    CLIENT_DISCONNECT = "client namespace disconnect"
    SERVER_DISCONNECT = "server namespace disconnect"
    PING_TIMEOUT = CloseReason.PING_TIMEOUT.value
    TRANSPORT_CLOSE = CloseReason.TRANSPORT_CLOSE.value
    TRANSPORT_ERROR = CloseReason.TRANSPORT_ERROR.value
    SERVER_SHUTDOWN = CloseReason.SERVER_SHUTDOWN.value


class SocketIO(HandlerDispatch):
    """Socket.IO for a Flask application.

    ``SocketIO(app, **options)`` or ``SocketIO(**options)`` then
    :meth:`init_app` (application factories). Options are those of
    :class:`socketio_core.Server` (``cors_allowed_origins``,
    ``ping_interval``, ``ping_timeout``, ``max_payload``, ``path``,
    ``json``, ``adapter`` ...) plus ``manage_session`` (default True, see the
    module notes) and ``client_script_url`` (where the official client is
    served, ``"/socket.io.min.js"``; None to leave that path to the app).
    Flask-SocketIO's ``async_mode`` is accepted when it is ``"gevent"``;
    ``logger``/``engineio_logger=True`` turn on INFO logging.
    """

    #: Flask-SocketIO's ``SocketIO.reason``: ``reason == socketio.reason.PING_TIMEOUT`` ...
    reason = _Reason

    def __init__(self, app: flask.Flask | None = None, **kwargs: Any) -> None:
        self.server: Server | None = None
        self.app: flask.Flask | None = None
        self.server_options: dict[str, Any] = {}
        #: Flask-SocketIO's attribute; the only mode here.
        self.async_mode = "gevent"
        self.manage_session = True
        self.client_script_url: str | None = "/socket.io.min.js"
        self._registrations: list[Callable[[Server], None]] = []
        self.exception_handlers: dict[str, Callable[[Exception], Any]] = {}
        self.default_exception_handler: Callable[[Exception], Any] | None = None
        self._connections: weakref.WeakKeyDictionary[EngineSocket, _Connection] = (
            weakref.WeakKeyDictionary()
        )
        #: sid -> its Engine.IO session, recorded when the socket connects, so
        #: that a disconnect handler (which runs after the server forgot the
        #: socket) still gets the request context of the client.
        self._esocks: weakref.WeakValueDictionary[str, EngineSocket] = weakref.WeakValueDictionary()
        self._tracked: set[str] = set()
        self._reload_requested = False
        #: The write-only emitter of ``SocketIO(message_queue=url)`` without an app.
        self._emitter: Any = None
        #: The adapter or emitter this object made for ``message_queue`` (``server_options["client_manager"]``).
        self._own_manager: Any = None
        self.server_options.update(kwargs)
        if app is not None or "message_queue" in kwargs:
            self.init_app(app)

    # --------------------------------------------------------------- setup

    def init_app(self, app: flask.Flask | None, **kwargs: Any) -> None:
        """Attach to ``app``: a new server, every handler registered so far, the WSGI wrapper.

        Raises ValueError for options this library does not support
        (another ``async_mode``). ``message_queue="redis://..."`` puts the server on
        the Redis adapter (``channel=`` sets its channel prefix). Without an
        app (``SocketIO(message_queue=url)`` in a worker or script), this is a
        write-only emitter: :meth:`emit` and :meth:`send` publish to the
        servers on that Redis; nothing is served. ``server_options
        ["client_manager"]`` is the adapter (or emitter), its ``write_only``
        says which.
        """
        self.server_options.update(kwargs)
        if self._own_manager is not None and self.server_options.get("client_manager") is self._own_manager:
            self.server_options.pop("client_manager")  # ours, from an earlier call: rebuilt below
        options, flask_options = split_options(self.server_options)
        use_loggers(flask_options.get("logger"), flask_options.get("engineio_logger"))
        if app is None:
            self._init_emitter(flask_options)
            return
        self._emitter = None
        self.manage_session = bool(flask_options.get("manage_session", True))
        self.client_script_url = flask_options.get("client_script_url", "/socket.io.min.js")
        mode = flask_options.get("async_mode")
        if mode not in (None, "gevent", "gevent_uwsgi"):
            raise ValueError(f"async_mode={mode!r}: socketio_core runs on gevent only")
        message_queue = flask_options.get("message_queue")
        if message_queue:
            # Flask-SocketIO's shortcut: several processes joined through Redis.
            if not str(message_queue).startswith(("redis://", "rediss://", "unix://")):
                raise ValueError(f"message_queue={message_queue!r}: only Redis URLs are supported")
            if "adapter" in options:
                raise ValueError("pass either message_queue= or adapter=, not both")
            from ..redis import RedisAdapter

            channel = flask_options.get("channel")
            options["adapter"] = (
                RedisAdapter(message_queue, channel_prefix=channel) if channel
                else RedisAdapter(message_queue)
            )
            self.server_options["client_manager"] = self._own_manager = options["adapter"]
        server = Server(**options, async_handlers=flask_options.get("async_handlers", True))
        self.server = server
        self.app = app
        self._connections = weakref.WeakKeyDictionary()
        self._esocks = weakref.WeakValueDictionary()
        self._tracked = set()
        for register in self._registrations:
            register(server)
        self._accept_namespaces(server, flask_options.get("namespaces"))
        if not hasattr(app, "extensions"):
            app.extensions = {}
        app.extensions["socketio"] = self
        inner = app.wsgi_app
        if isinstance(inner, SocketIOMiddleware):
            inner = inner.wsgi_app
        app.wsgi_app = SocketIOMiddleware(self, server, inner)  # type: ignore[method-assign]
        # The thread that creates the app is usually the one serving it; the
        # first Socket.IO request (or run / test_client) binds again if not.
        server.bind_hub()

    @staticmethod
    def _accept_namespaces(server: Server, namespaces: Any) -> None:
        """``namespaces=``: also accept these (``"*"``: every namespace), handlers or not."""
        if namespaces is None:
            return
        names = [namespaces] if isinstance(namespaces, str) else list(namespaces)

        def accept(sid: str, handshake: Any) -> None:
            """Registers the namespace; lets every client in."""

        for name in names:
            server.use(accept, namespace=name)

    def _init_emitter(self, flask_options: dict[str, Any]) -> None:
        """No app: the write-only emitter of ``message_queue`` (Flask-SocketIO's external process)."""
        message_queue = flask_options.get("message_queue")
        if not message_queue:
            raise ValueError("init_app(None) needs message_queue= (a write-only emitter)")
        if not str(message_queue).startswith(("redis://", "rediss://", "unix://")):
            raise ValueError(f"message_queue={message_queue!r}: only Redis URLs are supported")
        from ..redis import Emitter

        channel = flask_options.get("channel")
        self._emitter = Emitter(message_queue, channel_prefix=channel) if channel else Emitter(message_queue)
        self.server_options["client_manager"] = self._own_manager = self._emitter

    def _emit_write_only(self, event: str, args: tuple[Any, ...], namespace: str | None,
                         to: Any, skip: Any, callback: Any) -> None:
        if callback is not None:
            raise ValueError("a write-only emitter (message_queue= without an app) takes no callback")
        operator = self._emitter.of(namespace or "/")
        if to is not None:
            operator = operator.to(to)
        if skip is not None:
            operator = operator.except_(skip)
        operator.emit(event, *args)

    def _server(self) -> Server:
        if self.server is None:
            raise RuntimeError("SocketIO has no app yet: call SocketIO(app) or socketio.init_app(app)")
        return self.server

    def _register(self, register: Callable[[Server], None]) -> None:
        self._registrations.append(register)
        if self.server is not None:
            register(self.server)

    def _track(self, server: Server, namespace: str) -> None:
        """Record the Engine.IO session of every socket joining ``namespace`` (once per namespace)."""
        if namespace in self._tracked:
            return
        self._tracked.add(namespace)

        def remember(sid: str, handshake: Any) -> None:
            self._esocks[sid] = server.engine_socket(sid)

        server.use(remember, namespace=namespace)

    # ------------------------------------------------------------ handlers

    def on(self, message: str, namespace: str | None = None) -> Callable[[F], F]:
        """Decorator: handle ``message`` in ``namespace`` (default ``/``).

        ``connect`` handlers take no argument or the client's auth payload and
        may return False or raise ConnectionRefusedError(message, data) to
        refuse; ``disconnect`` handlers take no argument or the reason;
        ``"*"`` catches every other event as ``(event, *args)``. The return
        value of an event handler is the acknowledgement, unless the handler
        declares a keyword-only ``ack`` (``def h(data, *, ack)``): it then
        gets a :class:`socketio_core.Ack` (None when no ack was asked) to
        answer with later, or never.
        """
        ns = namespace or "/"

        def decorator(handler: F) -> F:
            if not callable(handler):
                raise ValueError("handler must be callable")
            wrapped = self._wrap(message, ns, handler)

            def register(server: Server) -> None:
                self._track(server, ns)
                server.on(message, wrapped, namespace=ns)

            self._register(register)
            return handler

        return decorator

    def event(self, *args: Any, **kwargs: Any) -> Any:
        """``@socketio.event`` or ``@socketio.event(namespace=...)``: the function's name is the event."""
        if len(args) == 1 and not kwargs and callable(args[0]):
            return self.on(args[0].__name__)(args[0])

        def decorator(handler: F) -> F:
            return self.on(handler.__name__, *args, **kwargs)(handler)

        return decorator

    def on_event(self, message: str, handler: Callable[..., Any], namespace: str | None = None) -> None:
        """Register ``handler`` without a decorator."""
        self.on(message, namespace)(handler)

    def on_namespace(self, namespace_handler: "Namespace") -> None:
        """Serve ``namespace_handler.namespace`` with a class-based :class:`Namespace`."""
        if not isinstance(namespace_handler, Namespace):
            raise ValueError("not a socketio_core.flask.Namespace")
        namespace_handler.socketio = self
        adapter = _NamespaceAdapter(self, namespace_handler)

        def register(server: Server) -> None:
            self._track(server, adapter.namespace)
            server.register_namespace(adapter)

        self._register(register)

    def on_error(self, namespace: Any = None) -> Any:
        """Decorator: ``handler(exception)`` for errors raised by handlers of ``namespace``.

        Its return value becomes the event's acknowledgement.
        """
        if callable(namespace):  # used without parentheses
            self.exception_handlers["/"] = namespace
            return namespace
        ns = namespace or "/"

        def decorator(handler: F) -> F:
            if not callable(handler):
                raise ValueError("exception_handler must be callable")
            self.exception_handlers[ns] = handler
            return handler

        return decorator

    def on_error_default(self, exception_handler: F) -> F:
        """Decorator: the error handler of namespaces without their own."""
        if not callable(exception_handler):
            raise ValueError("exception_handler must be callable")
        self.default_exception_handler = exception_handler
        return exception_handler

    # ------------------------------------------------------------- emitting

    def emit(
        self,
        event: str,
        *args: Any,
        namespace: str | None = None,
        to: Any = None,
        room: Any = None,
        include_self: bool = True,
        skip_sid: Any = None,
        callback: Callable[..., Any] | None = None,
        broadcast: bool = True,
        ignore_queue: bool = False,
        **kwargs: Any,
    ) -> None:
        """Emit to ``to`` (a sid, a room, a list of them), everyone in ``namespace`` by default.

        Usable anywhere: handlers, HTTP routes, greenlets, plain threads.
        ``include_self=False`` inside a handler leaves out the current
        client; ``skip_sid`` leaves out sids or rooms. A single tuple argument
        is spread into several arguments (Flask-SocketIO's convention).
        ``ignore_queue=True`` reaches only the clients of this process (not
        the other servers of a ``message_queue``). ``timeout`` and
        ``volatile`` are passed to :meth:`Server.emit`.
        """
        target = to if to is not None else room
        if not include_self and skip_sid is None:
            skip_sid = _current_socket()[0]
        if self.server is None and self._emitter is not None:
            self._emit_write_only(event, _spread(args), namespace, target, skip_sid, callback)
            return
        server = self._server()
        if ignore_queue and callback is None:
            rooms = None if target is None else [target] if isinstance(target, str) else list(target)
            skip = [] if skip_sid is None else [skip_sid] if isinstance(skip_sid, str) else list(skip_sid)
            data = [event, *_spread(args)]
            if server.in_hub_thread():
                server.deliver_local(namespace or "/", data, rooms, skip, bool(kwargs.get("volatile")))
            else:
                server.run_on_hub(server.deliver_local, namespace or "/", data, rooms, skip,
                                  bool(kwargs.get("volatile")))
            return
        if callback is not None:
            callback = self._context_callback(callback)
        server.emit(
            event, *_spread(args), to=target, skip=skip_sid, namespace=namespace or "/",
            callback=callback, **kwargs,
        )

    def send(
        self,
        data: Any,
        json: bool = False,
        namespace: str | None = None,
        to: Any = None,
        room: Any = None,
        include_self: bool = True,
        skip_sid: Any = None,
        callback: Callable[..., Any] | None = None,
        **kwargs: Any,
    ) -> None:
        """Send a ``message`` event (a string or any JSON value), or with ``json=True`` a ``json`` event."""
        self.emit(
            "json" if json else "message", data, namespace=namespace, to=to, room=room, include_self=include_self,
            skip_sid=skip_sid, callback=callback, **kwargs,
        )

    def call(
        self, event: str, *args: Any, to: str | None = None, sid: str | None = None,
        namespace: str | None = None, timeout: float | None = 60.0, ignore_queue: bool = False,
    ) -> Any:
        """Emit to one client (``to``, or ``sid``) and wait for its ack; raises TimeoutError.

        ``ignore_queue`` is accepted (an ack always comes back to this process).
        """
        target = to if to is not None else sid
        if target is None:
            raise ValueError("call() needs to= (the client's sid)")
        return self._server().call(event, *_spread(args), to=target, namespace=namespace or "/",
                                   timeout=60.0 if timeout is None else timeout)

    def close_room(self, room: str, namespace: str | None = None) -> None:
        self._server().close_room(room, namespace=namespace or "/")

    # --------------------------------------------------------------- serving

    def run(
        self, app: flask.Flask | None = None, host: str | None = None, port: int | None = None,
        **kwargs: Any,
    ) -> None:
        """Serve the Flask app and Socket.IO on one port with our gevent server.

        ``host`` defaults to 127.0.0.1 and ``port`` to the one in
        ``SERVER_NAME`` or 5000. Keywords: ``debug``, ``use_reloader``,
        ``reloader_options``, ``extra_files``, ``log_output``, TLS as
        ``certfile``/``keyfile`` or ``ssl_context=(cert, key)``, ``workers=N``
        (N processes behind the port, README "Workers"); a keyword
        this server does not know raises TypeError (see
        :func:`socketio_core.flask._serving.run`). Blocks until SIGINT/SIGTERM
        or :meth:`stop`.
        """
        from ._serving import run

        run(self, app, host, port, **kwargs)

    def _reload(self, path: str) -> None:
        print(f" * Detected change in {path!r}, reloading", file=sys.stderr, flush=True)
        self._reload_requested = True
        self.stop()

    def stop(self) -> None:
        """Make :meth:`run` return: every session is closed properly first.

        Callable from a handler, a route or another thread: the shutdown runs
        in a greenlet of its own (it waits for the connections' greenlets,
        which may include the caller's).
        """
        server = self._server()
        if not server.in_hub_thread():
            server.run_on_hub(self.stop)
            return
        gevent.spawn(server.stop)

    def start_background_task(self, target: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run ``target(*args, **kwargs)`` in a greenlet; returns it (``.join()`` waits)."""
        return gevent.spawn(target, *args, **kwargs)

    @staticmethod
    def sleep(seconds: float = 0) -> None:
        """Sleep without blocking the server (gevent's sleep)."""
        gevent.sleep(seconds)

    def test_client(
        self,
        app: flask.Flask,
        namespace: str | None = None,
        query_string: str | None = None,
        headers: dict[str, str] | None = None,
        auth: dict[str, Any] | None = None,
        flask_test_client: Any = None,
        timeout: float = 5.0,
    ) -> "SocketIOTestClient":
        """A client for tests that talks to this server through the real stack, in memory.

        See :class:`socketio_core.flask._testing.SocketIOTestClient`.
        """
        from ._testing import SocketIOTestClient

        if self.app is not app or self.server is None:
            self.init_app(app)
        return SocketIOTestClient(
            app, self, namespace=namespace, query_string=query_string, headers=headers,
            auth=auth, flask_test_client=flask_test_client, timeout=timeout,
        )


# Flask-SocketIO's name for the test client, importable from here.
def __getattr__(name: str) -> Any:
    if name == "SocketIOTestClient":
        from ._testing import SocketIOTestClient

        return SocketIOTestClient
    raise AttributeError(name)

