"""Stateful fuzzing of :class:`engineio.Session`: random legal and illegal driving, a fake clock.

Hypothesis drives one session the way an I/O layer (or a hostile peer) could:
polling bodies and WebSocket messages made of valid packets and garbage,
overlapping polls and posts, upgrade probes, sends, closes, transport
losses and time moving on. After every step the invariants below must hold.

* The only exceptions are the documented ones: RemoteProtocolError for what
  the peer sent (bodies, messages, overlapping requests, refused upgrades),
  LocalProtocolError for a send on a closing or closed session.
* SessionClosed comes out exactly once, as the last event, and only when the
  state is CLOSED; a closed session produces nothing but, at most, the single
  final packet a waiting poll is owed, and has no deadline.
* Driven like the scheduler drives it (each deadline handled when due),
  ``next_deadline()`` is never in the past after ``handle_timeout``.
* ``buffered_bytes`` is 0 with an empty buffer, never above the bytes
  actually buffered, and never above ``max_buffer_bytes`` on a live session.
* Every drained polling body decodes with ``engineio.decode_payload`` and
  respects the per-poll limits; every drained text frame is a valid packet;
  ``has_output`` tells the truth about what a drain returns.
"""

from __future__ import annotations

import base64
import json

import pytest
from hypothesis import HealthCheck, event, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from engineio import (
    CloseReason,
    Config,
    LocalProtocolError,
    MessageReceived,
    RemoteProtocolError,
    Session,
    SessionClosed,
    State,
    UpgradeAborted,
    Upgraded,
    decode_packet,
    decode_payload,
)

from .._weighted import weighted

T0 = 1_000.0

# ------------------------------------------------------------------ inputs

_text = st.text(st.characters(codec="utf-8", exclude_characters="\x1e"), max_size=20)
garbage_text = st.one_of(
    st.builds(lambda t, d: f"{t}{d}", st.sampled_from("0123456"), _text),
    st.sampled_from(["2", "1", "5", "6", "2probe", "3probe", ""]),
    _text,  # anything, including unknown packet types
)
valid_text = st.one_of(_text.map(lambda d: "4" + d), st.just("3"))
packet_text = weighted((2, valid_text), (1, garbage_text))
valid_record = st.one_of(
    valid_text, st.binary(max_size=12).map(lambda b: "b" + base64.b64encode(b).decode())
)
record = weighted((3, valid_record), (1, garbage_text), (1, st.sampled_from(["b", "b!!", "bA", "b===="])))
valid_payload = st.lists(valid_record, min_size=1, max_size=6).map(
    lambda rs: "\x1e".join(rs).encode()
)
payload = weighted(
    (2, valid_payload),
    (1, st.lists(record, min_size=1, max_size=6).map(lambda rs: "\x1e".join(rs).encode())),
    (1, st.binary(max_size=30)),  # arbitrary bytes, invalid UTF-8 included
)
ws_message = st.one_of(packet_text, st.binary(max_size=12))
# What the layer above sends. Never "\x1e": polling payloads are joined with
# it and the protocol assumes it absent from the data ([EIO4], PROTOCOL.md
# 1.4); Socket.IO's JSON always escapes it.
outgoing = st.one_of(
    st.text(st.characters(exclude_characters="\x1e"), max_size=120), st.binary(max_size=120)
)
reasons = st.sampled_from(list(CloseReason))


