"""Events the Engine.IO session hands to the layer above (frozen value objects)."""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

__all__ = [
    "CloseReason",
    "Event",
    "MessageReceived",
    "Upgraded",
    "UpgradeAborted",
    "SessionClosed",
]


class CloseReason(str, Enum):
    """Why a session ended; the values are the reference server's strings."""

    PING_TIMEOUT = "ping timeout"
    TRANSPORT_CLOSE = "transport close"
    TRANSPORT_ERROR = "transport error"
    FORCED_CLOSE = "forced close"
    PARSE_ERROR = "parse error"
    SERVER_SHUTDOWN = "server shutting down"
    SLOW_CONSUMER = "slow consumer"


@dataclass(frozen=True, slots=True, kw_only=True)
class Event:
    """Base class of session events."""


@dataclass(frozen=True, slots=True, kw_only=True)
class MessageReceived(Event):
    """A ``message`` packet from the client: ``str`` for text, ``bytes`` for binary."""

    data: str | bytes


@dataclass(frozen=True, slots=True, kw_only=True)
class Upgraded(Event):
    """The client completed the upgrade: from now on the WebSocket carries everything."""


@dataclass(frozen=True, slots=True, kw_only=True)
class UpgradeAborted(Event):
    """The probing WebSocket must be closed; the session stays on polling."""

    description: str


@dataclass(frozen=True, slots=True, kw_only=True)
class SessionClosed(Event):
    """The session is over; it is emitted exactly once, as the last event."""

    reason: CloseReason
    description: str = ""
