"""The sans-IO Socket.IO v5 protocol (and v4 for Engine.IO v3 clients).

Packets in, events out, packets to send out: :class:`Connection` is the
per-client state machine (one per Engine.IO session), :class:`PacketDecoder`
and :func:`encode_packet` the codec, :class:`Parser` the seam for other wire
formats (:class:`MsgpackParser`, JSON codecs such as :class:`OrjsonCodec`),
and :class:`RecoveryLog` the bookkeeping of connection state recovery. Like
:mod:`engineio` beneath it, nothing here does I/O, reads a clock or starts a
thread: importing this package loads none of gevent, h11, wsproto, socket,
threading or :mod:`transports` (``tests/test_import_rules.py`` checks it in a
fresh interpreter).
"""

from ._connection import Connection, NamespaceState, encode_for_engine
from ._events import (
    AckReceived,
    ConnectRequested,
    ConnectTimedOut,
    DisconnectRequested,
    EventReceived,
    SocketIOEvent,
)
from ._errors import LocalSocketIOError, NotSerializableError, RemoteSocketIOError, SocketIOError
from ._msgpack import MsgpackParser
from ._orjson import OrjsonCodec
from ._decoder import PacketDecoder
from ._encoder import encode_packet
from ._json import BinaryFound
from ._packets import Packet, PacketType
from ._parser import JsonParser, Parser, make_parser
from ._recovery import RecoveryLog, RecoveryStore, SavedSession

__all__ = [
    "AckReceived",
    "ConnectRequested",
    "Connection",
    "ConnectTimedOut",
    "DisconnectRequested",
    "EventReceived",
    "SocketIOEvent",
    "NamespaceState",
    "encode_for_engine",
    "LocalSocketIOError",
    "NotSerializableError",
    "RemoteSocketIOError",
    "SocketIOError",
    "MsgpackParser",
    "OrjsonCodec",
    "BinaryFound",
    "Packet",
    "PacketDecoder",
    "PacketType",
    "encode_packet",
    "JsonParser",
    "Parser",
    "make_parser",
    "RecoveryLog",
    "RecoveryStore",
    "SavedSession",
]
