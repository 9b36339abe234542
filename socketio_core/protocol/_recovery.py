"""Connection state recovery, as Node's socket.io 4.6+ defines it for its client.

Strategy: when enabled, every non-volatile EVENT the server emits without an
ack gets a string *offset* appended as its last argument (the client keeps
the last one it saw) and is kept in a bounded log. A socket that goes away
for a reason other than a deliberate disconnect leaves its state behind
under a private id (``pid``, sent in the CONNECT reply). A client that
reconnects within ``max_disconnection_duration`` with ``{pid, offset}`` in
its CONNECT auth gets back its socket id, rooms and data, and every logged
packet after its offset that was addressed to it, in order.

Bounds: the log keeps at most ``max_packets`` packets and about
``max_bytes`` bytes, none older than the disconnection window; saved
sessions expire with the window. A client whose offset fell out of the log
cannot be recovered and simply connects anew. This module keeps the state
in this process; it does not touch I/O.

The log is pluggable: the server asks its adapter for one
(:meth:`Adapter.recovery_log`). The default adapter gives this in-memory
:class:`RecoveryLog`; :class:`socketio_core.redis_adapter.RedisAdapter` gives
a log kept in Redis (``socketio_core.redis._recovery.RedisRecoveryLog``) so
that a client can be recovered by any server of the cluster. A log provides
``new_pid``, ``broadcast`` (record and send), ``save`` and ``restore_then``
(``done(result)`` at once for this log, on the loop's thread when a log kept
elsewhere answers: the server never waits for it, on either driver).
"""

from __future__ import annotations

from base64 import urlsafe_b64encode
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Protocol

if TYPE_CHECKING:
    from ..server._adapter import Adapter

__all__ = ["RecoveryLog", "RecoveryStore", "SavedSession"]


@dataclass(slots=True, kw_only=True)
class SavedSession:
    sid: str
    pid: str
    namespace: str
    rooms: set[str]
    data: dict[str, Any]
    saved_at: float


class RecoveryStore(Protocol):
    """What the server needs of a recovery log (in memory, or in Redis)."""

    skip_middlewares: bool
    max_disconnection_duration: float

    def new_pid(self) -> str: ...

    def broadcast(
        self, adapter: "Adapter", namespace: str, data: list[Any], rooms: list[str] | None,
        skip: list[str], now: float,
    ) -> None: ...

    def save(self, session: SavedSession) -> None: ...

    def restore_then(
        self, pid: str, offset: str, now: float,
        done: Callable[[tuple[SavedSession, list[list[Any]]] | None], None],
    ) -> None:
        """Claim session ``pid`` and find what it missed after ``offset``: ``done((session,
        missed))``, or ``done(None)`` when it cannot be recovered; on the loop's thread."""


@dataclass(slots=True)
class _Logged:
    offset: str
    namespace: str
    data: list[Any]
    rooms: list[str] | None
    skip: list[str]
    at: float
    size: int


def _estimate_size(value: Any) -> int:
    """A cheap upper-ish estimate of a packet's encoded size, for the byte bound."""
    if isinstance(value, (str, bytes, bytearray)):
        return len(value) + 2
    if isinstance(value, dict):
        return 2 + sum(_estimate_size(k) + _estimate_size(v) + 2 for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return 2 + sum(_estimate_size(v) + 1 for v in value)
    return 8


@dataclass(slots=True, kw_only=True)
class RecoveryLog:
    """The in-memory log. Randomness is an argument (house rule 2):
    ``random_bytes`` is ``os.urandom`` in the server, anything in a test."""

    random_bytes: Callable[[int], bytes]
    max_disconnection_duration: float = 120.0
    max_packets: int = 10_000
    max_bytes: int = 10_000_000
    skip_middlewares: bool = True
    _packets: deque[_Logged] = field(default_factory=deque)
    _bytes: int = 0
    _sessions: dict[str, SavedSession] = field(default_factory=dict)
    _prefix: str = ""
    _counter: int = 0

    def __post_init__(self) -> None:
        self._prefix = self.random_bytes(4).hex()

    def new_pid(self) -> str:
        return urlsafe_b64encode(self.random_bytes(15)).decode("ascii")

    def record(
        self, namespace: str, data: list[Any], rooms: list[str] | None, skip: list[str], now: float
    ) -> list[Any]:
        """Append an offset to ``data`` and log the packet; returns the data to send."""
        self._counter += 1
        offset = f"{self._prefix}-{self._counter:x}"
        stamped = [*data, offset]
        size = _estimate_size(stamped)
        self._packets.append(_Logged(offset, namespace, stamped, rooms, skip, now, size))
        self._bytes += size
        self._prune(now)
        return stamped

    def broadcast(
        self, adapter: "Adapter", namespace: str, data: list[Any], rooms: list[str] | None,
        skip: list[str], now: float,
    ) -> None:
        """Record ``data`` and broadcast it, offset included, through ``adapter``."""
        adapter.broadcast(namespace, self.record(namespace, data, rooms, skip, now), rooms, skip, False)

    def save(self, session: SavedSession) -> None:
        self._sessions[session.pid] = session
        self._prune(session.saved_at)

    def restore_then(
        self, pid: str, offset: str, now: float,
        done: Callable[[tuple[SavedSession, list[list[Any]]] | None], None],
    ) -> None:
        """:meth:`restore`'s answer, at once (nothing to wait for in memory)."""
        done(self.restore(pid, offset, now))

    def restore(self, pid: str, offset: str, now: float) -> tuple[SavedSession, list[list[Any]]] | None:
        """The saved session and the packets it missed, or None if it cannot be recovered."""
        self._prune(now)
        session = self._sessions.pop(pid, None)
        if session is None:
            return None
        missed: list[list[Any]] = []
        found = False
        for logged in self._packets:
            if not found:
                found = logged.offset == offset
                continue
            if logged.namespace != session.namespace:
                continue
            targets = session.rooms | {session.sid}
            if logged.rooms is not None and not targets.intersection(logged.rooms):
                continue
            if logged.skip and targets.intersection(logged.skip):
                continue
            missed.append(logged.data)
        if not found:
            return None  # the offset left the log: the client starts afresh
        return session, missed

    def _prune(self, now: float) -> None:
        horizon = now - self.max_disconnection_duration
        packets = self._packets
        while packets and (
            packets[0].at < horizon
            or len(packets) > self.max_packets
            or self._bytes > self.max_bytes
        ):
            self._bytes -= packets.popleft().size
        if self._sessions:
            for pid in [p for p, s in self._sessions.items() if s.saved_at < horizon]:
                del self._sessions[pid]

    @property
    def saved_sessions(self) -> int:
        return len(self._sessions)
