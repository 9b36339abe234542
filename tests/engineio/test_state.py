"""The session's state machine, driven through its public verbs ([house rule 5]).

Each scenario takes a session into a state the way the I/O layer would and
applies one verb; the state it ends in is written out here, not read from the
table. Recording every move the verbs make shows the table holds exactly the
transitions they take: no dead entry, none missing.
"""

from __future__ import annotations

import itertools

import pytest

from typing import Callable

from engineio import LocalProtocolError, RemoteProtocolError, Session, State
from engineio import _session as _session_module
from engineio._state import TRANSITIONS, Input, next_state

from ._support import CONFIG, FakeClock, polling_session, websocket_session

#: The machine as the spec describes it, written out here rather than read from
#: the table: (state, input) -> state. A change to either side must be deliberate.
EXPECTED = {
    (State.OPENING, Input.OPEN_SENT): State.OPEN,
    (State.OPENING, Input.CLOSE_REQUESTED): State.CLOSING,
    (State.OPENING, Input.ABORT): State.CLOSED,
    (State.OPEN, Input.PROBE_ATTACHED): State.UPGRADING,
    (State.OPEN, Input.CLOSE_REQUESTED): State.CLOSING,
    (State.OPEN, Input.ABORT): State.CLOSED,
    (State.UPGRADING, Input.UPGRADE_DONE): State.OPEN,
    (State.UPGRADING, Input.UPGRADE_FAILED): State.OPEN,
    (State.UPGRADING, Input.ABORT): State.CLOSED,
    (State.CLOSING, Input.CLOSE_DELIVERED): State.CLOSED,
    (State.CLOSING, Input.ABORT): State.CLOSED,
}

T0 = 0.0


def _opening_polling() -> Session:
    return Session("sid", "polling", CONFIG, T0)


def _opening_websocket() -> Session:
    return Session("sid", "websocket", CONFIG, T0)


def _open() -> Session:
    return polling_session(FakeClock(T0))


def _open_websocket() -> Session:
    return websocket_session(FakeClock(T0))


def _upgrading() -> Session:
    session = _open()
    session.begin_upgrade(T0)
    return session


def _closing_polling() -> Session:
    session = _open()
    session.close(T0)
    return session


def _closing_websocket() -> Session:
    session = _open_websocket()
    session.close(T0)
    return session


def _closed() -> Session:
    session = _open()
    session.transport_closed()
    return session


#: Every way a public verb moves a session: (start, verb, the state it must end in).
SCENARIOS: dict[str, tuple[Callable[[], Session], Callable[[Session], object], State]] = {
    "opening: handshake body drained": (_opening_polling, lambda s: s.drain_polling(), State.OPEN),
    "opening: open frame drained": (_opening_websocket, lambda s: s.drain_frames(), State.OPEN),
    "opening: closed by us": (_opening_polling, lambda s: s.close(T0), State.CLOSING),
    "opening: transport gone": (_opening_polling, lambda s: s.transport_closed(), State.CLOSED),
    "open: probe attached": (_open, lambda s: s.begin_upgrade(T0), State.UPGRADING),
    "open: closed by us": (_open, lambda s: s.close(T0), State.CLOSING),
    "open: transport gone": (_open, lambda s: s.transport_closed(), State.CLOSED),
    "open: client sent close": (_open, lambda s: s.receive_payload(b"1", T0), State.CLOSED),
    "open: bad payload": (_open, lambda s: _swallow(lambda: s.receive_payload(b"x", T0)), State.CLOSED),
    "open: no pong": (_open, lambda s: _run(s, T0 + 1000), State.CLOSED),
    "upgrading: upgrade done": (_upgrading, lambda s: s.receive_probe("5", T0), State.OPEN),
    "upgrading: probe closed": (_upgrading, lambda s: s.abort_upgrade("gone"), State.OPEN),
    "upgrading: probe misbehaved": (_upgrading, lambda s: s.receive_probe("4x", T0), State.OPEN),
    "upgrading: upgrade timeout": (_upgrading, lambda s: s.handle_timeout(T0 + CONFIG.upgrade_timeout), State.OPEN),
    "upgrading: transport gone": (_upgrading, lambda s: s.transport_closed(), State.CLOSED),
    "upgrading: closed by us": (_upgrading, lambda s: s.close(T0), State.CLOSING),
    "closing: close packet polled": (_closing_polling, lambda s: s.drain_polling(), State.CLOSED),
    "closing: close frame sent": (_closing_websocket, lambda s: s.drain_frames(), State.CLOSED),
    "closing: transport gone": (_closing_polling, lambda s: s.transport_closed(), State.CLOSED),
    "closing: never collected": (_closing_polling, lambda s: s.handle_timeout(T0 + CONFIG.close_timeout), State.CLOSED),
    "closed: close again": (_closed, lambda s: s.close(T0), State.CLOSED),
    "closed: transport gone again": (_closed, lambda s: s.transport_closed(), State.CLOSED),
    "closed: probe": (_closed, lambda s: s.receive_probe("5", T0), State.CLOSED),
    "closed: abort upgrade": (_closed, lambda s: s.abort_upgrade("x"), State.CLOSED),
    "closed: drain": (_closed, lambda s: s.drain_polling(), State.CLOSED),
    "closed: time passes": (_closed, lambda s: s.handle_timeout(T0 + 10_000), State.CLOSED),
    "closed: message": (_closed, lambda s: s.receive_message("4x", T0), State.CLOSED),
}


