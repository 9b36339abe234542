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
serves both on our own gevent HTTP server, with a reloader for development.
"""

from __future__ import annotations

import builtins
import logging
import sys
import weakref
from typing import TYPE_CHECKING, Any, Callable, Iterable, TypeVar

import flask
import gevent
from flask.ctx import RequestContext
from flask.sessions import SessionMixin

from transports import EngineSocket, WsgiApp
from transports.gevent import DEFAULT_MAX_BODY, WsgiGateway, environ_for

from . import _reloader as reloader
from ..echo._app import client_script_path
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
from ..server import ConnectionRefusedError, Server, positional_count, takes_ack

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

#: Flask-SocketIO options that are not ``Server`` options.
_FLASK_OPTIONS = (
    "manage_session", "client_script_url", "async_mode", "message_queue", "channel",
    "write_only", "logger", "engineio_logger", "always_connect",
)


class _ManagedSession(dict, SessionMixin):  # type: ignore[type-arg]
    """The per-connection copy of the user session (Flask-SocketIO's design)."""


class _Connection:
    """What the Flask layer keeps per Engine.IO connection."""

    __slots__ = ("environ", "session")

    def __init__(self, environ: dict[str, Any]) -> None:
        self.environ = environ
        self.session: _ManagedSession | None = None


class SocketIO:
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
        self.server_options.update(kwargs)
        if app is not None:
            self.init_app(app)

    # --------------------------------------------------------------- setup

    def init_app(self, app: flask.Flask, **kwargs: Any) -> None:
        """Attach to ``app``: a new server, every handler registered so far, the WSGI wrapper.

        Raises ValueError for options this library does not support
        (another ``async_mode``). ``message_queue="redis://..."`` puts the server on
        the Redis adapter (``channel=`` sets its channel prefix).
        """
        self.server_options.update(kwargs)
        options = dict(self.server_options)
        flask_options = {name: options.pop(name) for name in _FLASK_OPTIONS if name in options}
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
        if flask_options.get("logger") is True or flask_options.get("engineio_logger") is True:
            logging.basicConfig(level=logging.INFO)
        if "path" in options:
            options["path"] = "/" + str(options["path"]).strip("/") + "/"
        server = Server(**options)
        self.server = server
        self.app = app
        self._connections = weakref.WeakKeyDictionary()
        self._esocks = weakref.WeakValueDictionary()
        self._tracked = set()
        for register in self._registrations:
            register(server)
        if not hasattr(app, "extensions"):
            app.extensions = {}
        app.extensions["socketio"] = self
        inner = app.wsgi_app
        if isinstance(inner, _SocketIOMiddleware):
            inner = inner.wsgi_app
        app.wsgi_app = _SocketIOMiddleware(self, server, inner)  # type: ignore[method-assign]
        # The thread that creates the app is usually the one serving it; the
        # first Socket.IO request (or run / test_client) binds again if not.
        server.bind_hub()

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

    def _wrap(self, message: str, namespace: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        """The core-server signature for a Flask-style handler."""
        if message == "connect":
            takes_auth = positional_count(handler) >= 1

            def on_connect(sid: str, environ: Any, auth: Any) -> Any:
                return self._dispatch(sid, namespace, "connect", handler, (auth,) if takes_auth else ())

            return on_connect
        if message == "disconnect":
            takes_reason = positional_count(handler) >= 1

            def on_disconnect(sid: str, reason: str) -> Any:
                args = (reason,) if takes_reason else ()
                return self._dispatch(sid, namespace, "disconnect", handler, args)

            return on_disconnect
        if takes_ack(handler):
            # The handler answers through ``ack`` itself (see socketio_core.Ack);
            # the wrapper declares the keyword too, so the server passes it.
            if message == "*":

                def on_any_ack(event: str, sid: str, *args: Any, ack: Any) -> Any:
                    return self._dispatch(sid, namespace, event, handler, (event, *args), {"ack": ack})

                return on_any_ack

            def on_message_ack(sid: str, *args: Any, ack: Any) -> Any:
                return self._dispatch(sid, namespace, message, handler, args, {"ack": ack})

            return on_message_ack
        if message == "*":

            def on_any(event: str, sid: str, *args: Any) -> Any:
                return self._dispatch(sid, namespace, event, handler, (event, *args))

            return on_any

        def on_message(sid: str, *args: Any) -> Any:
            return self._dispatch(sid, namespace, message, handler, args)

        return on_message

    # ------------------------------------------------------------ contexts

    def _connection(self, esock: EngineSocket) -> _Connection:
        conn = self._connections.get(esock)
        if conn is None:
            request = esock.request
            host = request.header_map.get("host") or "localhost"
            name, _, port = host.rpartition(":")
            if not name or not port.isdigit():
                name, port = host, ("443" if request.secure else "80")
            environ = environ_for(request, server_address=(name, int(port)), method="GET")
            conn = self._connections[esock] = _Connection(environ)
        return conn

    def _dispatch(
        self,
        sid: str,
        namespace: str,
        message: str | None,
        handler: Callable[..., Any],
        args: tuple[Any, ...],
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        """Run ``handler(*args, **kwargs)`` inside the app and request contexts of socket ``sid``."""
        app = self.app
        server = self.server
        if app is None or server is None:
            return None
        esock = self._esocks.get(sid)
        if esock is None:
            try:
                esock = self._esocks[sid] = server.engine_socket(sid)
            except KeyError:
                # The client is gone (a late ack): an application context is
                # all that is left to give.
                with app.app_context():
                    return self._call(handler, args, namespace, kwargs)
        conn = self._connection(esock)
        if self.manage_session and conn.session is None:
            with app.request_context(dict(conn.environ)):
                conn.session = _ManagedSession(flask.session)
        ctx = RequestContext(
            app, dict(conn.environ), session=conn.session if self.manage_session else None
        )
        with ctx:
            request = ctx.request
            request.sid = sid  # type: ignore[attr-defined]
            request.namespace = namespace  # type: ignore[attr-defined]
            request.event = {"message": message, "args": args}  # type: ignore[attr-defined]
            result = self._call(handler, args, namespace, kwargs)
            if not self.manage_session:
                session = flask.session._get_current_object()  # type: ignore[attr-defined]
                if not app.session_interface.is_null_session(session) and getattr(session, "modified", True):
                    app.session_interface.save_session(app, session, app.response_class())
            return result

    def _call(
        self,
        handler: Callable[..., Any],
        args: tuple[Any, ...],
        namespace: str,
        kwargs: dict[str, Any] | None = None,
    ) -> Any:
        try:
            return handler(*args, **kwargs) if kwargs else handler(*args)
        except ConnectionRefusedError:
            raise
        except builtins.ConnectionRefusedError as exc:
            # The builtin (an OSError) when the app forgot to import ours.
            raise ConnectionRefusedError(*exc.args[:2]) from None
        except Exception as exc:
            error_handler = self.exception_handlers.get(namespace, self.default_exception_handler)
            if error_handler is None:
                raise
            return error_handler(exc)

    def _context_callback(self, callback: Callable[..., Any]) -> Callable[..., Any]:
        """Run an ack callback in the request context of the socket that emitted, if any."""
        sid, namespace = _current_socket()
        if sid is None or namespace is None:
            return callback

        def in_context(*args: Any) -> Any:
            return self._dispatch(sid, namespace, None, callback, args)

        return in_context

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
        **kwargs: Any,
    ) -> None:
        """Emit to ``to`` (a sid, a room, a list of them), everyone in ``namespace`` by default.

        Usable anywhere: handlers, HTTP routes, greenlets, plain threads.
        ``include_self=False`` inside a handler leaves out the current
        client; ``skip_sid`` leaves out sids or rooms. A single tuple argument
        is spread into several arguments (Flask-SocketIO's convention).
        ``timeout`` and ``volatile`` are passed to :meth:`Server.emit`.
        """
        server = self._server()
        target = to if to is not None else room
        if not include_self and skip_sid is None:
            skip_sid = _current_socket()[0]
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
        """Send a ``message`` event (a string or any JSON value; ``json`` is accepted and implied)."""
        self.emit(
            "message", data, namespace=namespace, to=to, room=room, include_self=include_self,
            skip_sid=skip_sid, callback=callback, **kwargs,
        )

    def call(
        self, event: str, *args: Any, to: str, namespace: str | None = None, timeout: float = 60.0
    ) -> Any:
        """Emit to one client and wait for its ack; raises TimeoutError."""
        return self._server().call(event, *_spread(args), to=to, namespace=namespace or "/", timeout=timeout)

    def close_room(self, room: str, namespace: str | None = None) -> None:
        self._server().close_room(room, namespace=namespace or "/")

    # --------------------------------------------------------------- serving

    def run(
        self,
        app: flask.Flask | None = None,
        host: str | None = None,
        port: int | None = None,
        *,
        debug: bool | None = None,
        use_reloader: bool | None = None,
        reloader_options: dict[str, Any] | None = None,
        extra_files: Iterable[str] | None = None,
        log_output: bool | None = None,
        certfile: str | None = None,
        keyfile: str | None = None,
        **kwargs: Any,
    ) -> None:
        """Serve the Flask app and Socket.IO on one port with our gevent server.

        ``host`` defaults to 127.0.0.1 and ``port`` to the one in
        ``SERVER_NAME`` or 5000. ``debug`` sets ``app.debug``; the reloader
        (on with ``debug`` unless ``use_reloader=False``) runs the program in
        a child process and starts a new one when a source file changes.
        Blocks until SIGINT/SIGTERM or :meth:`stop`. Werkzeug-only options
        (``allow_unsafe_werkzeug``, ``use_debugger``, ...) are ignored.
        """
        app = app or self.app
        if app is None:
            raise RuntimeError("socketio.run() needs the Flask app")
        if self.app is not app or self.server is None:
            self.init_app(app)
        server = self._server()
        if host is None:
            host = "127.0.0.1"
        if port is None:
            server_name = app.config.get("SERVER_NAME")
            port = int(server_name.rsplit(":", 1)[1]) if server_name and ":" in server_name else 5000
        if debug is not None:
            app.debug = debug
        if use_reloader is None:
            use_reloader = app.debug
        if log_output is None:
            log_output = app.debug
        options = dict(reloader_options or {})
        watch = list(extra_files or ()) + list(options.get("extra_files") or ())
        if use_reloader and not reloader.is_child():
            sys.exit(reloader.run_supervisor())
        if app.debug:
            app.jinja_env.auto_reload = True
            logging.getLogger(__name__).setLevel(logging.INFO)

        def max_body() -> int:
            configured = app.config.get("MAX_CONTENT_LENGTH")
            return int(configured) if configured else DEFAULT_MAX_BODY

        gateway = WsgiGateway(app, server_address=(host, port), max_body=max_body, access_log=log_output)
        server.http_server(gateway)
        address = server.start(host, port, certfile=certfile, keyfile=keyfile)
        gateway.server_address = address
        scheme = "https" if certfile else "http"
        print(f" * Serving Flask app '{app.name}' with socketio-core (gevent)", file=sys.stderr)
        print(f" * Running on {scheme}://{address[0]}:{address[1]} (CTRL+C to quit)",
              file=sys.stderr, flush=True)
        if use_reloader:
            reloader.start_watcher(self._reload, extra_files=watch,
                                   interval=float(options.get("interval", 1.0)))
        server.http_server().serve_forever()
        if self._reload_requested:
            sys.exit(reloader.RELOAD_EXIT_CODE)

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


class _SocketIOMiddleware:
    """``app.wsgi_app`` after ``SocketIO(app)``: Socket.IO, the client script, then the app."""

    def __init__(self, socketio: SocketIO, server: Server, wsgi_app: Any) -> None:
        self.socketio = socketio
        self.server = server
        self.wsgi_app = wsgi_app
        self.engine_app = WsgiApp(server.engine, limits=server.http_limits)
        self._script: bytes | None = None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        server = self.server
        if server.engine.matches(path):
            server.bind_hub()  # the thread serving this request runs the server
            started: list[bool] = []

            def tracking_start_response(*args: Any) -> Any:
                started.append(True)
                return start_response(*args)

            result = self.engine_app(environ, tracking_start_response)
            if not started and "gunicorn.socket" in environ:
                # A WebSocket took the connection over and has ended: gunicorn
                # must not write a response; StopIteration is how its workers
                # are told to just close the connection.
                raise StopIteration()
            return result
        script_url = self.socketio.client_script_url
        if script_url and path == script_url and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            script = self._client_script()
            if script is not None:
                start_response("200 OK", [
                    ("Content-Type", "application/javascript; charset=utf-8"),
                    ("Content-Length", str(len(script))),
                    ("Cache-Control", "max-age=3600"),
                ])
                return [] if environ["REQUEST_METHOD"] == "HEAD" else [script]
        return self.wsgi_app(environ, start_response)  # type: ignore[no-any-return]

    def _client_script(self) -> bytes | None:
        if self._script is None:
            path = client_script_path()
            if path is None:
                log.warning("socket.io.min.js not found: run `make npm` to install the client")
                return None
            self._script = path.read_bytes()
        return self._script


# Flask-SocketIO's name for the test client, importable from here.
def __getattr__(name: str) -> Any:
    if name == "SocketIOTestClient":
        from ._testing import SocketIOTestClient

        return SocketIOTestClient
    raise AttributeError(name)

