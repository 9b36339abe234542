"""Who owns an HTTP connection: one state, one transition table.

A connection of our server is served by a greenlet, or waits in the hub with
no greenlet at all, or is answered from the hub, or carries a WebSocket the
hub reads, or ends; and a polling GET may be *parked* meanwhile (its answer
written from the hub later, while the connection's reader goes on). Whoever
owns the connection may read it, write it, close it; nobody else may. Written
as flags on several objects this was nine booleans that read each other; here
it is one :class:`Owner`, and every change of owner is a :class:`Move` looked
up in :data:`TABLE`. A move the table does not list raises
:class:`OwnershipError` naming the state and the move (house rule 5).

Nothing else may change a connection's owner. The module touches no socket,
so any driver can share it and the tests walk the whole table without one.

Speed: the hot path (a keep-alive long-polling client) makes about six moves
per round trip, so a move is one dict subscript with no call:
``owner = ON_PARK[owner]``. Each ``ON_*`` is one column of the table (a dict
from the current owner to the next) whose ``__missing__`` raises the error;
the states are ``IntEnum`` members because their hash is ``int``'s, in C
(a plain ``Enum`` hashes in Python, several times slower).
"""

from __future__ import annotations

from enum import IntEnum
from types import MappingProxyType
from typing import Mapping

__all__ = [
    "Owner",
    "Move",
    "OwnershipError",
    "TABLE",
    "moved",
    "GREENLET_OWNED",
    "HUB_WRITES",
    "PARKED",
    "ON_PARK",
    "ON_ANSWERED",
    "ON_WATCH",
    "ON_SERVE",
    "ON_SERVED",
    "ON_HAND_OVER",
    "ON_DETACH",
    "ON_RELEASE",
    "ON_CLOSE",
]


class Owner(IntEnum):
    """Who has the connection now."""

    #: A greenlet serves it: reads requests, writes answers, may wait.
    GREENLET = 0
    #: A greenlet reads on; a parked poll owes the next answer (written from the hub).
    GREENLET_PARKED = 1
    #: No greenlet: the hub waits for the next request (read watcher and keep-alive timer).
    WATCHED = 2
    #: As WATCHED, with a parked poll owing an answer.
    WATCHED_PARKED = 3
    #: The hub answers a request already whole in the buffer: writes must never wait.
    HUB = 4
    #: The hub's request was a poll that parked; the request is finishing.
    HUB_PARKED = 5
    #: A WebSocket read from the hub carries it; the WebSocket's end releases it.
    WEBSOCKET = 6
    #: Closed and counted out.
    CLOSED = 7


class Move(IntEnum):
    """What can happen to a connection's ownership."""

    #: A polling request is parked (a GET waiting for output, or a POST whose
    #: long payload is still being handed up): its answer will come from the hub.
    PARK = 0
    #: The parked poll is answered (or abandoned): the next answer is the reader's again.
    ANSWERED = 1
    #: The greenlet leaves; the hub waits for the next request.
    WATCH = 2
    #: The hub found a whole, plain request in the buffer and answers it.
    SERVE = 3
    #: The hub's request is answered.
    SERVED = 4
    #: The hub gives the connection to a greenlet (a request it must not serve, the end, a write left over).
    HAND_OVER = 5
    #: The greenlet gives the connection to a WebSocket read from the hub.
    DETACH = 6
    #: That WebSocket ended.
    RELEASE = 7
    #: The greenlet closes the connection.
    CLOSE = 8


class OwnershipError(RuntimeError):
    """A move the table does not allow from the current owner: a bug on our side."""

    def __init__(self, owner: Owner, move: Move) -> None:
        super().__init__(f"illegal move {move.name} for a connection owned by {owner.name}")
        self.owner = owner
        self.move = move


_O, _M = Owner, Move

#: Every legal move: (owner, move) -> next owner. Nothing else is legal.
TABLE: Mapping[tuple[Owner, Move], Owner] = MappingProxyType({
    (_O.GREENLET, _M.PARK): _O.GREENLET_PARKED,
    (_O.HUB, _M.PARK): _O.HUB_PARKED,
    (_O.GREENLET_PARKED, _M.ANSWERED): _O.GREENLET,
    (_O.WATCHED_PARKED, _M.ANSWERED): _O.WATCHED,
    (_O.GREENLET, _M.WATCH): _O.WATCHED,
    (_O.GREENLET_PARKED, _M.WATCH): _O.WATCHED_PARKED,
    # Only WATCHED: a request behind a waiting poll goes to a greenlet, which
    # waits for the poll's answer first (HTTP answers in request order).
    (_O.WATCHED, _M.SERVE): _O.HUB,
    (_O.HUB, _M.SERVED): _O.WATCHED,
    (_O.HUB_PARKED, _M.SERVED): _O.WATCHED_PARKED,
    (_O.WATCHED, _M.HAND_OVER): _O.GREENLET,
    (_O.WATCHED_PARKED, _M.HAND_OVER): _O.GREENLET_PARKED,
    (_O.GREENLET, _M.DETACH): _O.WEBSOCKET,
    (_O.WEBSOCKET, _M.RELEASE): _O.CLOSED,
    # A parked poll is abandoned (ANSWERED) before its connection closes.
    (_O.GREENLET, _M.CLOSE): _O.CLOSED,
})


class _Column(dict[Owner, Owner]):
    """One move's column of :data:`TABLE`; subscripting an owner it lacks raises."""

    __slots__ = ("move",)

    def __init__(self, move: Move) -> None:
        super().__init__({owner: after for (owner, m), after in TABLE.items() if m is move})
        self.move = move

    def __missing__(self, owner: Owner) -> Owner:
        raise OwnershipError(owner, self.move)


_COLUMNS = {move: _Column(move) for move in Move}

ON_PARK: Mapping[Owner, Owner] = _COLUMNS[Move.PARK]
ON_ANSWERED: Mapping[Owner, Owner] = _COLUMNS[Move.ANSWERED]
ON_WATCH: Mapping[Owner, Owner] = _COLUMNS[Move.WATCH]
ON_SERVE: Mapping[Owner, Owner] = _COLUMNS[Move.SERVE]
ON_SERVED: Mapping[Owner, Owner] = _COLUMNS[Move.SERVED]
ON_HAND_OVER: Mapping[Owner, Owner] = _COLUMNS[Move.HAND_OVER]
ON_DETACH: Mapping[Owner, Owner] = _COLUMNS[Move.DETACH]
ON_RELEASE: Mapping[Owner, Owner] = _COLUMNS[Move.RELEASE]
ON_CLOSE: Mapping[Owner, Owner] = _COLUMNS[Move.CLOSE]

#: The states in which a greenlet has the connection (and must end it when it is done).
GREENLET_OWNED = frozenset({Owner.GREENLET, Owner.GREENLET_PARKED})
#: The states in which a write happens in the hub and must not wait.
HUB_WRITES = frozenset({Owner.HUB, Owner.HUB_PARKED})
#: The states in which a parked poll owes the next answer.
PARKED = frozenset({Owner.GREENLET_PARKED, Owner.WATCHED_PARKED, Owner.HUB_PARKED})


def moved(owner: Owner, move: Move) -> Owner:
    """The owner after ``move``; raises OwnershipError when the table does not allow it."""
    return _COLUMNS[move][owner]
