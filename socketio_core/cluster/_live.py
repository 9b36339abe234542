"""Live sessions on the hub: what lets a killed worker's clients recover.

A worker that drains saves each socket's state for connection state
recovery as it closes it. A worker killed without warning (SIGKILL, the OOM
killer, a crash) saves nothing, so the supervisor's hub must already know,
at every moment, what it would have saved. :class:`LiveSessions` tells it,
in one-way bus frames (``transports.gevent._cluster._bus``):

- ``LIVE`` when a recoverable socket is accepted (after its connect
  handler, recovered sockets included): the stored form a save would write
  (sid, pid, namespace, rooms, data); and again, replacing it, whenever the
  socket's data is saved (``save_session``, or the end of a ``with
  session(sid)`` block): that call is the one moment our API says "this is
  the socket's data now", so the copy follows it at one frame per call, and
  nothing is sent per message;
- ``ROOM`` when it joins or leaves a room (from the adapter's membership
  changes, so ``enter_room``, ``sockets_join`` and the rest all count);
- ``GONE`` when it leaves (a saved session, if any, travels as before).

When a worker's bus ends, the hub turns what is still live into saved
sessions. Missed packets come from the recovery log's stream as for any
recovery. A change made to the data dict in place, without a save, reaches
the hub with the next save (or with a drain's save of the socket).

Where the saved sessions live depends on the adapter between the workers:

- the local adapter (:class:`~._adapter.WorkersAdapter`): in the hub, like
  everything of the recovery log; the frames go through the adapter's link,
  in order with its saves, so a socket's ``SAVE`` reaches the hub before its
  ``GONE``;
- Redis (``message_queue=``, :class:`WorkerRedisAdapter`): the workers save
  in Redis and the stream is Redis's, but the live copies are still the
  hub's (one bus frame per connect, room change and data save, no Redis
  write). A recovering client's claim first asks the hub for what it kept
  of a dead worker (``KEPT``, which waits while the session is live on a
  worker, as a local claim does), then claims in Redis as usual, Redis's
  session winning when it has one (:class:`KeptRecoveryLog`). A socket's
  ``GONE`` goes after its save reached Redis (a command queued behind the
  save on the adapter's publisher thread), so a claim that waited for the
  ``GONE`` finds the save in Redis. What the hub keeps is claimable by this
  machine's workers only: a client of a killed worker that reconnects to
  another machine of the cluster starts afresh.
"""

from __future__ import annotations

import itertools
import logging
from time import monotonic
from typing import TYPE_CHECKING, Any, Callable

import gevent

from transports.gevent import BusConnection
from transports.gevent._cluster import _bus as bus

from ..protocol._recovery import SavedSession
from ..redis._adapter import RedisAdapter
from ..redis._recovery import RedisRecoveryLog, parse_offset
from ..server import ServerListener

if TYPE_CHECKING:
    from ..server import Server

__all__ = ["LiveSessions", "WorkerRedisAdapter", "KeptRecoveryLog"]

log = logging.getLogger(__name__)


