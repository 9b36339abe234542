"""Properties of the session under arbitrary input and arbitrary driving.

Whatever the peer sends, the session raises RemoteProtocolError and nothing
else; whatever order the I/O layer calls things in, SessionClosed comes out
exactly once (if the session ended) and is the last event.
"""

from __future__ import annotations

from typing import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from engineio import (
    CloseReason,
    Config,
    Event,
    LocalProtocolError,
    MessageReceived,
    RemoteProtocolError,
    Session,
    SessionClosed,
    State,
)

from ._support import CONFIG, FakeClock, events, polling_session, upgraded_session, websocket_session


def _opening_polling(clock: FakeClock) -> Session:
    return Session("s", "polling", CONFIG, clock.now)


def _opening_websocket(clock: FakeClock) -> Session:
    return Session("s", "websocket", CONFIG, clock.now)


def _upgrading(clock: FakeClock) -> Session:
    session = polling_session(clock)
    session.begin_upgrade(clock.now)
    return session


def _closing(clock: FakeClock) -> Session:
    session = polling_session(clock)
    session.close(clock.now)
    return session


def _closing_websocket(clock: FakeClock) -> Session:
    session = websocket_session(clock)
    session.close(clock.now)
    return session


def _closed(clock: FakeClock) -> Session:
    session = polling_session(clock)
    session.transport_closed()
    return session


def _small(clock: FakeClock) -> Session:
    return polling_session(clock, Config(max_payload=8))


MAKERS: list[Callable[[FakeClock], Session]] = [
    polling_session,
    websocket_session,
    upgraded_session,
    _opening_polling,
    _opening_websocket,
    _upgrading,
    _closing,
    _closing_websocket,
    _closed,
    _small,
]

_near_valid = st.lists(
    st.one_of(
        st.sampled_from(["4a", "3", "2", "1", "5", "6", "0", "b", "bAQ==", "4é", "", "9"]),
        st.text(max_size=5),
    ),
    min_size=1,
    max_size=5,
).map(lambda records: "\x1e".join(records))

_bodies = st.one_of(
    st.binary(),
    st.text(),
    _near_valid,
    _near_valid.map(lambda s: s.encode("utf-8", "surrogatepass")),
)


def _check_events(evs: list[Event]) -> None:
    closes = [i for i, e in enumerate(evs) if isinstance(e, SessionClosed)]
    assert len(closes) <= 1
    if closes:
        assert closes[0] == len(evs) - 1


@given(st.sampled_from(MAKERS), _bodies)
def test_receive_payload_raises_only_remote_protocol_error(
    make: Callable[[FakeClock], Session], body: str | bytes
) -> None:
    clock = FakeClock()
    session = make(clock)
    before = events(session)
    try:
        session.receive_payload(body, clock.now)  # type: ignore[arg-type]  # str too
    except RemoteProtocolError:
        pass
    _check_events(before + events(session))


@given(st.sampled_from(MAKERS), st.one_of(st.text(), st.binary(), _near_valid))
def test_receive_message_raises_only_remote_protocol_error(
    make: Callable[[FakeClock], Session], wire: str | bytes
) -> None:
    clock = FakeClock()
    session = make(clock)
    before = events(session)
    try:
        session.receive_message(wire, clock.now)
    except RemoteProtocolError:
        pass
    _check_events(before + events(session))


@given(st.sampled_from(MAKERS), st.one_of(st.text(), st.binary()))
def test_receive_probe_never_raises(make: Callable[[FakeClock], Session], wire: str | bytes) -> None:
    clock = FakeClock()
    session = make(clock)
    before = events(session)
    session.receive_probe(wire, clock.now)
    _check_events(before + events(session))


# --------------------------------------------------------- arbitrary driving

_ops = st.sampled_from(
    [
        "send_text", "send_binary", "send_encoded", "drain_polling", "drain_frames",
        "drain_probe", "post_ok", "post_pong", "post_close", "post_ping", "post_bad",
        "post_binary", "post_big", "ws_message", "ws_pong", "ws_close", "ws_bad",
        "begin_upgrade", "probe", "probe_upgrade", "probe_junk", "abort_upgrade",
        "poll_started", "poll_finished", "post_started", "post_finished", "close",
        "transport_closed", "tick", "tick_long", "has_output",
    ]
)


