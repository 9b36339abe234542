"""Socket.IO v5 packets: the text codec and binary-attachment reassembly.

Implements [SIO5] "Packet encoding" (PROTOCOL.md 2.2), binary attachments as
the reference parser frames them (2.3) and the payload rules of 2.1, 2.4, 2.5.

Strategy. A packet is ``<type>[<n>-][<namespace>,][<ack id>][<JSON>]`` plus
``n`` binary messages; we handle the text *without* the Engine.IO ``4`` prefix,
which belongs to the layer below. Encoding is a function (it has no state);
decoding is a :class:`PacketDecoder` per connection because a binary packet
spans several Engine.IO messages. The hot path is a plain EVENT on ``/``, in
both directions, so:

* encoding asks the JSON encoder to find binary for us: the default encoder's
  ``default`` hook fires on the first buffer and only then do we walk the
  data to swap buffers for placeholders. A plain event costs one encoder call
  and one concatenation. An injected ``dumps`` may accept bytes on its own
  (ujson does), so with one we walk the data first.
* decoding skips header parsing when the JSON starts right after the type
  digit, and only counts nesting depth when the text holds more brackets
  than the limit, so a short event is one C scanner call.

A decoded binary packet keeps its BINARY_EVENT / BINARY_ACK type (the
reference parser downgrades it to EVENT / ACK): the type then says the truth
about what was on the wire, and :func:`encode_packet` re-derives the wire type
from the data anyway, so EVENT and BINARY_EVENT are interchangeable on input.
Stricter than the reference decoder, on input no conforming client sends: an
ack id on CONNECT/DISCONNECT/CONNECT_ERROR, EVENT/ACK/CONNECT_ERROR without
payload, a non-object CONNECT_ERROR, a zero or non-digit attachment count.
"""

from __future__ import annotations

import json
import json.encoder
import json.scanner
import re
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Callable, Final, Union

from engineio._util import trusted_builder

from ._errors import LocalSocketIOError, RemoteSocketIOError

