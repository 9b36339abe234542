"""Upgrading a polling session to WebSocket ([EIO4] "Upgrade"; PROTOCOL.md 1.7).

    C->S  GET ...&transport=websocket&sid=...   (begin_upgrade)
    C->S  2probe        S->C  3probe            (receive_probe / drain_probe)
    pending or next GET S->C  6                 (drain_polling)
    C->S  5                                     (Upgraded; drain_frames flushes)
"""

from __future__ import annotations

from typing import Callable

import pytest

from engineio import (
    Config,
    MessageReceived,
    RemoteProtocolError,
    RequestRejected,
    Session,
    State,
    UPGRADE_NOOP_DELAY,
    UpgradeAborted,
    Upgraded,
    check_request,
)

from ._support import (
    CONFIG,
    T0,
    TICK,
    FakeClock,
    events,
    polling_session,
    run_until,
    upgraded_session,
    websocket_session,
)


def test_full_upgrade_sequence() -> None:
    clock = FakeClock()
    session = polling_session(clock)
    session.poll_started()
    assert session.drain_polling() is None  # nothing to say: the poll is held

    clock.advance(1)
    session.begin_upgrade(clock.now)
    assert session.state is State.UPGRADING
    assert session.transport == "polling"
    assert session.next_deadline() == T0 + 1 + 10  # upgrade timeout before the ping

    # Messages sent while probing keep going out on the poll, as Node sends them.
    session.send_message("during1")
    assert session.has_output
    assert session.drain_polling() == b"4during1"
    assert session.drain_frames() == []
    session.poll_finished()

    session.poll_started()
    session.receive_probe("2probe", clock.now)
    assert session.drain_probe() == ["3probe"]
    assert session.drain_probe() == []
    # The noop is due UPGRADE_NOOP_DELAY after the probe, not at once.
    assert session.next_deadline() == clock.now + UPGRADE_NOOP_DELAY
    assert not session.has_output
    assert session.drain_polling() is None
    run_until(session, clock, clock.now + UPGRADE_NOOP_DELAY)
    assert session.has_output  # the pending poll is owed its noop
    assert session.drain_polling() == b"6"
    session.poll_finished()

    session.send_message("during2")
    session.send_message(b"\x01\x02")
    # A GET that races the upgrade (sent before the client saw 3probe) ends
    # at once, with what is buffered: the client sends 5 only once its poll
    # has ended, so holding it would stall the upgrade.
    session.poll_started()
    assert session.has_output
    assert session.drain_polling() == b"4during2\x1ebAQI="
    session.poll_finished()
    session.poll_started()
    assert session.drain_polling() == b"6"  # and with a noop when nothing is
    session.poll_finished()
    session.poll_started()
    assert events(session) == []

    session.send_message("during3")
    session.receive_probe("5", clock.now)
    assert events(session) == [Upgraded()]
    assert session.state is State.OPEN
    assert session.transport == "websocket"
    assert session.next_deadline() == T0 + 25  # upgrade timer gone, heartbeat stays
    assert session.drain_frames() == ["4during3"]
    assert session.drain_polling() == b"6"  # the raced GET ends cleanly
    session.poll_finished()

    session.send_message("after")
    assert session.drain_frames() == ["4after"]
    session.receive_message("4hi", clock.now)
    session.receive_message(b"\x00", clock.now)
    assert events(session) == [MessageReceived(data="hi"), MessageReceived(data=b"\x00")]


def test_messages_go_out_on_the_waiting_poll_after_the_probe() -> None:
    # socket.io-client's "should not emit a packet twice in the 'connect'
    # handler" counts on Node's timing: a message sent just after the probe
    # reaches the client on the waiting poll, not later on the WebSocket.
    clock = FakeClock()
    session = polling_session(clock)
    session.poll_started()
    session.begin_upgrade(clock.now)
    session.receive_probe("2probe", clock.now)
    session.drain_probe()
    clock.advance(UPGRADE_NOOP_DELAY / 2)
    session.handle_timeout(clock.now)
    session.send_message("m")
    assert session.has_output
    assert session.drain_polling() == b"4m"


