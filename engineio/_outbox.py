"""What a session has to write: queueing packets and draining them per transport ([EIO4] "Packet encoding", "HTTP long-polling"; [EIO3]).

Kept apart from the session's input and lifecycle because it is the other
direction with rules of its own: one buffer of wire items (text with its
type digit, or raw bytes) bounded by ``max_buffer_bytes``; a polling GET
takes one payload of at most ``max_payload`` bytes and
``max_packets_per_poll`` packets, a WebSocket every item as one frame; v3
re-encodes at this edge only (:mod:`._v3`). Draining is also where the
session learns that its OPEN packet or its close packet left, so two state
moves start here. Every method here is a method of
:class:`engineio._session.Session` (this class is one of its bases, with no
slots of its own), so the hot paths (a broadcast's ``send_encoded`` per
recipient, a drain per write) call nothing more than they did.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ._config import _WEBSOCKET, Config
from ._errors import LocalProtocolError
from ._events import CloseReason
from ._packets import _MESSAGE, _NOOP, Wire, encoded_size, encode_payload
from ._state import _CLOSED, _CLOSING, _OPEN, _OPENING, _UPGRADING, Input, State
from ._v3 import encode_frame_v3, encode_payload_v3

__all__ = ["Outbox"]

_SEPARATOR_BYTES = 1


def _utf8_safe(text: str) -> str:
    """``text`` with lone surrogates replaced by U+FFFD (it is returned as is if encodable)."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text


class Outbox:
    """The output methods of :class:`engineio._session.Session` (a base with no state of its own)."""

    # No slots of its own (Session's hold the state, and one empty tuple keeps
    # instances free of a __dict__); hidden from mypy, which would otherwise
    # refuse every assignment here to a slot only Session declares.
    if not TYPE_CHECKING:
        __slots__ = ()

    # The session's state these work on (slots of Session).
    transport: str
    config: Config
    protocol: int
    supports_binary: bool
    state: State
    _buffer: list[Wire]
    _buffered_bytes: int
    _noop_owed: bool
    _final: str | None
    _close_reason: CloseReason

    if TYPE_CHECKING:

        def _move(self, event: Input) -> None: ...

        def _abort(self, reason: CloseReason, description: str, final: str | None = ...) -> None: ...

        def _closed(self, reason: CloseReason, description: str, final: str | None) -> None: ...

    def send_message(self, data: str | bytes) -> None:
        """Queue a ``message`` packet (text or binary).

        Raises LocalProtocolError once the session is closing or closed.
        """
        self.send_encoded(_MESSAGE + data if type(data) is str else data)

    def send_encoded(self, wire: Wire) -> None:
        """Queue a packet already encoded for the wire (``"42[...]"`` or raw bytes).

        Lets a broadcast encode once and hand the same object to every session.
        The buffer is counted in wire items' lengths, the same measure a
        partial drain recounts. Text that UTF-8 cannot carry (lone surrogates)
        has them replaced by U+FFFD here, as a browser would, so no writer
        ever fails on it.

        Raises LocalProtocolError once the session is closing or closed.
        """
        if self.state is _CLOSING or self.state is _CLOSED:
            raise LocalProtocolError(f"cannot send on a {self.state.value} session")
        if isinstance(wire, str) and not wire.isascii():
            wire = _utf8_safe(wire)
        self._buffer.append(wire)
        self._buffered_bytes += len(wire)
        if self._buffered_bytes > self.config.max_buffer_bytes:
            self._slow_consumer()

    def may_write_through(self) -> bool:
        """Whether a text message may skip the buffer: the caller writes its frame itself, now.

        Only an open WebSocket session with nothing buffered: written at once,
        the message still follows everything sent before it, and the session
        has nothing to learn of it (a message changes no state and no
        deadline; the buffer only counts what waits). A broadcast asks it of
        each recipient before writing a frame built once for all of them;
        anything else (polling, an upgrade, the OPEN packet or a ping not yet
        written, closing) goes through :meth:`send_encoded`. The caller must
        not write when its own writer is busy either: what it owns then is
        output the session no longer holds.
        """
        return self.state is _OPEN and not self._buffer and self.transport == _WEBSOCKET

    def _slow_consumer(self) -> None:
        """The client's outgoing buffer overflowed: drop the client, not the server's memory."""
        self._abort(CloseReason.SLOW_CONSUMER, "outgoing buffer full")

    def drain_polling(self) -> bytes | None:
        """The body for the pending polling GET, or None to keep it waiting.

        One payload per GET, at most ``max_payload`` bytes unless a single
        packet is larger (a packet is never split). During an upgrade
        messages keep going out on the poll, as Node's server sends them; a
        poll with nothing to carry ends with a noop once ``UPGRADE_NOOP_DELAY``
        has passed since the probe (see :meth:`handle_timeout`).
        """
        state = self.state
        if state is _CLOSED:
            final, self._final = self._final, None
            return self._encode([final]) if final is not None else None
        if self.transport != "polling":
            return self._encode([_NOOP])  # a poll that outlived the upgrade
        buffer = self._buffer
        if not buffer:
            # Once the noop is due, every poll is owed one at once, not just
            # the one pending then: the client may have polled again before
            # it saw 3probe, and it sends the upgrade packet only after that
            # poll ends, so holding it would stall the upgrade.
            if state is _UPGRADING and self._noop_owed:
                return self._encode([_NOOP])
            return None
        if state is _OPENING:
            # The handshake response carries the OPEN packet alone.
            self._move(Input.OPEN_SENT)
            return self._encode([buffer.pop(0)])
        limit = self.config.max_payload
        max_count = self.config.max_packets_per_poll
        size = 0
        count = 0
        for item in buffer:
            size += encoded_size(item) + (_SEPARATOR_BYTES if count else 0)
            if count and (size > limit or count >= max_count):
                break
            count += 1
        if count == len(buffer):
            items, self._buffer = buffer, []
            self._buffered_bytes = 0
        else:
            items, self._buffer = buffer[:count], buffer[count:]
            self._buffered_bytes = sum(len(w) for w in self._buffer)
        body = self._encode(items)
        if state is _CLOSING and not self._buffer:
            self._delivered_close()
        return body

    def _encode(self, items: list[Wire]) -> bytes:
        """One polling body in this session's protocol.

        v3 bodies may be in the binary format (application/octet-stream):
        tell them apart with :func:`engineio.is_binary_payload`.
        """
        if self.protocol == 3:
            return encode_payload_v3(items, supports_binary=self.supports_binary)
        return encode_payload(items)

    def drain_frames(self) -> list[Wire]:
        """Every buffered packet, one per WebSocket message, on a WebSocket session.

        Text packets are ``str`` (type digit included), binary messages raw
        ``bytes`` (v3: with their type byte, or ``b4<base64>`` text for a
        client that asked for ``b64=1``).
        """
        if self.transport != "websocket" or not self._buffer:
            return []
        items, self._buffer = self._buffer, []
        self._buffered_bytes = 0
        if self.state is _OPENING:
            self._move(Input.OPEN_SENT)
        elif self.state is _CLOSING:
            self._delivered_close()
        if self.protocol == 3:
            binary = self.supports_binary
            items = [i if isinstance(i, str) else encode_frame_v3(i, supports_binary=binary) for i in items]
        return items

    def _delivered_close(self) -> None:
        self._move(Input.CLOSE_DELIVERED)
        self._closed(self._close_reason, "closed by the server", None)
