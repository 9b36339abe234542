"""permessage-deflate (RFC 7692) for one WebSocket, after wsproto negotiated it.

Strategy: wsproto's ``H11Handshake`` stays the judge of the offer and writes
the answer; what it agreed to is read from its :class:`PerMessageDeflate`
and kept here as a :class:`MessageDeflate`, which does the per-message work
beside our own frame reader and writer (:mod:`._frames`):

- Inflating a client message: the payload of all its frames, then the
  ``0x00 0x00 0xff 0xff`` the sender removed (section 7.2.2), through one
  raw-deflate decompressor with a 32 KB window, kept between messages. That
  reads every stream the client may send whatever it agreed to (a smaller
  window, no context takeover: such a stream just never refers back), so
  none of the client's parameters needs tracking; wsproto leaves the
  extension object holding the union of every offer it parsed, which may
  say more than the answer it wrote. The decompressor is
  given ``max_length``: a bomb stops at ``max_message_size + 1`` bytes of
  output and is refused (close 1009), never inflated further; what it did
  not consume stays in zlib's ``unconsumed_tail`` and is dropped.
- Deflating a server message: only from ``threshold`` bytes up (a short
  packet gains nothing and costs a compressor call); the shorter ones go out
  as plain frames (RSV1 clear, allowed by section 6), which can then be
  shared between every recipient of a broadcast. A compressed frame is never
  shared: with context takeover its bytes depend on this connection's past.

Both zlib objects are created on first use: a connection that neither
receives a compressed message nor sends a large one holds neither (a
compressor with a 32 KB window costs about 256 KB, a decompressor 40 KB).
"""

from __future__ import annotations

import zlib
from typing import Any

__all__ = ["MessageDeflate", "InflateError", "negotiated"]

#: What the sender strips from the end of each compressed message (RFC 7692 7.2.1).
_TAIL = b"\x00\x00\xff\xff"
#: Server messages shorter than this go out uncompressed (Node's ws default).
DEFAULT_THRESHOLD = 1024


class InflateError(Exception):
    """A compressed message could not be taken; ``code`` is the close code."""

    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code = code
        self.reason = reason


def negotiated(extension: Any, *, threshold: int = DEFAULT_THRESHOLD) -> "MessageDeflate | None":
    """The codec for what wsproto's ``PerMessageDeflate`` agreed to, or None if it did not.

    wsproto sets the agreed parameters on the extension object while it
    answers the offer (``accept``); ``enabled()`` says whether it did.
    """
    if extension is None or not extension.enabled():
        return None
    # Where the object says more than the answer did (see above), it is
    # stricter: no context takeover, a smaller window. Both are safe to send.
    return MessageDeflate(
        server_no_context_takeover=bool(extension.server_no_context_takeover),
        server_max_window_bits=int(extension.server_max_window_bits),
        threshold=threshold,
    )


class MessageDeflate:
    """The compress/decompress state of one connection (not shared, not thread-safe)."""

    __slots__ = ("server_no_context_takeover", "server_window_bits", "threshold", "_inflater", "_deflater")

    def __init__(
        self,
        *,
        server_no_context_takeover: bool = False,
        server_max_window_bits: int = 15,
        threshold: int = DEFAULT_THRESHOLD,
    ) -> None:
        self.server_no_context_takeover = server_no_context_takeover
        # 9 to 15: wsproto refuses an offer of 8 (which zlib would write as 9).
        self.server_window_bits = server_max_window_bits
        self.threshold = threshold
        self._inflater: Any = None
        self._deflater: Any = None

    def inflate(self, payload: bytes, limit: int) -> bytes:
        """The message compressed in ``payload``, at most ``limit`` bytes of it.

        Raises InflateError: 1009 past ``limit`` (having
        produced at most ``limit + 1`` bytes), 1007 for a corrupt stream.
        """
        inflater = self._inflater
        if inflater is None:
            inflater = zlib.decompressobj(-15)
        try:
            data: bytes = inflater.decompress(payload + _TAIL, limit + 1)
        except zlib.error:
            self._inflater = None
            raise InflateError(1007, "invalid compressed data") from None
        if len(data) > limit or inflater.unconsumed_tail:
            self._inflater = None
            raise InflateError(1009, "message too big")
        # A sender that ended its stream (a final block) starts a new one.
        self._inflater = None if inflater.eof else inflater
        return data

    def deflate(self, payload: bytes) -> bytes:
        """The compressed form of one message, without the 4-byte tail (RFC 7692 7.2.1)."""
        deflater = self._deflater
        if deflater is None:
            deflater = zlib.compressobj(zlib.Z_DEFAULT_COMPRESSION, zlib.DEFLATED, -self.server_window_bits)
        data: bytes = deflater.compress(payload) + deflater.flush(zlib.Z_SYNC_FLUSH)
        self._deflater = None if self.server_no_context_takeover else deflater
        # Z_SYNC_FLUSH ends every flush with the empty stored block RFC 7692 asks for.
        return data[:-4]
