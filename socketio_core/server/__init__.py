"""The public Socket.IO server: handlers, emits, rooms, acks, adapters.

It sits between the sans-IO protocol (:mod:`socketio_core.protocol`,
:mod:`engineio`) and the I/O driver (:mod:`transports`): it turns the
protocol's events into handler calls and the application's emits into
packets, and gives adapters and integrations their documented seams.
"""

from ._adapter import Adapter, MemoryAdapter, SocketInfo
from ._namespace import Namespace
from ._server import ConnectionRefusedError, Handshake, Server, ServerListener

__all__ = [
    "Adapter",
    "MemoryAdapter",
    "SocketInfo",
    "Namespace",
    "ConnectionRefusedError",
    "Handshake",
    "Server",
    "ServerListener",
]
