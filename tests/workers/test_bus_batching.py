"""The bus's cheap paths: a broadcast is not sent back to the worker that drops it,
and the broadcasts of one turn of the loop travel together (one write each way).

No processes: the hub is fed frames, the adapter is given a stand-in link, the
worker's connection writes to a socket pair.
"""

from __future__ import annotations

import socket
from typing import Any

import gevent
from hypothesis import given, settings
from hypothesis import strategies as st

from socketio_core.cluster import WorkersAdapter
from socketio_core.redis import _codec as codec
from transports.gevent import BusConnection
from transports.gevent._cluster import _bus as bus
from transports.gevent._cluster._process import WorkerProcess
from transports.gevent._cluster._supervisor import Supervisor

from ._bus_frames import FrameCollector


def test_a_marked_publish_reaches_the_others_only_and_counts_everyone() -> None:
    hub = bus.Hub(lambda: 1000.0)
    got_a, got_b = FrameCollector(), FrameCollector()
    a, b = bus.Peer(send=got_a, name="a"), bus.Peer(send=got_b, name="b")
    hub.connect(a)
    hub.connect(b)
    hub.handle(a, bus.SUBSCRIBE, {"chs": ["all"], "q": 1}, b"")
    hub.handle(b, bus.SUBSCRIBE, {"chs": ["all"], "q": 1}, b"")
    del got_a.frames[:], got_b.frames[:]
    hub.handle(a, bus.PUBLISH, {"ch": "all", "x": 1, "q": 2}, b"m")
    assert got_b.frames == [(bus.MESSAGE, {"ch": "all"}, b"m")]
    assert got_a.frames == [(bus.REPLY, {"q": 2, "v": 2}, b"")]  # counted all the same
    assert hub.delivered == 1
    hub.handle(a, bus.PUBLISH, {"ch": "all"}, b"n")  # unmarked: back to its sender too
    assert got_a.frames[-1] == got_b.frames[-1] == (bus.MESSAGE, {"ch": "all"}, b"n")


class _FakeConnection:
    """What WorkersAdapter needs of a BusConnection before it attaches: nothing."""


