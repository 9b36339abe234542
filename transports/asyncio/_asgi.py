"""The Engine.IO server as an ASGI 3 application: :class:`AsgiApp`.

Strategy: the ASGI server (uvicorn, hypercorn) parses HTTP and carries
WebSockets; a request on the Engine.IO path becomes an exchange
(:class:`AsgiHttpExchange` for ``http``, :class:`AsgiWsExchange` for
``websocket``) that :class:`~._engine.EngineServer` routes like one of our
own server's. Everything else (other paths, and ``lifespan`` when there is
an ``other_app``) goes to ``other_app``; without one, other paths are 404
and ``lifespan`` is answered here. Either way every session is closed
properly at the lifespan shutdown (before the other app hears of it).

Limits: the server bounds heads and connections; here the field count is
checked, and a POST body over ``max_payload`` is refused (413) from its
Content-Length before anything is read, or as soon as the chunks received
pass it, with ``body_timeout`` between chunks and ``request_timeout`` for
the whole body.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from time import monotonic
from typing import Any, Awaitable, Callable

from .._limits import HttpLimits
from .._request import BodyTooLarge, ClientGone, HttpRequest
from ._engine import EngineServer
from ._polling import _cancel
from ._websocket import AsgiWebSocket

__all__ = ["AsgiApp", "AsgiHttpExchange", "AsgiWsExchange", "request_from_scope"]

log = logging.getLogger(__name__)

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]
AsgiCallable = Callable[[Scope, Receive, Send], Awaitable[None]]
Headers = list[tuple[str, str]]


def request_from_scope(scope: Scope) -> HttpRequest:
    """An :class:`HttpRequest` for an ASGI ``http`` or ``websocket`` scope."""
    query = scope.get("query_string", b"").decode("latin-1")
    path = scope.get("raw_path")
    path = path.decode("latin-1").partition("?")[0] if path else scope["path"]
    headers = [(bytes(n).lower(), bytes(v)) for n, v in scope.get("headers", [])]
    method = scope.get("method", "GET")
    if scope["type"] == "websocket" and not any(n == b"upgrade" for n, _ in headers):
        headers.append((b"upgrade", b"websocket"))  # the server consumed it: it was there
    client = scope.get("client")
    remote = (str(client[0]), int(client[1])) if client else None
    return HttpRequest(
        method, f"{path}?{query}" if query else path, path, query, headers, remote,
        scope.get("scheme") in ("https", "wss"),
    )


def _head_too_large(scope: Scope, limits: HttpLimits) -> bool:
    """Whether the head breaks HttpLimits (the ASGI server may bound it less tightly than we do)."""
    headers = scope.get("headers", ())
    if len(headers) > limits.max_header_count:
        return True
    size = len(scope.get("raw_path") or b"") + len(scope.get("query_string", b""))
    size += sum(len(name) + len(value) + 4 for name, value in headers)
    return size > limits.max_header_bytes


class AsgiHttpExchange:
    """One ASGI ``http`` request as the Engine.IO layer's exchange."""

    def __init__(self, scope: Scope, receive: Receive, send: Send, limits: HttpLimits) -> None:
        self.request = request_from_scope(scope)
        self._receive = receive
        self._send = send
        self.limits = limits
        self._responded = False
        self._disconnected = False

    async def read_body(self, limit: int) -> bytes:
        length = self.request.header("content-length")
        if length is not None and length.isdigit() and int(length) > limit:
            raise BodyTooLarge(f"body of {length} bytes")
        limits = self.limits
        deadline = monotonic() + limits.request_timeout
        parts: list[bytes] = []
        size = 0
        while True:
            try:
                timeout = min(limits.body_timeout, max(0.001, deadline - monotonic()))
                message = await asyncio.wait_for(self._receive(), timeout)
            except asyncio.TimeoutError:
                raise ClientGone("timed out", 408) from None
            if message["type"] == "http.disconnect":
                self._disconnected = True
                raise ClientGone("disconnected")
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > limit:
                raise BodyTooLarge(f"body over {limit} bytes")
            if chunk:
                parts.append(chunk)
            if not message.get("more_body", False):
                return b"".join(parts)

    async def respond(self, status: int, headers: Headers, body: bytes = b"", *, close: bool = False) -> None:
        if self._responded or self._disconnected:
            return
        self._responded = True
        raw = [(n.lower().encode("latin-1"), v.encode("latin-1")) for n, v in headers]
        raw.append((b"content-length", b"%d" % len(body)))
        if close:
            raw.append((b"connection", b"close"))
        await self._send({"type": "http.response.start", "status": status, "headers": raw})
        await self._send({"type": "http.response.body", "body": body})

    def watch_gone(self, on_gone: Callable[[], None]) -> Callable[[], None]:
        async def watch() -> None:
            while True:
                message = await self._receive()
                if message["type"] == "http.disconnect":
                    self._disconnected = True
                    on_gone()
                    return

        task = asyncio.get_running_loop().create_task(watch())
        return partial(_cancel, task)

    async def accept_websocket(self, engine: EngineServer, sid: str | None) -> None:
        await self.reject_websocket(400, "Bad request")  # not a websocket scope
        return None

    async def reject_websocket(self, status: int, message: str) -> None:
        await self.respond(status, [("Content-Type", "text/html")], message.encode())


