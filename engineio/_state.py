"""The session's states and every legal move between them, in one table.

Nothing else changes a session's state: :class:`~engineio._session.Session`
calls :func:`next_state` with an input and stores the result, so an illegal
move anywhere surfaces as a LocalProtocolError naming the state and input.

OPENING   the handshake is accepted; the OPEN packet waits in the buffer.
OPEN      the OPEN packet left; messages flow on the current transport.
UPGRADING a WebSocket probe is attached to a polling session ([EIO4] "Upgrade").
CLOSING   we asked to close; the close packet waits to be delivered.
CLOSED    final; nothing is accepted or produced any more.
"""

from __future__ import annotations

from enum import Enum
from typing import Final

from ._errors import LocalProtocolError

__all__ = ["State", "Input", "next_state", "TRANSITIONS"]


class State(Enum):
    OPENING = "opening"
    OPEN = "open"
    UPGRADING = "upgrading"
    CLOSING = "closing"
    CLOSED = "closed"


# A member read through its Enum class costs ~90 ns on CPython 3.11 (a
# descriptor call), about as much as the whole message fast path; the session's
# modules compare a state with these module constants instead.
_OPENING: Final = State.OPENING
_OPEN: Final = State.OPEN
_UPGRADING: Final = State.UPGRADING
_CLOSING: Final = State.CLOSING
_CLOSED: Final = State.CLOSED


class Input(Enum):
    OPEN_SENT = "open sent"
    PROBE_ATTACHED = "probe attached"
    UPGRADE_DONE = "upgrade done"
    UPGRADE_FAILED = "upgrade failed"
    CLOSE_REQUESTED = "close requested"
    CLOSE_DELIVERED = "close delivered"
    ABORT = "abort"


S, I = State, Input

TRANSITIONS: dict[tuple[State, Input], State] = {
    (S.OPENING, I.OPEN_SENT): S.OPEN,
    (S.OPENING, I.CLOSE_REQUESTED): S.CLOSING,
    (S.OPENING, I.ABORT): S.CLOSED,
    (S.OPEN, I.PROBE_ATTACHED): S.UPGRADING,
    (S.OPEN, I.CLOSE_REQUESTED): S.CLOSING,
    (S.OPEN, I.ABORT): S.CLOSED,
    (S.UPGRADING, I.UPGRADE_DONE): S.OPEN,
    (S.UPGRADING, I.UPGRADE_FAILED): S.OPEN,
    # Closing while upgrading fails the upgrade first (UPGRADE_FAILED), then
    # closes from OPEN: the probe is told, and there is no shortcut edge.
    (S.UPGRADING, I.ABORT): S.CLOSED,
    (S.CLOSING, I.CLOSE_DELIVERED): S.CLOSED,
    (S.CLOSING, I.ABORT): S.CLOSED,
}


def next_state(state: State, event: Input) -> State:
    """Return the state ``event`` leads to from ``state``.

    Raises LocalProtocolError when the table has no such move.
    """
    try:
        return TRANSITIONS[(state, event)]
    except KeyError:
        raise LocalProtocolError(
            f"illegal transition: {event.value!r} in state {state.value!r}"
        ) from None
