"""The only code that touches sockets: gevent server, HTTP/1.1, long-polling,
WebSocket, the deadline scheduler, and the WSGI adapter.

It drives the sans-IO :mod:`engineio` sessions and decides nothing about the
protocol itself.
"""

from ._cors import CorsPolicy
from ._frames import SharedBytes, SharedText
from ._engine import EngineHandler, EngineServer, EngineSocket
from ._http import ClientGone, HttpConnection, HttpRequest
from ._limits import HttpLimits
from ._scheduler import Scheduler
from ._server import HttpApp, Server, not_found
from ._workers import WorkerPool
from ._wsgi import WsgiApp

__all__ = [
    "CorsPolicy",
    "SharedBytes",
    "SharedText",
    "EngineHandler",
    "EngineServer",
    "EngineSocket",
    "ClientGone",
    "HttpConnection",
    "HttpRequest",
    "HttpLimits",
    "Scheduler",
    "HttpApp",
    "Server",
    "not_found",
    "WsgiApp",
    "WorkerPool",
]
