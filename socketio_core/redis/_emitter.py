"""Emit to a cluster of servers from any process: a worker, a cron job, a script.

``Emitter("redis://127.0.0.1:6379/0").to("room").emit("event", data)`` reaches
the sockets in ``room`` on every server that uses :class:`RedisAdapter` with
the same Redis and channel prefix. It only publishes (plain blocking redis-py,
no gevent hub, no thread of its own), in the format of
:mod:`socketio_core.redis._codec`; servers deliver what it sends exactly as if
one of them had emitted it.

Like the reference ``@socket.io/redis-emitter``: targets are chained and each
step returns a new, immutable operator, so one emitter can be shared::

    emitter = Emitter(url)
    emitter.emit("news", {"title": "..."})                       # every socket of "/"
    emitter.of("/admin").to("ops").except_("muted").emit("alert", b"\\x00")
    emitter.to("room-1").sockets_join("room-2")
    emitter.in_("banned").disconnect_sockets(close=True)
    emitter.server_side_emit("reload-config", {"v": 2})           # to every server

An emitter asks nothing back: no acks, no ``fetch_sockets``. Each method
returns how many servers received the message (the ``PUBLISH`` count: 0 means
no server is listening), and raises ``redis.RedisError`` when Redis is
unreachable.
"""

from __future__ import annotations

from typing import Any, Iterable, Union

from . import _codec as codec

try:
    import redis
except ImportError as _exc:  # pragma: no cover - depends on the environment
    raise ImportError("Emitter needs redis-py: pip install 'socketio-core[redis]'") from _exc

__all__ = ["Emitter", "BroadcastOperator", "RESERVED_EVENTS"]

#: Events a client gives a meaning of its own; emitting them is a mistake.
RESERVED_EVENTS = frozenset(
    {"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}
)

Rooms = Union[str, Iterable[str]]


def _names(rooms: Rooms) -> tuple[str, ...]:
    return (rooms,) if isinstance(rooms, str) else tuple(rooms)


class BroadcastOperator:
    """Where an emit goes: a namespace, rooms (none = every socket), rooms left out."""

    __slots__ = ("_emitter", "namespace", "rooms", "except_rooms", "volatile_flag")

    def __init__(
        self,
        emitter: "Emitter",
        namespace: str = "/",
        rooms: tuple[str, ...] = (),
        except_rooms: tuple[str, ...] = (),
        volatile: bool = False,
    ) -> None:
        self._emitter = emitter
        self.namespace = namespace
        self.rooms = rooms
        self.except_rooms = except_rooms
        self.volatile_flag = volatile

    def _with(self, **changes: Any) -> "BroadcastOperator":
        fields: dict[str, Any] = {"namespace": self.namespace, "rooms": self.rooms,
                  "except_rooms": self.except_rooms, "volatile": self.volatile_flag}
        fields.update(changes)
        return BroadcastOperator(self._emitter, **fields)

    def to(self, rooms: Rooms) -> "BroadcastOperator":
        """Only the sockets in ``rooms`` (a sid is a room too); chaining adds rooms."""
        return self._with(rooms=self.rooms + tuple(r for r in _names(rooms) if r not in self.rooms))

    in_ = to

    def except_(self, rooms: Rooms) -> "BroadcastOperator":
        """Leave out the sockets in ``rooms``."""
        return self._with(except_rooms=self.except_rooms + _names(rooms))

    @property
    def volatile(self) -> "BroadcastOperator":
        """Drop the event for clients that cannot take it at once."""
        return self._with(volatile=True)

    def _target(self) -> list[str] | None:
        return list(self.rooms) if self.rooms else None

    def emit(self, event: str, *args: Any) -> int:
        """Emit ``event`` with ``args`` (JSON values and bytes); returns the servers reached.

        Raises ValueError for a reserved event name, TypeError for a value that
        cannot be sent, ``redis.RedisError`` when Redis is unreachable.
        """
        if not isinstance(event, str):
            raise TypeError("the event name must be a string")
        if event in RESERVED_EVENTS:
            raise ValueError(f"{event!r} is a reserved event name")
        return self._emitter._publish({
            "type": "broadcast", "nsp": self.namespace, "data": [event, *args],
            "rooms": self._target(), "skip": list(self.except_rooms), "volatile": self.volatile_flag,
        })

    def send(self, *args: Any) -> int:
        """Emit a ``message`` event."""
        return self.emit("message", *args)

    def sockets_join(self, rooms: Rooms) -> int:
        """Make the targeted sockets, on every server, join ``rooms``."""
        return self._emitter._publish({"type": "join", "nsp": self.namespace,
                                       "rooms": self._target(), "new_rooms": list(_names(rooms))})

    def sockets_leave(self, rooms: Rooms) -> int:
        """Make the targeted sockets, on every server, leave ``rooms``."""
        return self._emitter._publish({"type": "leave", "nsp": self.namespace,
                                       "rooms": self._target(), "old_rooms": list(_names(rooms))})

    def disconnect_sockets(self, close: bool = False) -> int:
        """Disconnect the targeted sockets (``close=True``: their whole connection)."""
        return self._emitter._publish({"type": "disconnect", "nsp": self.namespace,
                                       "rooms": self._target(), "close": close})


class Emitter(BroadcastOperator):
    """Publishes to the servers of a cluster; starts as "every socket of ``/``".

    ``url`` is a redis-py URL, or pass a ready ``redis.Redis`` as ``client``;
    ``channel_prefix`` must match the servers' ``RedisAdapter``.
    """

    #: Flask-SocketIO's ``client_manager.write_only``: publishes only, serves nothing.
    write_only = True

    __slots__ = ("client", "channel_prefix", "uid", "channel")

    def __init__(
        self,
        url: str = "redis://127.0.0.1:6379/0",
        *,
        channel_prefix: str = "socket.io",
        client: "redis.Redis | None" = None,
        **redis_options: Any,
    ) -> None:
        super().__init__(self)
        self.client = client if client is not None else redis.Redis.from_url(url, **redis_options)
        self.channel_prefix = channel_prefix
        self.uid = codec.new_uid()
        self.channel = codec.all_channel(channel_prefix)

    def of(self, namespace: str) -> BroadcastOperator:
        """Target ``namespace`` instead of ``/``."""
        if not namespace.startswith("/"):
            namespace = "/" + namespace
        return BroadcastOperator(self, namespace)

    def server_side_emit(self, event: str, *args: Any) -> int:
        """Send ``event`` to every server's ``on_server_event`` handler (no answers)."""
        return self._publish({"type": "server_event", "event": event, "args": list(args)})

    def _publish(self, message: dict[str, Any]) -> int:
        message["uid"] = self.uid
        return int(self.client.publish(self.channel, codec.dumps(message)))

    def close(self) -> None:
        self.client.close()

    def __enter__(self) -> "Emitter":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
