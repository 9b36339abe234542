"""The worker's side of the hub's live sessions (socketio_core.cluster._live), without processes.

A real :class:`WorkersAdapter` (membership, the recovery log's stored form)
whose link hands each command a client that collects the frames; a stand-in
server holds the sockets. The frames are then fed to a real hub, which, when
the worker's bus ends, must hold exactly what the worker would have saved.
With Redis between the workers (:class:`WorkerRedisAdapter`) the frames go on
the bus connection itself, a socket's GONE only after the commands queued
before it (its save) ran on the Redis link.
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass, field
from typing import Any

import pytest

from socketio_core.cluster import WorkersAdapter
from socketio_core.cluster._live import LiveSessions
from socketio_core.server import ServerListener
from transports.gevent._cluster import _bus as bus

from ._bus_frames import FrameCollector


class _Client:
    def __init__(self, connection: FrameCollector) -> None:
        self.connection = connection


class _Link:
    """Runs each command at once, as HubLink does when nothing is queued."""

    def __init__(self, connection: FrameCollector) -> None:
        self.client = _Client(connection)

    def run(self, command: Any, done: Any = None) -> None:
        result = command(self.client)
        if done is not None:
            done(result)


@dataclass
class _Socket:
    sid: str
    namespace: str
    pid: str | None
    data: dict[str, Any] = field(default_factory=dict)
    connected: bool = True


class _Server:
    def __init__(self) -> None:
        self.sockets: dict[str, _Socket] = {}
        self.listeners: list[ServerListener] = []

    def add_listener(self, listener: ServerListener) -> ServerListener:
        self.listeners.append(listener)
        return listener

    def local_socket(self, sid: str, namespace: str) -> _Socket | None:
        sock = self.sockets.get(sid)
        return sock if sock is not None and sock.namespace == namespace else None


@pytest.fixture
def worker() -> tuple[_Server, WorkersAdapter, FrameCollector, LiveSessions]:
    connection = FrameCollector()
    adapter = WorkersAdapter(connection)  # type: ignore[arg-type]
    adapter._link = _Link(connection)  # type: ignore[assignment]
    log = adapter.recovery_log({"max_disconnection_duration": 30.0})
    server = _Server()
    live = LiveSessions(server, adapter, log)  # type: ignore[arg-type]
    live.attach()
    assert server.listeners == [live]
    return server, adapter, connection, live


def _open(server: _Server, adapter: WorkersAdapter, sock: _Socket, *rooms: str) -> None:
    """As the server opens a socket: its own room, restored rooms, then (accepted) the listener."""
    server.sockets[sock.sid] = sock
    adapter.add(sock.namespace, sock.sid, sock.sid)
    for room in rooms:
        adapter.add(sock.namespace, sock.sid, room)
    for listener in server.listeners:
        listener.socket_connected(sock.namespace, sock.sid)


def test_frames_follow_a_socket_and_the_hub_saves_what_the_worker_would(
    worker: tuple[_Server, WorkersAdapter, FrameCollector, LiveSessions],
) -> None:
    server, adapter, connection, live = worker
    a = _Socket("sa", "/chat", "pid-a", {"user": "alice", "bin": b"\x01"})
    _open(server, adapter, a, "restored")
    op, header, body = connection.frames[-1]
    assert op == bus.LIVE and len(connection.frames) == 1  # the joins before it were not sent
    assert header == {"s": "sa", "k": live.log.session_prefix + "pid-a", "w": 30_000, "r": ["restored"]}
    assert json.loads(body)["data"] == json.loads(adapter._recovery.session_value(  # type: ignore[union-attr]
        _saved(a, {"restored"})))["data"]
    adapter.add("/chat", "sa", "r1")
    adapter.add("/chat", "sa", "r2")
    adapter.discard("/chat", "sa", "restored")
    adapter.add("/other", "sa", "x")  # another namespace's membership of that sid: not this socket
    assert [f[:2] for f in connection.frames[1:]] == [
        (bus.ROOM, {"s": "sa", "r": "r1", "j": 1}),
        (bus.ROOM, {"s": "sa", "r": "r2", "j": 1}),
        (bus.ROOM, {"s": "sa", "r": "restored", "j": 0}),
    ]
    # A socket without a pid (recovery off for it) and one whose data cannot be stored: nothing.
    _open(server, adapter, _Socket("sb", "/", None), "r1")
    _open(server, adapter, _Socket("sc", "/", "pid-c", {"f": object()}), "r1")
    adapter.add("/", "sb", "r3")
    assert len(connection.frames) == 4
    # d connects and leaves: GONE, and its rooms' departures are not sent.
    d = _Socket("sd", "/", "pid-d")
    _open(server, adapter, d, "r1")
    for listener in server.listeners:
        listener.socket_disconnected("/", "sd", "transport close")
    adapter.discard_all("/", "sd")
    assert [f[0] for f in connection.frames[4:]] == [bus.LIVE, bus.GONE]

    now = [1000.0]
    hub = bus.Hub(lambda: now[0])
    peer = bus.Peer(send=lambda frame: None)
    hub.connect(peer)
    for op, header, body in connection.frames:
        hub.handle(peer, op, header, body)
    assert hub.disconnect(peer) == 1  # a (d is gone)
    kept, expires = hub._sessions[live.log.session_prefix + "pid-a"]
    assert json.loads(kept) == json.loads(adapter._recovery.session_value(  # type: ignore[union-attr]
        _saved(a, {"r1", "r2"})))
    assert expires == 1030.0


def test_data_that_cannot_be_stored_is_said_once(
    worker: tuple[_Server, WorkersAdapter, FrameCollector, LiveSessions], caplog: pytest.LogCaptureFixture,
) -> None:
    server, adapter, connection, _ = worker
    with caplog.at_level(logging.WARNING):
        _open(server, adapter, _Socket("sc", "/", "pid-c", {"f": object()}))
    assert connection.frames == []
    assert "sc cannot be recovered if this worker dies" in caplog.text


def _saved(sock: _Socket, rooms: set[str]) -> Any:
    from socketio_core.protocol._recovery import SavedSession

    assert sock.pid is not None
    return SavedSession(sid=sock.sid, pid=sock.pid, namespace=sock.namespace, rooms=rooms,
                        data=sock.data, saved_at=0.0)


def _kill_and_claim(frames: list[tuple[bytes, dict[str, Any], bytes]], key: str) -> Any:
    """Feed ``frames`` to a hub, end their worker's bus, claim ``key``: the stored session or None."""
    hub = bus.Hub(lambda: 1000.0)
    peer = bus.Peer(send=lambda frame: None)
    hub.connect(peer)
    for op, header, body in frames:
        hub.handle(peer, op, header, body)
    hub.disconnect(peer)
    value = hub.take(key)
    return None if value is None else json.loads(value)