class SessionMachine(RuleBasedStateMachine):
    """One session, a fake clock, and a record of everything it emitted."""

    session: Session

    @initialize(
        transport=st.sampled_from(["polling", "websocket"]),
        interval=st.sampled_from([1.0, 2.5, 25.0]),
        timeout=st.sampled_from([0.5, 2.0, 20.0]),
        max_payload=st.sampled_from([16, 64, 300, 1_000_000]),
        max_buffer=st.sampled_from([50, 400, 16_000_000, 16_000_000]),
        max_packets=st.sampled_from([1, 3, 16]),
    )
    def start(
        self, transport: str, interval: float, timeout: float, max_payload: int,
        max_buffer: int, max_packets: int,
    ) -> None:
        self.config = Config(
            ping_interval=interval, ping_timeout=timeout, max_payload=max_payload,
            upgrade_timeout=1.5, close_timeout=3.0, max_buffer_bytes=max_buffer,
            max_packets_per_poll=max_packets,
        )
        self.now = T0
        self.session = Session("sid", transport, self.config, self.now)
        self.closed_events = 0
        self.events_after_close = 0
        self.upgraded = 0

    # ------------------------------------------------------------ helpers

    def collect(self) -> None:
        while (event := self.session.next_event()) is not None:
            if self.closed_events:
                self.events_after_close += 1
            if type(event) is SessionClosed:
                self.closed_events += 1
            elif type(event) is Upgraded:
                self.upgraded += 1
                assert self.session.transport == "websocket"
            elif type(event) is MessageReceived:
                assert isinstance(event.data, (str, bytes))
            else:
                assert type(event) is UpgradeAborted, event

    def remote(self, fn, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        """Call a session input: RemoteProtocolError is the only error allowed."""
        try:
            fn(*args, **kwargs)
        except RemoteProtocolError as exc:
            assert isinstance(exc.http_status, int) and 400 <= exc.http_status < 600
        self.collect()

    # -------------------------------------------------------------- input

    @rule(body=payload, binary=st.booleans())
    def post(self, body: bytes, binary: bool) -> None:
        self.remote(self.session.post_started)
        self.remote(self.session.receive_payload, body, self.now, binary=binary)
        self.session.post_finished()

    @rule(message=ws_message)
    def websocket_message(self, message: str | bytes) -> None:
        self.remote(self.session.receive_message, message, self.now)

    @rule()
    def poll(self) -> None:
        """A polling GET as the I/O layer serves it: start, drain, finish."""
        self.remote(self.session.poll_started)
        self.drain_polling()
        self.session.poll_finished()

    @rule(probe_first=st.booleans(), complete=st.booleans())
    def upgrade_dance(self, probe_first: bool, complete: bool) -> None:
        session = self.session
        self.remote(session.begin_upgrade, self.now)
        if probe_first:
            self.remote(session.receive_probe, "2probe", self.now)
            self.drain_probe()
            self.drain_polling()
        if complete:
            self.remote(session.receive_probe, "5", self.now)

    @rule(
        action=st.sampled_from([
            "poll_start", "poll_finish", "post_start", "post_finish", "begin_upgrade",
            "abort_upgrade", "probe_garbage", "transport_lost", "close",
        ]),
        reason=reasons,
        message=ws_message,
    )
    def disrupt(self, action: str, reason: CloseReason, message: str | bytes) -> None:
        """The moves that end sessions or upgrades, in one rule so that they stay rare."""
        session = self.session
        if action == "poll_start":
            self.remote(session.poll_started)
        elif action == "poll_finish":
            session.poll_finished()
        elif action == "post_start":
            self.remote(session.post_started)
        elif action == "post_finish":
            session.post_finished()
        elif action == "begin_upgrade":
            self.remote(session.begin_upgrade, self.now)
        elif action == "abort_upgrade":
            session.abort_upgrade("probe connection closed")
        elif action == "probe_garbage":
            self.remote(session.receive_probe, message, self.now)
        elif action == "transport_lost":
            session.transport_closed(reason)
        else:
            session.close(self.now, reason)
        self.collect()

    @rule(data=outgoing, encoded=st.booleans())
    def send_one(self, data: str | bytes, encoded: bool) -> None:
        self.send(data, encoded)

    def send(self, data: str | bytes, encoded: bool) -> None:
        session = self.session
        closing = session.state in (State.CLOSING, State.CLOSED)
        try:
            if encoded:
                session.send_encoded("4" + data if isinstance(data, str) else data)
            else:
                session.send_message(data)
        except LocalProtocolError:
            assert closing, "LocalProtocolError on a live session"
        else:
            assert not closing, "a send on a closing session was accepted"
        self.collect()

    @rule(items=st.lists(outgoing, min_size=1, max_size=8))
    def send_burst(self, items: list[str | bytes]) -> None:
        for data in items:
            self.send(data, encoded=False)

    # ------------------------------------------------------------- output

    @rule()
    def drain_polling(self) -> None:
        session = self.session
        expected = session.has_output if session.transport == "polling" else None
        state = session.state
        body = session.drain_polling()
        if expected is not None:
            assert (body is not None) == expected, (expected, body, state)
        if body is None:
            return
        packets = decode_payload(body)  # must be well-formed, whatever happened before
        event(f"polling body: {min(len(packets), 3)} packets, {state.value}")
        if state is State.CLOSED:
            assert body in (b"1", b"6"), body
        elif state is State.OPENING and session.transport == "polling":
            assert len(packets) == 1 and packets[0].type == 0
            assert set(json.loads(packets[0].data)) == {
                "sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"
            }
        elif len(packets) > 1:
            assert len(packets) <= self.config.max_packets_per_poll
            assert len(body) <= self.config.max_payload
        self.collect()

    @rule()
    def drain_frames(self) -> None:
        session = self.session
        expected = session.has_output if session.transport == "websocket" else None
        closed = session.closed
        frames = session.drain_frames()
        if expected is not None and not closed:
            assert bool(frames) == expected
        if closed:
            assert frames == []
        for item in frames:
            if isinstance(item, str):
                decode_packet(item)  # a text frame is a valid packet
            else:
                assert isinstance(item, bytes)
        self.collect()

    @rule()
    def drain_probe(self) -> None:
        closed = self.session.closed
        replies = self.session.drain_probe()
        assert all(r == "3probe" for r in replies)
        if closed:
            assert replies == []

    # --------------------------------------------------------------- time

    @rule(
        dt=st.one_of(st.floats(0.0, 1.0), st.floats(0.0, 40.0)), latency=st.floats(0.0, 0.4)
    )
    def time_passes(self, dt: float, latency: float) -> None:
        """Move the clock; every deadline on the way is handled at most ``latency`` late.

        The latency stays below every ping_timeout drawn, as a healthy
        scheduler's does; see test_stall_closes_sessions_before_their_ping_could_be_answered for a stalled one.
        """
        target = self.now + dt
        for _ in range(1000):
            due = self.session.next_deadline()
            if due is None or due > target:
                break
            self.now = max(self.now, min(due + latency, target))
            self.session.handle_timeout(self.now)
            self.collect()
            after = self.session.next_deadline()
            assert after is None or after > self.now, (after, self.now)
        else:
            raise AssertionError("deadlines never settle")
        self.now = target

    @rule()
    def handle_timeout_early(self) -> None:
        """An early or spurious wake-up changes nothing that is not due."""
        before = self.session.next_deadline()
        state = self.session.state
        if before is not None and before > self.now:
            self.session.handle_timeout(self.now)
            assert self.session.state is state
            assert self.session.next_deadline() == before
        self.collect()

    # --------------------------------------------------------- invariants

    @invariant()
    def closed_exactly_once_and_last(self) -> None:
        session = self.session
        assert self.closed_events <= 1
        assert self.events_after_close == 0
        # Events are collected after each step, so the two always agree.
        assert (self.closed_events == 1) == (session.state is State.CLOSED)

    @invariant()
    def closed_sessions_are_inert(self) -> None:
        session = self.session
        if session.state is State.CLOSED:
            assert session.next_deadline() is None
            assert session.buffered == 0 and session.buffered_bytes == 0

    @invariant()
    def buffer_accounting(self) -> None:
        session = self.session
        items = session._buffer
        assert session.buffered == len(items)
        assert 0 <= session.buffered_bytes <= sum(len(w) for w in items)
        if not items:
            assert session.buffered_bytes == 0
        if session.state is not State.CLOSED:
            assert session.buffered_bytes <= self.config.max_buffer_bytes

    @invariant()
    def one_upgrade_at_most(self) -> None:
        assert self.upgraded <= 1
        if self.session.state is State.UPGRADING:
            assert self.session.transport == "polling"


TestSessionMachine = SessionMachine.TestCase
TestSessionMachine.settings = settings(
    max_examples=300,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_every_deadline_handled_on_time_keeps_next_deadline_in_the_future(transport: str) -> None:
    # A deterministic companion of time_passes: the heartbeat of a silent
    # client driven exactly at its deadlines.
    session = Session("s", transport, Config(ping_interval=1, ping_timeout=0.5), T0)
    now = T0
    while (due := session.next_deadline()) is not None:
        now = due
        session.handle_timeout(now)
        after = session.next_deadline()
        assert after is None or after > now
    assert session.closed


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_stall_closes_sessions_before_their_ping_could_be_answered(transport: str) -> None:
    config = Config(ping_interval=1.0, ping_timeout=0.5)
    session = Session("s", transport, config, T0)
    session.drain_polling() if transport == "polling" else session.drain_frames()
    # The hub stalls (a CPU-bound handler, a long GC) for 4 s: the ping,
    # due at T0 + 1, is only sent now.
    now = T0 + 5.0
    session.handle_timeout(now)
    after = session.next_deadline()
    # The client must get a chance to see the ping and answer it.
    assert after is not None and after > now