def _apply(session: Session, op: str, clock: FakeClock) -> None:
    now = clock.now
    if op == "send_text":
        session.send_message("hi")
    elif op == "send_binary":
        session.send_message(b"\x00\x01")
    elif op == "send_encoded":
        session.send_encoded('42["e"]')
    elif op == "drain_polling":
        session.drain_polling()
    elif op == "drain_frames":
        session.drain_frames()
    elif op == "drain_probe":
        session.drain_probe()
    elif op.startswith("post_") and op not in ("post_started", "post_finished"):
        body = {
            "post_ok": b"4a\x1e4b", "post_pong": b"3", "post_close": b"4a\x1e1",
            "post_ping": b"2", "post_bad": b"4a\x1e\xff", "post_binary": b"4a",
            "post_big": b"4" + b"x" * 20,
        }[op]
        session.receive_payload(body, now, binary=op == "post_binary")
    elif op.startswith("ws_"):
        wire: str | bytes = {
            "ws_message": "4m", "ws_pong": "3", "ws_close": "1", "ws_bad": "x",
        }[op]
        session.receive_message(wire, now)
    elif op == "begin_upgrade":
        session.begin_upgrade(now)
    elif op == "probe":
        session.receive_probe("2probe", now)
    elif op == "probe_upgrade":
        session.receive_probe("5", now)
    elif op == "probe_junk":
        session.receive_probe("4junk", now)
    elif op == "abort_upgrade":
        session.abort_upgrade("probe went away")
    elif op == "close":
        session.close(now)
    elif op == "transport_closed":
        session.transport_closed()
    elif op in ("tick", "tick_long"):
        clock.advance(7.0 if op == "tick" else 31.0)
        session.handle_timeout(clock.now)
    elif op == "has_output":
        session.has_output
    else:
        getattr(session, op)()


@settings(max_examples=300)
@given(st.sampled_from(["polling", "websocket"]), st.lists(_ops, max_size=40))
def test_any_driving_sequence_keeps_the_invariants(transport: str, ops: list[str]) -> None:
    clock = FakeClock()
    session = Session("s", transport, Config(max_payload=16, ping_interval=10.0,
                                             ping_timeout=5.0, upgrade_timeout=8.0,
                                             close_timeout=20.0), clock.now)
    seen: list[Event] = []
    for op in ops:
        was_closed = session.closed
        try:
            _apply(session, op, clock)
        except LocalProtocolError:
            # The only local misuse in this vocabulary: sending after close().
            assert op.startswith("send_")
            assert session.state in (State.CLOSING, State.CLOSED)
        except RemoteProtocolError as exc:
            assert exc.http_status in (400, 413)
        new = events(session)
        if was_closed:
            assert new == []  # nothing after the end
        seen.extend(new)
        _check_events(seen)
        if session.closed:
            assert session.next_deadline() is None
            assert session.drain_frames() == []
            assert session.drain_probe() == []
        else:
            assert session.next_deadline() is not None  # a live session always has a timer
    closes = [e for e in seen if isinstance(e, SessionClosed)]
    assert len(closes) == (1 if session.closed else 0)
    if closes:
        assert isinstance(closes[0].reason, CloseReason)


# ------------------------------------------------ every ending, then everything

def _end_by_ping_timeout(s: Session, clock: FakeClock) -> None:
    clock.advance(1000.0)
    s.handle_timeout(clock.now)  # sends the ping
    clock.advance(1000.0)
    s.handle_timeout(clock.now)


def _end_by_client_close(s: Session, clock: FakeClock) -> None:
    s.receive_payload(b"4x\x1e1", clock.now)


def _end_by_parse_error(s: Session, clock: FakeClock) -> None:
    try:
        s.receive_payload(b"4x\x1e?", clock.now)
    except RemoteProtocolError:
        pass


def _end_by_overlap(s: Session, clock: FakeClock) -> None:
    s.poll_started()
    try:
        s.poll_started()
    except RemoteProtocolError:
        pass


def _end_by_server_close(s: Session, clock: FakeClock) -> None:
    s.send_message("bye")
    s.close(clock.now)
    s.drain_polling()


def _end_by_close_timeout(s: Session, clock: FakeClock) -> None:
    s.close(clock.now)
    clock.advance(1000.0)
    s.handle_timeout(clock.now)


def _end_by_transport(s: Session, clock: FakeClock) -> None:
    s.transport_closed()


ENDINGS = [
    _end_by_ping_timeout, _end_by_client_close, _end_by_parse_error, _end_by_overlap,
    _end_by_server_close, _end_by_close_timeout, _end_by_transport,
]


@pytest.mark.parametrize("ending", ENDINGS, ids=lambda f: f.__name__[8:])
def test_session_closed_exactly_once_and_last(
    ending: Callable[[Session, FakeClock], None]
) -> None:
    clock = FakeClock()
    session = polling_session(clock)
    session.receive_payload(b"4before", clock.now)
    ending(session, clock)
    assert session.closed
    for other in ENDINGS:
        try:
            other(session, clock)
        except (RemoteProtocolError, LocalProtocolError):
            pass
    session.close(clock.now)
    session.abort_upgrade("x")
    session.receive_message("4after", clock.now)
    evs = events(session)
    assert [type(e) for e in evs][-1] is SessionClosed
    assert sum(isinstance(e, SessionClosed) for e in evs) == 1
    assert evs[0] == MessageReceived(data="before")
