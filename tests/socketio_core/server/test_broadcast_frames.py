"""The broadcast fast path against the general path, differentially, through real sockets.

``Delivery.deliver_local`` builds one WebSocket frame for a text broadcast
and hands it to each recipient's transport (``EngineSocket.send_frame``),
which writes it at once when the session is open on WebSocket with nothing
queued and its writer idle; every other recipient gets the packet the
general way. Two in-process servers on the test's hub get the same clients
(WebSocket and long-polling, in two namespaces, in random rooms); the first
may take the fast path, the second may not (``direct_frames = False``). The
same random sequence of operations runs on both: broadcasts of every kind
(text, non-ASCII, lone surrogates, long frames, binary attachments,
volatile, with an ack, skipping sids or rooms, to everyone), emits to one
socket just before (so its output is queued), a message large enough that
the socket takes only part of it (so a writer greenlet owns the rest), turn
boundaries, announced bursts (``broadcasts_follow``), outgoing hooks and
connection state recovery. Each client must
receive the same bytes in the same order from both servers, both recovery
logs must hold the same packets, and the first server's frame writes are
counted: a good share of all deliveries must have been fast.
"""

from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any, Iterator

import gevent
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socketio_core import MemoryAdapter, Server
from socketio_core.protocol._recovery import RecoveryLog, RecoveryStore
from transports.gevent._socket import EngineSocket

from ..._weighted import weighted
from ._rawclients import PollClient, WsClient, frames_of

NAMESPACES = ("/", "/chat")
#: The clients of every example: their transport, and the namespaces they join ("/" always).
CLIENTS = [("ws", NAMESPACES), ("ws", ("/",)), ("ws", NAMESPACES), ("poll", NAMESPACES), ("ws", NAMESPACES)]
#: Index of every (client, namespace) socket.
SOCKETS = [(c, ns) for c, (_, spaces) in enumerate(CLIENTS) for ns in spaces]
ROOMS = ("a", "b")
#: What every client gets last (with recovery, an offset follows the event name).
END = '42["end"'
#: Large enough that loopback takes only part of it from a client that does not read
#: (the send buffer grows to 4 MB at most: net.ipv4.tcp_wmem).
BIG = "x" * 6_000_000


class FixedRandomAdapter(MemoryAdapter):
    """In-memory adapter whose recovery log draws the same "random" bytes in both twins."""

    def recovery_log(self, options: dict[str, Any]) -> RecoveryStore:
        return RecoveryLog(random_bytes=lambda n: b"\x07" * n, **options)


@dataclass
class Tally:
    fast: int = 0
    calls: int = 0
    examples: int = 0


@dataclass
class Twin:
    server: Server
    clients: list[Any]
    sids: list[str] = field(default_factory=list)
    hooked: list[tuple[int, str]] = field(default_factory=list)

    def close(self) -> None:
        for client in self.clients:
            client.close()
        self.server.stop()


def make_twin(fast: bool, recovery: bool, hooks: bool, rooms: dict[int, list[str]]) -> Twin:
    server = Server(adapter=FixedRandomAdapter(), connection_state_recovery=recovery)
    server.direct_frames = fast
    for ns in NAMESPACES:
        server.on("connect", lambda sid: None, namespace=ns)
    _, port = server.start("127.0.0.1", 0)
    clients = [WsClient(port) if kind == "ws" else PollClient(port) for kind, _ in CLIENTS]
    twin = Twin(server, clients)
    twin.sids = [clients[c].connect(ns) for c, ns in SOCKETS]
    for i, names in rooms.items():
        for room in names:
            server.enter_room(twin.sids[i], room, namespace=SOCKETS[i][1])
    if hooks:
        server.on_outgoing(lambda sid, ns, event, args: twin.hooked.append((twin.sids.index(sid), event)))
    for client in clients:
        client.mark()
    return twin


socket_index = st.integers(0, len(SOCKETS) - 1)
ws_socket_index = st.sampled_from([i for i, (c, _) in enumerate(SOCKETS) if CLIENTS[c][0] == "ws"])
payload = st.sampled_from([
    [{"room": "a", "s": 1}], ["plain"], ["é ∑ 😀"], ["bad \ud800 surrogate"], ["y" * 200],
    ["z" * 70_000], [b"\x01\x02"], [], [None, 3],
])
broadcast = st.fixed_dictionaries({
    "op": st.just("broadcast"),
    "to": st.one_of(st.none(), st.none(), st.none(), st.none(), st.sampled_from(ROOMS), socket_index,
                    st.lists(st.one_of(st.sampled_from(ROOMS), socket_index), min_size=1, max_size=3)),
    "skip": st.one_of(st.none(), socket_index, st.sampled_from(ROOMS)),
    "namespace": st.sampled_from(["/", "/", "/chat"]),
    "args": payload,
    "volatile": st.booleans(),
    "ack": st.integers(0, 9).map(lambda n: n == 0),
    # Only the first broadcast of a loop turn may take the fast path: most begin one.
    "new_turn": st.integers(0, 2).map(lambda n: n > 0),
})
operation = weighted(
    (5, broadcast),
    (1, st.fixed_dictionaries({"op": st.just("emit"), "to": socket_index, "args": payload})),
    (1, st.fixed_dictionaries({"op": st.just("big"), "to": ws_socket_index})),
    (1, st.just({"op": "turn"})),
    # A burst announced (an adapter draining several messages): the broadcasts that follow queue.
    (1, st.just({"op": "burst"})),
)