def test_noop_goes_to_the_next_poll_when_none_is_pending() -> None:
    clock = FakeClock()
    session = polling_session(clock)
    session.begin_upgrade(clock.now)
    session.receive_probe("2probe", clock.now)
    assert session.drain_probe() == ["3probe"]
    run_until(session, clock, clock.now + UPGRADE_NOOP_DELAY)
    assert session.next_deadline() == T0 + 10  # the noop deadline is spent
    session.poll_started()
    assert session.drain_polling() == b"6"
    session.poll_finished()
    session.poll_started()  # a poll the client sent before it saw 3probe
    assert session.has_output
    assert session.drain_polling() == b"6"  # at once: never stalled


def test_a_second_probe_does_not_push_the_noop_back() -> None:
    clock = FakeClock()
    session = polling_session(clock)
    session.begin_upgrade(clock.now)
    session.receive_probe("2probe", clock.now)
    clock.advance(UPGRADE_NOOP_DELAY / 2)
    session.receive_probe("2probe", clock.now)
    assert session.next_deadline() == T0 + UPGRADE_NOOP_DELAY


def test_polls_during_the_upgrade_before_the_probe_get_no_noop() -> None:
    clock = FakeClock()
    session = polling_session(clock)
    session.begin_upgrade(clock.now)
    session.poll_started()
    assert not session.has_output
    assert session.drain_polling() is None  # no probe yet: nothing is owed
    run_until(session, clock, T0 + 5)
    assert session.drain_polling() is None


def test_ping_during_upgrade_goes_out_on_the_poll() -> None:
    clock = FakeClock()
    session = polling_session(clock)
    clock.advance(20)
    session.begin_upgrade(clock.now)  # upgrade due at T0+30, ping at T0+25
    session.send_message("m")
    run_until(session, clock, T0 + 25)
    assert session.drain_polling() == b"4m\x1e2"
    session.receive_probe("2probe", clock.now)
    session.receive_probe("5", clock.now)
    assert session.drain_frames() == []
    session.receive_message("3", clock.now)
    assert session.next_deadline() == T0 + 25 + 25


def test_upgrade_timeout_aborts_and_the_session_stays_on_polling() -> None:
    clock = FakeClock()
    session = polling_session(clock)
    session.begin_upgrade(clock.now)
    session.receive_probe("2probe", clock.now)
    session.drain_probe()
    session.send_message("waiting")

    run_until(session, clock, T0 + 10 - TICK)
    assert session.state is State.UPGRADING
    run_until(session, clock, T0 + 10)
    assert events(session) == [UpgradeAborted(description="upgrade timeout")]
    assert session.state is State.OPEN
    assert session.transport == "polling"
    assert session.next_deadline() == T0 + 25
    assert session.drain_polling() == b"4waiting"  # no stray noop, buffer kept
    assert session.drain_probe() == []

    # A late "5" on the dead probe changes nothing; a new attempt is allowed.
    session.receive_probe("5", clock.now)
    assert events(session) == [] and session.transport == "polling"
    session.begin_upgrade(clock.now)
    assert session.state is State.UPGRADING


@pytest.mark.parametrize(
    "wire", ["4hello", "3", "3probe", "2", "1", "6", "0", "", "2probe ", "5 ", b"\x01", b"5"],
    ids=repr,
)
def test_unexpected_packet_on_the_probe_aborts(wire: str | bytes) -> None:
    clock = FakeClock()
    session = polling_session(clock)
    session.begin_upgrade(clock.now)
    session.receive_probe(wire, clock.now)
    assert events(session) == [UpgradeAborted(description="unexpected packet during upgrade")]
    assert session.state is State.OPEN and session.transport == "polling"
    assert session.drain_probe() == []
    assert session.next_deadline() == T0 + 25


def test_unexpected_packet_after_the_probe_cancels_the_noop() -> None:
    clock = FakeClock()
    session = polling_session(clock)
    session.begin_upgrade(clock.now)
    session.receive_probe("2probe", clock.now)
    session.receive_probe("4oops", clock.now)
    assert [type(e) for e in events(session)] == [UpgradeAborted]
    assert session.drain_probe() == []
    assert session.drain_polling() is None  # back to normal polling: nothing owed
    session.send_message("x")
    assert session.drain_polling() == b"4x"


