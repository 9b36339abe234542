"""What a server-side WebSocket does after the 101, whatever moves its bytes: :class:`FramedWebSocket`.

Strategy: frames are read by :class:`.._frames.FrameReader` and written as
prebuilt bytes; this base decides what a frame means (a ping is answered
with a pong, a close frame with a close frame and the end, a protocol error
or a compressed message too big with the close code RFC 6455 names) and
how messages become frames (permessage-deflate for the large ones,
:mod:`._deflate`). A driver's WebSocket subclasses it and adds the two I/O
steps: :meth:`_write` (a control frame, only if it goes out now and whole)
and :meth:`_shutdown` (drop the connection, once, then tell the owner).
"""

from __future__ import annotations

import logging
from typing import Iterable

from engineio import Wire

from ._deflate import InflateError, MessageDeflate
from ._frames import (
    OP_BINARY,
    OP_CLOSE,
    OP_PING,
    OP_PONG,
    OP_TEXT,
    RSV1,
    FrameError,
    FrameReader,
    build_frame,
    frame_of,
)

__all__ = [
    "FramedWebSocket", "close_reason", "MESSAGE_TOO_BIG", "PROTOCOL_ERROR", "INVALID_DATA",
]

log = logging.getLogger(__name__)

MESSAGE_TOO_BIG = 1009
PROTOCOL_ERROR = 1002
INVALID_DATA = 1007


def close_reason(code: int, reason: str) -> str:
    """The reason sent in our close frame: none for 1009, as Node's server sends.

    engine.io-client hands the close frame's reason to the application, and
    its tests expect Node's empty one for a message over maxHttpBufferSize.
    The log keeps the detail.
    """
    return "" if code == MESSAGE_TOO_BIG else reason


class FramedWebSocket:
    """The frame logic of one server-side WebSocket; a driver adds :meth:`_write` and :meth:`_shutdown`."""

    __slots__ = ("reader", "deflate", "closed", "close_code", "max_message_size", "_torn")

    def __init__(self, deflate: MessageDeflate | None = None, *, max_message_size: int) -> None:
        self.max_message_size = max_message_size
        self.deflate = deflate
        self.reader = FrameReader(max_message_size, deflate=deflate is not None)
        self.closed = False
        self.close_code: int | None = None
        #: A write is only partly on the wire and a writer owns the rest: no
        #: other frame may be written before it ends, or it would land inside that one.
        self._torn = False

    def _write(self, data: bytes) -> None:
        """Write a control frame (pong, close) only if it can go out now, whole (the driver's)."""
        raise NotImplementedError

    def _shutdown(self) -> None:
        """Drop the connection (once) and tell its owner (the driver's)."""
        raise NotImplementedError

    def feed(self, data: bytes) -> None:
        if data:
            self.reader.feed(data)

    def _next_data(self) -> Wire | None:
        """The next data message already buffered, acting on control frames before it.

        None when more bytes are needed or the connection ended (a protocol
        error closes it, a close frame is answered).
        """
        reader = self.reader
        while not self.closed:
            try:
                message = reader.next_message()
            except FrameError as exc:
                log.info("WebSocket protocol error: %s", exc.reason)
                self.close(exc.code, close_reason(exc.code, exc.reason))
                return None
            if message is None:
                return None
            opcode, payload = message
            if opcode == OP_TEXT or opcode == OP_BINARY:
                return payload
            if opcode & RSV1:
                return self._inflated(opcode & ~RSV1, payload)  # type: ignore[arg-type]
            if opcode == OP_PING:
                self._write(build_frame(OP_PONG, payload))  # type: ignore[arg-type]
            elif opcode == OP_CLOSE:
                self._on_close_frame(payload)  # type: ignore[arg-type]
        return None

    def _inflated(self, opcode: int, payload: bytes) -> Wire | None:
        """A compressed message, inflated (and decoded if text); None after closing on an error."""
        deflate = self.deflate
        assert deflate is not None  # FrameReader lets RSV1 through only then
        try:
            data = deflate.inflate(payload, self.max_message_size)
            if opcode == OP_TEXT:
                return data.decode("utf-8")
            return data
        except InflateError as exc:
            log.info("WebSocket compressed message refused: %s", exc.reason)
            self.close(exc.code, close_reason(exc.code, exc.reason))
        except UnicodeDecodeError:
            log.info("WebSocket protocol error: invalid UTF-8 in a text message")
            self.close(INVALID_DATA, "invalid UTF-8 in a text message")
        return None

    def _on_close_frame(self, payload: bytes) -> None:
        code = 1005
        if len(payload) >= 2:
            code = int.from_bytes(payload[:2], "big")
        self.close_code = code
        if len(payload) == 1:
            reply = build_frame(OP_CLOSE, (1002).to_bytes(2, "big"))
        else:
            reply = build_frame(OP_CLOSE, payload[:2])
        self._write(reply)
        self._shutdown()

    def encode(self, items: list[Wire]) -> bytes:
        """The bytes of ``items``, one frame per message."""
        if self.deflate is not None:
            return self._deflated(items)
        if len(items) == 1:
            return frame_of(items[0])
        return b"".join([frame_of(i) for i in items])

    def _deflated(self, items: Iterable[Wire]) -> bytes:
        """Frames for ``items`` under permessage-deflate: large ones compressed, in order.

        Only the compressed frames are this connection's own; a short item
        keeps its plain frame, which :func:`frame_of` may share with every
        other recipient (a compressed frame is never stored on the item).
        """
        deflate = self.deflate
        assert deflate is not None
        threshold = deflate.threshold
        frames = []
        for item in items:
            if len(item) < threshold:
                frames.append(frame_of(item))
            elif isinstance(item, str):
                frames.append(build_frame(OP_TEXT | RSV1, deflate.deflate(item.encode("utf-8"))))
            else:
                frames.append(build_frame(OP_BINARY | RSV1, deflate.deflate(bytes(item))))
        return b"".join(frames)

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Send a close frame (if the connection is still open) and drop the connection."""
        if self.closed:
            return
        self._write(build_frame(OP_CLOSE, code.to_bytes(2, "big") + reason.encode("utf-8")[:120]))
        self._shutdown()