__all__ = [
    "PacketType",
    "Packet",
    "PacketDecoder",
    "encode_packet",
    "encode_event_fast",
    "encode_ack_fast",
    "BinaryFound",
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

# --------------------------------------------------------------------------
# JSON: JavaScript-compatible defaults


class BinaryFound(Exception):
    """A JSON encoder met a buffer: the packet needs attachments.

    The default encoder raises it from its ``default`` hook; an injected
    ``dumps`` may raise it too, and say so (``dumps_finds_binary``), so that
    :func:`encode_packet` need not walk the data for buffers first.
    """


_BinaryFound = BinaryFound


def _not_json(obj: object) -> Any:
    # The encoder's ``default`` hook: called only for values JSON cannot hold.
    if isinstance(obj, _BUFFER_TYPES):
        raise _BinaryFound
    raise TypeError(f"Object of type {type(obj).__name__} is not JSON serializable")


def _build_default_dumps() -> Dumps:
    """Return the fastest available JSON.stringify-compatible serialiser.

    JSON.stringify is compact and leaves non-ASCII alone. NaN and Infinity
    raise ValueError here (Python would write invalid JSON); encode_packet
    then rewrites them to ``null`` as JSON.stringify does. ``JSONEncoder.encode`` rebuilds the C encoder on every call; keeping
    one C encoder ourselves halves the cost of a small event. That constructor
    is an implementation detail of CPython, so it is used only if it exists
    and provably produces the same text; otherwise we fall back.
    """
    portable = json.JSONEncoder(
        separators=(",", ":"), ensure_ascii=False, allow_nan=False, default=_not_json
    ).encode
    make_encoder: Any = getattr(json.encoder, "c_make_encoder", None)
    if make_encoder is None:  # pragma: no cover - CPython always has it
        return portable
    try:
        # markers=None: no circular-reference bookkeeping; a cycle instead
        # ends in RecursionError, which encode_packet reports as our misuse.
        chunks = make_encoder(
            None, _not_json, json.encoder.encode_basestring, None, ":", ",", False, False, False
        )
    except Exception:  # pragma: no cover - signature changed in some CPython
        return portable

    def dumps(obj: Any) -> str:
        return "".join(chunks(obj, 0))

    probe = ["é\u2028\n\"\\", {"a": [1, 2.5, -0.0, None, True, 10**20], "": {}}, []]
    try:
        if dumps(probe) == portable(probe):
            return dumps
    except Exception:  # pragma: no cover
        pass
    return portable  # pragma: no cover


_default_dumps: Final = _build_default_dumps()


def _reject_constant(name: str) -> Any:
    # JSON.parse has no NaN / Infinity; Python's decoder accepts them by default.
    raise ValueError(f"{name} is not valid JSON")


_DEFAULT_DECODER: Final = json.JSONDecoder(parse_constant=_reject_constant)
# The scanner parses one value at an index without slicing the text and
# without the whitespace regexes of ``decode``; it raises StopIteration when
# there is no value at that index.
# (typeshed types its argument as a scanner; it takes the decoder, duck-typed.)
_scanner_context: Any = _DEFAULT_DECODER
_default_scan: Final = json.scanner.make_scanner(_scanner_context)

# Python strings may hold lone surrogates (e.g. decoded from "\ud800"), which
# ensure_ascii=False would emit raw: not encodable as UTF-8, and not what
# JSON.stringify writes (it escapes them, in lower case).
_SURROGATE: Final = re.compile("[\ud800-\udfff]")


def _escape_surrogate(match: re.Match[str]) -> str:
    return f"\\u{ord(match.group()):04x}"


# --------------------------------------------------------------------------
# Encoding


def _has_binary(obj: Any) -> bool:
    if isinstance(obj, _BUFFER_TYPES):
        return True
    if isinstance(obj, (list, tuple)):
        for item in obj:
            if _has_binary(item):
                return True
    elif isinstance(obj, dict):
        for item in obj.values():
            if _has_binary(item):
                return True
    return False


def _prepare(obj: Any, buffers: list[bytes]) -> Any:
    """Copy ``obj`` for JSON: buffers become placeholders, non-finite floats null.

    Buffers are numbered depth-first, in order, as the reference does. NaN and
    +-Infinity become ``None`` because that is what JSON.stringify writes for
    them. Only called when the plain encoding failed, so its cost is off the
    fast path.
    """
    if isinstance(obj, _BUFFER_TYPES):
        buffers.append(obj if type(obj) is bytes else bytes(obj))
        # Key order as the reference writes it: "_placeholder" first.
        return {"_placeholder": True, "num": len(buffers) - 1}
    if isinstance(obj, (list, tuple)):
        return [_prepare(item, buffers) for item in obj]
    if isinstance(obj, dict):
        return {key: _prepare(value, buffers) for key, value in obj.items()}
    if isinstance(obj, float) and obj - obj != 0.0:  # NaN or infinite
        return None
    return obj


def encode_packet(
    packet: Packet, *, dumps: Dumps | None = None, dumps_finds_binary: bool = False
) -> tuple[str, list[bytes]]:
    """Serialise ``packet`` to its text (without the Engine.IO ``4``) and attachments.

    An EVENT or ACK whose data holds ``bytes``/``bytearray``/``memoryview``
    anywhere in nested lists, tuples or dicts is sent as BINARY_EVENT /
    BINARY_ACK; a BINARY_* packet without any buffer is sent as the plain type.
    The attachments must go out as binary messages right after the text, in
    order. ``dumps`` replaces the default JSON.stringify-compatible encoder
    (which, like JSON.stringify, writes NaN and +-Infinity as ``null``). An
    injected ``dumps`` is assumed to accept buffers silently, so the data is
    walked for them first, unless ``dumps_finds_binary`` says it raises
    :class:`BinaryFound` (or ``ValueError``) on one, as the default does.

    Raises :class:`LocalSocketIOError` if the packet cannot be expressed: a
    payload of the wrong shape for its type (EVENT: non-empty list whose first
    item is a non-reserved name or a number; ACK: list plus an id; CONNECT:
    ``None`` or dict; CONNECT_ERROR: dict, or a string for Socket.IO v4
    clients; DISCONNECT: ``None``), an ack id on another type or outside
    ``0 .. 10**15 - 1``, a namespace not starting with ``/`` or containing
    ``,``, binary outside EVENT/ACK, or data the JSON encoder refuses (a set,
    a non-str key other than int/float/bool/None, a cycle).
    """
    ptype = packet.type
    if type(ptype) is not PacketType:
        try:
            ptype = PacketType(ptype)
        except ValueError:
            raise LocalSocketIOError(f"unknown packet type {ptype!r}") from None
    data = packet.data
    ack_id = packet.id

    if ptype is _EVENT or ptype is _BINARY_EVENT:
        if not isinstance(data, (list, tuple)) or not data:
            raise LocalSocketIOError("EVENT data must be a non-empty list [name, *args]")
        name = data[0]
        if isinstance(name, str):
            if name in RESERVED_EVENTS:
                raise LocalSocketIOError(f"{name!r} is a reserved event name")
        elif not isinstance(name, (int, float)) or isinstance(name, bool):
            raise LocalSocketIOError("an event name must be a string or a number")
        may_carry_binary = True
    elif ptype is _ACK or ptype is _BINARY_ACK:
        if not isinstance(data, (list, tuple)):
            raise LocalSocketIOError("ACK data must be a list")
        if ack_id is None:
            raise LocalSocketIOError("an ACK needs the id of the EVENT it answers")
        may_carry_binary = True
    else:
        if ptype is _CONNECT:
            if data is not None and not isinstance(data, dict):
                raise LocalSocketIOError("CONNECT data must be None or a dict")
        elif ptype is _DISCONNECT:
            if data is not None:
                raise LocalSocketIOError("DISCONNECT carries no data")
        elif not isinstance(data, (dict, str)):  # CONNECT_ERROR
            raise LocalSocketIOError("CONNECT_ERROR data must be a dict (or a str for v4)")
        if ack_id is not None:
            raise LocalSocketIOError(f"{ptype.name} cannot carry an ack id")
        may_carry_binary = False

    namespace = packet.namespace
    if namespace == "/":
        head = ""
    elif isinstance(namespace, str) and namespace.startswith("/") and "," not in namespace:
        head = namespace + ","
    else:
        raise LocalSocketIOError(f"invalid namespace {namespace!r}")
    if ack_id is not None:
        if type(ack_id) is not int or not 0 <= ack_id <= _MAX_ACK_ID:
            raise LocalSocketIOError(f"ack id must be an int in 0..{_MAX_ACK_ID}")
        head += str(ack_id)

    if data is None:
        return _PLAIN_CHAR[ptype] + head, []

    buffers: list[bytes] = []
    try:
        if dumps is None:
            try:
                text = _default_dumps(data)
            except (_BinaryFound, ValueError):
                # A buffer, or NaN/Infinity (ValueError): rewrite and retry.
                data = _prepare(data, buffers)
                text = _default_dumps(data)
        elif dumps_finds_binary:
            try:
                text = dumps(data)
            except (_BinaryFound, ValueError):
                data = _prepare(data, buffers)
                text = dumps(data)
        elif may_carry_binary and _has_binary(data):
            text = dumps(_prepare(data, buffers))
        else:
            text = dumps(data)
    except (TypeError, ValueError, RecursionError) as exc:
        raise LocalSocketIOError(f"data cannot be serialised to JSON: {exc}") from exc
    if buffers and not may_carry_binary:
        raise LocalSocketIOError("binary data is only allowed in EVENT and ACK packets")

    # str.isascii() is O(1) in CPython, so ASCII text pays nothing; other text
    # pays one UTF-8 encode (~2x faster than a regex search for surrogates).
    if not text.isascii():
        try:
            text.encode("utf-8")
        except UnicodeEncodeError:
            text = _SURROGATE.sub(_escape_surrogate, text)

    if buffers:
        digit = "5" if ptype is _EVENT or ptype is _BINARY_EVENT else "6"
        return f"{digit}{len(buffers)}-{head}{text}", buffers
    return _PLAIN_CHAR[ptype] + head + text, buffers


def encode_event_fast(namespace: str, data: list[Any], ack_id: int | None) -> str | None:
    """The Engine.IO wire text of a plain EVENT (``42...``), or None.

    The hot path of every emit: no Packet object, no generic validation. It
    answers only for what it can encode exactly like :func:`encode_packet`
    (a str name that is not reserved, a valid namespace and ack id, data the
    default encoder takes without binary, ASCII text); for anything else it
    returns None and the caller takes the general path.
    """
    if type(data) is not list or not data:
        return None
    name = data[0]
    if type(name) is not str or name in RESERVED_EVENTS:
        return None
    return _encode_plain_fast("42", namespace, data, ack_id)


def encode_ack_fast(namespace: str, ack_id: int, args: list[Any]) -> str | None:
    """The Engine.IO wire text of a plain ACK (``43<id>[...]``), or None.

    Like :func:`encode_event_fast`, for a handler's answer: None when the
    general path must decide (binary, an odd namespace or id, non-ASCII).
    """
    if type(args) is not list or type(ack_id) is not int:
        return None
    return _encode_plain_fast("43", namespace, args, ack_id)


def _encode_plain_fast(digits: str, namespace: str, data: list[Any], ack_id: int | None) -> str | None:
    try:
        text = _default_dumps(data)
    except (_BinaryFound, ValueError, TypeError, RecursionError):
        return None
    if not text.isascii():
        return None  # the general path handles surrogates
    if namespace == "/":
        head = digits
    elif namespace.startswith("/") and "," not in namespace:
        head = digits + namespace + ","
    else:
        return None
    if ack_id is None:
        return head + text
    if type(ack_id) is not int or not 0 <= ack_id <= _MAX_ACK_ID:
        return None
    return f"{head}{ack_id}{text}"


# --------------------------------------------------------------------------
# Decoding

_digit_run: Final = re.compile("[0-9]*").match
#: ``2``, an optional ``/namespace,``, optional ASCII digits (the ack id), then the array.
_event_head: Final = re.compile("2(?:(/[^,]*),)?([0-9]*)\\[").match


def _digits_end(text: str, pos: int) -> int:
    """Index just past the run of ASCII digits at ``pos`` (int() would take any Unicode digit)."""
    match = _digit_run(text, pos)
    return pos if match is None else match.end()

# Nesting-depth check, in C-speed string operations only (see _nesting_exceeds).
_TO_SQUARE: Final = bytes.maketrans(b"{}", b"[]")
_NOT_BRACKET: Final = bytes(c for c in range(256) if c not in b"[]{}")


def _nesting_exceeds(text: str, max_depth: int) -> bool:
    """Tell whether the JSON ``text`` nests arrays/objects deeper than ``max_depth``.

    Exact for valid JSON; invalid JSON may get either answer, and the parser
    refuses it anyway (the C scanner itself stops at the recursion limit with
    RecursionError). A per-character Python loop would cost several times the
    parse, so instead: drop escaped backslashes and quotes, keep the text
    outside string literals (every other piece between quotes), keep only the
    brackets as ``[`` / ``]``, then peel one level of innermost ``[]`` pairs
    per pass (``bytes.replace`` does not rescan the pairs it creates). Shallow
    data empties in a few passes; deep data shows a run of ``max_depth + 1``
    openers early, and at most ``max_depth`` passes are made (~10 ms for the
    worst 1 MB message we could construct).
    """
    if "\\" in text:
        text = text.replace("\\\\", "").replace('\\"', "")
    outside = "".join(text.split('"')[::2])
    # Outside strings, valid JSON is ASCII, so nothing relevant is dropped.
    brackets = outside.encode("ascii", "ignore").translate(_TO_SQUARE, _NOT_BRACKET)
    too_deep = b"[" * (max_depth + 1)
    passes = 0
    while brackets:
        if passes == max_depth or too_deep in brackets:
            return True
        peeled = brackets.replace(b"[]", b"")
        if len(peeled) == len(brackets):
            return False  # unbalanced: not JSON, the parser will say so
        brackets = peeled
        passes += 1
    return False


# A placeholder found in the text: its container, its key there, its index.
# (The container is Any: a list indexed by int or a dict indexed by str.)
_Ref = tuple[Any, Union[int, str], int]


def _collect_placeholders(node: Any, count: int, refs: list[_Ref]) -> None:
    # ``node`` is a list or dict freshly parsed from the peer's JSON; its depth
    # is bounded by max_depth, so the recursion is too.
    items = enumerate(node) if isinstance(node, list) else node.items()
    for key, value in items:
        if isinstance(value, dict):
            # Only the shape our encoder and the reference write counts.
            if value.get("_placeholder") is True:
                num = value.get("num")
                if type(num) is not int or not 0 <= num < count:
                    raise RemoteSocketIOError(
                        f"attachment placeholder num must be an int in [0, {count})"
                    )
                refs.append((node, key, num))
            else:
                _collect_placeholders(value, count, refs)
        elif isinstance(value, list):
            _collect_placeholders(value, count, refs)


class PacketDecoder:
    """Turns the Socket.IO messages of one connection back into packets.

    Feed every Engine.IO ``message`` in arrival order: text to
    :meth:`receive_text`, binary to :meth:`receive_binary`. Each returns the
    completed :class:`Packet`, or ``None`` while a binary packet still waits
    for attachments. Every protocol violation raises
    :class:`RemoteSocketIOError`; the reference server then closes the
    Engine.IO connection, and so should we. After an error the decoder is
    reset (any half-assembled packet is dropped).

    ``loads`` replaces the default JSON parser (which, like JSON.parse,
    refuses NaN and Infinity). The limits are per connection:
    ``max_attachments`` per packet, ``max_depth`` levels of JSON nesting, and
    ``max_attachment_bytes`` summed over one packet's attachments.

    Raises :class:`LocalSocketIOError` if a limit is below 1.
    """

    __slots__ = (
        "_loads",
        "_scan",
        "_max_attachments",
        "_max_depth",
        "_max_attachment_bytes",
        "_pending",
        "_expected",
        "_buffers",
        "_refs",
        "_received_bytes",
    )

    def __init__(
        self,
        *,
        loads: Loads | None = None,
        max_attachments: int = DEFAULT_MAX_ATTACHMENTS,
        max_depth: int = DEFAULT_MAX_DEPTH,
        max_attachment_bytes: int = DEFAULT_MAX_ATTACHMENT_BYTES,
    ) -> None:
        for name, value in (
            ("max_attachments", max_attachments),
            ("max_depth", max_depth),
            ("max_attachment_bytes", max_attachment_bytes),
        ):
            if type(value) is not int or value < 1:
                raise LocalSocketIOError(f"{name} must be an int >= 1, not {value!r}")
        if max_attachments >= 10**_MAX_COUNT_DIGITS:
            raise LocalSocketIOError(f"max_attachments must be below 10**{_MAX_COUNT_DIGITS}")
        self._loads: Loads = _DEFAULT_DECODER.decode if loads is None else loads
        self._scan: Callable[[str, int], tuple[Any, int]] | None = (
            _default_scan if loads is None else None
        )
        self._max_attachments = max_attachments
        self._max_depth = max_depth
        self._max_attachment_bytes = max_attachment_bytes
        # The binary packet being assembled: (type, namespace, data, ack id).
        self._pending: tuple[PacketType, str, Any, int | None] | None = None
        self._expected = 0
        self._buffers: list[bytes] = []
        self._refs: list[_Ref] = []
        self._received_bytes = 0

    @property
    def pending_attachments(self) -> int:
        """How many binary messages the packet being assembled still needs."""
        return self._expected - len(self._buffers) if self._pending is not None else 0

    def _reset(self) -> None:
        self._pending = None
        self._expected = 0
        self._buffers = []
        self._refs = []
        self._received_bytes = 0

    def _fail(self, reason: str) -> RemoteSocketIOError:
        self._reset()
        return RemoteSocketIOError(reason)

    def receive_text(self, text: str) -> Packet | None:
        """Decode one text message (without the Engine.IO ``4`` prefix).

        Returns the packet, or ``None`` if it announced attachments.
        Raises :class:`RemoteSocketIOError` on any malformed packet, and on a
        text message arriving while attachments are still expected.
        """
        if self._pending is not None:
            raise self._fail("text packet received while binary attachments were pending")
        if not text:
            raise RemoteSocketIOError("empty packet")
        ptype = _TYPE_BY_CHAR.get(text[0])
        if ptype is None:
            raise RemoteSocketIOError("unknown packet type")
        size = len(text)
        binary = ptype is _BINARY_EVENT or ptype is _BINARY_ACK
        if size == 1 or (text[1] in "[{" and not binary):
            # Fast path: no attachment count, namespace "/", no ack id.
            count, namespace, ack_id, start = 0, "/", None, 1
        else:
            count, namespace, ack_id, start = self._parse_header(text, ptype, binary)

        # Checks that need no JSON, before paying for the parse.
        if ack_id is not None and ptype in (_CONNECT, _DISCONNECT, _CONNECT_ERROR):
            raise RemoteSocketIOError(f"{ptype.name} packet with an ack id")
        if start == size:
            if ptype is _CONNECT or ptype is _DISCONNECT:
                return _make_packet(ptype, namespace, None, None)
            raise RemoteSocketIOError(f"{ptype.name} packet without payload")
        if ptype is _DISCONNECT:
            raise RemoteSocketIOError("DISCONNECT packet with a payload")
        if ack_id is None and (ptype is _ACK or ptype is _BINARY_ACK):
            raise RemoteSocketIOError(f"{ptype.name} packet without an ack id")

        data = self._parse_json(text, start)

        if ptype is _EVENT or ptype is _BINARY_EVENT:
            if not isinstance(data, list) or not data:
                raise RemoteSocketIOError("EVENT payload must be a non-empty array")
            name = data[0]
            if isinstance(name, str):
                if name in RESERVED_EVENTS:
                    raise RemoteSocketIOError("reserved event name")
            elif not isinstance(name, (int, float)) or isinstance(name, bool):
                raise RemoteSocketIOError("event name must be a string or a number")
        elif ptype is _ACK or ptype is _BINARY_ACK:
            if not isinstance(data, list):
                raise RemoteSocketIOError("ACK payload must be an array")
        elif not isinstance(data, dict):  # CONNECT, CONNECT_ERROR
            raise RemoteSocketIOError(f"{ptype.name} payload must be an object")

        if not binary:
            return _make_packet(ptype, namespace, data, ack_id)
        refs: list[_Ref] = []
        _collect_placeholders(data, count, refs)
        self._pending = (ptype, namespace, data, ack_id)
        self._expected = count
        self._refs = refs
        return None

    def event_fast(self, text: str) -> tuple[str, list[Any], int | None] | None:
        """A plain EVENT's ``(namespace, data, ack id)`` in one pass, or None.

        The hot path of every incoming event (``2[...]``, ``2/chat,7[...]``):
        no Packet object and no generic header parse. It answers only for a
        well-formed event with a string name that is not reserved; for
        anything else (other types, binary, numeric names, odd headers, bad
        payloads) it returns None and :meth:`receive_text` decides, with its
        exact error. Bad JSON raises here as it would there.
        """
        if self._pending is not None or text[:1] != "2":
            return None
        if text[1:2] == "[":
            namespace, ack_id, start = "/", None, 1
        else:
            head = _event_head(text)
            if head is None:
                return None
            namespace = head.group(1) or "/"
            digits = head.group(2)
            if len(digits) > MAX_ACK_ID_DIGITS:
                return None
            ack_id = int(digits) if digits else None
            start = head.end() - 1
        data = self._parse_json(text, start)
        if type(data) is not list or not data:
            return None
        name = data[0]
        if type(name) is not str or name in RESERVED_EVENTS:
            return None
        return namespace, data, ack_id

    def receive_binary(self, data: bytes | bytearray | memoryview) -> Packet | None:
        """Take one binary message: the next attachment of the pending packet.

        Returns the packet, buffers in place of its placeholders, once the
        last attachment arrived; ``None`` before that. Raises
        :class:`RemoteSocketIOError` if no attachment is expected or the
        attachments exceed ``max_attachment_bytes``.
        """
        pending = self._pending
        if pending is None:
            raise RemoteSocketIOError("binary message received but no attachment was expected")
        chunk = data if type(data) is bytes else bytes(data)
        self._received_bytes += len(chunk)
        if self._received_bytes > self._max_attachment_bytes:
            raise self._fail(
                f"attachments exceed {self._max_attachment_bytes} bytes"
            )
        buffers = self._buffers
        buffers.append(chunk)
        if len(buffers) < self._expected:
            return None
        for container, key, num in self._refs:
            container[key] = buffers[num]
        self._reset()
        ptype, namespace, payload, ack_id = pending
        return _make_packet(ptype, namespace, payload, ack_id)

    def _parse_header(
        self, text: str, ptype: PacketType, binary: bool
    ) -> tuple[int, str, int | None, int]:
        """Parse ``[<n>-][/<namespace>[,]][<ack id>]`` after the type digit.

        Returns (attachment count, namespace, ack id, index of the payload).
        The grammar follows the reference decoder: a ``/`` right after the type
        (or count) opens a namespace that runs to the next ``,`` or the end, and
        the ack id is the run of ASCII digits after that.
        """
        size = len(text)
        index = 1
        count = 0
        digits_end = _digits_end(text, 1)
        if binary:
            if digits_end == 1 or digits_end == size or text[digits_end] != "-":
                raise RemoteSocketIOError("binary packet without an integer attachment count")
            if digits_end - 1 > _MAX_COUNT_DIGITS:
                raise RemoteSocketIOError("too many attachments")
            count = int(text[1:digits_end])
            if count < 1:
                raise RemoteSocketIOError("attachment count must be at least 1")
            if count > self._max_attachments:
                raise RemoteSocketIOError(
                    f"too many attachments ({count} > {self._max_attachments})"
                )
            index = digits_end + 1
        elif digits_end > 1 and digits_end < size and text[digits_end] == "-":
            raise RemoteSocketIOError("attachment count on a non-binary packet")

        namespace = "/"
        if index < size and text[index] == "/":
            comma = text.find(",", index)
            if comma == -1:
                namespace, index = text[index:], size
            else:
                namespace, index = text[index:comma], comma + 1
            digits_end = _digits_end(text, index)
        elif binary:
            digits_end = _digits_end(text, index)

        ack_id = None
        if digits_end > index:
            if digits_end - index > MAX_ACK_ID_DIGITS:
                raise RemoteSocketIOError(f"ack id longer than {MAX_ACK_ID_DIGITS} digits")
            ack_id = int(text[index:digits_end])
            index = digits_end
        return count, namespace, ack_id, index

    def _parse_json(self, text: str, start: int) -> Any:
        max_depth = self._max_depth
        # Depth can only exceed the limit if there are more opening brackets
        # than the limit; counting them is C-speed, the exact scan is not.
        if (
            len(text) - start > max_depth
            and text.count("[", start) + text.count("{", start) > max_depth
            and _nesting_exceeds(text[start:], max_depth)
        ):
            raise RemoteSocketIOError(f"JSON nested deeper than {max_depth} levels")
        scan = self._scan
        if scan is not None:
            try:
                value, end = scan(text, start)
            except (StopIteration, ValueError, RecursionError):
                pass  # let the full parser below decide, and word the error
            else:
                if end == len(text):
                    return value
        # Leading/trailing whitespace (JSON.parse allows it), garbage, or an
        # injected parser: parse the payload as a whole.
        try:
            return self._loads(text[start:])
        except (ValueError, RecursionError) as exc:
            raise RemoteSocketIOError("invalid JSON payload") from exc
