"""WebSocket frames on the hot path (RFC 6455 section 5), built and parsed by hand.

Server frames are never masked, so a complete frame is a 2-10 byte header and
the payload: cheaper to build directly than through a general frame pipeline,
and the same bytes can be written to every recipient of a broadcast. Client
frames are parsed by :class:`FrameReader`, which validates what RFC 6455
requires (masking, control frames, fragmentation, UTF-8, sizes, close codes
and reasons) with a few slices and one big-int XOR per frame; with
permessage-deflate it lets RSV1 open a message and hands that message over
still compressed, for :mod:`._deflate` to inflate. wsproto keeps the
handshake. The reader refuses exactly what wsproto's own frame protocol
refuses, with the same close code (``tests/transports/test_frames_wsproto.py``
holds it to wsproto).
"""

from __future__ import annotations

import codecs
import struct

from ._errors import TransportError

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


class FrameError(TransportError):
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

# Close codes a peer may send (RFC 6455 7.4), as wsproto judges them: the
# codes 1000-2999 that are defined and not reserved for local use (1005
# "no status", 1006 "abnormal", 1015 "TLS failure" must never be on the
# wire; 1004 and 1014 are not defined), and the whole 3000-4999 range of
# libraries and applications. Anything else is a protocol error.
_PEER_CLOSE_CODES = frozenset({1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013})
_new_utf8_decoder = codecs.getincrementaldecoder("utf-8")


def _check_close(payload: bytes) -> None:
    """Refuse a close frame's payload as wsproto does (RFC 6455 5.5.1, 7.4).

    Empty, or a valid code followed by a UTF-8 reason. Raises FrameError.
    """
    size = len(payload)
    if size == 0:
        return
    if size == 1:
        raise FrameError(_PROTOCOL_ERROR, "close frame with a 1-byte payload")
    code = (payload[0] << 8) | payload[1]
    if code not in _PEER_CLOSE_CODES and not 3000 <= code <= 4999:
        raise FrameError(_PROTOCOL_ERROR, f"close code {code} may not be sent")
    try:
        payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise FrameError(_INVALID_DATA, "invalid UTF-8 in a close reason") from None


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
    message when permessage-deflate was agreed), control-frame rules, minimal length encodings, continuation
    order, UTF-8 in text messages (fragment by fragment, as wsproto decodes
    them), close codes and reasons, and ``max_message_size`` from the frame
    headers *before* the payload is buffered. Control frames come out as
    soon as they are complete, even in the middle of a fragmented message.
    """

    __slots__ = (
        "_buf",
        "_frag_opcode",
        "_frag_parts",
        "_frag_text",
        "_frag_size",
        "_frag_decoder",
        "max_message_size",
        "deflate",
    )

    def __init__(self, max_message_size: int, *, deflate: bool = False) -> None:
        #: permessage-deflate was agreed: RSV1 may open a text or binary message.
        self.deflate = deflate
        self._buf = bytearray()
        self._frag_opcode = 0
        self._frag_parts: list[bytes] = []  # a fragmented binary message
        self._frag_text: list[str] = []  # a fragmented text message, decoded so far
        self._frag_size = 0
        # Decodes a fragmented text message as it arrives, so invalid UTF-8
        # fails on the fragment that carries it (before later control frames).
        self._frag_decoder: codecs.IncrementalDecoder | None = None
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
            if length < 126:
                return None  # not the minimal encoding: the general path refuses it
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
                if length < 126:
                    raise FrameError(_PROTOCOL_ERROR, "length not minimally encoded")
            elif length == 127:
                if available < 10:
                    return None
                length = int.from_bytes(buf[2:10], "big")
                pos = 10
                if length < 65536:
                    raise FrameError(_PROTOCOL_ERROR, "length not minimally encoded")
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
                if opcode == OP_CLOSE:
                    _check_close(payload)
                return opcode, payload
            if b0 & RSV1:
                opcode |= RSV1  # compressed: kept on the opcode until the message is whole
            if not fin or opcode == 0:
                message = self._fragment(opcode, payload, fin)
                if message is None:
                    continue
                return message
            if opcode == OP_TEXT:
                try:
                    return OP_TEXT, payload.decode("utf-8")
                except UnicodeDecodeError:
                    raise FrameError(_INVALID_DATA, "invalid UTF-8 in a text message") from None
            return opcode, payload  # OP_BINARY, or a compressed message (RSV1 set, bytes)

    def _fragment(self, opcode: int, payload: bytes, fin: int) -> Message | None:
        """Take one frame of a fragmented message; the whole message once ``fin``.

        Raises FrameError for invalid UTF-8 in a text fragment.
        """
        if opcode:  # the first fragment
            self._frag_opcode = opcode
            if opcode == OP_TEXT:
                self._frag_decoder = _new_utf8_decoder()
        self._frag_size += len(payload)
        decoder = self._frag_decoder
        if decoder is None:
            self._frag_parts.append(payload)
            if not fin:
                return None
            # binary, or a compressed message (RSV1 on its opcode): still bytes
            message: Message = (self._frag_opcode, b"".join(self._frag_parts))
        else:
            try:
                self._frag_text.append(decoder.decode(payload, bool(fin)))
            except UnicodeDecodeError:
                raise FrameError(_INVALID_DATA, "invalid UTF-8 in a text message") from None
            if not fin:
                return None
            message = (OP_TEXT, "".join(self._frag_text))
        self._frag_opcode = 0
        self._frag_parts = []
        self._frag_text = []
        self._frag_size = 0
        self._frag_decoder = None
        return message
