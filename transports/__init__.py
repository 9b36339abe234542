"""The only code that does I/O.

Layout: the modules at this level are shared by every driver and touch no
socket (request heads, WebSocket frames and handshake, CORS, limits); each
driver is a sub-package (:mod:`transports.gevent` today) that moves bytes
between sockets and the sans-IO :mod:`engineio` sessions and decides nothing
about the protocol itself. The names below are the gevent driver's, the one
the server runs on.
"""

from ._cors import CorsPolicy
from ._errors import TransportError
from ._frames import SharedBytes, SharedText
from ._limits import HttpLimits
from ._logtext import peer_text
from ._request import ClientGone, HttpRequest
from .gevent import (
    EngineHandler,
    EngineServer,
    EngineSocket,
    HttpApp,
    HttpConnection,
    Scheduler,
    Server,
    WorkerPool,
    WsgiApp,
    not_found,
)

__all__ = [
    "CorsPolicy",
    "SharedBytes",
    "SharedText",
    "EngineHandler",
    "EngineServer",
    "EngineSocket",
    "ClientGone",
    "TransportError",
    "HttpConnection",
    "HttpRequest",
    "HttpLimits",
    "peer_text",
    "Scheduler",
    "HttpApp",
    "Server",
    "not_found",
    "WsgiApp",
    "WorkerPool",
]
