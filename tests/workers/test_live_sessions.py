"""The worker's side of the hub's live sessions (socketio_core.cluster._live), without processes.

A real :class:`WorkersAdapter` (membership, the recovery log's stored form)
whose link hands each command a client that collects the frames; a stand-in
server holds the sockets. The frames are then fed to a real hub, which, when
the worker's bus ends, must hold exactly what the worker would have saved.
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


class _Connection:
    def __init__(self) -> None:
        self.frames: list[tuple[bytes, dict[str, Any], bytes]] = []
        self._reader = bus.BusReader()

    def send(self, frame: bytes) -> None:
        self.frames.extend(self._reader.feed(frame))


class _Client:
    def __init__(self, connection: _Connection) -> None:
        self.connection = connection


class _Link:
    """Runs each command at once, as HubLink does when nothing is queued."""

    def __init__(self, connection: _Connection) -> None:
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
def worker() -> tuple[_Server, WorkersAdapter, _Connection, LiveSessions]:
    connection = _Connection()
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
    worker: tuple[_Server, WorkersAdapter, _Connection, LiveSessions],
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
    worker: tuple[_Server, WorkersAdapter, _Connection, LiveSessions], caplog: pytest.LogCaptureFixture,
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
