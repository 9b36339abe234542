"""What the application registers: handlers, namespaces, middlewares, observers.

The first layer of :class:`~socketio_core.server.Server` (the engine glue and
the public API build on it). It only records: ``on``/``event``/
``register_namespace`` fill a table ``namespace key -> event -> handler``;
``use`` adds connect middlewares; ``on_outgoing``/``add_listener`` add
observers. A namespace given as a regex or a predicate (a dynamic namespace)
is stored under a synthetic key; :meth:`HandlerRegistry._resolve_namespace`
maps a name a client asks for to its key.
"""

from __future__ import annotations

import logging
import re
from typing import TYPE_CHECKING, Any, Callable, Pattern, TypeVar, Union, overload

from transports import peer_text

from ._namespace import Namespace

if TYPE_CHECKING:
    from transports import EngineSocket

__all__ = ["ConnectionRefusedError", "HandlerRegistry", "ServerListener"]

log = logging.getLogger(__name__)

Handler = Callable[..., Any]
H = TypeVar("H", bound=Callable[..., Any])
NamespaceMatcher = Union[str, Pattern[str], Callable[[str, dict[str, Any]], bool]]
#: Prefix of the keys dynamic namespaces are registered under (never a real name: no "/").
_DYNAMIC = "<dynamic "
#: The namespace name whose handlers serve every namespace (python-socketio's ``namespace="*"``).
CATCH_ALL = "*"


class ConnectionRefusedError(Exception):  # noqa: A001 - the name users expect
    """Raise in a connect handler or middleware to refuse the connection.

    The client receives CONNECT_ERROR ``{"message": message, "data": data}``.
    """

    def __init__(self, message: str = "Connection rejected by server", data: Any = None) -> None:
        super().__init__(message)
        self.message = message
        self.data = data


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

    def session_saved(self, namespace: str, sid: str) -> None:
        """A socket's session data was saved (:meth:`Server.save_session`, or the end of a
        ``with server.session(sid)`` block); it is the socket's ``data`` now."""


class HandlerRegistry:
    """Handler tables and observers; see the module docstring."""

    def __init__(self) -> None:
        self._server_handlers: dict[str, Handler] = {}
        self._handlers: dict[str, dict[str, Handler]] = {}
        self._namespace_objects: dict[str, Namespace] = {}
        self._dynamic: list[tuple[NamespaceMatcher, str]] = []
        self._middlewares: dict[str, list[Handler]] = {}
        self._outgoing_hooks: list[Handler] = []
        #: Observers (the admin instrumentation); an empty list costs one test per call site.
        self._listeners: list[ServerListener] = []

    @staticmethod
    def _namespace_key(namespace: NamespaceMatcher | None) -> str:
        if namespace is None:
            return "/"
        if isinstance(namespace, str):
            return namespace
        return f"{_DYNAMIC}{id(namespace)}>"

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

    @overload
    def event(self, fn: H) -> H: ...

    @overload
    def event(self, fn: None = None, *, namespace: NamespaceMatcher | None = None) -> Callable[[H], H]: ...

    def event(self, fn: Handler | None = None, *, namespace: NamespaceMatcher | None = None) -> Any:
        """Decorator: register ``fn`` for the event named like the function.

        ``@sio.event`` or, as python-socketio allows, ``@sio.event(namespace="/chat")``.
        """
        if fn is not None:
            return self.on(fn.__name__, fn, namespace=namespace)

        def register(handler: H) -> H:
            return self.on(handler.__name__, handler, namespace=namespace)

        return register

    def register_namespace(self, namespace_handler: Namespace) -> None:
        """Serve ``namespace_handler.namespace`` with an ``on_<event>`` class."""
        namespace_handler._attach(self)  # type: ignore[arg-type]  # only Server calls this
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

    def on_server_event(self, event: str, handler: H | None = None) -> Any:
        """Handle ``event`` sent by another server's ``server_side_emit``; the return value answers it."""
        def register(fn: H) -> H:
            self._server_handlers[event] = fn
            return fn

        return register(handler) if handler is not None else register

    def namespaces(self) -> list[str]:
        """The namespaces registered by name (handlers, a class or a middleware).

        Dynamic namespaces (a regex or a predicate) are left out: they have
        no name until a client asks for one.
        """
        return [key for key in self._handlers if not key.startswith(_DYNAMIC)]

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
                    log.exception("namespace predicate failed for %s", peer_text(name))
        return CATCH_ALL if CATCH_ALL in self._handlers else None

    def _handler(self, key: str, event: str) -> Handler | None:
        fn = self._handlers.get(key, {}).get(event)
        if fn is not None:
            return fn
        obj = self._namespace_objects.get(key)
        if obj is not None:
            fn = obj.handler_for(event)
            if fn is not None:
                return fn
        if key != CATCH_ALL and CATCH_ALL in self._handlers and (
            event == "*" or "*" not in self._handlers.get(key, ())
        ):
            # ``namespace="*"`` handlers serve every namespace that has none for
            # the event (nor a catch-all event handler: python-socketio's order).
            return self._handlers[CATCH_ALL].get(event)
        return None
