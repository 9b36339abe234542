"""Upgrading a polling session to WebSocket ([EIO4] "Upgrade"; [EIO3] the same): a part of :class:`Session`.

Kept apart because the upgrade is its own short protocol beside the
session's: a second connection (the probing WebSocket) attaches, trades
``2probe``/``3probe`` and sends ``5``, while the polling transport goes on;
only its end (done, or aborted) touches the rest of the session. Every
method here is a method of :class:`engineio._session.Session` (this class is
one of its bases, with no slots of its own), so the hot paths of the session
call nothing more than they did; state moves go through the session's
``_move`` and so through :func:`engineio._state.next_state`.

While the probe is under way a poll with nothing to carry is held, then
answered with a noop from ``UPGRADE_NOOP_DELAY`` after the probe on, as
Node's server does (the deadline is the session's ``_noop_due``, acted on in
:mod:`._deadlines`; the noop itself is written by :mod:`._outbox`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Final

from ._config import Config
from ._errors import RemoteProtocolError
from ._events import Event, UpgradeAborted, Upgraded
from ._state import _OPEN, _UPGRADING, Input, State

__all__ = ["Upgrading", "UPGRADE_NOOP_DELAY"]

_PROBE = "probe"

#: How long a poll may wait after the probe before it is ended with a noop.
#: Node's server checks every 100 ms during an upgrade and writes a noop to a
#: poll still waiting then; until that, messages keep going out on the poll.
#: The official client's tests count packets with that timing.
UPGRADE_NOOP_DELAY: Final = 0.1


class Upgrading:
    """The upgrade methods of :class:`engineio._session.Session` (a base with no state of its own)."""

    # No slots of its own (Session's hold the state, and one empty tuple keeps
    # instances free of a __dict__); hidden from mypy, which would otherwise
    # refuse every assignment here to a slot only Session declares.
    if not TYPE_CHECKING:
        __slots__ = ()

    # The session's state these work on (slots of Session).
    transport: str
    config: Config
    supports_binary: bool
    state: State
    _events: list[Event]
    _upgrade_due: float | None
    _noop_owed: bool
    _noop_due: float | None
    _probe_out: list[str] | None
    _probe_binary: bool

    if TYPE_CHECKING:

        def _move(self, event: Input) -> None: ...

    def begin_upgrade(self, now: float, *, supports_binary: bool = True) -> None:
        """A WebSocket with this session's sid arrived: start probing it.

        ``supports_binary`` is False when that WebSocket request said
        ``b64=1`` (v3: binary messages then travel as base64 text frames).

        Raises RemoteProtocolError when the session cannot upgrade (not on
        polling, upgrading already, upgrades disabled); the I/O layer then
        closes that WebSocket and the session carries on.
        """
        if (
            self.state is not _OPEN
            or self.transport != "polling"
            or "websocket" not in self.config.upgrades_for("polling")
        ):
            raise RemoteProtocolError(
                f"cannot upgrade a {self.transport} session in state {self.state.value}"
            )
        self._move(Input.PROBE_ATTACHED)
        self._upgrade_due = now + self.config.upgrade_timeout
        self._probe_binary = supports_binary

    def receive_probe(self, wire: str | bytes, now: float) -> None:
        """Take one message from the probing WebSocket during an upgrade.

        ``2probe`` is answered with ``3probe`` (see :meth:`drain_probe`);
        from ``UPGRADE_NOOP_DELAY`` later on, a poll with nothing to carry
        ends with a noop, as Node's server does; ``5`` completes the upgrade.
        Anything else aborts the upgrade (the session stays on polling).
        """
        if self.state is not _UPGRADING:
            return
        if wire == "2" + _PROBE:
            if self._probe_out is None:
                self._probe_out = []
            self._probe_out.append("3" + _PROBE)
            if self._noop_due is None and not self._noop_owed:
                self._noop_due = now + UPGRADE_NOOP_DELAY
        elif wire == "5":
            self._move(Input.UPGRADE_DONE)
            self.transport = "websocket"
            self.supports_binary = self._probe_binary
            self._upgrade_due = self._noop_due = None
            self._noop_owed = False
            self._events.append(Upgraded())
        else:
            self.abort_upgrade("unexpected packet during upgrade")

    def abort_upgrade(self, description: str) -> None:
        """The probe failed (its WebSocket closed, or it misbehaved): stay on polling."""
        if self.state is not _UPGRADING:
            return
        self._move(Input.UPGRADE_FAILED)
        self._upgrade_due = self._noop_due = None
        self._noop_owed = False
        self._probe_out = None
        self._events.append(UpgradeAborted(description=description))

    def drain_probe(self) -> list[str]:
        """Packets for the probing WebSocket (``3probe``) during an upgrade."""
        items, self._probe_out = self._probe_out, None
        return items or []
