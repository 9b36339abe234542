"""Events a Socket.IO :class:`~._connection.Connection` hands to the server (frozen value objects).

Every event derives from :class:`SocketIOEvent`, so ``Connection.next_event``
has one precise type; the name keeps it apart from :class:`engineio.Event`,
the base of the Engine.IO session's events one layer below.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Union

__all__ = [
    "SocketIOEvent",
    "ConnectRequested",
    "EventReceived",
    "AckReceived",
    "DisconnectRequested",
    "ConnectTimedOut",
    "AnySocketIOEvent",
]


@dataclass(frozen=True, slots=True, kw_only=True)
class SocketIOEvent:
    """Base class of the events of a Socket.IO connection."""


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectRequested(SocketIOEvent):
    """The client asks to join ``namespace``; accept or refuse it.

    ``auth`` is ``{}`` when the CONNECT carried no payload; ``auth_sent``
    tells that case apart (python-socketio and Flask-SocketIO hand such
    handlers ``None``). It does not take part in comparisons.
    """

    namespace: str
    auth: dict[str, Any]
    auth_sent: bool = field(default=True, compare=False)


@dataclass(frozen=True, slots=True, kw_only=True)
class EventReceived(SocketIOEvent):
    """An EVENT on a joined namespace; ``ack_id`` is set when the client wants an answer."""

    namespace: str
    #: ``[event name, *args]`` with binary attachments in place.
    data: list[Any]
    ack_id: int | None


@dataclass(frozen=True, slots=True, kw_only=True)
class AckReceived(SocketIOEvent):
    """The client answered the EVENT we sent with ``ack_id``."""

    namespace: str
    ack_id: int
    args: list[Any]


@dataclass(frozen=True, slots=True, kw_only=True)
class DisconnectRequested(SocketIOEvent):
    """The client left ``namespace``."""

    namespace: str


@dataclass(frozen=True, slots=True, kw_only=True)
class ConnectTimedOut(SocketIOEvent):
    """No namespace was joined within ``connect_timeout``: close the client."""


#: What :meth:`Connection.next_event` returns (besides None): one of the five,
#: as a union so that a check of the event's type narrows it.
AnySocketIOEvent = Union[ConnectRequested, EventReceived, AckReceived, DisconnectRequested, ConnectTimedOut]
