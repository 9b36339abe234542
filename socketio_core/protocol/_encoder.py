"""Encoding Socket.IO packets: the general path and its fast paths, one family.

:func:`encode_packet` is the general path: any packet, validated, binary
attachments split out, JavaScript's JSON. The hot path is a plain EVENT (every
emit) and a plain ACK (every answer), so it asks the JSON encoder to find
binary for us: the default encoder's ``default`` hook fires on the first
buffer and only then do we walk the data to swap buffers for placeholders. A
plain event costs one encoder call and one concatenation. An injected
``dumps`` may accept bytes on its own (ujson does), so with one we walk the
data first.

:func:`encode_event_fast` and :func:`encode_ack_fast` are its fast paths:
they build the Engine.IO wire text of the two packets directly, and decline
(return None) for anything :func:`encode_packet` might write differently or
refuse. ``tests/socketio_core/protocol/test_event_fast_path.py`` holds them
to the general path and counts how often they answer.
"""

from __future__ import annotations

from typing import Any

from ._errors import LocalSocketIOError, not_serializable
from ._json import _SURROGATE, _BinaryFound, _default_dumps, _escape_surrogate
from ._packets import (
    _ACK,
    _BINARY_ACK,
    _BINARY_EVENT,
    _BUFFER_TYPES,
    _CONNECT,
    _DISCONNECT,
    _EVENT,
    _MAX_ACK_ID,
    _PLAIN_CHAR,
    RESERVED_EVENTS,
    Dumps,
    Packet,
    PacketType,
)

__all__ = ["encode_packet", "encode_event_fast", "encode_ack_fast"]


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
        raise not_serializable("JSON", exc) from exc
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