def test_probe_websocket_closing_aborts_the_upgrade() -> None:
    clock = FakeClock()
    session = polling_session(clock)
    session.begin_upgrade(clock.now)
    session.abort_upgrade("probe closed")
    assert events(session) == [UpgradeAborted(description="probe closed")]
    assert session.state is State.OPEN
    session.abort_upgrade("again")  # not upgrading any more: nothing happens
    assert events(session) == []


def _opening(clock: FakeClock) -> Session:
    return Session("s", "polling", CONFIG, clock.now)


def _upgrading(clock: FakeClock) -> Session:
    session = polling_session(clock)
    session.begin_upgrade(clock.now)
    return session


def _closing(clock: FakeClock) -> Session:
    session = polling_session(clock)
    session.close(clock.now)
    return session


def _no_upgrades(clock: FakeClock) -> Session:
    return polling_session(clock, Config(allow_upgrades=False))


def _polling_only(clock: FakeClock) -> Session:
    return polling_session(clock, Config(transports=("polling",)))


@pytest.mark.parametrize(
    "make",
    [upgraded_session, _upgrading, websocket_session, _opening, _closing, _no_upgrades,
     _polling_only],
    ids=["upgraded", "upgrading", "websocket-only", "opening", "closing", "no-upgrades",
         "polling-only"],
)
def test_begin_upgrade_refused(make: Callable[[FakeClock], Session]) -> None:
    clock = FakeClock()
    session = make(clock)
    events(session)
    before = (session.state, session.transport, session.next_deadline())
    with pytest.raises(RemoteProtocolError) as info:
        session.begin_upgrade(clock.now)
    assert info.value.close_reason is None  # the session carries on
    assert (session.state, session.transport, session.next_deadline()) == before
    assert events(session) == []


def test_polling_after_the_upgrade_is_refused() -> None:
    clock = FakeClock()
    session = upgraded_session(clock)
    events(session)
    with pytest.raises(RequestRejected) as info:
        check_request(
            "GET", {"EIO": "4", "transport": "polling", "sid": session.sid},
            is_websocket=False, config=CONFIG,
            session_transport={session.sid: session.transport}.get,
        )
    assert (info.value.code, info.value.http_status) == (3, 400)
    assert info.value.body() == b'{"code":3,"message":"Bad request"}'
    # And the session refuses polling input on its own too, without dying of it.
    for call in (session.poll_started, session.post_started,
                 lambda: session.receive_payload(b"4x", clock.now)):
        with pytest.raises(RemoteProtocolError):
            call()
    assert session.state is State.OPEN
    assert events(session) == []


def test_close_during_upgrade_aborts_it_first() -> None:
    clock = FakeClock()
    session = polling_session(clock)
    session.begin_upgrade(clock.now)
    session.receive_probe("2probe", clock.now)
    session.send_message("bye")
    session.close(clock.now)
    assert events(session) == [UpgradeAborted(description="session closing")]
    assert session.drain_probe() == []
    assert session.drain_polling() == b"4bye\x1e1"
    assert session.closed


def test_ping_timeout_during_upgrade_closes_the_session() -> None:
    clock = FakeClock()
    session = polling_session(clock)
    run_until(session, clock, T0 + 25)
    session.drain_polling()
    session.begin_upgrade(clock.now)  # upgrade due T0+35, pong due T0+45
    session.receive_probe("2probe", clock.now)
    run_until(session, clock, T0 + 50)
    evs = events(session)
    assert evs[0] == UpgradeAborted(description="upgrade timeout")
    assert evs[-1].reason == "ping timeout"  # type: ignore[attr-defined]
    assert session.closed


def test_a_session_keeps_no_probe_replies_list_unless_it_probes() -> None:
    """Most sessions never probe: the replies list exists only while an upgrade has some (issue 19)."""
    clock = FakeClock()
    assert websocket_session(clock)._probe_out is None
    session = polling_session(clock)
    assert session._probe_out is None and session.drain_probe() == []
    session.begin_upgrade(clock.now)
    session.receive_probe("2probe", clock.now)
    assert session.drain_probe() == ["3probe"] and session._probe_out is None
    session.receive_probe("2probe", clock.now)
    session.abort_upgrade("probe connection closed")
    assert session._probe_out is None and session.drain_probe() == []
