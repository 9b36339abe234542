"""The emit fast path against the general path (adapter broadcast), differentially.

``Server.emit`` has one shortcut: a single target that is the sid of a socket
of this process in the emit's namespace, no ``skip``, nothing for the
recovery log to record. Two servers are set up identically (same clients,
namespaces, rooms, writability, hooks, recovery); every generated emit goes
through ``emit`` on the first and through the general entry points (the
adapter's ``broadcast``/``broadcast_with_ack``, or the recovery log) on the
second. Each socket must receive the same wire data, the outgoing hooks see
the same calls, the same ack ids must be waiting. The first server's general
entry points are counted: an emit that reached none of them was answered by
the fast path, and that must happen in a good share of the cases.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from time import monotonic
from typing import Any, Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from socketio_core import MemoryAdapter, Server
from socketio_core.protocol._recovery import RecoveryLog, RecoveryStore

from ._fakes import FakeEngineSocket, connect

NAMESPACES = ("/", "/chat")
#: (client index, namespace) of every socket, in a fixed order both twins share.
SOCKETS = [(c, ns) for c in range(3) for ns in NAMESPACES]
#: Room memberships beyond the sid rooms, by socket index.
ROOMS = {0: ["a"], 2: ["a", "b"], 3: ["a"], 5: ["b"]}


class FixedRandomAdapter(MemoryAdapter):
    """In-memory adapter whose recovery log draws the same "random" bytes in both twins."""

    def recovery_log(self, options: dict[str, Any]) -> RecoveryStore:
        return RecoveryLog(random_bytes=lambda n: b"\x07" * n, **options)


@dataclass
class Twin:
    server: Server
    esocks: list[FakeEngineSocket]
    sids: list[str]
    hooked: list[tuple[int, str, str, list[Any]]] = field(default_factory=list)
    general_calls: int = 0

    def index(self, sid: str) -> int:
        return self.sids.index(sid)

    def received(self) -> list[list[str | bytes]]:
        return [list(e.sent) for e in self.esocks]

    def pending_acks(self) -> list[list[int]]:
        return [sorted(e.context.acks) for e in self.esocks]


def make_twin(recovery: bool, hooks: bool) -> Twin:
    server = Server(adapter=FixedRandomAdapter(), connection_state_recovery=recovery)
    for ns in NAMESPACES:
        server.on("connect", lambda sid: None, namespace=ns)
    esocks = [FakeEngineSocket(f"e{c}", writable=c != 1) for c in range(3)]
    sids = [connect(server, esocks[c], ns) for c, ns in SOCKETS]
    for i, rooms in ROOMS.items():
        for room in rooms:
            server.enter_room(sids[i], room, namespace=SOCKETS[i][1])
    twin = Twin(server, esocks, sids)
    if hooks:
        server.on_outgoing(lambda sid, ns, event, args: twin.hooked.append((twin.index(sid), ns, event, args)))
    for esock in esocks:
        esock.sent.clear()
    return twin


def count_general_calls(twin: Twin) -> None:
    """Wrap the adapter's general entry points (the recovery log broadcasts through them too)."""
    adapter = twin.server.adapter
    for name in ("broadcast", "broadcast_with_ack"):
        original: Callable[..., Any] = getattr(adapter, name)

        def counting(*args: Any, _original: Callable[..., Any] = original, **kwargs: Any) -> Any:
            twin.general_calls += 1
            return _original(*args, **kwargs)

        setattr(adapter, name, counting)


def general_emit(
    server: Server, event: str, *args: Any, to: Any, room: Any, skip: Any, skip_sid: Any,
    namespace: str, callback: Any, volatile: bool,
) -> None:
    """What ``emit`` does without its shortcut: normalise the targets, hand them to the adapter."""
    target = room if to is None else to
    excluded = skip_sid if skip is None else skip
    rooms = None if target is None else ([target] if isinstance(target, str) else list(target))
    skipped = [] if excluded is None else ([excluded] if isinstance(excluded, str) else list(excluded))
    data = [event, *args]
    if server.recovery is not None and not volatile and callback is None:
        server.recovery.broadcast(server.adapter, namespace, data, rooms, skipped, monotonic())
    elif callback is not None:
        server.adapter.broadcast_with_ack(namespace, data, rooms, skipped, callback, None, volatile)
    else:
        server.adapter.broadcast(namespace, data, rooms, skipped, volatile)


@dataclass
class Tally:
    examples: int = 0
    fast: int = 0


def make_twins(recovery: bool, hooks: bool) -> tuple[Twin, Twin]:
    """Two servers in the same state; the first one's general entry points counted."""
    fast, general = make_twin(recovery, hooks), make_twin(recovery, hooks)
    count_general_calls(fast)
    return fast, general


# A target is described by socket indexes and room names, turned into each twin's sids.
socket_index = st.integers(0, len(SOCKETS) - 1)


