"""Building outgoing WebSocket frames directly (RFC 6455 section 5.2).

Server frames are never masked, so a complete frame is a 2-10 byte header and
the payload: cheaper to build by hand than through a general frame pipeline,
and the same bytes can be written to every recipient of a broadcast.
"""

from __future__ import annotations

import struct

__all__ = ["OP_TEXT", "OP_BINARY", "OP_CLOSE", "OP_PING", "OP_PONG", "build_frame", "text_frame"]

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
