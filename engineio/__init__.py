"""A sans-IO implementation of the Engine.IO v4 protocol.

Bytes and the current time go in, events and bytes come out; no sockets, no
clocks, no threads. The model is h11: :class:`Session` is the per-connection
state machine, :func:`check_request` validates HTTP requests before a session
exists, and the codec functions turn packets into wire data and back.
"""

from ._config import TRANSPORTS, Config
from ._errors import LocalProtocolError, ProtocolError, RemoteProtocolError, RequestRejected
from ._events import (
    CloseReason,
    Event,
    MessageReceived,
    SessionClosed,
    UpgradeAborted,
    Upgraded,
)
from ._handshake import Request, check_request, open_packet
from ._packets import (
    RECORD_SEPARATOR,
    Packet,
    PacketType,
    decode_packet,
    decode_payload,
    encode_packet,
    encode_payload,
    iter_payload,
)
from ._session import Session
from ._state import State

__all__ = [
    "TRANSPORTS",
    "Config",
    "ProtocolError",
    "LocalProtocolError",
    "RemoteProtocolError",
    "RequestRejected",
    "CloseReason",
    "Event",
    "MessageReceived",
    "SessionClosed",
    "UpgradeAborted",
    "Upgraded",
    "Request",
    "check_request",
    "open_packet",
    "RECORD_SEPARATOR",
    "Packet",
    "PacketType",
    "decode_packet",
    "decode_payload",
    "encode_packet",
    "encode_payload",
    "iter_payload",
    "Session",
    "State",
]
