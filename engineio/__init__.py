"""A sans-IO implementation of the Engine.IO v4 protocol (and v3, for legacy clients).

Bytes and the current time go in, events and bytes come out; no sockets, no
clocks, no threads. The model is h11: :class:`Session` is the per-connection
state machine, :func:`check_request` validates HTTP requests before a session
exists, and the codec functions turn packets into wire data and back.

Importing it first checks that python-engineio (which installs a package of
the same name) is not installed beside it: see :mod:`engineio._identity`.
"""

from ._identity import EngineioConflictError, check_environment

#: Only this project's ``engineio`` defines it (see :data:`engineio._identity.MARKER`):
#: ``socketio_core`` checks it to tell this package from python-engineio's.
__socketio_core_engineio__ = True

check_environment()

from ._config import TRANSPORTS, Config
from ._errors import (
    BAD_HANDSHAKE_METHOD,
    BAD_REQUEST,
    FORBIDDEN,
    SESSION_ID_UNKNOWN,
    TRANSPORT_UNKNOWN,
    UNSUPPORTED_PROTOCOL_VERSION,
    LocalProtocolError,
    ProtocolError,
    RemoteProtocolError,
    RequestRejected,
    reject,
)
from ._events import (
    CloseReason,
    Event,
    MessageReceived,
    SessionClosed,
    UpgradeAborted,
    Upgraded,
)
from ._handshake import Request, SessionCarrier, check_request, live_polling_session, open_packet
from ._packets import (
    RECORD_SEPARATOR,
    Packet,
    PacketType,
    Wire,
    decode_packet,
    decode_payload,
    encode_packet,
    encode_payload,
    iter_payload,
)
from ._jsonp import JSONP_CONTENT_TYPE, decode_jsonp, encode_jsonp, jsonp_index
from ._session import Session
from ._upgrade import UPGRADE_NOOP_DELAY
from ._state import State
from ._v3 import (
    BINARY_CONTENT_TYPE,
    TEXT_CONTENT_TYPE,
    decode_frame_v3,
    decode_payload_v3,
    encode_frame_v3,
    encode_payload_v3,
    is_binary_payload,
    iter_payload_v3,
    utf16_length,
)

__all__ = [
    "EngineioConflictError",
    "TRANSPORTS",
    "Config",
    "ProtocolError",
    "LocalProtocolError",
    "RemoteProtocolError",
    "RequestRejected",
    "reject",
    "TRANSPORT_UNKNOWN",
    "SESSION_ID_UNKNOWN",
    "BAD_HANDSHAKE_METHOD",
    "BAD_REQUEST",
    "FORBIDDEN",
    "UNSUPPORTED_PROTOCOL_VERSION",
    "CloseReason",
    "Event",
    "MessageReceived",
    "SessionClosed",
    "UpgradeAborted",
    "Upgraded",
    "Request",
    "check_request",
    "SessionCarrier",
    "live_polling_session",
    "open_packet",
    "RECORD_SEPARATOR",
    "Packet",
    "PacketType",
    "Wire",
    "decode_packet",
    "decode_payload",
    "encode_packet",
    "encode_payload",
    "iter_payload",
    "Session",
    "UPGRADE_NOOP_DELAY",
    "State",
    "TEXT_CONTENT_TYPE",
    "BINARY_CONTENT_TYPE",
    "JSONP_CONTENT_TYPE",
    "decode_frame_v3",
    "decode_payload_v3",
    "encode_frame_v3",
    "encode_payload_v3",
    "is_binary_payload",
    "iter_payload_v3",
    "utf16_length",
    "decode_jsonp",
    "encode_jsonp",
    "jsonp_index",
]
