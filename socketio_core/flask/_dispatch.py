"""Running Flask-style handlers inside the Flask contexts of their socket: a part of :class:`SocketIO`.

Kept apart from the rest of :class:`socketio_core.flask.SocketIO` (setup,
registration, emitting, serving) because it is the one job done per event:
each handler registered through ``on``/``event``/``on_namespace`` is wrapped
(:meth:`HandlerDispatch._wrap`) in a function with the core server's
signature, and that function pushes an application context and a request
context built from the client's handshake environ, with ``request.sid``,
``request.namespace``, ``request.event`` and the managed ``flask.session``
(:meth:`HandlerDispatch._dispatch`), then runs the handler with the
namespace's error handler (:meth:`HandlerDispatch._call`). Ack callbacks
given inside a handler run in that socket's context too
(:meth:`HandlerDispatch._context_callback`). The methods are methods of
``SocketIO`` (this class is one of its bases), so an event costs the calls
it did; :mod:`._context` calls ``SocketIO._dispatch`` for class-based
namespaces.
"""

from __future__ import annotations

import builtins
import weakref
from typing import TYPE_CHECKING, Any, Callable

import flask
from flask.ctx import RequestContext
from flask.sessions import SessionMixin

from transports import EngineSocket

from ._context import _current_socket, _given_auth
from ..protocol._packets import Packet, PacketType
from ..server import ConnectionRefusedError, Server, positional_count, takes_ack

__all__ = ["HandlerDispatch", "TEST_CLIENT_KEY"]

#: The environ key under which the test client that opened a connection is found.
TEST_CLIENT_KEY = "socketio_core.test_client"


class _ManagedSession(dict, SessionMixin):  # type: ignore[type-arg]
    """The per-connection copy of the user session (Flask-SocketIO's design)."""


class _Connection:
    """What the Flask layer keeps per Engine.IO connection."""

    __slots__ = ("environ", "session")

    def __init__(self, environ: dict[str, Any]) -> None:
        self.environ = environ
        self.session: _ManagedSession | None = None


class HandlerDispatch:
    """The handler-running methods of :class:`socketio_core.flask.SocketIO` (a base of it)."""

    # The SocketIO state these work on (set by SocketIO).
    app: flask.Flask | None
    server: Server | None
    manage_session: bool
    exception_handlers: dict[str, Callable[[Exception], Any]]
    default_exception_handler: Callable[[Exception], Any] | None
    _connections: weakref.WeakKeyDictionary[EngineSocket, _Connection]
    _esocks: weakref.WeakValueDictionary[str, EngineSocket]

    if TYPE_CHECKING:

        def _server(self) -> Server: ...

    def _wrap(self, message: str, namespace: str, handler: Callable[..., Any]) -> Callable[..., Any]:
        """The core-server signature for a Flask-style handler."""
        if message == "connect":
            takes_auth = positional_count(handler) >= 1

            def on_connect(sid: str, environ: Any, auth: Any) -> Any:
                args = (_given_auth(environ, auth),) if takes_auth else ()
                return self._dispatch(sid, namespace, "connect", handler, args)

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
            # The server's environ of this Engine.IO session (the test client
            # puts the one it builds there), shared with ``server.environ``.
            environ = self._server().environ.for_socket(esock)
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
        if namespace == "*":  # a ``namespace="*"`` handler: the socket's own namespace
            namespace = server.namespace_of(sid) or "/"
        if self.manage_session and conn.session is None:
            with app.request_context(dict(conn.environ)):
                conn.session = _ManagedSession(flask.session)
            # Where Flask-SocketIO keeps it (``server.environ[eio_sid]["saved_session"]``).
            conn.environ["saved_session"] = conn.session
        ctx = RequestContext(
            app, dict(conn.environ), session=conn.session if self.manage_session else None
        )
        with ctx:
            request = ctx.request
            request.sid = sid  # type: ignore[attr-defined]
            request.namespace = namespace  # type: ignore[attr-defined]
            request.event = {"message": message, "args": args}  # type: ignore[attr-defined]
            tester = conn.environ.get(TEST_CLIENT_KEY)
            if tester is None or message in (None, "connect", "disconnect"):
                result = self._call(handler, args, namespace, kwargs)
            else:
                # Flask-SocketIO's test client runs handlers in the caller:
                # their errors, and acks that cannot be sent, reach the test.
                try:
                    result = self._call(handler, args, namespace, kwargs)
                    if tester.expects_ack:
                        data = [] if result is None else list(result) if isinstance(result, tuple) else [result]
                        server.parser.encode(Packet(type=PacketType.ACK, namespace=namespace, data=data, id=0))
                except Exception as exc:
                    tester._handler_failed(exc)
                    raise
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
