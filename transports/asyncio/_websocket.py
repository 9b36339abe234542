"""The asyncio driver's WebSockets: ours over a stream, or an ASGI server's.

:class:`StreamWebSocket` carries RFC 6455 frames over our own
:class:`~transports.asyncio.HttpServer`'s connection: what frames mean is
:class:`transports._ws_conn.FramedWebSocket`'s (shared with gevent), the
frames are read by the shared :class:`~transports._frames.FrameReader`.
:class:`AsgiWebSocket` is the ASGI ``websocket`` scope: the ASGI server did
the handshake and the framing, we get whole messages. Both give messages by
``await receive()`` (None at the end), yielding a loop turn after every
``TURN_MESSAGES`` messages so a flooding client cannot keep the loop, and
both take the session's output through :meth:`write_frames` without ever
blocking the caller.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from typing import TYPE_CHECKING, Any, Iterable

from engineio import Wire

from .._deflate import MessageDeflate
from .._request import ClientGone
from .._ws_conn import MESSAGE_TOO_BIG, FramedWebSocket
from ._turns import TURN_MESSAGES, next_turn

if TYPE_CHECKING:
    from ._socket import EngineSocket

__all__ = ["StreamWebSocket", "AsgiWebSocket"]

log = logging.getLogger(__name__)

_READ_SIZE = 16384
#: Bytes waiting in the transport's buffer past which the session's frames
#: stay in the session (bounded there) until the client has read these.
_HIGH_WATER = 65536


class StreamWebSocket(FramedWebSocket):
    """One WebSocket on our own server's connection, after the 101."""

    __slots__ = ("_reader", "_writer", "_turn")

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        deflate: MessageDeflate | None = None,
        *,
        max_message_size: int,
    ) -> None:
        super().__init__(deflate, max_message_size=max_message_size)
        self._reader = reader
        self._writer = writer
        self._turn = TURN_MESSAGES

    async def receive(self) -> Wire | None:
        """The next complete message; None once the connection is over."""
        self._turn -= 1
        if not self._turn:
            self._turn = TURN_MESSAGES
            await next_turn()
        reader = self.reader
        while True:
            message = self._next_data()
            if message is not None or self.closed:
                return message
            try:
                data = await self._reader.read(_READ_SIZE)
            except (OSError, asyncio.IncompleteReadError):
                data = b""
            if not data:
                self._shutdown()
                return None
            text = reader.single_text(data)
            if text is not None:  # the common read: one whole text message (FrameReader's fast path)
                return text
            reader.feed(data)

    def send(self, items: Iterable[Wire]) -> None:
        """Write messages, one frame each (the transport buffers). Raises ClientGone."""
        if self.closed:
            raise ClientGone("WebSocket closed")
        self._writer.write(self.encode(list(items)))

    def write_frames(self, esock: "EngineSocket") -> bool:
        """Write the session's frames; True when the client must read first (a drain task waits)."""
        if self.closed:
            raise ClientGone("WebSocket closed")
        items = esock.session.drain_frames()
        if items:
            self._writer.write(self.encode(items))
        if self._writer.transport.get_write_buffer_size() <= _HIGH_WATER:
            return False
        asyncio.get_running_loop().create_task(self._drain(esock))
        return True

    async def _drain(self, esock: "EngineSocket") -> None:
        try:
            await self._writer.drain()
        except (OSError, RuntimeError):
            esock.writer_done(failed=True)
            return
        esock.writer_done()

    def _write(self, data: bytes) -> None:
        if self._torn or self.closed:
            return
        if self._writer.transport.get_write_buffer_size() > _HIGH_WATER:
            return  # a peer that stopped reading gets no more control frames
        try:
            self._writer.write(data)
        except (OSError, RuntimeError):
            self._shutdown()

    def _shutdown(self) -> None:
        if self.closed:
            return
        self.closed = True
        try:
            self._writer.close()
        except (OSError, RuntimeError):
            pass