class LiveSessions(ServerListener):
    """Keeps the hub's copy of this worker's recoverable sockets (see the module note).

    Runs on the hub, synchronously, like every listener. ``connection``
    None: the adapter's link is the bus (the local adapter), and each frame
    goes through it like a saved session (``run`` without a result: one
    non-blocking write when nothing is queued, else behind what is), so the
    hub sees them in the order they happened. Otherwise (Redis) the frames
    are written on ``connection``, a ``GONE`` once the socket's save reached Redis.
    """

    def __init__(self, server: "Server", adapter: RedisAdapter, log_: RedisRecoveryLog,
                 connection: BusConnection | None = None) -> None:
        self.server = server
        self.adapter = adapter
        self.log = log_
        self.connection = connection
        #: sid -> namespace of the sockets announced as live (room changes of others are not sent).
        self._live: dict[str, str] = {}
        #: Redis: GONE frames waiting for the saves queued before them -> [frame, save done].
        self._pending: dict[int, list[Any]] = {}
        self._tokens = itertools.count()

    def attach(self) -> None:
        self.server.add_listener(self)
        self.adapter.add_membership_listener(self.membership_changed)

    def socket_connected(self, namespace: str, sid: str) -> None:
        self._announce(namespace, sid, "if this worker dies")

    def session_saved(self, namespace: str, sid: str) -> None:
        self._announce(namespace, sid, "with its new data if this worker dies")

    def _announce(self, namespace: str, sid: str, what: str) -> None:
        """Send the socket's stored form (it replaces the hub's copy, if any)."""
        view = self.server.local_socket(sid, namespace)
        pid = getattr(view, "pid", None)
        if view is None or not view.connected or not isinstance(pid, str):
            return  # saved while connecting: its connect sends the copy
        rooms = self.adapter.rooms_of(namespace, sid) - {sid}
        session = SavedSession(sid=sid, pid=pid, namespace=namespace, rooms=rooms, data=view.data,
                               saved_at=monotonic())
        try:
            value = self.log.session_value(session)
        except TypeError as exc:
            log.warning("socket %s cannot be recovered %s: its data cannot be stored (%s)", sid, what, exc)
            if self._live.pop(sid, None) is not None:
                self._send(bus.encode(bus.GONE, {"s": sid}))  # a drain could not save it either
            return
        self._live[sid] = namespace
        self._send(bus.encode(bus.LIVE, {"s": sid, "k": self.log.session_prefix + pid,
                                         "w": self.log.window_ms, "r": sorted(rooms)}, value))

    def membership_changed(self, namespace: str, room: str, sid: str, joined: bool) -> None:
        if self._live.get(sid) != namespace or room == sid:
            return
        self._send(bus.encode(bus.ROOM, {"s": sid, "r": room, "j": 1 if joined else 0}))

    def socket_disconnected(self, namespace: str, sid: str, reason: str) -> None:
        if self._live.pop(sid, None) is None:
            return
        frame = bus.encode(bus.GONE, {"s": sid})
        if self.connection is None:
            self._send(frame)
            return
        # Redis: the socket's save (if any) was queued just before this on the
        # publisher thread; GONE goes once it ran, so that a claim waiting at
        # the hub for this GONE finds the session in Redis.
        token = next(self._tokens)
        entry: list[Any] = [frame, False]
        self._pending[token] = entry

        def barrier(client: Any) -> None:  # on the publisher thread, after the save
            entry[1] = True

        def after(result: Any) -> None:  # on the hub
            if self._pending.pop(token, None) is not None:
                self._send(frame)

        self.adapter._run(barrier, after)

    def close(self) -> None:
        """After the adapter closed (its queue run): the GONE frames whose save ran go now
        (their hand-over to the loop may never run); the others stay live at the hub, which
        keeps them when this worker's bus ends (their save may not have reached Redis)."""
        for token, (frame, saved) in list(self._pending.items()):
            if saved:
                del self._pending[token]
                self._send(frame)

    def _send(self, frame: bytes) -> None:
        connection = self.connection
        if connection is not None:
            connection.send(frame)
            return

        def command(client: Any) -> None:  # a HubClient
            client.connection.send(frame)

        self.adapter._run(command, None)


class KeptRecoveryLog(RedisRecoveryLog):
    """The Redis recovery log of a worker: a claim also gets what the supervisor kept
    of a killed worker (asked first, over the bus; Redis's session wins)."""

    def __init__(self, adapter: RedisAdapter, connection: BusConnection, **options: Any) -> None:
        super().__init__(adapter, **options)
        self.connection = connection

    def restore_then(
        self, pid: str, offset: str, now: float,
        done: Callable[[tuple[SavedSession, list[list[Any]]] | None], None],
        *, fallback: str | None = None,
    ) -> None:
        if parse_offset(offset) is None or not pid or len(pid) > 200:
            done(None)
            return
        key = self.session_prefix + pid

        def ask_the_hub() -> None:  # a greenlet: the hub may hold the answer (up to 0.5-3 s)
            kept: Any = None
            try:
                kept = self.connection.request(bus.KEPT, {"k": key}, b"", self.adapter.request_timeout)
            except (OSError, gevent.Timeout) as exc:
                log.warning("the supervisor did not answer a claim (%r): trying redis alone", exc)
            RedisRecoveryLog.restore_then(self, pid, offset, now, done,
                                          fallback=kept if isinstance(kept, str) else fallback)

        gevent.spawn(ask_the_hub)


class WorkerRedisAdapter(RedisAdapter):
    """A worker's :class:`RedisAdapter` (``message_queue=`` with ``workers=N``): the same,
    with its recovery log a :class:`KeptRecoveryLog` on the worker's bus."""

    def __init__(self, connection: BusConnection, url: str, **options: Any) -> None:
        super().__init__(url, **options)
        self.connection = connection

    def recovery_log(self, options: dict[str, Any]) -> RedisRecoveryLog:
        self._recovery = KeptRecoveryLog(self, self.connection, **options)
        return self._recovery
