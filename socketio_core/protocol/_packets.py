"""Socket.IO v5 packets: the value a packet is, its types, and the protocol's limits.

Implements the model of [SIO5] "Packet encoding" (PROTOCOL.md 2.2): a packet
is ``<type>[<n>-][<namespace>,][<ack id>][<JSON>]`` plus ``n`` binary
messages (2.3). The codec is split by job, one module each:

* :mod:`._json`: the JavaScript-compatible JSON defaults both directions use;
* :mod:`._encoder`: :func:`encode_packet`, the general path, and its fast
  paths for the two packets every emit and every answer sends;
* :mod:`._decoder`: :class:`PacketDecoder`, one per connection because a
  binary packet spans several Engine.IO messages, with its ``event_fast``.

Both sides handle the text *without* the Engine.IO ``4`` prefix, which
belongs to the layer below.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Callable, Final

from engineio._util import trusted_builder

__all__ = [
    "PacketType",
    "Packet",
    "Dumps",
    "Loads",
    "RESERVED_EVENTS",
    "DEFAULT_MAX_ATTACHMENTS",
    "DEFAULT_MAX_DEPTH",
    "DEFAULT_MAX_ATTACHMENT_BYTES",
    "MAX_ACK_ID_DIGITS",
]


class PacketType(IntEnum):
    """The packet type digit ([SIO5] "Exchange protocol", PROTOCOL.md 2.1)."""

    CONNECT = 0
    DISCONNECT = 1
    EVENT = 2
    ACK = 3
    CONNECT_ERROR = 4
    BINARY_EVENT = 5
    BINARY_ACK = 6


# Event names the reference decoder refuses (socket.io-parser `RESERVED_EVENTS`):
# they name the library's own lifecycle events, so a peer must not be able to
# fake them. The server API should refuse to emit them too.
RESERVED_EVENTS: Final = frozenset(
    {
        "connect",
        "connect_error",
        "disconnect",
        "disconnecting",
        "newListener",
        "removeListener",
    }
)

# The reference decoder's own cap (PROTOCOL.md 2.3): a packet announcing more
# attachments is refused before we buffer any of them.
DEFAULT_MAX_ATTACHMENTS: Final = 10
# Real payloads are shallow; 32 levels leave ample room while keeping our
# recursive placeholder walk and the C scanner far from Python's recursion
# limit (a 1 MB message of "[" would otherwise raise RecursionError).
DEFAULT_MAX_DEPTH: Final = 32
# Sum of one packet's attachments. Each attachment is one Engine.IO message,
# already capped by maxPayload (1e6 by default); 10 of them is the most the
# reference server accepts with default settings, so this never refuses what
# it would take, and still bounds memory if max_attachments is raised.
DEFAULT_MAX_ATTACHMENT_BYTES: Final = 10_000_000
# 15 digits stay below JavaScript's Number.MAX_SAFE_INTEGER (2**53 - 1, 16
# digits), so every id we accept is one a JS peer can represent exactly, and
# we never call int() on an attacker-sized digit run.
MAX_ACK_ID_DIGITS: Final = 15
_MAX_ACK_ID: Final = 10**MAX_ACK_ID_DIGITS - 1
# Longest attachment count we parse; anything longer is "too many" anyway.
_MAX_COUNT_DIGITS: Final = 9

Dumps = Callable[[Any], str]
"""Serialises a JSON value to text exactly as JavaScript's JSON.stringify would."""
Loads = Callable[[str], Any]
"""Parses JSON text; must raise ``ValueError`` (or a subclass) on invalid input."""


@dataclass(frozen=True, slots=True, kw_only=True)
class Packet:
    """One Socket.IO packet, after reassembly of its binary attachments.

    ``data`` is the JSON payload as Python values (``None`` when absent), with
    ``bytes`` in place of the placeholders of a binary packet. ``id`` is the
    ack id of an EVENT (asking for an ack) or of an ACK (answering one).
    """

    type: PacketType
    namespace: str = "/"
    data: Any = None
    id: int | None = None


# The decoder builds one Packet per message: (type, namespace, data, id)
# without the frozen dataclass's __init__ (~0.3 us instead of ~0.7 us).
_make_packet = trusted_builder(Packet)


_CONNECT: Final = PacketType.CONNECT
_DISCONNECT: Final = PacketType.DISCONNECT
_EVENT: Final = PacketType.EVENT
_ACK: Final = PacketType.ACK
_CONNECT_ERROR: Final = PacketType.CONNECT_ERROR
_BINARY_EVENT: Final = PacketType.BINARY_EVENT
_BINARY_ACK: Final = PacketType.BINARY_ACK

_TYPE_BY_CHAR: Final = {str(t.value): t for t in PacketType}
# Wire digit of a packet without attachments: a BINARY_* packet whose data
# holds no buffer is sent as its plain counterpart.
_PLAIN_CHAR: Final = {
    t: str((_EVENT if t is _BINARY_EVENT else _ACK if t is _BINARY_ACK else t).value)
    for t in PacketType
}
_BUFFER_TYPES: Final = (bytes, bytearray, memoryview)
