"""The Redis adapter's link, over the workers' bus instead of Redis.

:class:`~socketio_core.redis.RedisAdapter` makes every cluster decision
(who answers a request, what a broadcast ack waits for, what a recovering
client missed) and talks to Redis only through its link: ``run(command,
done)`` queues ``command(client)``, whose result goes to ``done`` on the hub.
:class:`HubLink` has the same face, and its ``client`` (:class:`HubClient`)
answers the calls the adapter's commands make (``publish``,
``pubsub_numsub``) plus the recovery log's four (``record``, ``save``,
``claim``, ``last``) by asking the supervisor's hub
(``transports.gevent._cluster._bus``), which does what Redis does for them.

Commands run in order, as on the Redis publisher thread: those whose result
is awaited in one greenlet (it waits for the hub's reply); one whose result
nobody awaits (``done`` None: a plain broadcast, a saved session) is written
at once when nothing is queued ahead of it, and never waits for a reply, so a
broadcast costs one frame on the bus and no round trip.
"""

from __future__ import annotations

import logging
import threading
from typing import Any, Callable

import gevent
from gevent.queue import SimpleQueue

from transports.gevent import BusConnection
from transports.gevent._cluster import _bus as bus

__all__ = ["HubLink", "HubClient"]

log = logging.getLogger(__name__)


class HubClient:
    """What the adapter's commands call, answered by the hub. ``wait``: whether replies are awaited."""

    def __init__(self, connection: BusConnection, wait: bool, timeout: float) -> None:
        self.connection = connection
        self.wait = wait
        self.timeout = timeout

    def _ask(self, op: bytes, header: dict[str, Any], body: bytes = b"") -> Any:
        return self.connection.request(op, header, body, self.timeout)

    def publish(self, channel: str, payload: bytes, *, others_only: bool = False) -> int:
        """``others_only``: the hub does not send it back here (a message this worker drops
        when it comes back). Unawaited, it goes with the others of this turn of the loop."""
        header: dict[str, Any] = {"ch": channel, "x": 1} if others_only else {"ch": channel}
        if not self.wait:
            self.connection.send_later(bus.encode(bus.PUBLISH, header, payload))
            return 0
        return int(self._ask(bus.PUBLISH, header, payload))

    def pubsub_numsub(self, channel: str) -> list[tuple[str, int]]:
        return [(channel, int(self._ask(bus.NUMSUB, {"ch": channel})))]

    def record(self, channel: str, message: bytes, max_packets: int, max_bytes: int, window_ms: int) -> str:
        header = {"ch": channel, "mp": max_packets, "mb": max_bytes, "w": window_ms}
        return str(self._ask(bus.RECORD, header, message))

    def save(self, key: str, value: bytes, window_ms: int) -> None:
        self.connection.send(bus.encode(bus.SAVE, {"k": key, "w": window_ms}, value))

    def claim(self, key: str, offset: str) -> list[Any]:
        session, entries = self._ask(bus.CLAIM, {"k": key, "o": offset})
        return [session, [(entry_id, {"m": message}) for entry_id, message in entries]]

    def last(self) -> list[Any]:
        return list(self._ask(bus.LAST, {}))


class HubLink:
    """The face of :class:`~socketio_core.redis._link.RedisLink`, over the bus (see the module note)."""

    def __init__(
        self,
        connection: BusConnection,
        channels: tuple[str, ...],
        *,
        on_message: Callable[[bytes], None],
        to_hub: Callable[..., None],
        timeout: float,
    ) -> None:
        self.connection = connection
        self.channels = channels
        self.to_hub = to_hub
        self.closed = False
        #: As RedisLink's: set while subscribed (from :meth:`subscribe` until the bus ends).
        self.subscribed = threading.Event()
        self.first_attempt = threading.Event()
        self._waiting = HubClient(connection, True, timeout)
        self._sending = HubClient(connection, False, timeout)
        self._jobs: SimpleQueue[Any] = SimpleQueue()
        self._runner: Any = None
        #: Commands queued and not started: while there are, run() queues behind them.
        self._queued = 0
        connection.on_message = lambda channel, payload: on_message(payload)

    def subscribe(self) -> None:
        """Subscribe (waits for the hub's answer: call from a greenlet), then start running commands."""
        self.connection.request(bus.SUBSCRIBE, {"chs": list(self.channels)})
        self.subscribed.set()
        self.first_attempt.set()
        self._runner = gevent.spawn(self._run_loop)

    def run(self, command: Callable[[Any], Any], done: Callable[[Any], None] | None = None) -> None:
        """Queue ``command``; one whose result nobody awaits, with nothing queued ahead, is sent now."""
        if self.closed:
            if done is not None:
                done(None)
            return
        if done is None and not self._queued:
            try:
                command(self._sending)  # writes its frame at once, never waits
            except Exception:
                log.exception("a command on the workers' bus failed")
            return
        self._queued += 1
        self._jobs.put((command, done))

    def _run_loop(self) -> None:
        while True:
            job = self._jobs.get()
            if job is None:
                return
            command, done = job
            # From here to the command's frame being written nothing yields:
            # a command run directly by run() cannot overtake this one.
            self._queued -= 1
            result: Any = None
            try:
                result = command(self._sending if done is None else self._waiting)
            except (OSError, gevent.Timeout) as exc:
                if not self.closed:
                    log.warning("the workers' bus failed: %r", exc)
                self.subscribed.clear()
            except Exception:  # our bug: keep the runner alive
                log.exception("a command on the workers' bus failed")
            if done is not None:
                self.to_hub(done, result)

    def close(self) -> None:
        """Run what is queued (a draining worker's saved sessions), then stop; waits up to 2 s."""
        if self.closed:
            return
        self.closed = True
        self._jobs.put(None)
        runner = self._runner
        if runner is not None and runner is not gevent.getcurrent():
            runner.join(timeout=2.0)
