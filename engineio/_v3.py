"""Engine.IO v3 wire formats ([EIO3] "Encoding"; PROTOCOL.md 3.1; REF ``parser-v3``).

Strategy: the session keeps one buffer of wire items whatever the protocol
(``str`` = a text packet with its type digit, ``bytes`` = the raw data of a
binary message), so v3 differs from v4 only at the edges, in these pure
functions:

* a polling payload is ``<len>:<packet>`` records with no separator, ``len``
  counted in UTF-16 code units because the reference is JavaScript
  (``string.length``); a binary message inside a text payload is
  ``b4<base64>``;
* a client that did not ask for ``b64=1`` (XHR2) gets the *binary* payload
  format whenever the response holds binary: per packet ``0x00`` (text) or
  ``0x01`` (binary), the decimal length one digit per byte, ``0xFF``, then the
  packet (UTF-8 text, or type byte ``0x04`` + data); it POSTs the same format
  with ``Content-Type: application/octet-stream``;
* a binary WebSocket frame carries the type byte too (``0x04`` + data).

Every malformed input raises :class:`RemoteProtocolError` with close reason
``parse error``, as the v4 codec does.
"""

from __future__ import annotations

import base64
import binascii
import re
from typing import Iterable, Iterator

from ._errors import RemoteProtocolError
from ._packets import PARSE_ERROR, Packet, PacketType, Wire, decode_packet

__all__ = [
    "utf16_length",
    "encode_payload_v3",
    "decode_payload_v3",
    "iter_payload_v3",
    "decode_frame_v3",
    "encode_frame_v3",
    "is_binary_payload",
    "TEXT_CONTENT_TYPE",
    "BINARY_CONTENT_TYPE",
]

TEXT_CONTENT_TYPE = "text/plain; charset=UTF-8"
BINARY_CONTENT_TYPE = "application/octet-stream"

_MESSAGE_BYTE = b"\x04"
_STRING_MARK = 0x00
_BINARY_MARK = 0x01
_LENGTH_END = 0xFF
# A polling body is bounded by max_payload (1e6 by default), so real lengths
# have at most 7 digits; 10 leaves room for any sane limit while never letting
# a peer make us parse an arbitrarily long number.
_MAX_LENGTH_DIGITS = 10
_DIGITS = re.compile("[0-9]+")
# Characters outside the Basic Multilingual Plane: two UTF-16 code units each.
_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _parse_error(detail: str) -> RemoteProtocolError:
    return RemoteProtocolError(detail, close_reason=PARSE_ERROR)


def utf16_length(text: str) -> int:
    """The length JavaScript gives ``text`` (UTF-16 code units): ``€`` is 1, ``😀`` 2."""
    if text.isascii():
        return len(text)
    return len(text) + len(_ASTRAL.findall(text))


def _b64_record(data: bytes) -> str:
    return "b4" + binascii.b2a_base64(data, newline=False).decode("ascii")


def _length_header(mark: int, length: int) -> bytes:
    return bytes((mark, *(ord(d) - 48 for d in str(length)), _LENGTH_END))


def is_binary_payload(body: bytes) -> bool:
    """Whether a polling body is in the binary (XHR2) format, i.e. application/octet-stream.

    Unambiguous: a text payload of either version starts with a digit or ``b``,
    a binary one with the byte 0x00 or 0x01.
    """
    return body[:1] in (b"\x00", b"\x01")


def encode_payload_v3(items: Iterable[Wire], *, supports_binary: bool) -> bytes:
    """Join encoded packets into one v3 polling body.

    Text (``<len>:<packet>``, UTF-8) unless ``supports_binary`` is set and an
    item is binary: then the whole body is in the binary format (check with
    :func:`is_binary_payload`). No items gives ``0:``, as the reference writes.
    """
    items = list(items)
    if supports_binary and any(not isinstance(item, str) for item in items):
        parts: list[bytes] = []
        for item in items:
            if isinstance(item, str):
                data = item.encode("utf-8", "surrogatepass")
                parts.append(_length_header(_STRING_MARK, len(data)))
            else:
                data = _MESSAGE_BYTE + bytes(item)
                parts.append(_length_header(_BINARY_MARK, len(data)))
            parts.append(data)
        return b"".join(parts)
    if not items:
        return b"0:"
    records = []
    for item in items:
        record = item if isinstance(item, str) else _b64_record(bytes(item))
        records.append(f"{utf16_length(record)}:{record}")
    return "".join(records).encode("utf-8")


