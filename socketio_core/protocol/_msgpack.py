"""The npm ``socket.io-msgpack-parser`` format: ``Server(parser="msgpack")``.

Wire format (socket.io-msgpack-parser 3.x, on notepack.io 2.x): every
Socket.IO packet is ONE binary Engine.IO message, the MessagePack encoding of
the map ``{type, data, nsp, id}`` (without ``data`` when there is none, without
``id`` when there is no ack id). Binary stays native MessagePack ``bin`` anywhere in
the data: there are no attachments, no placeholders, and no BINARY_EVENT /
BINARY_ACK types (only 0..4). Keys other than these four (the JS client adds
``options``) are ignored, as the npm decoder ignores them.

What notepack.io writes, and how it reads here (``raw=False``: str is str):

* integers as the smallest MessagePack int; non-integral numbers, NaN and
  +-Infinity as float64 (so a JavaScript ``3.0`` arrives as ``3``);
* a Node Buffer (or a browser ArrayBuffer) as ``bin`` -> ``bytes``; a Node
  ArrayBuffer or typed array as ``ext`` type 0 -> ``bytes``;
* ``undefined`` as fixext 1 type 0 -> ``None`` (what JSON.stringify makes of
  it in arrays); a ``Date`` as fixext 8 type 0 (milliseconds) -> an aware UTC
  ``datetime``; MessagePack timestamps (ext -1) -> ``datetime`` as well.

``ext 8`` with type 0 and 1 or 8 bytes (a Node ArrayBuffer of that size) and
fixext 1/8 type 0 (undefined, Date) reach msgpack's ``ext_hook`` alike; when a
message may hold both forms, it is decoded again by a small exact decoder
here, so each is read as what it is.

Our encoder writes ``bytes``/``bytearray``/``memoryview`` as ``bin`` (a Node
client reads a Buffer, a browser an ArrayBuffer), aware ``datetime`` as a JS
Date, tuples as arrays; lone surrogates in strings become U+FFFD, as Node's
UTF-8 encoder does. It refuses (LocalSocketIOError) what the default parser
refuses about a packet's shape, and data MessagePack cannot hold (integers
beyond 64 bits, naive datetimes, other objects).

Decoding validates like the default parser: type 0..4, ``nsp`` a string
starting with ``/``, EVENT data a non-empty array led by a non-reserved name
or a number, ACK data an array with an id, CONNECT data absent or a map,
CONNECT_ERROR data a map or string (as the npm decoder), DISCONNECT without data, the id an
integer in 0..10**15-1 and only on EVENT/ACK, data nested at most
``max_depth`` levels. Anything else, text messages included, raises
:class:`RemoteSocketIOError`. Sans-IO; ``msgpack`` (the ``msgpack`` extra) is
imported when the parser is built.
"""

from __future__ import annotations

import re
import struct
from datetime import datetime, timedelta, timezone
from importlib import import_module
from typing import Any, Callable, Final

from engineio import Wire

from ._errors import LocalSocketIOError, RemoteSocketIOError, not_serializable
from ._packets import (
    _MAX_ACK_ID,
    DEFAULT_MAX_DEPTH,
    RESERVED_EVENTS,
    Packet,
    PacketType,
    _make_packet,
)

__all__ = ["MsgpackParser", "MsgpackDecoder"]

_EPOCH: Final = datetime(1970, 1, 1, tzinfo=timezone.utc)
_MILLISECOND: Final = timedelta(milliseconds=1)
_INT64: Final = struct.Struct(">q")

_EVENT: Final = PacketType.EVENT
_ACK: Final = PacketType.ACK
# Wire type per packet type: the binary variants are plain EVENT / ACK here.
_WIRE_TYPE: Final = {
    t: int(_EVENT if t is PacketType.BINARY_EVENT else _ACK if t is PacketType.BINARY_ACK else t)
    for t in PacketType
}
_TYPES: Final = tuple(PacketType(i) for i in range(5))
# The keys, packed (fixstr), in the order we write them: type, data, nsp, id.
_KEY_TYPE: Final = b"\xa4type"
_KEY_DATA: Final = b"\xa4data"
_KEY_NSP: Final = b"\xa3nsp"
_KEY_ID: Final = b"\xa2id"
# Everything before the data: map head, "type" and its value, "data" when
# there is data; by (has data, has id, wire type).
_HEADS: Final = {
    (has_data, has_id, wire): bytes((0x80 | (2 + has_data + has_id),))
    + _KEY_TYPE
    + bytes((wire,))
    + (_KEY_DATA if has_data else b"")
    for has_data in (False, True)
    for has_id in (False, True)
    for wire in range(5)
}
# Namespaces whose packed "nsp" entry is cached (dynamic namespaces may be many).
_MAX_CACHED_NAMESPACES: Final = 1024
_SURROGATE: Final = re.compile("[\ud800-\udfff]")

