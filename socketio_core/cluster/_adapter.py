"""The adapter between the workers of one machine: the Redis adapter over the supervisor's bus.

``Server.run(..., workers=N)`` without ``message_queue`` gives each worker a
:class:`WorkersAdapter`: :class:`~socketio_core.redis.RedisAdapter`'s
cluster logic unchanged (broadcasts, rooms, ``fetch_sockets``,
``sockets_join``/``leave``, ``disconnect_sockets``, ``server_side_emit``,
broadcast acks), relayed by the supervisor's hub instead of Redis
(:mod:`._link`), and :class:`WorkersRecoveryLog`: the Redis recovery log's
logic, its stream and saved sessions held by the hub, so a client recovers
on whichever worker it reconnects to. No Redis, and no redis-py, needed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import gevent

from transports.gevent import BusConnection

from ..redis import _codec as codec
from ..redis._adapter import RedisAdapter
from ..redis._recovery import RedisRecoveryLog
from ..server import MemoryAdapter
from ._link import HubLink

if TYPE_CHECKING:
    from ..server import LocalDelivery

__all__ = ["WorkersAdapter", "WorkersRecoveryLog"]


class WorkersRecoveryLog(RedisRecoveryLog):
    """Connection state recovery shared by the workers, kept by the supervisor's hub.

    Its commands are called with a :class:`~._link.HubClient`; its ``window_ms``
    (the Redis log's) is also how long the hub keeps its copies of live sessions.
    """

    def _record_command(self, message: bytes) -> Any:
        channel, window = self.adapter.channel, self._window_ms
        max_packets, max_bytes = self.max_packets, self.max_bytes
        return lambda client: client.record(channel, message, max_packets, max_bytes, window)

    def _save_command(self, key: str, value: bytes) -> Any:
        window = self._window_ms
        return lambda client: client.save(key, value, window)

    def _claim_command(self, key: str, offset: str) -> Any:
        return lambda client: client.claim(key, offset)

    def _last_command(self) -> Any:
        return lambda client: client.last()


class WorkersAdapter(RedisAdapter):
    """The cluster adapter of one worker, relaying through the supervisor (see the module note)."""

    needs_redis = False
    #: Its link to the supervisor is greenlets on the worker's hub (workers=N is
    #: the gevent server's), unlike the Redis link it inherits from.
    runs_on = frozenset({"gevent"})

    def __init__(self, connection: BusConnection, *, request_timeout: float = 5.0) -> None:
        super().__init__("workers://", channel_prefix="socket.io", request_timeout=request_timeout)
        self.connection = connection

    def _publish(self, message: dict[str, Any], *, channel: str | None = None,
                 done: Any = None, lenient: bool = False) -> None:
        """As Redis's, but a message this worker would drop when it comes back
        (:meth:`drops_own`) is marked so that the hub does not send it back."""
        if done is not None or not self.drops_own(message):
            super()._publish(message, channel=channel, done=done, lenient=lenient)
            return
        message["uid"] = self.uid
        payload = codec.dumps(message, lenient=lenient)
        target = channel or self.channel
        self._run(lambda client: client.publish(target, payload, others_only=True), None)

    def _to_hub(self, fn: Any, *args: Any) -> None:
        """The bus is read by a greenlet of this hub, not a thread: from the hub's
        thread a plain loop callback does (no wake-up write per burst, as Redis's
        threads need); from another thread (a ``fetch_sockets`` caller) Redis's way."""
        if self._in_hub_thread():
            try:
                self._serving_hub().loop.run_callback(fn, *args)
            except Exception:  # the loop is gone: the server stopped
                pass
            return
        super()._to_hub(fn, *args)

    @staticmethod
    def drops_own(message: dict[str, Any]) -> bool:
        """Whether :meth:`_received` drops ``message`` when it is this worker's own
        (tests/workers/test_routing_and_bus.py holds the two together)."""
        return message.get("type") not in codec.REQUEST_TYPES and "offset" not in message

    def recovery_log(self, options: dict[str, Any]) -> WorkersRecoveryLog:
        self._recovery = WorkersRecoveryLog(self, **options)
        return self._recovery

    def attach(self, server: "LocalDelivery") -> None:
        """Join the bus: subscribed before serving (call from a greenlet: it waits for the hub)."""
        MemoryAdapter.attach(self, server)
        self._hub = server.hub or gevent.get_hub()
        link = HubLink(self.connection, (self.channel, self.reply_to), on_message=self._received,
                       to_hub=self._to_hub, timeout=self.request_timeout)
        self._link = link  # type: ignore[assignment]
        link.subscribe()
        if self._recovery is not None:
            self._recovery.start()