def test_a_saved_session_replaces_the_hubs_copy_of_the_data(
    worker: tuple[_Server, WorkersAdapter, FrameCollector, LiveSessions], caplog: pytest.LogCaptureFixture,
) -> None:
    server, adapter, connection, live = worker
    a = _Socket("sa", "/", "pid-a", {"at": "connect"})
    _open(server, adapter, a, "r")
    key = live.log.session_prefix + "pid-a"
    a.data = {"at": "save", "n": 2}  # what Server.save_session does, then it tells the listeners
    for listener in server.listeners:
        listener.session_saved("/", "sa")
    assert [f[0] for f in connection.frames] == [bus.LIVE, bus.LIVE]
    assert connection.frames[-1][1]["r"] == ["r"]
    assert _kill_and_claim(connection.frames, key)["data"] == {"at": "save", "n": 2}
    # Saved while connecting (the connect handler): its connect sends the copy, not the save.
    b = _Socket("sb", "/", "pid-b", {"at": "handler"}, connected=False)
    server.sockets["sb"] = b
    live.session_saved("/", "sb")
    assert len(connection.frames) == 2
    # Data that cannot be stored any more: the copy goes (a drain could not save it either).
    a.data = {"f": object()}
    with caplog.at_level(logging.WARNING):
        live.session_saved("/", "sa")
    assert connection.frames[-1][:2] == (bus.GONE, {"s": "sa"})
    assert "sa cannot be recovered with its new data if this worker dies" in caplog.text
    assert _kill_and_claim(connection.frames, key) is None
    # Storable again: live again.
    a.data = {"at": "third"}
    live.session_saved("/", "sa")
    assert _kill_and_claim(connection.frames, key)["data"] == {"at": "third"}


class _RedisLink:
    """Holds the commands as the Redis publisher's queue does; ``run_all`` runs them in order
    with a client that records the keys set (``saved``)."""

    def __init__(self) -> None:
        self.jobs: list[tuple[Any, Any]] = []
        self.saved: list[str] = []

    def set(self, key: str, value: bytes, px: int) -> None:
        self.saved.append(key)

    def run(self, command: Any, done: Any = None) -> None:
        self.jobs.append((command, done))

    def run_all(self, *, hand_over: bool = True) -> None:
        jobs, self.jobs = self.jobs, []
        for command, done in jobs:
            result = command(self)
            if done is not None and hand_over:
                done(result)


def test_with_redis_the_frames_go_on_the_bus_and_gone_after_the_save() -> None:
    from socketio_core.cluster._live import KeptRecoveryLog, WorkerRedisAdapter

    connection = FrameCollector()
    adapter = WorkerRedisAdapter(connection, "redis://127.0.0.1:1/0")  # type: ignore[arg-type]
    link = _RedisLink()
    adapter._link = link  # type: ignore[assignment]
    log = adapter.recovery_log({"max_disconnection_duration": 30.0})
    assert isinstance(log, KeptRecoveryLog)
    server = _Server()
    live = LiveSessions(server, adapter, log, connection)  # type: ignore[arg-type]
    live.attach()
    a, b = _Socket("sa", "/", "pid-a"), _Socket("sb", "/", "pid-b")
    _open(server, adapter, a)
    _open(server, adapter, b)
    adapter.add("/", "sa", "r")
    assert [f[0] for f in connection.frames] == [bus.LIVE, bus.LIVE, bus.ROOM]  # at once, no Redis
    assert link.jobs == []
    log.save(_saved(a, {"r"}))  # as the server does when a socket leaves: save, then the listeners
    live.socket_disconnected("/", "sa", "transport close")
    assert len(connection.frames) == 3  # GONE waits for the save
    link.run_all()
    assert connection.frames[-1][:2] == (bus.GONE, {"s": "sa"})
    assert link.saved == [log.session_prefix + "pid-a"]
    # At the end of a drain the link ran its queue but the hand-over to the loop may never
    # run: close() sends the GONE frames whose save ran, and only those.
    log.save(_saved(b, set()))
    live.socket_disconnected("/", "sb", "server shutting down")
    live.close()
    assert len(connection.frames) == 4  # b's save has not run: the hub keeps its live copy
    link.run_all(hand_over=False)
    live.close()
    assert connection.frames[-1][:2] == (bus.GONE, {"s": "sb"})
    live.close()
    assert len(connection.frames) == 5