def _decode_record(record: str) -> Packet:
    """One text packet: ``<type digit><data>`` or ``b<type digit><base64>``."""
    if record[:1] == "b":
        if record[1:2] != "4":
            raise _parse_error("only message packets can be binary")
        try:
            data = base64.b64decode(record[2:], validate=True)
        except (binascii.Error, ValueError) as exc:
            raise _parse_error("invalid base64 in binary packet") from exc
        return Packet(type=PacketType.MESSAGE, data=data)
    return decode_packet(record)


def decode_payload_v3(body: bytes | str, *, binary: bool = False) -> list[Packet]:
    """Decode a whole v3 polling body; ``binary`` selects the XHR2 format.

    Raises RemoteProtocolError (``parse error``) for a bad length, a length
    that does not match, invalid UTF-8 or a bad packet anywhere.
    """
    return list(iter_payload_v3(body, binary=binary))


def iter_payload_v3(body: bytes | str, *, binary: bool = False) -> Iterator[Packet]:
    """Yield the packets of a v3 polling body, raising at the first bad one.

    ``binary`` is True when the request said ``Content-Type:
    application/octet-stream``. The packets before a malformed record are
    yielded first, so the session can deliver them before it closes.
    """
    if binary:
        if isinstance(body, str):
            body = body.encode("latin-1")
        yield from _iter_binary(bytes(body))
        return
    if isinstance(body, (bytes, bytearray)):
        try:
            text = bytes(body).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise _parse_error("payload is not valid UTF-8") from exc
    else:
        text = body
    if not text:
        raise _parse_error("empty payload")
    # Lengths count UTF-16 code units; without astral characters those are
    # exactly Python's characters and records are plain slices.
    astral = not text.isascii() and _ASTRAL.search(text) is not None
    pos = 0
    size = len(text)
    while pos < size:
        match = _DIGITS.match(text, pos)
        if match is None or match.end() >= size or text[match.end()] != ":":
            raise _parse_error("record without a length")
        if match.end() - pos > _MAX_LENGTH_DIGITS:
            raise _parse_error("record length too long")
        length = int(match.group())
        start = match.end() + 1
        end = _advance(text, start, length) if astral else start + length
        if end > size:
            raise _parse_error("record shorter than its length")
        if end > start:
            yield _decode_record(text[start:end])
        pos = end


def _advance(text: str, start: int, units: int) -> int:
    """The index ``units`` UTF-16 code units after ``start`` (past the end if there are fewer)."""
    index = start
    size = len(text)
    while units > 0:
        if index >= size:
            return size + 1
        units -= 2 if text[index] > "\uffff" else 1
        index += 1
    if units < 0:
        raise _parse_error("record length splits a character")
    return index


def _iter_binary(body: bytes) -> Iterator[Packet]:
    if not body:
        raise _parse_error("empty payload")
    pos = 0
    size = len(body)
    while pos < size:
        mark = body[pos]
        if mark != _STRING_MARK and mark != _BINARY_MARK:
            raise _parse_error("binary payload record must start with 0x00 or 0x01")
        end_of_length = body.find(_LENGTH_END, pos + 1, pos + 2 + _MAX_LENGTH_DIGITS)
        digits = body[pos + 1 : end_of_length]
        if end_of_length == -1 or not digits or any(d > 9 for d in digits):
            raise _parse_error("bad length in binary payload")
        length = int("".join(str(d) for d in digits))
        start = end_of_length + 1
        end = start + length
        if end > size:
            raise _parse_error("record shorter than its length")
        chunk = body[start:end]
        if mark == _STRING_MARK:
            try:
                record = chunk.decode("utf-8")
            except UnicodeDecodeError as exc:
                raise _parse_error("text packet is not valid UTF-8") from exc
            yield _decode_record(record)
        else:
            yield _decode_binary_packet(chunk)
        pos = end


def _decode_binary_packet(data: bytes) -> Packet:
    if data[:1] != _MESSAGE_BYTE:
        raise _parse_error("binary packet is not a message")
    return Packet(type=PacketType.MESSAGE, data=data[1:])


def decode_frame_v3(wire: str | bytes) -> Packet:
    """Decode one v3 WebSocket message: text as in v4 (or ``b4<base64>``), binary with its type byte.

    Raises RemoteProtocolError (``parse error``).
    """
    if isinstance(wire, (bytes, bytearray, memoryview)):
        return _decode_binary_packet(bytes(wire))
    if not wire:
        raise _parse_error("empty packet")
    return _decode_record(wire)


def encode_frame_v3(item: Wire, *, supports_binary: bool = True) -> Wire:
    """One buffered item as a v3 WebSocket message.

    Binary data gets its type byte (``0x04``), or becomes ``b4<base64>`` text
    for a client that asked for ``b64=1``; text is unchanged.
    """
    if isinstance(item, str):
        return item
    if supports_binary:
        return _MESSAGE_BYTE + item
    return _b64_record(bytes(item))