def run(twin: Twin, ops: list[dict[str, Any]]) -> None:
    server, sids = twin.server, twin.sids

    def target(spec: Any) -> Any:
        if isinstance(spec, int):
            return sids[spec]
        if isinstance(spec, list):
            return [target(s) for s in spec]
        return spec

    for op in ops:
        kind = op["op"]
        if kind == "broadcast":
            if op["new_turn"]:
                gevent.sleep(0)
            server.emit(
                "b", *op["args"], to=target(op["to"]), skip=target(op["skip"]), namespace=op["namespace"],
                volatile=op["volatile"], callback=(lambda answers: None) if op["ack"] else None,
            )
        elif kind == "emit":
            server.emit("one", *op["args"], to=sids[op["to"]], namespace=SOCKETS[op["to"]][1])
        elif kind == "burst":
            server.broadcasts_follow()
        elif kind == "big":
            server.emit("big", BIG, to=sids[op["to"]], namespace=SOCKETS[op["to"]][1])
        else:
            gevent.sleep(0)  # one loop turn: the end-of-turn flushes run
    for c, _ in enumerate(CLIENTS):
        server.emit("end", to=sids[SOCKETS.index((c, "/"))])


def received(twin: Twin) -> list[Any]:
    out: list[Any] = []
    with gevent.Timeout(30):
        for client in twin.clients:
            out.append(client.collect(END))
    return out


def logged(twin: Twin) -> list[Any]:
    """The recovery log's packets (sids named by socket index: they differ between the twins)."""
    log = twin.server.recovery
    if log is None:
        return []

    def named(rooms: list[str] | None) -> Any:
        return None if rooms is None else [twin.sids.index(r) if r in twin.sids else r for r in rooms]

    return [(p.namespace, p.data, named(p.rooms), named(p.skip))
            for p in log._packets]  # type: ignore[attr-defined]


