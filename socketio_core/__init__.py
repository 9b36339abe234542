"""A pure-Python Socket.IO v5 server on a sans-IO protocol core.

The package's layers (see README, "Layout"):

- :mod:`socketio_core.protocol`: the sans-IO Socket.IO protocol;
- :mod:`socketio_core.server`: the public :class:`Server` on top of it;
- :mod:`socketio_core.flask`, :mod:`socketio_core.redis`,
  :mod:`socketio_core.admin`, :mod:`socketio_core.echo`: integrations, each
  using only the server's public seams.

The names below load lazily, so that importing the protocol package (or
``socketio_core.emitter``) never drags in the server, gevent or the I/O
layer.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .protocol import (
        BinaryFound,
        Connection,
        JsonParser,
        LocalSocketIOError,
        MsgpackParser,
        OrjsonCodec,
        Packet,
        PacketDecoder,
        PacketType,
        Parser,
        RemoteSocketIOError,
        SocketIOError,
        encode_packet,
    )
    from .server import (
        Ack,
        Adapter,
        ConnectionRefusedError,
        Handshake,
        MemoryAdapter,
        Namespace,
        Server,
        TooManyPendingAcks,
    )

__all__ = [
    "Ack",
    "Adapter",
    "MemoryAdapter",
    "Connection",
    "LocalSocketIOError",
    "RemoteSocketIOError",
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
    "TooManyPendingAcks",
]

_SERVER_NAMES = frozenset(
    {"Ack", "Adapter", "MemoryAdapter", "Namespace", "ConnectionRefusedError", "Handshake", "Server",
     "TooManyPendingAcks"}
)


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    home = ".server" if name in _SERVER_NAMES else ".protocol"
    return getattr(import_module(home, __name__), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