class _Link:
    """Stands in for HubLink: runs the command on a client that records the call."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, bytes, bool]] = []

    def run(self, command: Any, done: Any = None) -> None:
        link = self

        class Client:
            def publish(self, channel: str, payload: bytes, *, others_only: bool = False) -> int:
                link.calls.append((channel, payload, others_only))
                return 1

        command(Client())


_TYPES = sorted(codec.REQUEST_TYPES | codec.REPLY_TYPES
                | {"broadcast", "join", "leave", "disconnect", "something_new"})


@st.composite
def _messages(draw: Any) -> dict[str, Any]:
    message: dict[str, Any] = {"type": draw(st.sampled_from(_TYPES)), "nsp": "/", "rooms": None,
                               "data": ["e", draw(st.integers())]}
    if draw(st.booleans()) and draw(st.booleans()):
        message["offset"] = "1-0"
    if draw(st.booleans()):
        message["req"] = "r-1"
    return message


def test_a_message_skips_its_sender_only_when_the_sender_would_drop_it() -> None:
    """Differential: the general path (Redis's: the sender's own copy comes back
    and ``_received`` decides) against the mark (``others_only``), which must
    answer often (a run that only saw it decline would prove nothing)."""
    answered = {"fast": 0, "general": 0}

    @settings(max_examples=300, deadline=None, database=None)
    @given(_messages(), st.booleans())
    def check(message: dict[str, Any], awaited: bool) -> None:
        adapter = WorkersAdapter(_FakeConnection())  # type: ignore[arg-type]
        link = _Link()
        adapter._link = link  # type: ignore[assignment]
        adapter._wake_pending = True  # no hub to wake here
        adapter._publish(dict(message), done=(lambda count: None) if awaited else None)
        (channel, payload, others_only), = link.calls
        adapter._received(payload)  # the general path: it came back
        dropped = not adapter._inbox
        if others_only:
            answered["fast"] += 1
            assert dropped and not awaited
        else:
            answered["general"] += 1
            assert awaited or not dropped
        assert codec.loads(payload) == {**message, "uid": adapter.uid}

    check()
    assert answered["fast"] >= 50, answered
    assert answered["general"] >= 50, answered


class _CountingSocket:
    def __init__(self, raw: socket.socket) -> None:
        self.raw = raw
        self.writes = 0

    def send(self, data: bytes) -> int:
        self.writes += 1
        return self.raw.send(data)


def _read_frames(sock: socket.socket, count: int) -> list[tuple[bytes, dict[str, Any], bytes]]:
    reader = bus.BusReader()
    frames: list[tuple[bytes, dict[str, Any], bytes]] = []
    while len(frames) < count:
        frames.extend(reader.feed(sock.recv(65536)))
    return frames


def test_frames_held_for_the_turn_go_out_in_one_write_and_before_any_other() -> None:
    ours, theirs = socket.socketpair()
    connection = BusConnection(ours)
    counting = _CountingSocket(connection._raw)
    connection._raw = counting
    try:
        frames = [bus.encode(bus.PUBLISH, {"ch": "all"}, b"%d" % i) for i in range(5)]
        for frame in frames[:3]:
            connection.send_later(frame)
        assert counting.writes == 0  # held until the loop turns
        gevent.sleep(0)
        assert counting.writes == 1
        assert _read_frames(theirs, 3) == [(bus.PUBLISH, {"ch": "all"}, b"%d" % i) for i in range(3)]
        connection.send_later(frames[3])
        connection.send(frames[4])  # what was held goes first, in the same write
        assert counting.writes == 2
        assert [f[2] for f in _read_frames(theirs, 2)] == [b"3", b"4"]
        gevent.sleep(0)
        assert counting.writes == 2  # nothing left for the turn's end
        connection.send_later(frames[0])
        connection.close()  # held frames still go
        assert _read_frames(theirs, 1)[0][2] == b"0"
    finally:
        connection.close()
        theirs.close()


def test_the_supervisor_writes_a_batch_of_frames_once_per_worker() -> None:
    supervisor = Supervisor(lambda ctx: None, 1)
    ours, theirs = socket.socketpair()
    counting = _CountingSocket(ours)
    worker = WorkerProcess(0, 1, 0, ours, counting, bus.Peer(send=lambda f: None), 0.0)  # type: ignore[arg-type]
    try:
        supervisor._bus_batch = {}
        for i in range(4):
            supervisor._bus_send(worker, bus.encode(bus.MESSAGE, {"ch": "all"}, b"%d" % i))
        assert counting.writes == 0
        batch, supervisor._bus_batch = supervisor._bus_batch, None
        for held_for, frames in batch.items():
            supervisor._bus_write(held_for, bytes(frames))
        assert counting.writes == 1
        assert [f[2] for f in _read_frames(theirs, 4)] == [b"0", b"1", b"2", b"3"]
        supervisor._bus_send(worker, bus.encode(bus.MESSAGE, {"ch": "all"}, b"4"))  # no batch: now
        assert counting.writes == 2
    finally:
        ours.close()
        theirs.close()
        supervisor._close_all()


class _RecordingServer:
    """What the adapter's drain calls on its server, in order."""

    def __init__(self) -> None:
        self.calls: list[Any] = []

    def broadcasts_follow(self) -> None:
        self.calls.append("burst")

    def deliver_local(self, namespace: str, data: list[Any], rooms: Any, skip: Any, volatile: bool = False) -> int:
        self.calls.append(data[1])
        return 1


def test_a_burst_of_messages_from_the_bus_is_announced_before_it_is_delivered() -> None:
    """Several broadcasts drained together queue (one write per recipient for all);
    a single one may still take the broadcast fast path."""
    adapter = WorkersAdapter(_FakeConnection())  # type: ignore[arg-type]
    server = _RecordingServer()
    adapter.server = server  # type: ignore[assignment]
    for count in (1, 3):
        server.calls.clear()
        for n in range(count):
            adapter._inbox.append({"type": "broadcast", "uid": "other", "nsp": "/", "data": ["e", n],
                                   "rooms": None, "skip": [], "volatile": False})
        adapter._drain()
        assert server.calls == (["burst"] if count > 1 else []) + list(range(count))
