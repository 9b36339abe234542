"""The only code that does I/O.

Layout: the modules at this level are shared by every driver and touch no
socket and no event loop: request heads, WebSocket frames and handshake,
CORS, limits, who owns a connection, and the Engine.IO driver core (what a
request means and the sessions, :mod:`._routing`; one session's events and
WebSocket steps, :mod:`._esocket`; the polling answers,
:mod:`._polling_answer`; what WebSocket frames mean, :mod:`._ws_conn`; the
deadline heap, :mod:`._deadlines`; the per-turn budgets, :mod:`._turns`).
Each driver is a sub-package (:mod:`transports.gevent`,
:mod:`transports.asyncio`) that subclasses that core, moves bytes between
sockets and the sans-IO :mod:`engineio` sessions and decides nothing about
the protocol itself. The names below are the gevent driver's, the default;
they load lazily, so that a driver (or a test) importing only the shared
modules does not load gevent.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._cors import CorsPolicy
    from ._errors import TransportError
    from ._frames import SharedBytes, SharedText
    from ._hooks import AllowRequest, HeaderHook, RequestHooks
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
    "RequestHooks",
    "HeaderHook",
    "AllowRequest",
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

#: Where each shared name lives; every other name is the gevent driver's.
_SHARED = {
    "CorsPolicy": "._cors",
    "RequestHooks": "._hooks",
    "HeaderHook": "._hooks",
    "AllowRequest": "._hooks",
    "SharedBytes": "._frames",
    "SharedText": "._frames",
    "HttpLimits": "._limits",
    "ClientGone": "._request",
    "HttpRequest": "._request",
    "TransportError": "._errors",
    "peer_text": "._logtext",
}


def __getattr__(name: str) -> Any:
    if name not in __all__:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(_SHARED.get(name, ".gevent"), __name__), name)


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
