"""Decoding Socket.IO packets: :class:`PacketDecoder`, one per connection.

A binary packet spans several Engine.IO messages (its text, then one message
per attachment), so decoding keeps state. The hot path is a plain EVENT on
``/``: decoding skips header parsing when the JSON starts right after the
type digit, and only counts nesting depth when the text holds more brackets
than the limit, so a short event is one C scanner call;
:meth:`PacketDecoder.event_fast` goes further for events and is held to
:meth:`PacketDecoder.receive_text` by a differential test.

A decoded binary packet keeps its BINARY_EVENT / BINARY_ACK type (the
reference parser downgrades it to EVENT / ACK): the type then says the truth
about what was on the wire, and :func:`encode_packet` re-derives the wire type
from the data anyway, so EVENT and BINARY_EVENT are interchangeable on input.
Stricter than the reference decoder, on input no conforming client sends: an
ack id on CONNECT/DISCONNECT/CONNECT_ERROR, EVENT/ACK/CONNECT_ERROR without
payload, a non-object CONNECT_ERROR, a zero or non-digit attachment count.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Final, Union

from ._errors import LocalSocketIOError, RemoteSocketIOError
from ._json import _DEFAULT_DECODER, _default_scan

#: The default JSON decoding, bound once (not a bound method per connection's decoder).
_DEFAULT_LOADS: Callable[[str], Any] = _DEFAULT_DECODER.decode
from ._packets import (
    _ACK,
    _BINARY_ACK,
    _BINARY_EVENT,
    _CONNECT,
    _CONNECT_ERROR,
    _DISCONNECT,
    _EVENT,
    _MAX_COUNT_DIGITS,
    _TYPE_BY_CHAR,
    DEFAULT_MAX_ATTACHMENT_BYTES,
    DEFAULT_MAX_ATTACHMENTS,
    DEFAULT_MAX_DEPTH,
    MAX_ACK_ID_DIGITS,
    RESERVED_EVENTS,
    Loads,
    Packet,
    PacketType,
    _make_packet,
)

__all__ = ["PacketDecoder"]


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
        self._loads: Loads = _DEFAULT_LOADS if loads is None else loads
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
