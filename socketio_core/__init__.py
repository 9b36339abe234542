"""A pure-Python Socket.IO v5 server on a sans-IO protocol core.

``Server`` is the application API (handlers, emits, rooms, acks); the
``_packets`` and ``_connection`` modules are the sans-IO Socket.IO protocol,
importing no I/O, like :mod:`engineio` beneath them.
"""

from ._adapter import Adapter, MemoryAdapter
from ._connection import Connection
from ._errors import LocalProtocolError, RemoteProtocolError, SocketIOError
from ._msgpack import MsgpackParser
from ._namespace import Namespace
from ._orjson import OrjsonCodec
from ._packets import BinaryFound, Packet, PacketDecoder, PacketType, encode_packet
from ._parser import JsonParser, Parser
from ._server import ConnectionRefusedError, Handshake, Server

__all__ = [
    "Adapter",
    "MemoryAdapter",
    "Connection",
    "LocalProtocolError",
    "RemoteProtocolError",
    "SocketIOError",
    "Namespace",
    "Packet",
    "PacketDecoder",
    "PacketType",
    "encode_packet",
    "BinaryFound",
    "Parser",
    "JsonParser",
    "MsgpackParser",
    "OrjsonCodec",
    "ConnectionRefusedError",
    "Handshake",
    "Server",
]
