"""Engine.IO v4 packets and long-polling payloads ([EIO4] "Packet encoding").

Strategy: a packet on the wire is ``<type digit><data>`` for text and raw bytes
for a binary message (WebSocket), or ``b<base64>`` inside a polling payload.
The hot path is a text ``message`` packet, so the codec works on plain ``str``
and ``bytes`` with one slice and no intermediate objects; :class:`Packet` is
only built where a caller needs a value object. Every malformed input raises
:class:`RemoteProtocolError` with close reason ``parse error``.
"""

from __future__ import annotations

import base64
import binascii
from dataclasses import dataclass
from enum import IntEnum
from typing import Iterable, Iterator, Union

from ._errors import LocalProtocolError, RemoteProtocolError

__all__ = [
    "PacketType",
    "Packet",
    "Wire",
    "decode_packet",
    "encode_packet",
    "decode_payload",
    "iter_payload",
    "encode_payload",
    "encoded_size",
    "RECORD_SEPARATOR",
]

RECORD_SEPARATOR = "\x1e"
PARSE_ERROR = "parse error"


class PacketType(IntEnum):
    OPEN = 0
    CLOSE = 1
    PING = 2
    PONG = 3
    MESSAGE = 4
    UPGRADE = 5
    NOOP = 6


_TYPE_BY_CHAR = {str(int(t)): t for t in PacketType}

# The type digits as text, what the session builds and recognises packets with
# (a string, not a PacketType member to look up and format per packet).
_CLOSE = "1"
_PING = "2"
_PONG = "3"
_MESSAGE = "4"
_NOOP = "6"

# What the wire carries in one slot: a text packet including its type digit, or
# the raw bytes of a binary message.
Wire = Union[str, bytes]


@dataclass(frozen=True, slots=True, kw_only=True)
class Packet:
    """One Engine.IO packet. ``data`` is ``bytes`` only for binary messages."""

    type: PacketType
    data: str | bytes = ""

    @property
    def is_binary(self) -> bool:
        return isinstance(self.data, bytes)


def _parse_error(detail: str) -> RemoteProtocolError:
    return RemoteProtocolError(detail, close_reason=PARSE_ERROR)


def decode_packet(wire: str | bytes) -> Packet:
    """Decode one packet as a WebSocket frame carries it (``b<base64>`` too).

    Raises RemoteProtocolError (close reason ``parse error``) on an empty or
    unknown-type text packet.
    """
    if isinstance(wire, (bytes, bytearray, memoryview)):
        return Packet(type=PacketType.MESSAGE, data=bytes(wire))
    if not wire:
        raise _parse_error("empty packet")
    if wire[0] == "b":
        # A binary message as base64 text: what a client with forceBase64
        # sends in a WebSocket text frame, and every binary record of a
        # polling payload. Node's parser accepts it in both places.
        try:
            data = base64.b64decode(wire[1:], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _parse_error("invalid base64 in binary packet") from exc
        return Packet(type=PacketType.MESSAGE, data=data)
    ptype = _TYPE_BY_CHAR.get(wire[0])
    if ptype is None:
        raise _parse_error(f"unknown packet type {wire[0]!r}")
    return Packet(type=ptype, data=wire[1:])


def encode_packet(packet: Packet) -> Wire:
    """Encode a packet for a WebSocket frame: text with its type digit, or raw bytes.

    Raises LocalProtocolError for binary data on a packet other than ``message``.
    """
    if isinstance(packet.data, bytes):
        if packet.type is not PacketType.MESSAGE:
            raise LocalProtocolError("only message packets can be binary")
        return packet.data
    return f"{int(packet.type)}{packet.data}"


def decode_payload(body: bytes | str) -> list[Packet]:
    """Decode a long-polling payload (records joined by ``\\x1e``).

    Raises RemoteProtocolError (``parse error``) for invalid UTF-8, an empty
    record or a bad packet anywhere in it; use :func:`iter_payload` semantics
    through the session when packets before the bad one must still count.
    """
    return list(iter_payload(body))


def iter_payload(body: bytes | str) -> Iterator[Packet]:
    """Yield the packets of a payload one by one, raising at the first bad one.

    The packets before a malformed record are yielded first, which lets the
    session deliver them before closing, as the reference server does.
    """
    if isinstance(body, (bytes, bytearray)):
        try:
            text = bytes(body).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _parse_error("payload is not valid UTF-8") from exc
    else:
        text = body
    # One record at a time: splitting first would build the whole list (a
    # 1 MB body of noops is 500,000 strings, ~30 MB) before the first packet.
    find = text.find
    start = 0
    while True:
        end = find(RECORD_SEPARATOR, start)
        if end < 0:
            yield decode_packet(text[start:] if start else text)
            return
        yield decode_packet(text[start:end])
        start = end + 1


def _record(item: Wire) -> str:
    if isinstance(item, str):
        return item
    return "b" + binascii.b2a_base64(item, newline=False).decode("ascii")


def encoded_size(item: Wire) -> int:
    """Bytes this packet takes in a polling payload (without separator).

    Text is counted in UTF-8 bytes, because ``max_payload`` is a byte limit;
    ``str.isascii()`` is O(1) in CPython, so the common ASCII packet costs no
    encoding. Binary counts its base64 length plus the ``b``.
    """
    if isinstance(item, str):
        return len(item) if item.isascii() else len(item.encode("utf-8", "surrogatepass"))
    return 1 + 4 * ((len(item) + 2) // 3)


def encode_payload(items: Iterable[Wire]) -> bytes:
    """Join already encoded packets into one polling payload body (UTF-8).

    A list, not a generator: each item of a generator is a call resumed,
    and a polling answer usually carries one or two text packets.
    """
    return RECORD_SEPARATOR.join(
        [item if type(item) is str else _record(item) for item in items]
    ).encode("utf-8")
