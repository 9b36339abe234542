"""The asyncio driver: our own HTTP server, an ASGI 3 application, long-polling,
WebSocket, the deadline scheduler, on one asyncio loop.

Like :mod:`transports.gevent` it moves bytes between connections and the
sans-IO sessions of :mod:`engineio` and decides nothing about the protocol:
routing, sessions, answers, session events, frames and handshakes are the
shared modules one level up, in :mod:`transports`. Importing it loads no
gevent. Handler callbacks run synchronously on the loop's thread.
"""

from ._asgi import AsgiApp
from ._engine import EngineHandler, EngineServer
from ._http import HttpApp, HttpExchange, HttpServer, not_found
from ._scheduler import Scheduler
from ._socket import EngineSocket

__all__ = [
    "AsgiApp",
    "EngineHandler",
    "EngineServer",
    "EngineSocket",
    "HttpApp",
    "HttpExchange",
    "HttpServer",
    "Scheduler",
    "not_found",
]