class AsgiWebSocket:
    """The ASGI ``websocket`` scope after ``websocket.accept``: whole messages in and out.

    ASGI's ``send`` is a coroutine and our callers never wait, so output
    goes through one writer task: :meth:`send` and :meth:`close` queue,
    :meth:`write_frames` asks the writer to take the session's frames (it
    takes them only when it is free, so the session's buffer, not ours,
    holds what a slow client has not read).
    """

    __slots__ = (
        "_receive", "_send", "closed", "close_code", "max_message_size", "_queue",
        "_wake", "_writer", "_turn", "_esock", "_broken",
    )

    def __init__(self, receive: Any, send: Any, *, max_message_size: int) -> None:
        self._receive = receive
        self._send = send
        self.closed = False
        self.close_code: int | None = None
        self.max_message_size = max_message_size
        #: Queued output: lists of messages, or a close (code, reason).
        self._queue: deque[list[Wire] | tuple[int, str]] = deque()
        self._wake = asyncio.Event()
        self._writer: asyncio.Task[None] | None = None
        self._turn = TURN_MESSAGES
        #: The session whose frames the writer should take next.
        self._esock: EngineSocket | None = None
        #: A send failed: the ASGI server's connection is gone. Nothing more is
        #: written, but what the client sent before it left is still read
        #: (``closed`` would make :meth:`receive` skip it).
        self._broken = False

    async def receive(self) -> Wire | None:
        self._turn -= 1
        if not self._turn:
            self._turn = TURN_MESSAGES
            await next_turn()
        while True:
            try:
                message = await self._receive()
            except (OSError, RuntimeError):
                message = {"type": "websocket.disconnect"}
            kind = message["type"]
            if kind == "websocket.receive":
                data = message.get("text")
                if data is None:
                    data = message.get("bytes")
                if data is None:
                    continue
                if self.closed:
                    continue  # after our close: only the disconnect matters now
                if len(data) > self.max_message_size:
                    log.info("WebSocket message too big (%d bytes)", len(data))
                    self.close(MESSAGE_TOO_BIG, "")
                    continue
                return data  # type: ignore[no-any-return]
            if kind == "websocket.disconnect":
                self.close_code = message.get("code")
                self.closed = True
                return None

    def send(self, items: Iterable[Wire]) -> None:
        if self.closed:
            raise ClientGone("WebSocket closed")
        if self._broken:
            return  # nowhere to write; receive() ends the session
        self._queue.append(list(items))
        self._kick()

    def write_frames(self, esock: "EngineSocket") -> bool:
        if self.closed or self._broken:
            # Closed by us, or its connection is gone: the output has nowhere
            # to go, and the end of the session comes from receive() (the
            # ASGI server's websocket.disconnect), after the messages the
            # client sent before it left.
            esock.session.drain_frames()
            return False
        self._esock = esock
        self._kick()
        return True

    def close(self, code: int = 1000, reason: str = "") -> None:
        if self.closed:
            return
        self.closed = True
        self._queue.append((code, reason))
        self._kick()

    def _kick(self) -> None:
        self._wake.set()
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write_loop())

    async def finish(self) -> None:
        """The scope's coroutine is ending: let the writer send what is queued (the close too)."""
        if self._writer is not None:
            self._wake.set()
            self._queue.append((-1, ""))  # the end marker
            try:
                await self._writer
            except Exception:
                log.exception("WebSocket writer failed")

    async def _write_loop(self) -> None:
        send = self._send
        while True:
            await self._wake.wait()
            self._wake.clear()
            esock, self._esock = self._esock, None
            try:
                while self._queue:
                    item = self._queue.popleft()
                    if isinstance(item, tuple):
                        if item[0] < 0:
                            return
                        await send({"type": "websocket.close", "code": item[0], "reason": item[1]})
                        continue
                    for data in item:
                        await send(_message(data))
                if esock is not None:
                    items = esock.session.drain_frames()
                    while items:
                        for data in items:
                            await send(_message(data))
                        items = esock.session.drain_frames()
                    esock.writer_done()
            except Exception:  # the ASGI server's connection is gone
                # Not a transport error of ours: the client left. receive()
                # still hands over what it sent before, then the disconnect.
                self._broken = True
                self._queue.clear()
                if esock is not None:
                    esock.writer_done()


def _message(data: Wire) -> dict[str, Any]:
    if isinstance(data, str):
        return {"type": "websocket.send", "text": str(data)}
    return {"type": "websocket.send", "bytes": bytes(data)}
