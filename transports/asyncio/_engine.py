"""Routes Engine.IO requests to sessions on asyncio: :class:`EngineServer`.

Strategy, after httpcore: this module translates and waits, it decides
nothing about the protocol. What a request means is decided once for every
driver by :meth:`transports._routing.EngineCore.route`; this subclass writes
the answers through an :class:`~._polling.Exchange` (our own server's
connection or an ASGI request), hands polls and sends to :mod:`._polling`,
and carries WebSockets (``await ws.receive()`` in the request's own task).
It owns the scheduler of the sessions' deadlines (``loop.call_at``) and the
end-of-turn flush of WebSocket output. Handler callbacks run synchronously
on the loop's thread, as the gevent driver runs them on its hub.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

from engineio import State

from .._routing import (
    BAD_METHOD,
    HANDSHAKE,
    POLL,
    POST,
    PREFLIGHT,
    PREFLIGHT_REFUSED,
    REFUSE_NO_CORS,
    WEBSOCKET,
    EngineCore,
    EngineHandler,
)
from ._polling import Exchange, poll, post
from ._scheduler import Scheduler
from ._socket import AsyncWebSocket, EngineSocket

__all__ = ["EngineHandler", "EngineServer", "EngineSocket", "WsExchange"]

log = logging.getLogger(__name__)


class WsExchange(Exchange, Protocol):
    """An exchange that can also carry a WebSocket (both of ours can)."""

    async def accept_websocket(self, engine: "EngineServer", sid: str | None) -> AsyncWebSocket | None:
        """Complete the upgrade (None: refused, and already answered)."""
        ...

    async def reject_websocket(self, status: int, message: str) -> None: ...


class EngineServer(EngineCore[EngineSocket]):
    """Routes Engine.IO requests to sessions; owns the sessions and the scheduler."""

    socket_class = EngineSocket

    scheduler: Scheduler

    def _init_driver(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self.scheduler = Scheduler()

    def flush_later(self, esock: EngineSocket) -> None:
        """Write ``esock``'s WebSocket output once this loop turn's work is done.

        ``call_soon`` runs after the callbacks already ready in this turn, so
        every message handled and every handler run in the turn adds to the
        buffers first, and each client then gets one write for all of it.
        """
        pending = self._to_flush
        pending.append(esock)
        if len(pending) == 1:
            loop = self._loop
            if loop is None:
                loop = self._loop = asyncio.get_running_loop()
            loop.call_soon(self._flush_pending)

    # ------------------------------------------------------------- requests

    async def handle(self, ex: WsExchange) -> bool:
        """Serve one request on the Engine.IO path; False when the connection must not go on."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
        self.scheduler.start()
        request = ex.request
        kind, arg = self.route(request)
        if kind == POLL:
            return await poll(self, ex, arg)
        if kind == POST:
            return await post(self, ex, arg)
        if kind == HANDSHAKE:
            esock = self.new_session("polling", request, arg)
            await ex.respond(*self.handshake_answer(esock, request))
            esock.pump()
            return True
        if kind == WEBSOCKET:
            await self._websocket(ex, *arg)
            return False
        if kind == PREFLIGHT:
            await ex.respond(204, self.cors.preflight_headers(request))
            return True
        if kind == PREFLIGHT_REFUSED:
            await ex.respond(403, [], b"")
            return True
        if kind == BAD_METHOD:
            await ex.respond(*self.bad_method_answer(request))
            return True
        status, headers, body = self.refusal_answer(request, arg, cors_headers=kind != REFUSE_NO_CORS)
        if request.wants_websocket:
            await ex.reject_websocket(arg.http_status, arg.message)
            return False
        await ex.respond(status, headers, body)
        return True

    async def _websocket(self, ex: WsExchange, sid: str | None, protocol: int) -> None:
        request = ex.request
        ws = await ex.accept_websocket(self, sid)
        if ws is None:
            return
        if sid is not None:
            esock_or_none = self.sessions.get(sid)
            if esock_or_none is None:
                ws.close()
                return
            await serve_probe(esock_or_none, ws, supports_binary=not request.query.get("b64"))
            return
        esock = self.new_session("websocket", request, protocol)
        esock.ws = ws
        esock.pump()
        await serve_websocket(esock, ws)


async def serve_websocket(esock: EngineSocket, ws: AsyncWebSocket) -> None:
    """Carry the session over ``ws`` until either ends (native or upgraded)."""
    on_message = esock.on_ws_message
    session = esock.session
    receive = ws.receive
    while session.state is not State.CLOSED:
        message = await receive()
        if message is None:
            break
        on_message(message)
    esock.on_ws_end()
    ws.close()


async def serve_probe(esock: EngineSocket, ws: AsyncWebSocket, *, supports_binary: bool = True) -> None:
    """Run the upgrade dance on a second connection ([EIO4] "Upgrade")."""
    if not esock.begin_probe(ws, supports_binary=supports_binary):
        return
    while esock.probe is ws:
        if not esock.on_probe_message(ws, await ws.receive()):
            break
    if esock.ws is ws:
        await serve_websocket(esock, ws)
    else:
        ws.close()
