"""Flask-SocketIO's context functions and class-based namespaces (``socketio_core.flask`` re-exports them).

Strategy: inside a Socket.IO handler the Flask request context carries
``request.sid`` and ``request.namespace`` (set by ``SocketIO._dispatch``);
the functions here read them to fill in who an emit goes to and where, then
call the :class:`~socketio_core.flask.SocketIO` found in
``current_app.extensions["socketio"]``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import flask

from ..server import Namespace as _CoreNamespace
from ..server import positional_count, takes_ack

if TYPE_CHECKING:
    from . import SocketIO

__all__ = [
    "Namespace",
    "emit",
    "send",
    "call",
    "join_room",
    "leave_room",
    "close_room",
    "rooms",
    "disconnect",
]


# ------------------------------------------------------------------ namespaces


class Namespace:
    """A class-based namespace: ``on_<event>(self, *args)`` methods, Flask-SocketIO style.

    Methods take no sid (it is ``request.sid``) and may use the context
    functions; ``on_connect(self[, auth])``, ``on_disconnect(self[, reason])``.
    Register with ``socketio.on_namespace(MyNamespace("/chat"))``. Override
    :meth:`trigger_event` to dispatch differently.
    """

    def __init__(self, namespace: str | None = None) -> None:
        self.namespace = namespace or "/"
        self.socketio: "SocketIO | None" = None

    def _sio(self) -> "SocketIO":
        if self.socketio is None:
            raise RuntimeError("namespace is not registered: socketio.on_namespace(...)")
        return self.socketio

    def trigger_event(self, event: str, *args: Any) -> Any:
        """Call ``on_<event>(*args)`` (spaces in the name become underscores), if defined."""
        handler = getattr(self, "on_" + event.replace(" ", "_"), None)
        if handler is None:
            return None
        return handler(*args)

    def emit(
        self,
        event: str,
        data: Any = None,
        room: Any = None,
        include_self: bool = True,
        namespace: str | None = None,
        callback: Callable[..., Any] | None = None,
        to: Any = None,
        **kwargs: Any,
    ) -> None:
        """Emit to ``to``/``room``, or everyone in this namespace (like Flask-SocketIO's).

        Other keywords (``skip_sid``, ``ignore_queue`` ...) are :meth:`SocketIO.emit`'s.
        """
        args = () if data is None else (data,)
        self._sio().emit(event, *args, to=to if to is not None else room, include_self=include_self,
                         namespace=namespace or self.namespace, callback=callback, **kwargs)

    def send(
        self,
        data: Any,
        room: Any = None,
        include_self: bool = True,
        namespace: str | None = None,
        callback: Callable[..., Any] | None = None,
        to: Any = None,
        json: bool = False,
    ) -> None:
        self._sio().send(data, json=json, to=to if to is not None else room, include_self=include_self,
                         namespace=namespace or self.namespace, callback=callback)

    def call(
        self,
        event: str,
        data: Any = None,
        to: str | None = None,
        sid: str | None = None,
        namespace: str | None = None,
        timeout: float | None = 60.0,
        ignore_queue: bool = False,
    ) -> Any:
        """Emit to one client (``to``/``sid``, default the current one) and wait for its ack."""
        target = to or sid or _current_socket()[0]
        if target is None:
            raise RuntimeError("call() outside a Socket.IO handler needs to=")
        args = () if data is None else (data,)
        return self._sio().call(event, *args, to=target, namespace=namespace or self.namespace,
                                timeout=timeout)

    def get_session(self, sid: str, namespace: str | None = None) -> dict[str, Any]:
        """The server-side session of ``sid`` in this namespace (python-socketio's, not ``flask.session``)."""
        return self._sio()._server().get_session(sid, namespace=namespace or self.namespace)

    def save_session(self, sid: str, session: dict[str, Any], namespace: str | None = None) -> None:
        self._sio()._server().save_session(sid, session, namespace=namespace or self.namespace)

    def session(self, sid: str, namespace: str | None = None) -> Any:
        """``with self.session(sid) as s: ...``: read and save the server-side session."""
        return self._sio()._server().session(sid, namespace=namespace or self.namespace)

    def close_room(self, room: str, namespace: str | None = None) -> None:
        self._sio().close_room(room, namespace=namespace or self.namespace)

    def enter_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        self._sio()._server().enter_room(sid, room, namespace=namespace or self.namespace)

    def leave_room(self, sid: str, room: str, namespace: str | None = None) -> None:
        self._sio()._server().leave_room(sid, room, namespace=namespace or self.namespace)

    def rooms(self, sid: str, namespace: str | None = None) -> list[str]:
        return self._sio()._server().rooms(sid, namespace=namespace or self.namespace)

    def disconnect(self, sid: str, namespace: str | None = None) -> None:
        self._sio()._server().disconnect(sid, namespace=namespace or self.namespace)


class _NamespaceAdapter(_CoreNamespace):
    """Presents a Flask-style :class:`Namespace` to the core server."""

    def __init__(self, socketio: "SocketIO", target: Namespace) -> None:
        super().__init__(target.namespace)
        self.socketio = socketio
        self.target = target
        self._custom_trigger = type(target).trigger_event is not Namespace.trigger_event

    def handler_for(self, event: str) -> Callable[..., Any] | None:
        target = self.target
        method = getattr(target, "on_" + event.replace(" ", "_"), None)
        if method is None and not self._custom_trigger:
            return None
        sio = self.socketio
        ns = self.namespace

        def trigger(*args: Any) -> Any:
            return target.trigger_event(event, *args)

        if event == "connect":
            takes_auth = method is not None and positional_count(method) >= 1

            def on_connect(sid: str, environ: Any, auth: Any) -> Any:
                args = (_given_auth(environ, auth),) if takes_auth else ()
                return sio._dispatch(sid, ns, "connect", trigger, args)

            return on_connect
        if event == "disconnect":
            takes_reason = method is not None and positional_count(method) >= 1

            def on_disconnect(sid: str, reason: str) -> Any:
                return sio._dispatch(sid, ns, "disconnect", trigger, (reason,) if takes_reason else ())

            return on_disconnect

        if method is not None and not self._custom_trigger and takes_ack(method):
            # ``on_x(self, data, *, ack)``: the method answers through a deferred ack.
            def on_event_ack(sid: str, *args: Any, ack: Any) -> Any:
                return sio._dispatch(sid, ns, event, method, args, {"ack": ack})

            return on_event_ack

        def on_event(sid: str, *args: Any) -> Any:
            return sio._dispatch(sid, ns, event, trigger, args)

        return on_event


# ---------------------------------------------------------- context functions


def _given_auth(handshake: Any, auth: Any) -> Any:
    """The connect handler's ``auth``: None when the client sent none (Flask-SocketIO's)."""
    return auth if getattr(handshake, "auth_sent", True) else None


def _spread(args: tuple[Any, ...]) -> tuple[Any, ...]:
    """Flask-SocketIO sends a single tuple argument as several arguments."""
    if len(args) == 1 and isinstance(args[0], tuple):
        return args[0]
    return args


def _current_socket() -> tuple[str | None, str | None]:
    """``(request.sid, request.namespace)`` inside a Socket.IO handler, else ``(None, None)``."""
    if not flask.has_request_context():
        return None, None
    request = flask.request
    return getattr(request, "sid", None), getattr(request, "namespace", None)


def _socketio() -> "SocketIO":
    try:
        return flask.current_app.extensions["socketio"]  # type: ignore[no-any-return]
    except (RuntimeError, KeyError):
        raise RuntimeError(
            "no Socket.IO context here: use socketio.emit(...) outside of Socket.IO handlers"
        ) from None


def emit(
    event: str,
    *args: Any,
    namespace: str | None = None,
    callback: Callable[..., Any] | None = None,
    broadcast: bool = False,
    to: Any = None,
    room: Any = None,
    include_self: bool = True,
    skip_sid: Any = None,
    **kwargs: Any,
) -> None:
    """Emit from a handler: to the current client, or with ``broadcast=True`` to everyone
    in the namespace, or ``to`` a room or sid; ``include_self=False`` skips the sender.

    ``namespace`` defaults to the handler's. ``callback`` runs, in this
    client's request context, with the arguments of the client's ack.
    Raises RuntimeError outside a Socket.IO handler unless ``to`` or
    ``broadcast`` says who receives it.
    """
    socketio = _socketio()
    sid, current_ns = _current_socket()
    target = to if to is not None else room
    if target is None and not broadcast:
        if sid is None:
            raise RuntimeError("emit() outside a Socket.IO handler needs to= or broadcast=True")
        target = sid
    if not include_self and skip_sid is None:
        skip_sid = sid
    socketio.emit(
        event, *args, namespace=namespace or current_ns or "/", to=target, skip_sid=skip_sid,
        callback=callback, **kwargs,
    )


def send(
    message: Any,
    json: bool = False,
    namespace: str | None = None,
    callback: Callable[..., Any] | None = None,
    broadcast: bool = False,
    to: Any = None,
    room: Any = None,
    include_self: bool = True,
    skip_sid: Any = None,
    **kwargs: Any,
) -> None:
    """Send a ``message`` event (a string or a JSON value) the way :func:`emit` sends events;
    with ``json=True``, a ``json`` event (Flask-SocketIO's)."""
    emit("json" if json else "message", message, namespace=namespace, callback=callback, broadcast=broadcast, to=to,
         room=room, include_self=include_self, skip_sid=skip_sid, **kwargs)


def call(
    event: str, *args: Any, to: str | None = None, namespace: str | None = None,
    timeout: float | None = 60.0, **kwargs: Any,
) -> Any:
    """Emit to the current client (or ``to``) and wait for its ack; raises TimeoutError.

    ``ignore_queue`` is accepted (an ack always comes back to this process).
    """
    socketio = _socketio()
    sid, current_ns = _current_socket()
    target = to or kwargs.get("sid") or sid
    if target is None:
        raise RuntimeError("call() outside a Socket.IO handler needs to=")
    return socketio.call(event, *args, to=target, namespace=namespace or current_ns or "/", timeout=timeout)


def join_room(room: str, sid: str | None = None, namespace: str | None = None) -> None:
    """Put the current client (or ``sid``) in ``room``."""
    current_sid, current_ns = _current_socket()
    target = sid or current_sid
    if target is None:
        raise RuntimeError("join_room() outside a Socket.IO handler needs sid=")
    _socketio()._server().enter_room(target, room, namespace=namespace or current_ns or "/")


def leave_room(room: str, sid: str | None = None, namespace: str | None = None) -> None:
    """Take the current client (or ``sid``) out of ``room``."""
    current_sid, current_ns = _current_socket()
    target = sid or current_sid
    if target is None:
        raise RuntimeError("leave_room() outside a Socket.IO handler needs sid=")
    _socketio()._server().leave_room(target, room, namespace=namespace or current_ns or "/")


def close_room(room: str, namespace: str | None = None) -> None:
    """Empty ``room`` (every client leaves it)."""
    _socketio().close_room(room, namespace=namespace or _current_socket()[1] or "/")


def rooms(sid: str | None = None, namespace: str | None = None) -> list[str]:
    """The rooms of the current client (or ``sid``), its own sid room included."""
    current_sid, current_ns = _current_socket()
    target = sid or current_sid
    if target is None:
        raise RuntimeError("rooms() outside a Socket.IO handler needs sid=")
    return _socketio()._server().rooms(target, namespace=namespace or current_ns or "/")


def disconnect(sid: str | None = None, namespace: str | None = None, silent: bool = False) -> None:
    """Disconnect the current client (or ``sid``) from the namespace; its disconnect handler runs."""
    current_sid, current_ns = _current_socket()
    target = sid or current_sid
    if target is None:
        raise RuntimeError("disconnect() outside a Socket.IO handler needs sid=")
    _socketio()._server().disconnect(target, namespace=namespace or current_ns or "/")
