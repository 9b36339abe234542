"""The per-connection Engine.IO state machine ([EIO4] "Heartbeat", "Upgrade"; [EIO3]).

Strategy, after h11 and the sans-IO guide: the session never reads a socket or
a clock. The I/O layer feeds it what arrived (a polling POST body, a WebSocket
message, a frame on a probing WebSocket), tells it the time, and asks it for
what to write (:meth:`drain_polling`, :meth:`drain_frames`,
:meth:`drain_probe`) and when to call back (:meth:`next_deadline`). Whatever
the session has to tell the layer above comes out of :meth:`next_event`.

Timers are deadlines, not callbacks, so one scheduler can drive thousands of
sessions: a ping is due ``ping_interval`` after the session opens (or after the
last pong); a missing pong closes the session ``ping_timeout`` after the ping.
A silent client is therefore closed exactly ``ping_interval + ping_timeout``
after the handshake, as the spec and the conformance suite expect.

Protocol 3 (PROTOCOL.md 3.1) is the same machine with the same state table;
only the edges differ: the payload and binary-frame codecs (:mod:`._v3`), and
the heartbeat, which runs the other way: the client pings, we answer with a
pong carrying the same data, and the one deadline is the client's next ping,
``ping_interval + ping_timeout`` after the previous one (or the handshake).

State changes only through :func:`engineio._state.next_state`.

One class, its jobs in one module each: this one holds the state and takes
input (payloads, messages, polls and posts) and closes; what the session
writes, queued and drained, is :class:`._outbox.Outbox`'s; the WebSocket
upgrade :class:`._upgrade.Upgrading`'s; the deadlines :class:`._deadlines.Deadlines`'.
Those are bases of :class:`Session` with no slots of their own, not objects
it calls, so the split adds no call to any path.
"""

from __future__ import annotations

from typing import Final, Iterator

from ._config import _WEBSOCKET, Config
from ._deadlines import Deadlines
from ._errors import LocalProtocolError, RemoteProtocolError
from ._events import (
    CloseReason,
    Event,
    MessageReceived,
    SessionClosed,
)
from ._handshake import open_packet
from ._outbox import Outbox
from ._packets import _CLOSE, _MESSAGE, _NOOP, _PONG, Packet, PacketType, Wire, decode_packet, iter_payload
from ._state import _CLOSED, _CLOSING, _OPENING, _UPGRADING, Input, next_state
from ._upgrade import Upgrading
from ._util import trusted_builder
from ._v3 import decode_frame_v3, iter_payload_v3

__all__ = ["Session"]

# A received packet's type is compared with these module constants, not read
# through its Enum class (a descriptor call each; see _state's state constants).
_PT_MESSAGE: Final = PacketType.MESSAGE
_PT_PONG: Final = PacketType.PONG
_PT_CLOSE: Final = PacketType.CLOSE
_PT_PING: Final = PacketType.PING

# Every received message builds one event, without the frozen dataclass's __init__.
_message_event = trusted_builder(MessageReceived)


