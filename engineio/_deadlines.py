"""The session's clock side: deadlines, not timers ([EIO4] "Heartbeat"; [EIO3] "Heartbeat").

The session never reads a clock: the I/O layer asks :meth:`Deadlines.next_deadline`
when to call back and calls :meth:`Deadlines.handle_timeout` with the time then,
so one scheduler can drive thousands of sessions. Kept apart because every
deadline the session has is acted on here, in one place and one order: the
heartbeat (v4: our ping, then the pong it waits for; v3: the client's next
ping), a close packet nobody collects (``close_timeout``), an upgrade that
takes too long (``upgrade_timeout``) and the noop owed to polls during one
(:mod:`._upgrade`). The methods are methods of
:class:`engineio._session.Session` (this class is one of its bases, with no
slots of its own): ``next_deadline`` is asked several times per polling
round trip and calls nothing more than it did.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._config import Config
from ._events import CloseReason
from ._packets import _PING, Wire
from ._state import _CLOSED, Input, State

__all__ = ["Deadlines"]


class Deadlines:
    """The deadline methods of :class:`engineio._session.Session` (a base with no state of its own)."""

    # No slots of its own (Session's hold the state, and one empty tuple keeps
    # instances free of a __dict__); hidden from mypy, which would otherwise
    # refuse every assignment here to a slot only Session declares.
    if not TYPE_CHECKING:
        __slots__ = ()

    # The session's state these work on (slots of Session).
    config: Config
    protocol: int
    state: State
    _buffer: list[Wire]
    _ping_due: float | None
    _pong_due: float | None
    _upgrade_due: float | None
    _close_due: float | None
    _noop_owed: bool
    _noop_due: float | None
    _close_reason: CloseReason

    if TYPE_CHECKING:

        def _move(self, event: Input) -> None: ...

        def _abort(self, reason: CloseReason, description: str, final: str | None = ...) -> None: ...

        def _closed(self, reason: CloseReason, description: str, final: str | None) -> None: ...

        def abort_upgrade(self, description: str) -> None: ...

    def next_deadline(self) -> float | None:
        """When :meth:`handle_timeout` must next be called, or None."""
        best = self._ping_due
        # Asked several times per long-polling round trip; usually only the
        # ping is due, and four tests cost less than building the tuple below.
        if self._pong_due is None and self._upgrade_due is None and self._close_due is None \
                and self._noop_due is None:
            return best
        for due in (self._pong_due, self._upgrade_due, self._close_due, self._noop_due):
            if due is not None and (best is None or due < best):
                best = due
        return best

    def handle_timeout(self, now: float) -> None:
        """Act on every deadline that has passed at ``now``."""
        if self.state is _CLOSED:
            return
        if self._pong_due is not None and now >= self._pong_due:
            if self.protocol == 3:
                self._abort(CloseReason.PING_TIMEOUT, "no ping within ping interval + ping timeout")
            else:
                self._abort(CloseReason.PING_TIMEOUT, "no pong within ping timeout")
            return
        if self._close_due is not None and now >= self._close_due:
            self._move(Input.ABORT)
            self._closed(self._close_reason, "close packet never collected", None)
            return
        if self._upgrade_due is not None and now >= self._upgrade_due:
            self.abort_upgrade("upgrade timeout")
        if self._noop_due is not None and now >= self._noop_due:
            self._noop_due = None
            self._noop_owed = True
        if self._ping_due is not None and now >= self._ping_due:
            # The pong is due ping_timeout after the ping was *due*, not after a
            # late timer sent it: a silent client is gone at exactly
            # ping_interval + ping_timeout, whatever the scheduler's latency.
            # But after a stall of the whole server (a long GC, a CPU-bound
            # handler) a ping sent late still leaves the client half a timeout
            # to answer, rather than closing every healthy client at once.
            timeout = self.config.ping_timeout
            self._pong_due = max(self._ping_due + timeout, now + timeout / 2)
            self._ping_due = None
            self._buffer.append(_PING)