# The fewest bytes of a packet besides its data: map head, "type" and its
# value, "data", "nsp" and "/".
_PACKET_OVERHEAD: Final = 1 + 5 + 1 + 5 + 4 + 2
# Bytes that can start a map or an array; their count bounds the nesting depth.
_NOT_CONTAINER_HEAD: Final = bytes(
    b for b in range(256) if not (0x80 <= b <= 0x9F or 0xDC <= b <= 0xDF)
)


def _load_msgpack() -> Any:
    try:
        return import_module("msgpack")
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError(
            "the msgpack parser needs msgpack: pip install 'socketio-core[msgpack]'"
        ) from exc


# --------------------------------------------------------------------------
# Encoding


def _date_ext(msgpack: Any) -> Callable[[Any], Any]:
    ext_type = msgpack.ExtType

    def default(obj: Any) -> Any:
        if isinstance(obj, datetime):
            if obj.tzinfo is None or obj.utcoffset() is None:
                raise TypeError("naive datetime: give it a timezone to send it as a Date")
            # notepack: fixext 8, type 0, the Date's milliseconds as int64.
            return ext_type(0, _INT64.pack((obj - _EPOCH) // _MILLISECOND))
        raise TypeError(f"can not serialize {type(obj).__name__!r} object")

    return default


def _scrub(obj: Any) -> Any:
    """A copy with lone surrogates replaced by U+FFFD (Node's UTF-8 encoder does that)."""
    if isinstance(obj, str):
        return _SURROGATE.sub("\ufffd", obj)
    if isinstance(obj, (list, tuple)):
        return [_scrub(item) for item in obj]
    if isinstance(obj, dict):
        return {_scrub(k): _scrub(v) for k, v in obj.items()}
    return obj


def _check_packet(packet: Packet) -> PacketType:
    """The default encoder's rules about a packet's shape; returns its type."""
    ptype = packet.type
    if type(ptype) is not PacketType:
        try:
            ptype = PacketType(ptype)
        except ValueError:
            raise LocalSocketIOError(f"unknown packet type {ptype!r}") from None
    data = packet.data
    ack_id = packet.id
    if ptype is _EVENT or ptype is PacketType.BINARY_EVENT:
        if not isinstance(data, (list, tuple)) or not data:
            raise LocalSocketIOError("EVENT data must be a non-empty list [name, *args]")
        name = data[0]
        if isinstance(name, str):
            if name in RESERVED_EVENTS:
                raise LocalSocketIOError(f"{name!r} is a reserved event name")
        elif not isinstance(name, (int, float)) or isinstance(name, bool):
            raise LocalSocketIOError("an event name must be a string or a number")
    elif ptype is _ACK or ptype is PacketType.BINARY_ACK:
        if not isinstance(data, (list, tuple)):
            raise LocalSocketIOError("ACK data must be a list")
        if ack_id is None:
            raise LocalSocketIOError("an ACK needs the id of the EVENT it answers")
    else:
        if ptype is PacketType.CONNECT:
            if data is not None and not isinstance(data, dict):
                raise LocalSocketIOError("CONNECT data must be None or a dict")
        elif ptype is PacketType.DISCONNECT:
            if data is not None:
                raise LocalSocketIOError("DISCONNECT carries no data")
        elif not isinstance(data, (dict, str)):  # CONNECT_ERROR
            raise LocalSocketIOError("CONNECT_ERROR data must be a dict (or a str for v4)")
        if ack_id is not None:
            raise LocalSocketIOError(f"{ptype.name} cannot carry an ack id")
    if ack_id is not None and (type(ack_id) is not int or not 0 <= ack_id <= _MAX_ACK_ID):
        raise LocalSocketIOError(f"ack id must be an int in 0..{_MAX_ACK_ID}")
    namespace = packet.namespace
    if not isinstance(namespace, str) or not namespace.startswith("/"):
        raise LocalSocketIOError(f"invalid namespace {namespace!r}")
    return ptype


# --------------------------------------------------------------------------
# Decoding


def _depth_exceeds(value: Any, max_depth: int) -> bool:
    """Whether lists/dicts nest deeper than ``max_depth`` levels in ``value``."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > max_depth:
            return True
        for child in node.values() if type(node) is dict else node:
            kind = type(child)
            if kind is list or kind is dict:
                stack.append((child, depth + 1))
    return False


class _ExactUnpacker:
    """A plain MessagePack decoder that tells fixext from ext (the rare path).

    Reads exactly what notepack.io reads, with the ext mapping of the module
    docstring; anything else raises ValueError.
    """

    __slots__ = ("buf", "pos", "msgpack")

    _MAX_NESTING: Final = 1024  # as msgpack's own unpacker

    def __init__(self, buf: bytes, msgpack: Any) -> None:
        self.buf = buf
        self.pos = 0
        self.msgpack = msgpack

    def run(self) -> Any:
        value = self.value(0)
        if self.pos != len(self.buf):
            raise ValueError("trailing bytes")
        return value

    def take(self, size: int) -> bytes:
        start = self.pos
        end = start + size
        if end > len(self.buf):
            raise ValueError("truncated message")
        self.pos = end
        return self.buf[start:end]

    def number(self, fmt: str) -> Any:
        size = struct.calcsize(fmt)
        return struct.unpack(fmt, self.take(size))[0]

    def value(self, depth: int) -> Any:
        if depth > self._MAX_NESTING:
            raise ValueError("nested too deep")
        start = self.pos
        head = self.take(1)[0]
        if head <= 0x7F:
            return head
        if head >= 0xE0:
            return head - 0x100
        if head <= 0x8F:
            return self.map(head & 0x0F, depth)
        if head <= 0x9F:
            return [self.value(depth + 1) for _ in range(head & 0x0F)]
        if head <= 0xBF:
            return self.take(head & 0x1F).decode("utf-8")
        if head == 0xC0:
            return None
        if head == 0xC2:
            return False
        if head == 0xC3:
            return True
        if 0xC4 <= head <= 0xC6:
            return self.take(self.number(">" + "BHI"[head - 0xC4]))
        if 0xC7 <= head <= 0xC9:
            size = self.number(">" + "BHI"[head - 0xC7])
            code = self.number(">b")
            payload = self.take(size)
            if code == 0:
                return payload  # a Node ArrayBuffer / typed array
            return self.other_ext(code, start)
        if head == 0xCA:
            return self.number(">f")
        if head == 0xCB:
            return self.number(">d")
        if 0xCC <= head <= 0xD3:
            return self.number(">" + "BHIQbhiq"[head - 0xCC])
        if 0xD4 <= head <= 0xD8:
            code = self.number(">b")
            payload = self.take((1, 2, 4, 8, 16)[head - 0xD4])
            if code == 0:
                if head == 0xD4:
                    return None  # undefined
                if head == 0xD7:
                    return _EPOCH + _INT64.unpack(payload)[0] * _MILLISECOND  # Date
                return payload
            return self.other_ext(code, start)
        if 0xD9 <= head <= 0xDB:
            return self.take(self.number(">" + "BHI"[head - 0xD9])).decode("utf-8")
        if head == 0xDC or head == 0xDD:
            count = self.number(">H" if head == 0xDC else ">I")
            if count > len(self.buf) - self.pos:
                raise ValueError("array longer than the message")
            return [self.value(depth + 1) for _ in range(count)]
        if head == 0xDE or head == 0xDF:
            return self.map(self.number(">H" if head == 0xDE else ">I"), depth)
        raise ValueError(f"invalid MessagePack byte 0x{head:02x}")

    def map(self, count: int, depth: int) -> dict[Any, Any]:
        if count > len(self.buf) - self.pos:
            raise ValueError("map longer than the message")
        result: dict[Any, Any] = {}
        for _ in range(count):
            key = self.value(depth + 1)
            if type(key) is not str and type(key) is not bytes:
                raise ValueError("map keys must be strings")
            result[key] = self.value(depth + 1)
        return result

    def other_ext(self, code: int, start: int) -> Any:
        if code == -1:  # MessagePack timestamp, as the fast path reads it
            return self.msgpack.unpackb(self.buf[start : self.pos], timestamp=3)
        raise ValueError(f"unsupported MessagePack extension type {code}")


class MsgpackDecoder:
    """One connection's decoder (stateless between messages: one message, one packet)."""

    __slots__ = ("_unpackb", "_msgpack", "_hook", "_ambiguous", "max_depth")

    def __init__(self, msgpack: Any, max_depth: int) -> None:
        self._msgpack = msgpack
        self._unpackb = msgpack.unpackb
        self._hook = self._ext_hook
        # Bit 1: an ext type 0 of 1 byte was read; bit 2: one of 8 bytes;
        # bit 4: one of 8 bytes that is no Date datetime can hold.
        self._ambiguous = 0
        self.max_depth = max_depth

    def _ext_hook(self, code: int, data: bytes) -> Any:
        if code != 0:
            raise ValueError(f"unsupported MessagePack extension type {code}")
        size = len(data)
        if size == 1:  # fixext 1: undefined; ext 8: a 1-byte ArrayBuffer
            self._ambiguous |= 1
            return None
        if size == 8:  # fixext 8: a Date; ext 8: an 8-byte ArrayBuffer
            self._ambiguous |= 2
            try:
                return _EPOCH + _INT64.unpack(data)[0] * _MILLISECOND
            except OverflowError:  # not a Date datetime can hold: let the exact decoder say
                self._ambiguous |= 4
        return data

    def receive_text(self, text: str) -> Packet | None:
        raise RemoteSocketIOError("text message: the msgpack parser only takes binary messages")

    def receive_binary(self, data: bytes | bytearray | memoryview) -> Packet | None:
        raw = data if type(data) is bytes else bytes(data)
        self._ambiguous = 0
        try:
            obj = self._unpackb(raw, raw=False, ext_hook=self._hook, timestamp=3)
            ambiguous = self._ambiguous
            if ambiguous and (
                ambiguous & 4
                or (ambiguous & 1 and b"\xc7\x01\x00" in raw)
                or (ambiguous & 2 and b"\xc7\x08\x00" in raw)
            ):
                obj = _ExactUnpacker(raw, self._msgpack).run()
        except Exception as exc:  # whatever the bytes made the decoder raise
            raise RemoteSocketIOError(f"invalid MessagePack: {exc}") from exc
        if type(obj) is not dict:
            raise RemoteSocketIOError("a packet must be a MessagePack map")

        ptype = obj.get("type")
        if type(ptype) is not int or not 0 <= ptype <= 4:
            raise RemoteSocketIOError("invalid packet type")
        namespace = obj.get("nsp")
        if type(namespace) is not str or not namespace.startswith("/"):
            raise RemoteSocketIOError("invalid namespace")
        payload = obj.get("data")
        ack_id = obj.get("id")
        if ack_id is not None and (type(ack_id) is not int or not 0 <= ack_id <= _MAX_ACK_ID):
            raise RemoteSocketIOError(f"ack id must be an integer in 0..{_MAX_ACK_ID}")

        if ptype == 2:  # EVENT
            if type(payload) is not list or not payload:
                raise RemoteSocketIOError("EVENT payload must be a non-empty array")
            name = payload[0]
            if type(name) is str:
                if name in RESERVED_EVENTS:
                    raise RemoteSocketIOError("reserved event name")
            elif type(name) is not int and type(name) is not float:
                raise RemoteSocketIOError("event name must be a string or a number")
        elif ptype == 3:  # ACK
            if type(payload) is not list:
                raise RemoteSocketIOError("ACK payload must be an array")
            if ack_id is None:
                raise RemoteSocketIOError("ACK packet without an ack id")
        else:
            if ack_id is not None:
                raise RemoteSocketIOError(f"{_TYPES[ptype].name} packet with an ack id")
            if ptype == 0:  # CONNECT
                if payload is not None and type(payload) is not dict:
                    raise RemoteSocketIOError("CONNECT payload must be a map")
            elif ptype == 1:  # DISCONNECT
                if payload is not None:
                    raise RemoteSocketIOError("DISCONNECT packet with a payload")
            elif type(payload) is not dict and type(payload) is not str:  # CONNECT_ERROR
                raise RemoteSocketIOError("CONNECT_ERROR payload must be a map or a string")

        max_depth = self.max_depth
        # Each level of nesting costs a byte, and a packet has 18 bytes besides
        # its data ({type, data, nsp: "/"}); each map/array has a head byte in
        # 0x80-0x9f or 0xdc-0xdf, and there are more of them than the limit
        # (besides the packet's own map) before the data can be too deep.
        if (
            (type(payload) is list or type(payload) is dict)
            and len(raw) > _PACKET_OVERHEAD + max_depth
            and len(raw.translate(None, _NOT_CONTAINER_HEAD)) - 1 > max_depth
            and _depth_exceeds(payload, max_depth)
        ):
            raise RemoteSocketIOError(f"data nested deeper than {max_depth} levels")
        return _make_packet(_TYPES[ptype], namespace, payload, ack_id)


class MsgpackParser:
    """The npm socket.io-msgpack-parser's format (see the module docstring).

    ``max_depth`` bounds the nesting of received data, as for the default
    parser. Raises ImportError, naming the extra, when msgpack is missing.
    """

    __slots__ = ("_msgpack", "_pack", "_packb", "_default", "_nsp_entries", "max_depth")

    def __init__(self, *, max_depth: int = DEFAULT_MAX_DEPTH) -> None:
        if type(max_depth) is not int or max_depth < 1:
            raise LocalSocketIOError(f"max_depth must be an int >= 1, not {max_depth!r}")
        msgpack = _load_msgpack()
        self._msgpack = msgpack
        # A Packer of our own, reused: ~40% faster than packb. Without a
        # ``default`` hook it runs no Python code, so it is never re-entered
        # (emits from other threads reach the hub's thread first anyway);
        # what needs the hook goes through packb.
        self._pack: Callable[[Any], bytes] = msgpack.Packer(use_bin_type=True).pack
        self._packb: Callable[..., bytes] = msgpack.packb
        self._default = _date_ext(msgpack)
        self._nsp_entries: dict[str, bytes] = {}
        self.max_depth = max_depth

    def new_decoder(self) -> MsgpackDecoder:
        return MsgpackDecoder(self._msgpack, self.max_depth)

    def encode(self, packet: Packet) -> list[Wire]:
        """The packet as one binary Engine.IO message (raises LocalSocketIOError)."""
        ptype = _check_packet(packet)
        data = packet.data
        ack_id = packet.id
        namespace = packet.namespace
        tail = self._nsp_entries.get(namespace)
        if tail is None:
            tail = self._nsp_entry(namespace)
        if ack_id is not None:
            tail += _KEY_ID + (bytes((ack_id,)) if ack_id < 0x80 else self._pack(ack_id))
        head = _HEADS[data is not None, ack_id is not None, _WIRE_TYPE[ptype]]
        if data is None:
            return [head + tail]
        try:
            body = self._pack(data)
        except (TypeError, ValueError, OverflowError):
            body = self._packed(data)
        return [b"".join((head, body, tail))]

    def _nsp_entry(self, namespace: str) -> bytes:
        entry = _KEY_NSP + self._packed(namespace)
        entries = self._nsp_entries
        if len(entries) >= _MAX_CACHED_NAMESPACES:
            entries.clear()
        entries[namespace] = entry
        return entry

    def _packed(self, value: Any) -> bytes:
        """``value`` packed, through packb's ``default`` hook when the shared Packer refuses it."""
        try:
            return self._pack(value)
        except (TypeError, ValueError, OverflowError):
            pass
        packb = self._packb
        default = self._default
        try:
            try:
                return packb(value, use_bin_type=True, default=default)
            except UnicodeEncodeError:
                return packb(_scrub(value), use_bin_type=True, default=default)
        except (TypeError, ValueError, OverflowError, RecursionError) as exc:
            raise not_serializable("MessagePack", exc) from exc
