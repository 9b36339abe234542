"""Heartbeat on a fake clock ([EIO4] "Heartbeat"; PROTOCOL.md 1.6, 4, 5).

The server pings ``ping_interval`` after the session is created (not after the
handshake is written) and closes a session that does not answer within
``ping_timeout``; a silent client is therefore gone exactly at
``ping_interval + ping_timeout``, which the conformance suite measures.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engineio import CloseReason, Config, Session, SessionClosed, State

from ._support import (
    CONFIG,
    T0,
    TICK,
    FakeClock,
    events,
    polling_session,
    run_until,
    websocket_session,
)

SUITE = Config(ping_interval=0.3, ping_timeout=0.2, max_payload=1_000_000)


def drain(session: Session) -> list[str | bytes]:
    """Whatever the session writes on its current transport, as wire items."""
    if session.transport == "polling":
        body = session.drain_polling()
        return [] if body is None else body.decode().split("\x1e")
    return list(session.drain_frames())


def pong(session: Session, now: float) -> None:
    if session.transport == "polling":
        session.receive_payload(b"3", now)
    else:
        session.receive_message("3", now)


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_ping_is_due_exactly_ping_interval_after_creation(transport: str) -> None:
    clock = FakeClock()
    session = Session("s", transport, CONFIG, clock.now)
    # Due from creation, before the handshake response is even written.
    assert session.next_deadline() == T0 + 25
    drain(session)  # the OPEN packet
    session.handle_timeout(T0 + 25 - TICK)
    assert drain(session) == []
    assert session.next_deadline() == T0 + 25
    session.handle_timeout(T0 + 25)
    assert drain(session) == ["2"]
    assert session.next_deadline() == T0 + 25 + 20
    assert events(session) == []


@pytest.mark.parametrize("transport", ["polling", "websocket"])
@pytest.mark.parametrize(
    ("config", "t0"),
    [(CONFIG, T0), (SUITE, 0.0), (SUITE, 1732549012.123), (CONFIG, 0.0)],
)
def test_silent_session_closes_exactly_at_interval_plus_timeout(
    transport: str, config: Config, t0: float
) -> None:
    clock = FakeClock(t0)
    session = Session("s", transport, config, clock.now)
    drain(session)
    # The same float arithmetic the deadlines use, so "exactly" means ==.
    deadline = (t0 + config.ping_interval) + config.ping_timeout

    run_until(session, clock, deadline - TICK)
    assert session.state is State.OPEN
    assert drain(session) == ["2"]
    assert events(session) == []
    assert session.next_deadline() == deadline

    run_until(session, clock, deadline)
    assert session.state is State.CLOSED
    [closed] = events(session)
    assert isinstance(closed, SessionClosed)
    assert closed.reason is CloseReason.PING_TIMEOUT
    assert closed.reason == "ping timeout"
    assert session.next_deadline() is None


def test_ping_timeout_releases_a_pending_poll_with_close() -> None:
    clock = FakeClock()
    session = polling_session(clock)
    run_until(session, clock, T0 + 25)
    assert session.drain_polling() == b"2"
    session.poll_started()
    assert session.drain_polling() is None  # long poll held
    run_until(session, clock, T0 + 45)
    assert session.closed
    assert session.has_output
    assert session.drain_polling() == b"1"
    assert session.drain_polling() is None


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_pong_resets_the_heartbeat(transport: str) -> None:
    clock = FakeClock()
    session = Session("s", transport, CONFIG, clock.now)
    drain(session)
    run_until(session, clock, T0 + 25)
    assert drain(session) == ["2"]
    assert session.next_deadline() == T0 + 45

    run_until(session, clock, T0 + 30)
    pong(session, clock.now)
    assert session.next_deadline() == T0 + 55  # the next ping, counted from the pong

    run_until(session, clock, T0 + 45)  # the old pong deadline passes harmlessly
    assert session.state is State.OPEN
    assert drain(session) == []

    run_until(session, clock, T0 + 55)
    assert drain(session) == ["2"]
    assert session.next_deadline() == T0 + 75
    run_until(session, clock, T0 + 75 - TICK)
    assert session.state is State.OPEN
    run_until(session, clock, T0 + 75)
    assert session.state is State.CLOSED
    assert [e.reason for e in events(session) if isinstance(e, SessionClosed)] == [
        CloseReason.PING_TIMEOUT
    ]


def test_pong_without_ping_reschedules_the_ping() -> None:
    clock = FakeClock()
    session = websocket_session(clock)
    session.receive_message("3", T0 + 10)
    assert session.next_deadline() == T0 + 35


def test_ping_queues_behind_buffered_messages() -> None:
    clock = FakeClock()
    session = websocket_session(clock)
    session.send_message("a")
    run_until(session, clock, T0 + 25)
    session.send_message("b")
    assert session.drain_frames() == ["4a", "2", "4b"]


@given(st.lists(st.integers(min_value=0, max_value=40), min_size=1, max_size=8))
def test_session_lives_while_every_pong_is_in_time(delays: list[int]) -> None:
    # Each ping is answered ``delay`` seconds later; the session must survive
    # every delay under ping_timeout (20) and die exactly at the first one that
    # is not, ping_timeout after that ping.
    clock = FakeClock()
    session = websocket_session(clock)
    ping_at = T0 + 25
    for delay in delays:
        assert session.next_deadline() == ping_at
        run_until(session, clock, ping_at)
        assert session.drain_frames() == ["2"]
        if delay >= 20:
            run_until(session, clock, ping_at + 20 - TICK)
            assert session.state is State.OPEN
            run_until(session, clock, ping_at + delay)
            assert session.closed
            assert events(session) == [
                SessionClosed(reason=CloseReason.PING_TIMEOUT,
                              description="no pong within ping timeout")
            ]
            return
        run_until(session, clock, ping_at + delay)
        session.receive_message("3", clock.now)
        ping_at = ping_at + delay + 25
    assert session.state is State.OPEN
    assert events(session) == []


def test_no_heartbeat_while_closing() -> None:
    clock = FakeClock()
    session = polling_session(clock)
    session.close(T0 + 1)
    assert session.next_deadline() == T0 + 1 + 30  # only the close timeout
    run_until(session, clock, T0 + 30)
    assert session.drain_polling() == b"1"  # no ping in front of it