def _timing_free(ops: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """``ops`` without what depends on the kernel's buffers rather than on the path.

    Whether a volatile broadcast reaches a socket with a partial write, or
    whether several large messages overflow a session's buffer (a slow
    consumer, dropped), depends on how much loopback took: with a large
    message in the sequence no broadcast is volatile, and only the first
    large message is kept.
    """
    if not any(op["op"] == "big" for op in ops):
        return ops
    first = next(i for i, op in enumerate(ops) if op["op"] == "big")
    return [dict(op, volatile=False) if op["op"] == "broadcast" else op
            for i, op in enumerate(ops) if op["op"] != "big" or i == first]


def test_fast_broadcast_sends_what_the_general_path_sends(monkeypatch: pytest.MonkeyPatch) -> None:
    tally = Tally()
    original = EngineSocket.send_frame

    def counting(self: EngineSocket, frame: bytes) -> bool:
        answered = original(self, frame)
        tally.calls += 1
        tally.fast += answered
        return answered

    monkeypatch.setattr(EngineSocket, "send_frame", counting)

    @settings(max_examples=80, deadline=None)
    @given(
        ops=st.lists(operation, min_size=4, max_size=10),
        rooms=st.dictionaries(socket_index, st.lists(st.sampled_from(ROOMS), max_size=2), max_size=len(SOCKETS)),
        recovery=st.integers(0, 3).map(lambda n: n == 0),
        hooks=st.integers(0, 5).map(lambda n: n == 0),
    )
    def check(ops: list[dict[str, Any]], rooms: dict[int, list[str]], recovery: bool, hooks: bool) -> None:
        ops = _timing_free(ops)
        twins = []
        try:
            for fast in (True, False):
                twin = make_twin(fast, recovery, hooks, rooms)
                twins.append(twin)
                run(twin, ops)
            fast_twin, general_twin = twins
            assert received(fast_twin) == received(general_twin)
            assert fast_twin.hooked == general_twin.hooked
            assert logged(fast_twin) == logged(general_twin)
            if recovery:  # every recoverable broadcast was logged, fast or not
                recorded = [op for op in ops if op["op"] == "broadcast" and not op["volatile"] and not op["ack"]]
                assert len(logged(fast_twin)) >= len(recorded)
        finally:
            for twin in twins:
                twin.close()
        tally.examples += 1

    check()
    # The fast path must have answered for a good share of the recipients it was offered.
    assert tally.fast >= 100, tally
    assert tally.fast >= tally.calls // 3, tally


# ------------------------------------------------------------ the cases by name


def _fast_answers(monkeypatch: pytest.MonkeyPatch) -> list[tuple[str, bool]]:
    """(session sid, answered) of every frame write offered, from now on."""
    answers: list[tuple[str, bool]] = []
    original = EngineSocket.send_frame

    def counting(self: EngineSocket, frame: bytes) -> bool:
        answered = original(self, frame)
        answers.append((self.sid, answered))
        return answered

    monkeypatch.setattr(EngineSocket, "send_frame", counting)
    return answers


def _messages(client: WsClient) -> list[str]:
    frames, rest = frames_of(client.collect(END))
    assert not rest
    return [payload.decode("utf-8") for _, payload in frames]


@contextmanager
def _serving(count: int, recovery: bool = False) -> Iterator[tuple[Server, list[WsClient], list[str]]]:
    """A server with ``count`` WebSocket clients connected to "/" and marked: (server, clients, sids)."""
    server = Server(adapter=FixedRandomAdapter(), connection_state_recovery=recovery)
    server.on("connect", lambda sid: None)
    port = server.start("127.0.0.1", 0)[1]
    clients = [WsClient(port) for _ in range(count)]
    try:
        sids = [c.connect("/") for c in clients]
        for c in clients:
            c.mark()
        yield server, clients, sids
    finally:
        for c in clients:
            c.close()
        server.stop()


def test_a_broadcast_keeps_its_place_after_emits_to_the_same_socket(monkeypatch: pytest.MonkeyPatch) -> None:
    """An emit queued for the end of the turn, or a large one still being written, goes first."""
    with _serving(4) as (server, clients, sids):
        answers = _fast_answers(monkeypatch)
        server.emit("big", BIG, to=sids[1])
        gevent.sleep(0)  # one loop turn: written in part, a writer greenlet has the rest
        esocks = [server.local_socket(sid, "/").engine_socket for sid in sids]  # type: ignore[union-attr]
        assert esocks[1]._flushing
        server.emit("first", to=sids[0])  # queued for this turn's end
        server.emit("b", 1)
        server.emit("after", to=sids[2])
        for sid in sids:
            server.emit("end", to=sid)
        got = [_messages(c) for c in clients]
        assert got[0] == ['42["first"]', '42["b",1]', '42["end"]']
        assert got[1] == [f'42["big","{BIG}"]', '42["b",1]', '42["end"]']
        assert got[2] == ['42["b",1]', '42["after"]', '42["end"]']
        assert got[3] == ['42["b",1]', '42["end"]']
        by_session = dict(answers)
        assert [by_session[e.sid] for e in esocks] == [False, False, True, True]


def test_only_the_first_broadcast_of_a_turn_writes_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Later broadcasts of the same loop turn queue: each client gets them in one write."""
    with _serving(2) as (server, clients, sids):
        gevent.sleep(0)  # a new turn
        answers = _fast_answers(monkeypatch)
        for n in range(3):
            server.emit("b", n)
        assert [answered for _, answered in answers] == [True, True]  # the first one only
        gevent.sleep(0)  # a new turn: the fast path again
        server.emit("b", 3)
        assert [answered for _, answered in answers] == [True] * 4
        for sid in sids:
            server.emit("end", to=sid)
        for c in clients:
            assert _messages(c) == [f'42["b",{n}]' for n in range(4)] + ['42["end"]']


def test_recovery_logs_a_broadcast_that_took_the_fast_path(monkeypatch: pytest.MonkeyPatch) -> None:
    with _serving(2, recovery=True) as (server, clients, sids):
        for sid in sids:
            server.enter_room(sid, "r")
        answers = _fast_answers(monkeypatch)
        server.emit("b", "x", to="r")
        for sid in sids:
            server.emit("end", to=sid)
        got = [_messages(c) for c in clients]
        assert answers and all(answered for _, answered in answers)
        assert server.recovery is not None
        first = server.recovery._packets[0]  # type: ignore[attr-defined]
        assert (first.namespace, first.data, first.rooms) == ("/", ["b", "x", "07070707-1"], ["r"])
        for messages in got:
            assert messages[0] == '42["b","x","07070707-1"]'


def test_an_announced_burst_queues_every_broadcast_of_the_turn(monkeypatch: pytest.MonkeyPatch) -> None:
    """``broadcasts_follow``: no broadcast of this turn writes at once, each client gets
    the burst in one write; the next turn's first broadcast writes at once again."""
    with _serving(2) as (server, clients, sids):
        gevent.sleep(0)  # a new turn
        answers = _fast_answers(monkeypatch)
        server.broadcasts_follow()
        for n in range(3):
            server.emit("b", n)
        assert answers == []  # none was offered the fast path
        for c in clients:  # written by the end-of-turn flush, in order
            data = c.sock.recv(1 << 16)
            assert [p for _, p in frames_of(data)[0]] == [b'42["b",%d]' % n for n in range(3)]
        server.emit("b", 3)  # the burst's turn is over: the fast path again
        assert [answered for _, answered in answers] == [True, True]
        for sid in sids:
            server.emit("end", to=sid)
        for c in clients:
            assert _messages(c) == ['42["b",3]', '42["end"]']
