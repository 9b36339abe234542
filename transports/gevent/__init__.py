"""The gevent driver: sockets, HTTP/1.1 connections, long-polling, WebSocket,
the deadline scheduler, the handler pool and the WSGI gateway, on gevent's hub.

It moves bytes between sockets and the sans-IO sessions of :mod:`engineio`
and decides nothing about the protocol; the pieces every driver shares
(request heads, frames, the WebSocket handshake, CORS, limits) live one level
up, in :mod:`transports`.
"""

from ._cluster import BusConnection, WorkerContext, serve_workers
from ._engine import EngineHandler, EngineServer, EngineSocket
from ._http import HttpConnection
from ._scheduler import Scheduler
from ._server import HttpApp, Server, not_found
from ._workers import WorkerPool
from ._wsgi import WsgiApp
from ._wsgi_gateway import DEFAULT_MAX_BODY, WsgiGateway, environ_for

__all__ = [
    "EngineHandler",
    "EngineServer",
    "EngineSocket",
    "HttpConnection",
    "Scheduler",
    "HttpApp",
    "Server",
    "not_found",
    "WorkerPool",
    "WsgiApp",
    "WsgiGateway",
    "environ_for",
    "DEFAULT_MAX_BODY",
    "serve_workers",
    "WorkerContext",
    "BusConnection",
]