def _swallow(call: Callable[[], object]) -> None:
    try:
        call()
    except RemoteProtocolError:
        pass


def _run(session: Session, until: float) -> None:
    """Fire every deadline up to ``until``, as the timer loop does (pings go unanswered)."""
    while (due := session.next_deadline()) is not None and due <= until:
        session.handle_timeout(due)
        session.drain_polling()


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_each_public_verb_moves_the_session_where_the_spec_says(name: str) -> None:
    start, verb, expected = SCENARIOS[name]
    session = start()
    verb(session)
    assert session.state is expected


def test_the_verbs_take_every_transition_in_the_table_and_no_other(monkeypatch: pytest.MonkeyPatch) -> None:
    """A table entry no verb can reach is dead; one the verbs need but the table lacks raises."""
    taken: set[tuple[State, Input]] = set()

    def recording(state: State, event: Input) -> State:
        taken.add((state, event))
        return next_state(state, event)

    monkeypatch.setattr(_session_module, "next_state", recording)
    for start, verb, _ in SCENARIOS.values():
        verb(start())
    assert taken == set(TRANSITIONS)
    assert TRANSITIONS == EXPECTED


@pytest.mark.parametrize(
    ("state", "event"),
    [(state, event) for state, event in itertools.product(State, Input) if (state, event) not in EXPECTED],
    ids=str,
)
def test_every_illegal_move_names_event_and_state(state: State, event: Input) -> None:
    with pytest.raises(LocalProtocolError) as info:
        next_state(state, event)
    assert event.value in str(info.value)
    assert state.value in str(info.value)


@pytest.mark.parametrize("start", [_opening_polling, _upgrading, _closing_polling, _closed, _open_websocket])
def test_an_upgrade_outside_an_open_polling_session_names_the_state(start: Callable[[], Session]) -> None:
    session = start()
    before = session.state
    with pytest.raises(RemoteProtocolError) as info:
        session.begin_upgrade(T0)
    assert before.value in str(info.value)
    assert session.state is before


@pytest.mark.parametrize("make", [_closing_polling, _closed], ids=["closing", "closed"])
@pytest.mark.parametrize(
    "send",
    [
        lambda s: s.send_message("hello"),
        lambda s: s.send_message(b"\x01"),
        lambda s: s.send_encoded('42["x"]'),
        lambda s: s.send_encoded(b"\x01"),
    ],
    ids=["text", "binary", "encoded-text", "encoded-binary"],
)
def test_send_on_closing_or_closed_session_is_local_misuse(make, send) -> None:  # type: ignore[no-untyped-def]
    session = make()
    with pytest.raises(LocalProtocolError) as info:
        send(session)
    assert session.state.value in str(info.value)


def test_session_on_a_disabled_transport_is_local_misuse() -> None:
    from engineio import Config

    with pytest.raises(LocalProtocolError):
        Session("s", "websocket", Config(transports=("polling",)), 0.0)
