"""Live sessions on the hub: what lets a killed worker's clients recover.

A worker that drains saves each socket's state for connection state
recovery as it closes it. A worker killed without warning (SIGKILL, the OOM
killer, a crash) saves nothing, so the supervisor's hub must already know,
at every moment, what it would have saved. :class:`LiveSessions` tells it,
in one-way bus frames (``transports.gevent._cluster._bus``):

- ``LIVE`` when a recoverable socket is accepted (after its connect
  handler, recovered sockets included): the stored form a save would write
  (sid, pid, namespace, rooms, data);
- ``ROOM`` when it joins or leaves a room (from the adapter's membership
  changes, so ``enter_room``, ``sockets_join`` and the rest all count);
- ``GONE`` when it leaves (a saved session, if any, travels in its own
  ``SAVE`` frame as before).

When a worker's bus ends, the hub turns what is still live into saved
sessions. Nothing is sent per message: missed packets come from the
recovery log's stream as for any recovery. Data is as it was when the socket
was accepted: a change made later (``save_session``) reaches the hub only
with a drain's save, so a killed worker's client gets back the data of its
connect (documented in README "Workers").
"""

from __future__ import annotations

import logging
from time import monotonic
from typing import TYPE_CHECKING, Any

from transports.gevent._cluster import _bus as bus

from ..protocol._recovery import SavedSession
from ..server import ServerListener

if TYPE_CHECKING:
    from ..server import Server
    from ._adapter import WorkersAdapter, WorkersRecoveryLog

__all__ = ["LiveSessions"]

log = logging.getLogger(__name__)


class LiveSessions(ServerListener):
    """Keeps the hub's copy of this worker's recoverable sockets (see the module note).

    Runs on the hub, synchronously, like every listener. Each frame goes
    through the adapter's link like a saved session (``run`` without a
    result: one non-blocking write when nothing is queued, else behind what
    is), so the hub sees them in the order they happened, a socket's ``SAVE``
    before its ``GONE``.
    """

    def __init__(self, server: "Server", adapter: "WorkersAdapter", log_: "WorkersRecoveryLog") -> None:
        self.server = server
        self.adapter = adapter
        self.log = log_
        #: sid -> namespace of the sockets announced as live (room changes of others are not sent).
        self._live: dict[str, str] = {}

    def attach(self) -> None:
        self.server.add_listener(self)
        self.adapter.add_membership_listener(self.membership_changed)

    def socket_connected(self, namespace: str, sid: str) -> None:
        view = self.server.local_socket(sid, namespace)
        pid = getattr(view, "pid", None)
        if view is None or not isinstance(pid, str):
            return
        rooms = self.adapter.rooms_of(namespace, sid) - {sid}
        session = SavedSession(sid=sid, pid=pid, namespace=namespace, rooms=rooms, data=view.data,
                               saved_at=monotonic())
        try:
            value = self.log.session_value(session)
        except TypeError as exc:
            log.warning("socket %s cannot be recovered if this worker dies: its data cannot be "
                        "stored (%s)", sid, exc)
            return
        self._live[sid] = namespace
        self._send(bus.encode(bus.LIVE, {"s": sid, "k": self.log.session_prefix + pid,
                                         "w": self.log.window_ms, "r": sorted(rooms)}, value))

    def membership_changed(self, namespace: str, room: str, sid: str, joined: bool) -> None:
        if self._live.get(sid) != namespace or room == sid:
            return
        self._send(bus.encode(bus.ROOM, {"s": sid, "r": room, "j": 1 if joined else 0}))

    def socket_disconnected(self, namespace: str, sid: str, reason: str) -> None:
        if self._live.pop(sid, None) is not None:
            self._send(bus.encode(bus.GONE, {"s": sid}))

    def _send(self, frame: bytes) -> None:
        def command(client: Any) -> None:  # a HubClient
            client.connection.send(frame)

        self.adapter._run(command, None)
