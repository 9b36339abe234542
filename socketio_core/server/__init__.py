"""The public Socket.IO server: handlers, emits, rooms, acks, adapters.

It sits between the sans-IO protocol (:mod:`socketio_core.protocol`,
:mod:`engineio`) and the I/O driver (:mod:`transports`): it turns the
protocol's events into handler calls and the application's emits into
packets, and gives adapters and integrations their documented seams:

- adapters call back into :class:`LocalDelivery` (the server as its adapter
  sees it), never into other server methods;
- integrations use the :class:`Server` API, :class:`ServerListener`,
  :class:`SocketView` (what :meth:`Server.local_socket` returns) and
  :func:`positional_count` (how the server decides which arguments a
  handler takes).

:class:`AsyncServer` is the same server on the asyncio driver (see
:mod:`._async_server`): a facade over the shared code, not a second server.
"""

from ._acks import Ack
from ._async_server import ASGIApp, AsyncServer
from ._acks import TooManyPendingAcks
from ._adapter import Adapter, MemoryAdapter, SocketInfo
from ._calling import positional_count, takes_ack
from ._compat import ForwardRecords
from ._delivery import LocalDelivery
from ._namespace import AsyncNamespace, Namespace
from ._registry import ConnectionRefusedError, ServerListener
from ._server import Server
from ._sockets import Handshake, SocketView
from ._wsgi_app import WSGIApp

__all__ = [
    "Ack",
    "ForwardRecords",
    "ASGIApp",
    "AsyncNamespace",
    "AsyncServer",
    "Adapter",
    "MemoryAdapter",
    "SocketInfo",
    "LocalDelivery",
    "Namespace",
    "ConnectionRefusedError",
    "Handshake",
    "Server",
    "ServerListener",
    "SocketView",
    "positional_count",
    "takes_ack",
    "TooManyPendingAcks",
    "WSGIApp",
]
