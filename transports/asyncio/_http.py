"""Our own asyncio HTTP/1.1 server: :class:`HttpServer` and its :class:`HttpExchange`.

Strategy: asyncio streams move the bytes (TLS by an ``ssl`` context); the
request head is read by the shared parsers of :mod:`transports._request` (the
strict fast parser for the plain heads clients send, h11 for anything else,
after :func:`~transports._request.head_problem` refuses what h11 is lenient
about) and every limit of :class:`~transports._limits.HttpLimits` applies as
in the gevent driver: head size and field count, the slowloris and
keep-alive timeouts, body gaps and the whole body's time, the connection
count (503 past it), and a body over its limit refused (413) from its
Content-Length before a byte of it is buffered. Requests on the Engine.IO
path go to :class:`~._engine.EngineServer`, the others to ``app``.

Fairness: one connection is served at most ``TURN_REQUESTS`` requests per
loop turn (:mod:`._turns`); then it waits for the next turn.
"""

from __future__ import annotations

import asyncio
import logging
from functools import partial
import signal
import ssl
from time import monotonic
from typing import Any, Awaitable, Callable

import h11

from engineio import BAD_REQUEST, reject

from .._limits import HttpLimits
from .._request import (
    BodyTooLarge,
    ClientGone,
    HttpRequest,
    _keep_alive_11,
    _parse_head,
    _wants_keep_alive,
    head_end,
    head_problem,
    judge_h11_head,
    raw_refusal,
    response_bytes,
    status_head,
)
from .._routing import with_headers
from .._ws_handshake import HandshakeFailed, refusal_response, upgrade_response
from ._engine import EngineServer
from ._polling import _cancel
from ._turns import TURN_REQUESTS, next_turn
from ._websocket import StreamWebSocket

__all__ = ["HttpServer", "HttpExchange", "HttpApp", "not_found"]

log = logging.getLogger(__name__)

_READ_SIZE = 65536
#: Bytes waiting in the transport's buffer past which a response waits for the client to read.
_HIGH_WATER = 65536

Headers = list[tuple[str, str]]