class AsgiWsExchange:
    """One ASGI ``websocket`` connection as the Engine.IO layer's exchange."""

    def __init__(self, scope: Scope, receive: Receive, send: Send) -> None:
        self.scope = scope
        self.request = request_from_scope(scope)
        self._receive = receive
        self._send = send
        self.ws: AsgiWebSocket | None = None
        self._answered = False

    async def read_body(self, limit: int) -> bytes:
        raise ClientGone("a WebSocket has no body")

    async def respond(self, status: int, headers: Headers, body: bytes = b"", *, close: bool = False) -> None:
        await self.reject_websocket(status, body.decode("utf-8", "replace"))

    def watch_gone(self, on_gone: Callable[[], None]) -> Callable[[], None]:
        on_gone()
        return lambda: None

    async def _connected(self) -> bool:
        message = await self._receive()
        return bool(message["type"] == "websocket.connect")

    async def accept_websocket(self, engine: EngineServer, sid: str | None) -> AsgiWebSocket | None:
        if self._answered or not await self._connected():
            return None
        self._answered = True
        headers = [
            (n.lower().encode("latin-1"), v.encode("latin-1"))
            for n, v in engine.upgrade_headers(self.request, sid)
        ]
        await self._send({"type": "websocket.accept", "headers": headers})
        self.ws = AsgiWebSocket(self._receive, self._send, max_message_size=engine.config.max_payload)
        return self.ws

    async def reject_websocket(self, status: int, message: str) -> None:
        """Refused before ``websocket.accept``: the status and text when the server can send them."""
        if self._answered:
            return
        self._answered = True
        if not await self._connected():
            return
        if "websocket.http.response" in self.scope.get("extensions", {}):
            body = message.encode()
            await self._send({
                "type": "websocket.http.response.start", "status": status,
                "headers": [
                    (b"content-type", b"text/html"), (b"content-length", b"%d" % len(body)),
                    (b"connection", b"close"),
                ],
            })
            await self._send({"type": "websocket.http.response.body", "body": body})
        else:
            await self._send({"type": "websocket.close", "code": 1008})


class AsgiApp:
    """An ASGI 3 application serving Engine.IO at ``engine.path`` and ``other_app`` elsewhere."""

    def __init__(
        self,
        engine: EngineServer,
        other_app: AsgiCallable | None = None,
        limits: HttpLimits | None = None,
    ) -> None:
        self.engine = engine
        self.other_app = other_app
        self.limits = limits or HttpLimits()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        kind = scope["type"]
        if kind == "http" and self.engine.matches(scope["path"]):
            await self._http(scope, receive, send)
        elif kind == "websocket" and self.engine.matches(scope["path"]):
            await self._websocket(scope, receive, send)
        elif kind == "lifespan":
            if self.other_app is not None:
                await self.other_app(scope, self._watching_shutdown(receive), send)
            else:
                await self._lifespan(receive, send)
        elif self.other_app is not None:
            await self.other_app(scope, receive, send)
        elif kind == "http":
            await send({"type": "http.response.start", "status": 404,
                        "headers": [(b"content-type", b"text/plain"), (b"content-length", b"9")]})
            await send({"type": "http.response.body", "body": b"Not Found"})
        elif kind == "websocket":
            await receive()
            await send({"type": "websocket.close", "code": 1000})

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        if _head_too_large(scope, self.limits):
            await send({"type": "http.response.start", "status": 431,
                        "headers": [(b"connection", b"close"), (b"content-length", b"0")]})
            await send({"type": "http.response.body", "body": b""})
            return
        ex = AsgiHttpExchange(scope, receive, send, self.limits)
        try:
            await self.engine.handle(ex)
        except ClientGone:
            pass

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        ex = AsgiWsExchange(scope, receive, send)
        if _head_too_large(scope, self.limits):
            await ex.reject_websocket(431, "Request Header Fields Too Large")
            return
        try:
            await self.engine.handle(ex)
        finally:
            if ex.ws is not None:
                ex.ws.close()
                await ex.ws.finish()

    def _shut_down(self) -> None:
        """Close every session properly (a close packet each), then stop the deadlines."""
        self.engine.close_all()
        self.engine.scheduler.stop()

    def _watching_shutdown(self, receive: Receive) -> Receive:
        """``receive`` for the other app's lifespan: the sessions close before it hears of the shutdown."""
        async def wrapped() -> dict[str, Any]:
            message = await receive()
            if message["type"] == "lifespan.shutdown":
                self._shut_down()
            return message

        return wrapped

    async def _lifespan(self, receive: Receive, send: Send) -> None:
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                self._shut_down()
                await send({"type": "lifespan.shutdown.complete"})
                return