def weighted(*choices: tuple[int, st.SearchStrategy[Any]]) -> st.SearchStrategy[Any]:
    """``choices`` as (percent, strategy): hypothesis's own ``one_of`` does not keep proportions."""
    assert sum(p for p, _ in choices) == 100
    bounds = []
    total = 0
    for percent, strategy in choices:
        total += percent
        bounds.append((total, strategy))
    return st.integers(0, 99).flatmap(lambda n: next(s for bound, s in bounds if n < bound))


# Weighted towards single sids, where the fast path may answer.
target_spec = weighted(
    (55, st.tuples(st.just("sid"), socket_index)),
    (10, st.tuples(st.just("sid_list"), socket_index)),
    (10, st.tuples(st.just("room"), st.sampled_from(["a", "b", "nobody"]))),
    (10, st.tuples(st.just("many"), st.lists(socket_index, min_size=2, max_size=3))),
    (5, st.tuples(st.just("unknown"), st.just(0))),
    (10, st.none()),
)
skip_spec = weighted(
    (65, st.none()),
    (10, st.just(("empty", 0))),
    (15, st.tuples(st.just("sid"), socket_index)),
    (10, st.tuples(st.just("room"), st.sampled_from(["a", "b"]))),
)
payload = st.lists(
    st.one_of(st.integers(), st.text(max_size=5), st.binary(max_size=3), st.none()), max_size=2
)


def resolve(spec: Any, twin: Twin) -> Any:
    if spec is None:
        return None
    kind, value = spec
    if kind == "sid":
        return twin.sids[value]
    if kind == "sid_list":
        return [twin.sids[value]]
    if kind == "room":
        return value
    if kind == "many":
        return [twin.sids[i] for i in value]
    if kind == "empty":
        return []
    return "no-such-sid"


def test_fast_path_sends_what_the_general_path_sends() -> None:
    tally = Tally()

    @settings(max_examples=400, deadline=None)
    @given(
        config=st.tuples(st.booleans(), st.booleans()),
        target=target_spec,
        use_room_keyword=st.booleans(),
        skip=skip_spec,
        use_skip_sid_keyword=st.booleans(),
        namespace_choice=weighted((70, st.just("target's")), (15, st.just("/")), (15, st.just("/chat"))),
        with_callback=st.booleans(),
        volatile=st.booleans(),
        event=st.sampled_from(["chat", "é", "message"]),
        args=payload,
    )
    def check(
        config: tuple[bool, bool], target: Any, use_room_keyword: bool, skip: Any,
        use_skip_sid_keyword: bool, namespace_choice: str, with_callback: bool, volatile: bool,
        event: str, args: list[Any],
    ) -> None:
        namespace = namespace_choice
        if namespace == "target's":
            # Mostly the namespace of the targeted socket, where the fast path may answer.
            namespace = SOCKETS[target[1]][1] if target is not None and target[0] in ("sid", "sid_list") else "/"
        fast, general = make_twins(*config)
        for twin in (fast, general):
            to = resolve(target, twin)
            excluded = resolve(skip, twin)
            kwargs: dict[str, Any] = {
                "to": None if use_room_keyword else to,
                "room": to if use_room_keyword else None,
                "skip": None if use_skip_sid_keyword else excluded,
                "skip_sid": excluded if use_skip_sid_keyword else None,
                "namespace": namespace,
                "callback": (lambda *a: None) if with_callback else None,
                "volatile": volatile,
            }
            if twin is fast:
                twin.server.emit(event, *args, **kwargs)
            else:
                general_emit(twin.server, event, *args, **kwargs)
        assert fast.received() == general.received()
        assert fast.hooked == general.hooked
        assert fast.pending_acks() == general.pending_acks()
        tally.examples += 1
        if fast.general_calls == 0:
            tally.fast += 1
            # Answered alone: one socket addressed (none when volatile dropped it).
            assert sum(1 for wires in fast.received() if wires) <= 1

    check()
    # A run that only saw declines would prove nothing.
    assert tally.examples >= 100
    assert tally.fast >= tally.examples // 4, f"fast path answered {tally.fast} of {tally.examples}"


def test_the_fast_path_keeps_the_single_sid_callback_form() -> None:
    """One target sid with a callback: ``callback(*ack_args)``; a room: ``callback({sid: answer})``."""
    server = Server()
    server.on("connect", lambda sid: None)
    esock = FakeEngineSocket("e0")
    sid = connect(server, esock, "/")
    server.enter_room(sid, "r")
    esock.sent.clear()
    single: list[Any] = []
    gathered: list[Any] = []
    server.emit("q", to=sid, callback=lambda *a: single.append(a))
    server.emit("q", to="r", callback=gathered.append)
    assert esock.sent == ['420["q"]', '421["q"]']
    acks = esock.context.acks
    acks.pop(0)("x", 1)
    acks.pop(1)("y")
    assert single == [("x", 1)]
    assert gathered == [{sid: "y"}]
