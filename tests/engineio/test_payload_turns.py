"""A polling payload taken a budget of packets at a time (``max_packets``).

The I/O layer hands a long POST's packets up over several loop turns
(``transports.gevent._turns.TURN_PACKETS``), so that one client's 1 MB body of
tiny packets cannot hold the loop. Taken in slices, a payload must mean
exactly what it means taken whole: the same events in the same order, the
same refusal at the same record, the same final state. A hypothesis test
holds the sliced path to the whole one, counting how often a payload really
was cut (a test that only ever sees short payloads would prove nothing).
"""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engineio import (
    LocalProtocolError,
    MessageReceived,
    RemoteProtocolError,
    Session,
    SessionClosed,
    State,
)

from ._support import FakeClock, events, polling_session

#: Mostly well-formed records (so that payloads run long), and each kind of bad one.
_RECORDS = st.one_of(
    st.sampled_from(["4a", "4héllo", "6", "5", "3", "bAQID", "bAQIDBA==", "4"]),
    st.sampled_from(["4a", "6", "1", "2", "9", "", "bAQ", "x"]),
)


def _sliced(session: Session, body: bytes, budget: int, clock: FakeClock) -> tuple[list[object], int]:
    """Events and status (200/400/413) of ``body`` taken ``budget`` packets at a time; also the cuts."""
    got: list[object] = []
    cuts = 0
    try:
        done = session.receive_payload(body, clock.now, max_packets=budget)
        got += events(session)
        while not done:
            cuts += 1
            assert session.payload_pending
            done = session.continue_payload(clock.now, max_packets=budget)
            got += events(session)
    except RemoteProtocolError as exc:
        got += events(session)
        got.append(exc.http_status)
    assert not session.payload_pending
    return got, cuts


def _whole(session: Session, body: bytes, clock: FakeClock) -> list[object]:
    try:
        assert session.receive_payload(body, clock.now) is True
    except RemoteProtocolError as exc:
        return events(session) + [exc.http_status]
    return events(session)


def test_a_payload_in_slices_means_what_it_means_whole() -> None:
    counts = {"cut": 0, "runs": 0}

    @settings(max_examples=300)
    @given(st.lists(_RECORDS, min_size=2, max_size=12), st.integers(min_value=1, max_value=4))
    def check(records: list[str], budget: int) -> None:
        body = "\x1e".join(records).encode()
        clock = FakeClock()
        sliced_session, whole_session = polling_session(clock), polling_session(clock)
        sliced, cuts = _sliced(sliced_session, body, budget, clock)
        assert sliced == _whole(whole_session, body, clock)
        assert sliced_session.state is whole_session.state
        assert sliced_session.drain_polling() == whole_session.drain_polling()
        counts["runs"] += 1
        counts["cut"] += cuts > 0

    check()
    # The sliced path was really taken (not only payloads shorter than the budget).
    assert counts["cut"] >= counts["runs"] // 5, counts


def test_a_long_payload_is_taken_in_budgets() -> None:
    clock = FakeClock()
    session = polling_session(clock)
    body = "\x1e".join(["6"] * 1000 + ["4last"]).encode()
    assert session.receive_payload(body, clock.now, max_packets=64) is False
    assert events(session) == []  # noops carry nothing
    calls = 1
    while True:
        calls += 1
        if session.continue_payload(clock.now, max_packets=64):
            break
    assert calls == -(-1001 // 64)  # one call per budget: 16
    assert events(session) == [MessageReceived(data="last")]


def test_a_second_payload_while_one_is_pending_is_a_local_error() -> None:
    clock = FakeClock()
    session = polling_session(clock)
    assert session.receive_payload(b"4a\x1e4b\x1e4c", clock.now, max_packets=1) is False
    with pytest.raises(LocalProtocolError):
        session.receive_payload(b"4d", clock.now)
    assert session.continue_payload(clock.now) is True
    assert [e.data for e in events(session)] == ["a", "b", "c"]  # type: ignore[attr-defined]


def test_closing_drops_what_is_left() -> None:
    clock = FakeClock()
    session = polling_session(clock)
    assert session.receive_payload(b"4a\x1e4b\x1e4c", clock.now, max_packets=1) is False
    session.transport_closed()
    assert not session.payload_pending
    assert session.continue_payload(clock.now, max_packets=1) is True
    evs = events(session)
    assert evs[0] == MessageReceived(data="a") and isinstance(evs[-1], SessionClosed)
    assert session.state is State.CLOSED


def test_a_bad_record_after_the_first_slice_is_refused_then() -> None:
    clock = FakeClock()
    session = polling_session(clock)
    assert session.receive_payload(b"4a\x1e4b\x1e9", clock.now, max_packets=1) is False
    assert session.continue_payload(clock.now, max_packets=1) is False
    with pytest.raises(RemoteProtocolError) as info:
        session.continue_payload(clock.now, max_packets=1)
    assert info.value.http_status == 400 and info.value.close_reason == "parse error"
    assert session.state is State.CLOSED
