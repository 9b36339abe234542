"""The connection-ownership table (transports/_ownership.py), walked whole, with no socket.

Every legal move gives the table's owner, through :func:`moved` and through
the per-move columns the hot path subscripts; every other (owner, move) pair
raises an error that names both. Then properties of the table itself: every
state is reachable from a new connection, every state can still end, CLOSED
is final, and the derived state sets agree with the moves.
"""

from __future__ import annotations

import itertools

import pytest

from transports._ownership import (
    GREENLET_OWNED,
    HUB_WRITES,
    ON_ANSWERED,
    ON_CLOSE,
    ON_DETACH,
    ON_HAND_OVER,
    ON_PARK,
    ON_RELEASE,
    ON_SERVE,
    ON_SERVED,
    ON_WATCH,
    PARKED,
    TABLE,
    Move,
    Owner,
    OwnershipError,
    moved,
)

COLUMNS = {
    Move.PARK: ON_PARK,
    Move.ANSWERED: ON_ANSWERED,
    Move.WATCH: ON_WATCH,
    Move.SERVE: ON_SERVE,
    Move.SERVED: ON_SERVED,
    Move.HAND_OVER: ON_HAND_OVER,
    Move.DETACH: ON_DETACH,
    Move.RELEASE: ON_RELEASE,
    Move.CLOSE: ON_CLOSE,
}

LEGAL = sorted(TABLE.items())
ILLEGAL = sorted(pair for pair in itertools.product(Owner, Move) if pair not in TABLE)


def test_every_move_has_its_column() -> None:
    assert set(COLUMNS) == set(Move)


@pytest.mark.parametrize(("pair", "after"), LEGAL, ids=lambda v: getattr(v, "name", str(v)))
def test_legal_move(pair: tuple[Owner, Move], after: Owner) -> None:
    owner, move = pair
    assert moved(owner, move) is after
    assert COLUMNS[move][owner] is after


@pytest.mark.parametrize("pair", ILLEGAL, ids=lambda p: f"{p[0].name}-{p[1].name}")
def test_illegal_move_names_state_and_move(pair: tuple[Owner, Move]) -> None:
    owner, move = pair
    with pytest.raises(OwnershipError) as info:
        moved(owner, move)
    assert info.value.owner is owner and info.value.move is move
    assert owner.name in str(info.value) and move.name in str(info.value)
    with pytest.raises(OwnershipError):
        COLUMNS[move][owner]


def test_columns_are_exactly_the_table() -> None:
    rebuilt = {(owner, move): after for move, column in COLUMNS.items() for owner, after in column.items()}
    assert rebuilt == dict(TABLE)
    assert len(LEGAL) + len(ILLEGAL) == len(Owner) * len(Move)


def _reachable(start: Owner) -> set[Owner]:
    seen = {start}
    frontier = [start]
    while frontier:
        owner = frontier.pop()
        for (source, _), after in TABLE.items():
            if source is owner and after not in seen:
                seen.add(after)
                frontier.append(after)
    return seen


def test_every_state_is_reachable_from_a_new_connection() -> None:
    assert _reachable(Owner.GREENLET) == set(Owner)


def test_every_state_can_still_end_and_closed_is_final() -> None:
    for owner in Owner:
        assert Owner.CLOSED in _reachable(owner), owner
    assert not [pair for pair in TABLE if pair[0] is Owner.CLOSED]


def test_derived_sets_agree_with_the_moves() -> None:
    # A parked poll exists exactly in the states PARK leads to and WATCH/SERVED/HAND_OVER carry it through.
    assert {after for (_, m), after in TABLE.items() if m is Move.PARK} <= PARKED
    assert {owner for (owner, m) in TABLE if m is Move.ANSWERED} <= PARKED
    for (owner, move), after in TABLE.items():
        if move not in (Move.PARK, Move.ANSWERED):
            assert (owner in PARKED) == (after in PARKED), (owner, move)
    # The hub writes exactly while it serves a request.
    assert HUB_WRITES == {after for (_, m), after in TABLE.items() if m in (Move.SERVE, Move.PARK)} - {
        Owner.GREENLET_PARKED
    }
    # Only a greenlet closes, detaches or watches.
    for move in (Move.CLOSE, Move.DETACH, Move.WATCH):
        assert {owner for (owner, m) in TABLE if m is move} <= GREENLET_OWNED


def _walk(start: Owner, *moves: Move) -> Owner:
    owner = start
    for move in moves:
        owner = moved(owner, move)
    return owner


def test_a_long_polling_client_on_our_server() -> None:
    """The hot path: the greenlet's first request, then every request answered from the hub."""
    owner = _walk(Owner.GREENLET, Move.WATCH)  # the handshake answered, the greenlet leaves
    owner = _walk(owner, Move.SERVE, Move.PARK, Move.SERVED)  # a GET parks
    assert owner is Owner.WATCHED_PARKED
    owner = _walk(owner, Move.ANSWERED)  # a message: the parked GET is answered from the hub
    owner = _walk(owner, Move.SERVE, Move.SERVED)  # a POST
    assert owner is Owner.WATCHED
    assert _walk(owner, Move.HAND_OVER, Move.CLOSE) is Owner.CLOSED  # the client leaves


def test_a_websocket_is_released_once() -> None:
    owner = _walk(Owner.GREENLET, Move.DETACH, Move.RELEASE)
    assert owner is Owner.CLOSED
    with pytest.raises(OwnershipError, match="RELEASE.*CLOSED"):
        moved(owner, Move.RELEASE)


def test_a_pipelined_request_waits_for_the_parked_poll() -> None:
    # The hub never serves a request behind a parked poll: it hands over.
    with pytest.raises(OwnershipError):
        moved(Owner.WATCHED_PARKED, Move.SERVE)
    owner = _walk(Owner.WATCHED_PARKED, Move.HAND_OVER)
    assert owner is Owner.GREENLET_PARKED
    with pytest.raises(OwnershipError):
        moved(owner, Move.CLOSE)  # abandon the poll first
    assert _walk(owner, Move.ANSWERED, Move.CLOSE) is Owner.CLOSED
