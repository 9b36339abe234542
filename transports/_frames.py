"""WebSocket frames on the hot path (RFC 6455 section 5), built and parsed by hand.

Server frames are never masked, so a complete frame is a 2-10 byte header and
the payload: cheaper to build directly than through a general frame pipeline,
and the same bytes can be written to every recipient of a broadcast. Client
frames are parsed by :class:`FrameReader`, which validates what RFC 6455
requires (masking, control frames, fragmentation, UTF-8, sizes) with a few
slices and one big-int XOR per frame; with permessage-deflate it lets RSV1
open a message and hands that message over still compressed, for
:mod:`._deflate` to inflate. wsproto keeps the handshake.
"""

from __future__ import annotations

import struct

__all__ = [
    "OP_TEXT",
    "OP_BINARY",
    "OP_CLOSE",
    "OP_PING",
    "OP_PONG",
    "build_frame",
    "text_frame",
    "unmask",
    "SharedText",
    "SharedBytes",
    "frame_of",
    "FrameReader",
    "FrameError",
    "RSV1",
]

OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

_SHORT = struct.Struct("!BBH")
_LONG = struct.Struct("!BBQ")


def build_frame(opcode: int, payload: bytes) -> bytes:
    """One final (FIN) unmasked frame."""
    n = len(payload)
    first = 0x80 | opcode
    if n < 126:
        return bytes((first, n)) + payload
    if n < 65536:
        return _SHORT.pack(first, 126, n) + payload
    return _LONG.pack(first, 127, n) + payload


def text_frame(text: str) -> bytes:
    return build_frame(OP_TEXT, text.encode("utf-8"))


class SharedText(str):
    """A text packet sent to many clients: its frame is built once, by the first writer."""

    _frame: bytes | None = None


class SharedBytes(bytes):
    """A binary packet sent to many clients: its frame is built once."""

    _frame: bytes | None = None


def frame_of(item: str | bytes) -> bytes:
    """The WebSocket frame for one Engine.IO wire item (text or binary message)."""
    kind = type(item)
    if kind is str:
        payload = item.encode("utf-8")  # type: ignore[union-attr]
        size = len(payload)
        if size < 126:  # the usual message, inline
            return bytes((0x81, size)) + payload
        return build_frame(OP_TEXT, payload)
    if kind is bytes:
        return build_frame(OP_BINARY, item)  # type: ignore[arg-type]
    frame: bytes | None = item._frame  # type: ignore[union-attr]
    if frame is None:
        if isinstance(item, str):
            frame = build_frame(OP_TEXT, item.encode("utf-8"))
        else:
            frame = build_frame(OP_BINARY, bytes(item))
        item._frame = frame  # type: ignore[union-attr]
    return frame


