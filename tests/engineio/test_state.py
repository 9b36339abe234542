"""The transition table ([house rule 5]) and local misuse of a session."""

from __future__ import annotations

import itertools

import pytest

from engineio import LocalProtocolError, Session, State
from engineio._state import TRANSITIONS, Input, next_state

from ._support import FakeClock, polling_session, websocket_session

LEGAL = sorted(TRANSITIONS.items(), key=lambda kv: (kv[0][0].value, kv[0][1].value))
ILLEGAL = [
    (state, event)
    for state, event in itertools.product(State, Input)
    if (state, event) not in TRANSITIONS
]


@pytest.mark.parametrize(("move", "target"), LEGAL, ids=str)
def test_legal_moves(move: tuple[State, Input], target: State) -> None:
    assert next_state(*move) is target


@pytest.mark.parametrize(("state", "event"), ILLEGAL, ids=str)
def test_every_illegal_move_names_event_and_state(state: State, event: Input) -> None:
    with pytest.raises(LocalProtocolError) as info:
        next_state(state, event)
    assert event.value in str(info.value)
    assert state.value in str(info.value)


def test_table_shape() -> None:
    assert len(LEGAL) + len(ILLEGAL) == len(State) * len(Input)
    # CLOSED is final; every live state can be aborted.
    assert not any(state is State.CLOSED for state, _ in TRANSITIONS)
    for state in State:
        if state is not State.CLOSED:
            assert TRANSITIONS[(state, Input.ABORT)] is State.CLOSED
    # Every state is reachable from OPENING.
    reached, frontier = {State.OPENING}, [State.OPENING]
    while frontier:
        here = frontier.pop()
        for (state, _), target in TRANSITIONS.items():
            if state is here and target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(State)


def _closing(clock: FakeClock) -> Session:
    session = polling_session(clock)
    session.close(clock.now)
    assert session.state is State.CLOSING
    return session


def _closed(clock: FakeClock) -> Session:
    session = websocket_session(clock)
    session.transport_closed()
    assert session.state is State.CLOSED
    return session


@pytest.mark.parametrize("make", [_closing, _closed], ids=["closing", "closed"])
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
    session = make(FakeClock())
    with pytest.raises(LocalProtocolError) as info:
        send(session)
    assert session.state.value in str(info.value)


def test_session_on_a_disabled_transport_is_local_misuse() -> None:
    from engineio import Config

    with pytest.raises(LocalProtocolError):
        Session("s", "websocket", Config(transports=("polling",)), 0.0)
