"""Class-based namespaces: methods named ``on_<event>`` become handlers.

The helper methods forward to the server with this namespace filled in, so a
handler class reads like Node's ``socket``-centred code without globals.
They return what the server's method returns, so on an
:class:`~socketio_core.AsyncServer` they are awaited (``await self.emit(...)``,
``async with self.session(sid)``) and ``on_<event>`` methods may be
``async def``: :data:`AsyncNamespace` is this class, under python-socketio's name.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING, Any, Callable

from ._calling import positional_count

if TYPE_CHECKING:
    from ._server import Server

__all__ = ["AsyncNamespace", "Namespace"]


class Namespace:
    def __init__(self, namespace: str = "/") -> None:
        self.namespace = namespace
        self.server: Server | None = None

    def _attach(self, server: "Server") -> None:
        self.server = server

    def handler_for(self, event: str) -> Callable[..., Any] | None:
        """What the server calls for ``event``: ``on_<event>`` (``connect`` -> ``on_connect``), or None.

        A subclass that overrides :meth:`trigger_event` (python-socketio's hook
        for code that must see every event of the namespace) gets every event
        through it instead, handled or not.
        """
        if type(self).trigger_event is not Namespace.trigger_event:
            return partial(self.trigger_event, event)
        return self._method_for(event)

    def _method_for(self, event: str) -> Callable[..., Any] | None:
        handler = getattr(self, "on_" + event.replace(" ", "_"), None)
        return handler if callable(handler) else None

    def trigger_event(self, event: str, *args: Any) -> Any:
        """Run ``on_<event>(*args)`` and return its result (None without such a method).

        python-socketio's dispatch method: override it to see every event of
        this namespace (call ``super().trigger_event(event, *args)`` to run the
        handler). ``connect`` and ``disconnect`` get only as many arguments as
        the method takes (``on_connect(sid)`` is fine).
        """
        handler = self._method_for(event)
        if handler is None:
            return None
        if event in ("connect", "disconnect"):
            args = args[: max(1, positional_count(handler))]
        return handler(*args)

    def _server(self) -> "Server":
        if self.server is None:
            raise RuntimeError("namespace is not registered with a server")
        return self.server

    def emit(self, event: str, *args: Any, namespace: str | None = None, **kwargs: Any) -> Any:
        return self._server().emit(event, *args, namespace=namespace or self.namespace, **kwargs)

    def send(self, data: Any, namespace: str | None = None, **kwargs: Any) -> Any:
        return self._server().send(data, namespace=namespace or self.namespace, **kwargs)

    def call(self, event: str, *args: Any, namespace: str | None = None, **kwargs: Any) -> Any:
        return self._server().call(event, *args, namespace=namespace or self.namespace, **kwargs)

    def enter_room(self, sid: str, room: str, namespace: str | None = None) -> Any:
        return self._server().enter_room(sid, room, namespace=namespace or self.namespace)

    def leave_room(self, sid: str, room: str, namespace: str | None = None) -> Any:
        return self._server().leave_room(sid, room, namespace=namespace or self.namespace)

    def close_room(self, room: str, namespace: str | None = None) -> Any:
        return self._server().close_room(room, namespace=namespace or self.namespace)

    def rooms(self, sid: str, namespace: str | None = None) -> list[str]:
        return self._server().rooms(sid, namespace=namespace or self.namespace)

    def disconnect(self, sid: str, namespace: str | None = None) -> Any:
        return self._server().disconnect(sid, namespace=namespace or self.namespace)

    def get_session(self, sid: str, namespace: str | None = None) -> Any:
        return self._server().get_session(sid, namespace=namespace or self.namespace)

    def save_session(self, sid: str, session: dict[str, Any], namespace: str | None = None) -> Any:
        return self._server().save_session(sid, session, namespace=namespace or self.namespace)

    def session(self, sid: str, namespace: str | None = None) -> Any:
        return self._server().session(sid, namespace=namespace or self.namespace)


#: python-socketio's ``AsyncNamespace``: the same class (see the module docstring).
AsyncNamespace = Namespace