class FrameError(Exception):
    """The client broke RFC 6455; ``code`` is the close code to answer with."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


# What FrameReader.next_message returns: (opcode, payload). Text payloads are
# already decoded to str; close payloads stay bytes.
Message = tuple[int, "str | bytes"]

#: The first reserved bit: with permessage-deflate (RFC 7692 section 6), set
#: on the first frame of a compressed message. FrameReader returns such a
#: message whole with this bit added to its opcode, payload still compressed.
RSV1 = 0x40
#: The first byte's low seven bits, FIN aside, that may open a compressed message.
_DEFLATED_FIRST = (RSV1 | OP_TEXT, RSV1 | OP_BINARY)

_PROTOCOL_ERROR = 1002
_INVALID_DATA = 1007
_TOO_BIG = 1009


def unmask(payload: bytes | bytearray, mask: bytes | bytearray) -> bytes:
    """XOR ``payload`` with the repeated 4-byte ``mask`` (one big-int operation)."""
    n = len(payload)
    if n == 0:
        return b""
    key = (bytes(mask) * ((n + 3) >> 2))[:n]
    return (int.from_bytes(payload, "little") ^ int.from_bytes(key, "little")).to_bytes(n, "little")


class FrameReader:
    """Incoming client frames -> complete messages, validated (RFC 6455 5.1-5.6).

    Enforces masking, zero reserved bits (but RSV1 on the first frame of a
    message when permessage-deflate was agreed), control-frame rules, continuation order, UTF-8 in text messages,
    and ``max_message_size`` from the frame headers *before* the payload is
    buffered. Control frames come out as soon as they are complete, even
    in the middle of a fragmented message.
    """

    __slots__ = ("_buf", "_frag_opcode", "_frag_parts", "_frag_size", "max_message_size", "deflate")

    def __init__(self, max_message_size: int, *, deflate: bool = False) -> None:
        #: permessage-deflate was agreed: RSV1 may open a text or binary message.
        self.deflate = deflate
        self._buf = bytearray()
        self._frag_opcode = 0
        self._frag_parts: list[bytes] = []
        self._frag_size = 0
        self.max_message_size = max_message_size

    def feed(self, data: bytes) -> None:
        self._buf += data

    def single_text(self, data: bytes) -> str | None:
        """The text of ``data`` if it is exactly one whole text frame; else None.

        The hot path of a read: one small message per read, nothing
        buffered, no fragment open. The frame must be final, masked, free of
        reserved bits, within ``max_message_size`` and valid UTF-8; anything
        else returns None untouched, and the caller feeds ``data`` to the
        general path, which judges it (and words the error).
        """
        if self._buf or self._frag_opcode:
            return None
        size = len(data)
        if size < 6 or data[0] != 0x81:
            return None
        length = data[1] - 0x80  # negative when the mask bit is missing
        if length < 0:
            return None
        pos = 2
        if length == 126:
            if size < 8:
                return None
            length = (data[2] << 8) | data[3]
            pos = 4
        elif length == 127:
            return None
        if pos + 4 + length != size or length > self.max_message_size:
            return None
        try:
            return unmask(data[pos + 4 :], data[pos : pos + 4]).decode("utf-8")
        except UnicodeDecodeError:
            return None

    def next_message(self) -> Message | None:
        """The next complete message or control frame; None when more bytes are needed.

        Raises FrameError.
        """
        while True:
            buf = self._buf
            available = len(buf)
            if available < 2:
                return None
            b0 = buf[0]
            b1 = buf[1]
            if b0 & 0x70 and not (self.deflate and (b0 & 0x7F) in _DEFLATED_FIRST):
                raise FrameError(_PROTOCOL_ERROR, "reserved bits set")
            if not b1 & 0x80:
                raise FrameError(_PROTOCOL_ERROR, "client frame not masked")
            opcode = b0 & 0x0F
            fin = b0 & 0x80
            length = b1 & 0x7F
            pos = 2
            if length == 126:
                if available < 4:
                    return None
                length = (buf[2] << 8) | buf[3]
                pos = 4
            elif length == 127:
                if available < 10:
                    return None
                length = int.from_bytes(buf[2:10], "big")
                pos = 10
                if length >> 63:
                    raise FrameError(_PROTOCOL_ERROR, "invalid frame length")
            if opcode >= 8:
                if not fin or length > 125:
                    raise FrameError(_PROTOCOL_ERROR, "invalid control frame")
                if opcode not in (0x8, 0x9, 0xA):
                    raise FrameError(_PROTOCOL_ERROR, f"unknown opcode {opcode}")
            elif opcode in (OP_TEXT, OP_BINARY):
                if self._frag_opcode:
                    raise FrameError(_PROTOCOL_ERROR, "new message inside a fragmented one")
                if length > self.max_message_size:
                    raise FrameError(_TOO_BIG, "message too big")
            elif opcode == 0:
                if not self._frag_opcode:
                    raise FrameError(_PROTOCOL_ERROR, "continuation without a message")
                if self._frag_size + length > self.max_message_size:
                    raise FrameError(_TOO_BIG, "message too big")
            else:
                raise FrameError(_PROTOCOL_ERROR, f"unknown opcode {opcode}")
            end = pos + 4 + length
            if available < end:
                return None
            payload = unmask(buf[pos + 4 : end], buf[pos : pos + 4])
            if end == available:
                self._buf = bytearray()  # drop the capacity an idle connection would keep
            else:
                del buf[:end]
            if opcode >= 8:
                return opcode, payload
            if b0 & RSV1:
                opcode |= RSV1  # compressed: kept on the opcode until the message is whole
            if not fin:
                if opcode:
                    self._frag_opcode = opcode
                self._frag_parts.append(payload)
                self._frag_size += length
                continue
            if opcode == 0:
                self._frag_parts.append(payload)
                payload = b"".join(self._frag_parts)
                opcode = self._frag_opcode
                self._frag_opcode = 0
                self._frag_parts = []
                self._frag_size = 0
            if opcode == OP_TEXT:
                try:
                    return OP_TEXT, payload.decode("utf-8")
                except UnicodeDecodeError:
                    raise FrameError(_INVALID_DATA, "invalid UTF-8 in a text message") from None
            return opcode, payload  # OP_BINARY, or a compressed message (RSV1 set, bytes)