class HttpExchange:
    """One connection of our server: reads requests, writes answers (the Engine.IO layer's Exchange)."""

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        limits: HttpLimits,
        *,
        secure: bool = False,
    ) -> None:
        self.reader = reader
        self.writer = writer
        self.limits = limits
        self.secure = secure
        peer = writer.get_extra_info("peername")
        self.remote_addr: tuple[str, int] | None = (
            (str(peer[0]), int(peer[1])) if isinstance(peer, tuple) and len(peer) >= 2 else None
        )
        #: The current request (set by :meth:`read_request`).
        self.request: HttpRequest = HttpRequest("GET", "/", "/", "")
        self._buf = b""
        self._eof = False
        self._body_left = 0
        #: The parser of the current request when h11 read its head (chunked bodies).
        self._h11: h11.Connection | None = None
        self._keep_alive = True
        self._head_only = False
        #: The head was read by the fast parser (the WebSocket fast handshake needs it).
        self.fast = False
        self.taken_over = False
        #: A read's deadline passed (see :meth:`_recv`): the connection is closing.
        self._timed_out = False
        #: The task watching for the client leaving while a poll waits (:meth:`watch_gone`).
        self._watch: asyncio.Task[None] | None = None

    # ------------------------------------------------------------- reading

    async def _recv(self, timeout: float, *, answer_timeout: bool) -> bytes:
        """The next bytes, within ``timeout`` seconds (then ClientGone, answered 408 if asked).

        One timer handle per wait rather than ``asyncio.wait_for``, which
        wraps every read in a task of its own (two per polling round trip).
        At the deadline the timer answers (408, for a head or body under
        way) and closes the connection, which ends the read.
        """
        timer = asyncio.get_running_loop().call_later(timeout, self._time_out, answer_timeout)
        try:
            data = await self.reader.read(_READ_SIZE)
        except (OSError, asyncio.IncompleteReadError) as exc:
            raise ClientGone(str(exc)) from None
        finally:
            timer.cancel()
        if self._timed_out:
            raise ClientGone("timed out")  # answered (or not) by _time_out already
        return data

    def _time_out(self, answer: bool) -> None:
        self._timed_out = True
        self._keep_alive = False
        if answer:
            self.reject_raw(408)
        self.writer.close()

    async def read_request(self) -> HttpRequest | None:
        """The next request head, or None when the client closed between requests.

        Raises ClientGone on a timeout or malformed HTTP; its ``status``
        says whether the client deserves an answer.
        """
        watch = self._watch
        if watch is not None:
            # A poll's watch for the client leaving may still hold the reader
            # (a cancel takes effect on the next turn); what it read is ours.
            self._watch = None
            await asyncio.wait([watch])
        limits = self.limits
        limit = limits.max_header_bytes
        deadline: float | None = None
        while True:
            end = head_end(self._buf, limit)
            if end >= 0:
                break
            if self._eof:
                if not self._buf:
                    return None
                raise ClientGone("bad HTTP: incomplete request head", 400)
            if deadline is None and not self._buf:
                data = await self._recv(limits.keepalive_timeout, answer_timeout=False)
            else:
                if deadline is None:
                    deadline = monotonic() + limits.header_timeout
                data = await self._recv(max(0.001, deadline - monotonic()), answer_timeout=True)
            if data:
                self._buf += data
            else:
                self._eof = True
        head = self._buf[: end + 4]
        self._buf = self._buf[end + 4 :]
        parsed = _parse_head(head[:-2].decode("latin-1"))
        if parsed is not None:
            method, target, fields, header_map, length = parsed
            if len(fields) > limits.max_header_count:
                raise ClientGone("too many headers", 431)
            self._body_left = length
            self._keep_alive = _keep_alive_11(header_map.get("connection"))
            self.fast = True
            path, _, query = target.partition("?")
            request = HttpRequest(
                method, target, path, query, None, self.remote_addr, self.secure,
                header_map=header_map, fields=fields,
            )
        else:
            request = self._read_head_h11(head)
        self._head_only = request.method == "HEAD"
        self.request = request
        return request

    def _read_head_h11(self, head: bytes) -> HttpRequest:
        """A head the fast parser declined: h11 judges it (after our stricter checks)."""
        problem = head_problem(head)
        if problem is not None:
            raise ClientGone(f"bad HTTP: {problem}", 400)
        conn = h11.Connection(h11.SERVER, max_incomplete_event_size=self.limits.max_header_bytes)
        conn.receive_data(head)
        try:
            event = conn.next_event()
        except h11.RemoteProtocolError as exc:
            raise ClientGone(f"bad HTTP: {exc}", exc.error_status_hint) from None
        if not isinstance(event, h11.Request):
            raise ClientGone("bad HTTP: not a request", 400)
        headers = list(event.headers)
        judge_h11_head(
            event.target, headers,
            max_header_count=self.limits.max_header_count,
            max_header_bytes=self.limits.max_header_bytes,
        )
        self.fast = False
        self._keep_alive = _wants_keep_alive(event.http_version, headers)
        self._body_left = 0
        self._h11 = None
        for name, value in headers:
            if name == b"content-length":
                self._body_left = int(value)
            elif name == b"transfer-encoding":
                self._h11 = conn  # chunked: h11 reads the body
        target = event.target.decode("latin-1")
        path, _, query = target.partition("?")
        return HttpRequest(
            event.method.decode("ascii"), target, path, query, headers, self.remote_addr, self.secure,
        )

    @property
    def body_unread(self) -> bool:
        return self._body_left > 0 or self._h11 is not None

    async def read_body(self, limit: int) -> bytes:
        """The request body; BodyTooLarge past ``limit`` (a Content-Length is judged before reading)."""
        limits = self.limits
        deadline = monotonic() + limits.request_timeout
        if self._h11 is None:
            size = self._body_left
            if size > limit:
                raise BodyTooLarge(f"body of {size} bytes")
            while len(self._buf) < size:
                data = await self._recv(min(limits.body_timeout, deadline - monotonic()), answer_timeout=True)
                if not data:
                    raise ClientGone("closed during the body")
                self._buf += data
            body, self._buf = self._buf[:size], self._buf[size:]
            self._body_left = 0
            return body
        conn = self._h11
        conn.receive_data(self._buf)
        self._buf = b""
        parts: list[bytes] = []
        size = 0
        while True:
            try:
                event = conn.next_event()
            except h11.RemoteProtocolError as exc:
                raise ClientGone(f"bad HTTP: {exc}", 400) from None
            if event is h11.NEED_DATA:
                data = await self._recv(min(limits.body_timeout, deadline - monotonic()), answer_timeout=True)
                conn.receive_data(data)
                continue
            if isinstance(event, h11.Data):
                size += len(event.data)
                if size > limit:
                    raise BodyTooLarge(f"body over {limit} bytes")
                parts.append(bytes(event.data))
                continue
            if isinstance(event, h11.EndOfMessage):
                break
            raise ClientGone("bad HTTP body")
        self._buf = bytes(conn.trailing_data[0])
        self._h11 = None
        return b"".join(parts)

    # ------------------------------------------------------------- writing

    def format_response(self, status: int, headers: Headers, body: bytes, *, close: bool) -> bytes:
        if close or self.body_unread:
            self._keep_alive = False  # an unread body ends the connection after the answer
        return response_bytes(
            status_head(status, headers), body, keep_alive=self._keep_alive, head_only=self._head_only
        )

    async def respond(self, status: int, headers: Headers, body: bytes = b"", *, close: bool = False) -> None:
        await self.write(self.format_response(status, headers, body, close=close))

    async def write(self, data: bytes) -> None:
        writer = self.writer
        if writer.is_closing():
            return
        writer.write(data)
        if writer.transport.get_write_buffer_size() > _HIGH_WATER:
            try:
                await asyncio.wait_for(writer.drain(), self.limits.body_timeout)
            except (OSError, asyncio.TimeoutError, RuntimeError):
                writer.close()

    @property
    def keep_alive(self) -> bool:
        return self._keep_alive and not self.body_unread and not self.taken_over

    def watch_gone(self, on_gone: Callable[[], None]) -> Callable[[], None]:
        """While a poll waits: EOF calls ``on_gone``; bytes (a pipelined request) are kept for later."""
        if self._eof:
            on_gone()
            return _nothing

        async def watch() -> None:
            try:
                data = await self.reader.read(_READ_SIZE)
            except (OSError, asyncio.IncompleteReadError):
                data = b""
            if data:
                self._buf += data
            else:
                self._eof = True
                on_gone()

        task = self._watch = asyncio.get_running_loop().create_task(watch())
        return partial(_cancel, task)

    # ----------------------------------------------------------- WebSocket

    async def accept_websocket(self, engine: EngineServer, sid: str | None) -> StreamWebSocket | None:
        request = self.request
        try:
            response, deflate = upgrade_response(
                request, fast=self.fast, compression=engine.websocket_compression
            )
        except HandshakeFailed as exc:
            log.info("bad WebSocket handshake from %s: %s", request.remote_addr, exc)
            err = reject(BAD_REQUEST)
            await self.reject_websocket(err.http_status, err.message)
            return None
        if engine.hooks.adds_headers:
            response = with_headers(response, engine.upgrade_headers(request, sid))
        self.taken_over = True
        self.writer.write(response)
        ws = StreamWebSocket(
            self.reader, self.writer, deflate, max_message_size=engine.config.max_payload
        )
        ws.feed(self._buf)
        self._buf = b""
        return ws

    async def reject_websocket(self, status: int, message: str) -> None:
        self._keep_alive = False
        await self.write(refusal_response(status, message))

    def reject_raw(self, status: int) -> None:
        """Best-effort error answer when HTTP parsing itself failed."""
        try:
            self.writer.write(raw_refusal(status))
        except (OSError, RuntimeError):
            pass

    async def close(self) -> None:
        """Close; with a request body left unread, read and drop it for a moment first.

        Closing with unread data makes the kernel reset the connection, and
        the client may never read our answer (a 413, say).
        """
        writer = self.writer
        if self.body_unread and not writer.is_closing():
            try:
                if writer.can_write_eof():
                    writer.write_eof()
                await asyncio.wait_for(self._drop_input(4 * 1024 * 1024), 2.0)
            except (OSError, asyncio.TimeoutError, RuntimeError):
                pass
        writer.close()

    async def _drop_input(self, most: int) -> None:
        drained = 0
        while drained < most:
            chunk = await self.reader.read(_READ_SIZE)
            if not chunk:
                return
            drained += len(chunk)