class Session(Upgrading, Outbox, Deadlines):
    """One Engine.IO session, whichever transport carries it.

    ``transport`` is the transport of the handshake (``"polling"`` or
    ``"websocket"``); the OPEN packet is the first thing drained.
    ``protocol`` is the Engine.IO revision the client speaks (4, or 3 for a
    legacy client). ``supports_binary`` matters for v3 only: False when the
    client asked for ``b64=1`` (or polls with JSONP), so binary messages go
    out as base64 text instead of the binary payload format / binary frames.

    Raises LocalProtocolError for a transport that is not enabled or an
    unknown protocol revision.
    """

    __slots__ = (
        "sid",
        "transport",
        "config",
        "protocol",
        "supports_binary",
        "state",
        "_buffer",
        "_buffered_bytes",
        "_events",
        "_ping_due",
        "_pong_due",
        "_upgrade_due",
        "_close_due",
        "_noop_owed",
        "_noop_due",
        "_probe_out",
        "_final",
        "_get_pending",
        "_post_pending",
        "_close_reason",
        "_probe_binary",
        "_payload",
    )

    def __init__(
        self,
        sid: str,
        transport: str,
        config: Config,
        now: float,
        *,
        protocol: int = 4,
        supports_binary: bool = True,
    ) -> None:
        if transport not in config.transports:
            raise LocalProtocolError(f"transport {transport!r} is not enabled")
        if protocol != 4 and protocol != 3:
            raise LocalProtocolError(f"unknown Engine.IO protocol revision {protocol!r}")
        self.sid = sid
        self.transport = transport
        self.config = config
        self.protocol = protocol
        self.supports_binary = supports_binary
        self.state = _OPENING
        self._buffer: list[Wire] = [open_packet(sid, transport, config)]
        self._buffered_bytes = 0
        # Usually empty or one event: a list costs 56 bytes, a deque 760.
        self._events: list[Event] = []
        # v4: when we send the next ping, and by when its pong must be back.
        # v3: no ping of ours; _pong_due is the deadline of the client's next ping.
        self._ping_due: float | None = now + config.ping_interval
        self._pong_due: float | None = None
        if protocol == 3:
            self._ping_due = None
            self._pong_due = now + config.ping_interval + config.ping_timeout
        self._upgrade_due: float | None = None
        self._close_due: float | None = None
        # Polls during an upgrade are released with a noop from
        # UPGRADE_NOOP_DELAY after the probe on (_noop_due is that deadline).
        self._noop_owed = False
        self._noop_due: float | None = None
        #: Replies for the probing WebSocket; None while there are none (most
        #: sessions never probe: no empty list kept per idle connection).
        self._probe_out: list[str] | None = None
        # What a poll still waiting on a closed session gets: "1" or "6".
        self._final: str | None = None
        self._get_pending = False
        self._post_pending = False
        self._close_reason = CloseReason.FORCED_CLOSE
        # v3: whether the probing WebSocket's client takes binary frames (no b64=1).
        self._probe_binary = True
        # The packets of a polling POST not acted on yet (see receive_payload).
        self._payload: Iterator[Packet] | None = None

    # ------------------------------------------------------------------ state

    @property
    def closed(self) -> bool:
        return self.state is _CLOSED

    @property
    def has_output(self) -> bool:
        """True when a drain would return something for the current transport."""
        if self.state is _CLOSED:
            return self._final is not None
        if self.transport == "polling":
            if self.state is _UPGRADING:
                return self._noop_owed or bool(self._buffer)
            return bool(self._buffer)
        return bool(self._buffer)

    @property
    def buffered(self) -> int:
        """Packets waiting to be written (a measure for backpressure and stats)."""
        return len(self._buffer)

    @property
    def buffered_bytes(self) -> int:
        """Message bytes waiting to be written (bounded by ``max_buffer_bytes``)."""
        return self._buffered_bytes

    def _move(self, event: Input) -> None:
        self.state = next_state(self.state, event)

    def next_event(self) -> Event | None:
        """Pop the oldest pending event, or None."""
        return self._events.pop(0) if self._events else None

    @property
    def has_events(self) -> bool:
        return bool(self._events)

    # ------------------------------------------------------------------ input

    def receive_payload(
        self, body: bytes, now: float, *, binary: bool = False, max_packets: int | None = None
    ) -> bool:
        """Take the body of a polling POST; True once every packet has been acted on.

        Packets before a malformed record are delivered, then the session
        closes ("parse error"), as the reference server does. ``binary`` is
        True when the request said ``Content-Type: application/octet-stream``,
        which v4 polling never uses and a v3 XHR2 client uses for a payload
        with binary packets (the binary payload format).

        With ``max_packets``, at most that many packets are decoded and acted
        on now and False says some wait: the I/O layer hands the events over,
        lets other clients have their turn, then calls
        :meth:`continue_payload`. A 1 MB body holds up to 500,000 packets;
        decoding them is lazy (one record at a time), so neither the work nor
        the memory of a big payload is paid in one go.

        Raises RemoteProtocolError (HTTP 400) when the body was refused; the
        session is closed by then. Raises LocalProtocolError while an earlier
        payload is still being taken.
        """
        if self.transport != "polling":
            self._require_transport("polling")
        if self._payload is not None:
            raise LocalProtocolError("the previous payload is still being received")
        if binary and self.protocol == 4:
            self._abort(CloseReason.TRANSPORT_ERROR, "binary content type on a v4 POST")
            raise RemoteProtocolError(
                "binary payloads are not used in Engine.IO v4",
                close_reason=CloseReason.TRANSPORT_ERROR.value,
            )
        if len(body) > self.config.max_payload:
            self._abort(CloseReason.TRANSPORT_ERROR, "payload too large")
            raise RemoteProtocolError(
                "payload too large",
                http_status=413,
                close_reason=CloseReason.TRANSPORT_ERROR.value,
            )
        packets = iter_payload_v3(body, binary=binary) if self.protocol == 3 else iter_payload(body)
        return self._take_packets(packets, now, -1 if max_packets is None else max_packets)

    def continue_payload(self, now: float, *, max_packets: int | None = None) -> bool:
        """Act on the next packets of a payload :meth:`receive_payload` left; True when none are left.

        Raises RemoteProtocolError (HTTP 400) at a malformed record, the
        session closed by then, as :meth:`receive_payload` does.
        """
        packets = self._payload
        if packets is None:
            return True
        return self._take_packets(packets, now, -1 if max_packets is None else max_packets)

    @property
    def payload_pending(self) -> bool:
        """Whether a polling payload still has packets to act on (:meth:`continue_payload`)."""
        return self._payload is not None

    def _take_packets(self, packets: Iterator[Packet], now: float, budget: int) -> bool:
        """Act on up to ``budget`` packets (all for -1); True when the payload is done."""
        self._payload = None
        on_packet = self._on_packet
        try:
            for packet in packets:
                if not on_packet(packet.type, packet.data, now):
                    return True
                budget -= 1
                if budget == 0:
                    if self.state is not _CLOSED:
                        self._payload = packets
                        return False
                    return True
        except RemoteProtocolError as exc:
            self._abort(CloseReason.PARSE_ERROR, str(exc))
            exc.close_reason = CloseReason.PARSE_ERROR.value
            raise
        return True

    def take_message(self, wire: str | bytes) -> str | None:
        """The text of a WebSocket message packet, handed straight back; else None.

        The hot path of a busy WebSocket: a ``4<text>`` message on a live
        WebSocket session with no event waiting before it changes no state,
        so the caller gets its text without a :class:`MessageReceived` round
        trip through :meth:`next_event`. For anything else (binary, other
        packet types, a polling or closed session, events pending) it does
        nothing and returns None: the caller then uses :meth:`receive_message`,
        whose general path decides (a polling session refuses the message).
        ``tests/engineio/test_message_fast_path.py`` holds this and the inline
        branch of :meth:`receive_message` to the general path.
        """
        if (
            type(wire) is str
            and wire[:1] == _MESSAGE
            and not self._events
            and self.transport == _WEBSOCKET
            and self.state is not _CLOSED
        ):
            return wire[1:]
        return None

    def receive_message(self, wire: str | bytes, now: float) -> None:
        """Take one WebSocket message on the session's (upgraded or native) WebSocket.

        Raises RemoteProtocolError for a malformed packet; the session is closed by then.
        """
        if type(wire) is str and wire[:1] == _MESSAGE and self.transport == _WEBSOCKET:
            # Fast path: a text message on a WebSocket session, no Packet
            # object, one slice. It declines (falls through) wherever the
            # general path below could answer differently; a polling session
            # refuses WebSocket messages there.
            if self.state is not _CLOSED:
                self._events.append(_message_event(wire[1:]))
            return
        self._receive_packet(wire, now)

    def _receive_packet(self, wire: str | bytes, now: float) -> None:
        """The general path of :meth:`receive_message`: every packet type, every session."""
        self._require_transport(_WEBSOCKET)
        try:
            packet = decode_frame_v3(wire) if self.protocol == 3 else decode_packet(wire)
        except RemoteProtocolError as exc:
            self._abort(CloseReason.PARSE_ERROR, str(exc))
            raise
        self._on_packet(packet.type, packet.data, now)

    def _on_packet(self, ptype: PacketType, data: str | bytes, now: float) -> bool:
        """Act on one received packet; False means "stop reading this payload"."""
        if self.state is _CLOSED:
            return False
        if ptype is _PT_MESSAGE:
            self._events.append(MessageReceived(data=data))
        elif ptype is _PT_PONG:
            if self.protocol == 3:
                self._abort(CloseReason.TRANSPORT_ERROR, "invalid heartbeat direction")
                return False
            self._pong_due = None
            if self.state is not _CLOSING:
                self._ping_due = now + self.config.ping_interval
        elif ptype is _PT_CLOSE:
            # The client closes: a poll still waiting is released with a noop.
            self._abort(CloseReason.TRANSPORT_CLOSE, "client sent close", final=_NOOP)
            return False
        elif ptype is _PT_PING:
            if self.protocol == 4:
                self._abort(CloseReason.TRANSPORT_ERROR, "invalid heartbeat direction")
                return False
            # v3: answer with the same data; the next ping is due within
            # ping_interval + ping_timeout. A closing session answers nothing:
            # its close packet is already the last thing in the buffer.
            if self.state is not _CLOSING:
                self._pong_due = now + self.config.ping_interval + self.config.ping_timeout
                self._buffer.append(_PONG + data if isinstance(data, str) else _PONG)
        # open, upgrade, noop from a client on the live transport carry no meaning: ignored.
        return True

    def poll_started(self) -> None:
        """A polling GET arrived. A second concurrent GET closes the session.

        Raises RemoteProtocolError (HTTP 400) on overlap.
        """
        if self.transport != "polling":  # asked inline (three times per round trip), raised there
            self._require_transport("polling")
        if self._get_pending:
            self._abort(CloseReason.TRANSPORT_ERROR, "overlapping GET", final=_CLOSE)
            raise RemoteProtocolError(
                "overlapping GET requests", close_reason=CloseReason.TRANSPORT_ERROR.value
            )
        self._get_pending = True

    def poll_finished(self) -> None:
        self._get_pending = False

    def post_started(self) -> None:
        """A polling POST arrived. A second concurrent POST closes the session.

        Raises RemoteProtocolError (HTTP 400) on overlap.
        """
        if self.transport != "polling":
            self._require_transport("polling")
        if self._post_pending:
            self._abort(CloseReason.TRANSPORT_ERROR, "overlapping POST", final=_CLOSE)
            raise RemoteProtocolError(
                "overlapping POST requests", close_reason=CloseReason.TRANSPORT_ERROR.value
            )
        self._post_pending = True

    def post_finished(self) -> None:
        self._post_pending = False

    def transport_closed(self, reason: CloseReason = CloseReason.TRANSPORT_CLOSE) -> None:
        """The session's connection went away (TCP closed, WebSocket closed, I/O error)."""
        self._abort(reason, "transport went away")

    def _require_transport(self, transport: str) -> None:
        if self.transport != transport and self.state is not _CLOSED:
            raise RemoteProtocolError(
                f"{transport} request on a {self.transport} session", close_reason=None
            )

    # ---------------------------------------------------------------- closing

    def close(self, now: float, reason: CloseReason = CloseReason.FORCED_CLOSE) -> None:
        """Close from our side: flush what is buffered, then a close packet.

        A polling client that never collects it is let go after
        ``close_timeout``. Idempotent.
        """
        if self.state in (_CLOSING, _CLOSED):
            return
        if self.state is _UPGRADING:
            self.abort_upgrade("session closing")
        self._move(Input.CLOSE_REQUESTED)
        self._close_reason = reason
        self._buffer.append(_CLOSE)
        self._ping_due = self._pong_due = None
        self._close_due = now + self.config.close_timeout

    def _abort(self, reason: CloseReason, description: str, final: str | None = _CLOSE) -> None:
        if self.state is _CLOSED:
            return
        self._move(Input.ABORT)
        self._closed(reason, description, final)

    def _closed(self, reason: CloseReason, description: str, final: str | None) -> None:
        self._payload = None  # what a closed session was still to take is dropped
        self._buffer.clear()
        self._buffered_bytes = 0
        self._probe_out = None
        # A poll waiting now gets the final packet; after a client's own close
        # (final noop) so does a poll racing with it, sent before it saw the close.
        if self.transport != "polling":
            self._final = None
        else:
            self._final = final if (self._get_pending or final == _NOOP) else None
        self._ping_due = self._pong_due = self._upgrade_due = self._close_due = None
        self._noop_due = None
        self._noop_owed = False
        self._events.append(SessionClosed(reason=reason, description=description))
