"""The MemoryAdapter's implicit own rooms against its general path, differentially.

Every socket is in the room named by its sid, almost always alone: the
adapter keeps that room implicit (no members dict, no rooms set per socket;
issue 19) until someone else joins it. ``implicit_own_rooms = False`` keeps
every room explicit, which is the general path. Both run the same generated
sequences of joins, leaves and disconnects (including leaving one's own room
and joining another socket's, as python-socketio allows) and must answer
every query alike: members (with skip, in order), a socket's rooms, room
names, the membership count, and what the membership listeners hear. The
queries the implicit form answered are counted: a run where it answered few
of them fails.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from socketio_core import Server
from socketio_core.server._adapter import _OWN_ONLY, MemoryAdapter

from ._fakes import FakeEngineSocket, connect

NAMESPACES = ["/", "/x"]
SIDS = ["s0", "s1", "s2", "s3"]
ROOMS = SIDS + ["a", "b"]


class GeneralAdapter(MemoryAdapter):
    implicit_own_rooms = False


_ns = st.sampled_from(NAMESPACES)
_sid = st.sampled_from(SIDS)
_room = st.sampled_from(ROOMS)
_rooms_arg = st.one_of(st.none(), st.lists(_room, max_size=3))
_connect = st.tuples(st.just("connect"), _ns, _sid)
OPS = st.lists(
    st.one_of(
        _connect,
        st.tuples(st.just("add"), _ns, _sid, _room),
        st.tuples(st.just("discard"), _ns, _sid, _room),
        st.tuples(st.just("discard_all"), _ns, _sid),
        st.tuples(st.just("members"), _ns, _rooms_arg, st.lists(_room, max_size=2)),
        st.tuples(st.just("members"), _ns, _sid.map(lambda r: [r]), st.just([])),
        st.tuples(st.just("members"), _ns, _sid.map(lambda r: [r]), st.just([])),
        st.tuples(st.just("rooms_of"), _ns, _sid),
    ),
    min_size=5,
    max_size=40,
)
#: The sockets connected before the generated steps (most of them, so that own rooms abound).
FIRST = st.lists(st.tuples(_ns, _sid), min_size=3, max_size=8)

#: queries: the generated ones; implicit: those the implicit form answered (a room or
#: a socket's rooms held implicitly); lookups/implicit_lookups: the same for every
#: single-room lookup of the state compared after each step.
COUNTS = {"queries": 0, "implicit": 0, "lookups": 0, "implicit_lookups": 0}


def _implicit(adapter: MemoryAdapter, ns: str, room: str) -> bool:
    return adapter._implicit(adapter._rooms.get(ns), adapter._socket_rooms.get(ns, {}), room)


def _state(adapter: MemoryAdapter, count: bool = False) -> tuple[Any, ...]:
    if count:
        for ns in NAMESPACES:
            for room in ROOMS:
                COUNTS["lookups"] += 1
                COUNTS["implicit_lookups"] += _implicit(adapter, ns, room)
    return (
        {ns: sorted(adapter.room_names(ns)) for ns in NAMESPACES},
        adapter.membership_count(),
        {(ns, sid): sorted(adapter.rooms_of(ns, sid)) for ns in NAMESPACES for sid in SIDS},
        {(ns, room): adapter.members(ns, [room]) for ns in NAMESPACES for room in ROOMS},
        {ns: adapter.members(ns, None) for ns in NAMESPACES},
    )


@settings(max_examples=400, deadline=None)
@given(FIRST, OPS)
def test_implicit_own_rooms_answer_as_the_general_path(
    first: list[tuple[str, str]], ops: list[tuple[Any, ...]]
) -> None:
    fast, general = MemoryAdapter(), GeneralAdapter()
    heard: dict[int, list[tuple[str, str, str, bool]]] = {id(fast): [], id(general): []}
    for adapter in (fast, general):
        adapter.add_membership_listener(lambda *change, _a=adapter: heard[id(_a)].append(change))
    connected: set[tuple[str, str]] = set()
    for op in [("connect", ns, sid) for ns, sid in first] + ops:
        kind, ns = op[0], op[1]
        if kind == "connect":
            if (ns, op[2]) in connected:
                continue
            connected.add((ns, op[2]))
            for adapter in (fast, general):
                adapter.add(ns, op[2], op[2])
        elif kind == "add":
            if (ns, op[2]) not in connected:
                continue  # the server only adds sockets it has
            for adapter in (fast, general):
                adapter.add(ns, op[2], op[3])
        elif kind == "discard":
            for adapter in (fast, general):
                adapter.discard(ns, op[2], op[3])
        elif kind == "discard_all":
            connected.discard((ns, op[2]))
            for adapter in (fast, general):
                adapter.discard_all(ns, op[2])
        elif kind == "members":
            COUNTS["queries"] += 1
            if any(_implicit(fast, ns, r) for r in (op[2] or []) + op[3]):
                COUNTS["implicit"] += 1
            assert fast.members(ns, op[2], op[3]) == general.members(ns, op[2], op[3])
        elif kind == "rooms_of":
            COUNTS["queries"] += 1
            if fast._socket_rooms.get(ns, {}).get(op[2]) is _OWN_ONLY:
                COUNTS["implicit"] += 1
            assert fast.rooms_of(ns, op[2]) == general.rooms_of(ns, op[2])
        assert _state(fast, count=True) == _state(general)
        assert heard[id(fast)] == heard[id(general)]
    # the general path never holds an own room implicitly
    assert not any(v is _OWN_ONLY for ns in general._socket_rooms.values() for v in ns.values())


def test_the_implicit_form_answered_a_good_share_of_the_queries() -> None:
    """Counted over a run of its own, so the floor holds whatever order the tests run in."""
    COUNTS.update(queries=0, implicit=0, lookups=0, implicit_lookups=0)
    test_implicit_own_rooms_answer_as_the_general_path()
    assert COUNTS["queries"] > 500 and COUNTS["implicit"] > COUNTS["queries"] // 4, COUNTS
    assert COUNTS["implicit_lookups"] > COUNTS["lookups"] // 6, COUNTS


def test_a_connected_socket_costs_no_room_structures_of_its_own() -> None:
    adapter = MemoryAdapter()
    for i in range(100):
        adapter.add("/", f"s{i}", f"s{i}")
    assert adapter._rooms["/"] == {}
    assert all(rooms is _OWN_ONLY for rooms in adapter._socket_rooms["/"].values())
    assert adapter.members("/", ["s7"]) == ["s7"] and adapter.rooms_of("/", "s7") == {"s7"}
    assert adapter.membership_count() == 100 and len(adapter.members("/", None)) == 100
    adapter.add("/", "s1", "lobby")  # another room: the socket's own stays implicit
    assert "s1" not in adapter._rooms["/"] and adapter.rooms_of("/", "s1") == {"s1", "lobby"}
    adapter.discard_all("/", "s1")
    adapter.discard_all("/", "s2")
    assert adapter.membership_count() == 98 and "lobby" not in adapter._rooms["/"]


def test_own_rooms_follow_python_socketio_through_the_server() -> None:
    """Leaving one's own room, another socket joining it, closing it: as python-socketio does."""
    sio = Server(namespaces="*")
    a = connect(sio, FakeEngineSocket("ea"), "/")
    b = connect(sio, FakeEngineSocket("eb"), "/")
    assert sio.rooms(a) == [a]
    sio.enter_room(b, a)  # b joins a's own room: a stays first
    assert sio.adapter.members("/", [a]) == [a, b] and sio.rooms(b) == sorted([a, b])
    sio.close_room(a)  # everyone else leaves it; its owner stays
    assert sio.adapter.members("/", [a]) == [a] and sio.rooms(b) == [b]
    sio.leave_room(a, a)  # the owner may leave its own room
    assert sio.rooms(a) == [] and sio.adapter.members("/", [a]) == []
    assert sio.adapter.members("/", None) == [a, b]  # still a socket of the namespace
    sio.enter_room(a, a)
    assert sio.rooms(a) == [a] and sio.adapter.members("/", [a]) == [a]