def _nothing() -> None:
    return None


#: A handler for paths outside Engine.IO's; returns whether the connection goes on.
HttpApp = Callable[[HttpExchange, HttpRequest], Awaitable[bool]]


async def not_found(ex: HttpExchange, request: HttpRequest) -> bool:
    await ex.respond(404, [("Content-Type", "text/plain")], b"Not Found")
    return True


class HttpServer:
    """Our own asyncio HTTP server in front of an :class:`EngineServer` (TLS with a cert and key)."""

    def __init__(
        self,
        engine: EngineServer,
        app: HttpApp | None = None,
        *,
        limits: HttpLimits | None = None,
    ) -> None:
        self.engine = engine
        self.app = app or not_found
        self.limits = limits or HttpLimits()
        self.connections = 0
        self._server: asyncio.base_events.Server | None = None
        self._secure = False
        self._tasks: set[asyncio.Task[Any]] = set()
        self._done: asyncio.Event | None = None

    async def start(
        self, host: str = "127.0.0.1", port: int = 5000,
        certfile: str | None = None, keyfile: str | None = None,
    ) -> tuple[str, int]:
        """Listen; returns the address bound (port 0 picks a free one)."""
        context = None
        if certfile is not None:
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            context.load_cert_chain(certfile, keyfile)
            self._secure = True
        self._server = await asyncio.start_server(
            self._serve, host, port, ssl=context, limit=_READ_SIZE, backlog=1024
        )
        address = self._server.sockets[0].getsockname()
        return str(address[0]), int(address[1])

    async def serve_forever(self, *, stop_signals: bool = True) -> None:
        """Serve until SIGINT/SIGTERM (or :meth:`stop`), then shut down cleanly."""
        assert self._server is not None, "start() first"
        done = self._done = asyncio.Event()
        loop = asyncio.get_running_loop()
        if stop_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                try:
                    loop.add_signal_handler(sig, done.set)
                except (NotImplementedError, RuntimeError):  # not the main thread
                    pass
        await done.wait()
        await self.stop()

    async def stop(self) -> None:
        """Stop accepting, close every session properly, then every connection."""
        server, self._server = self._server, None
        if server is None:
            return
        server.close()
        self.engine.close_all()
        await asyncio.sleep(0.05)  # let the close packets reach the clients
        self.engine.scheduler.stop()
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.wait(list(self._tasks), timeout=5.0)
        await server.wait_closed()
        if self._done is not None:
            self._done.set()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        if self.connections >= self.limits.max_connections:
            log.warning("refusing a connection: max_connections (%d) reached", self.limits.max_connections)
            writer.write(
                b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n"
                b"Content-Length: 0\r\n\r\n"
            )
            writer.close()
            if task is not None:
                self._tasks.discard(task)
            return
        self.connections += 1
        ex = HttpExchange(reader, writer, self.limits, secure=self._secure)
        try:
            await self._serve_requests(ex)
        except asyncio.CancelledError:
            pass
        except Exception:
            log.exception("serving a connection failed")
        finally:
            self.connections -= 1
            if task is not None:
                self._tasks.discard(task)
            try:
                await ex.close()
            except Exception:
                pass

    async def _serve_requests(self, ex: HttpExchange) -> None:
        engine = self.engine
        budget = TURN_REQUESTS
        while True:
            try:
                request = await ex.read_request()
            except ClientGone as exc:
                if exc.status is not None:
                    log.info("bad request from %s: %s", ex.remote_addr, exc)
                    ex.reject_raw(exc.status)
                return
            if request is None:
                return
            try:
                if engine.matches(request.path):
                    go_on = await engine.handle(ex)
                else:
                    go_on = await self.app(ex, request)
            except ClientGone:
                return
            if not go_on or not ex.keep_alive:
                return
            budget -= 1
            if not budget:
                budget = TURN_REQUESTS
                await next_turn()
