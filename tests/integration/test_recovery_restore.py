"""Whatever arrives while a socket is being restored reaches it once, in order.

In-process server (its own hub thread), raw WebSocket clients, and the order of
events driven by gates rather than timing: the client misses ticks 2 and 3,
reconnects with the offset of tick 1, and ticks 4 and 5 are emitted while the
restore is held, either in a recovery log that answers later (as the Redis
log answers when Redis does: ``restore_then`` calls back on the hub) or in
the connect handler of the restored socket. It must get the CONNECT reply, then
2, 3, 4, 5 and a live 6, each once, in order, with their offsets.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Any, Iterator

import gevent
import gevent.event
import pytest

from socketio_core.protocol._recovery import RecoveryLog
from socketio_core.server import MemoryAdapter, Server
from tests.hostile._harness import ServerThread, SioWs, reset

pytestmark = pytest.mark.timeout(60)


class _HeldLog(RecoveryLog):
    """The in-memory log, made to answer later like a store elsewhere: ``restore_then``
    calls back (on the hub, from a greenlet) only once the test opens ``gate``."""

    hold = False
    gate: Any = None
    entered: threading.Event | None = None

    def restore_then(self, pid: str, offset: str, now: float, done: Any) -> None:
        if not self.hold:
            RecoveryLog.restore_then(self, pid, offset, now, done)
            return
        assert self.entered is not None
        self.entered.set()

        def answer_when_opened() -> None:
            self.gate.wait()
            done(RecoveryLog.restore(self, pid, offset, now))

        gevent.spawn(answer_when_opened)


class _HeldAdapter(MemoryAdapter):
    def recovery_log(self, options: dict[str, Any]) -> Any:
        return _HeldLog(random_bytes=lambda n: bytes(range(n)), **options)


@pytest.fixture(scope="module")
def held() -> Iterator[tuple[ServerThread, _HeldLog, threading.Event, dict[str, bool]]]:
    server = ServerThread(
        adapter=_HeldAdapter(), connection_state_recovery={"max_disconnection_duration": 30}
    ).start()
    sio = server.sio
    assert sio is not None
    log = sio.recovery
    assert isinstance(log, _HeldLog)
    entered = threading.Event()
    hold_connect = {"on": False}

    def setup() -> None:
        log.gate = gevent.event.Event()
        log.entered = entered

        @sio.on("connect")
        def connect(sid: str, environ: Any, auth: Any) -> None:
            if sio.recovered(sid) and hold_connect["on"]:
                entered.set()
                log.gate.wait()

    server.call(setup)
    yield server, log, entered, hold_connect
    server.stop()


def _connect_reply(client: SioWs) -> dict[str, Any]:
    reply = client.recv()
    assert isinstance(reply, str) and reply.startswith("40{"), reply
    return dict(json.loads(reply[2:]))


def _tick(client: SioWs) -> tuple[int, str]:
    message = client.recv()
    assert isinstance(message, str) and message.startswith('42["tick",'), message
    _, number, offset = json.loads(message[2:])
    return number, offset


def _wait_until(check: Any, what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, f"not {what} within {timeout} s"
        time.sleep(0.02)


@pytest.mark.parametrize("held_in", ["log", "connect_handler"])
def test_events_emitted_during_a_held_restore_arrive_once_in_order(
    held: tuple[ServerThread, _HeldLog, threading.Event, dict[str, bool]], held_in: str,
) -> None:
    server, log, entered, hold_connect = held
    sio: Server = server.sio  # type: ignore[assignment]
    server.call(lambda: log.gate.clear())
    entered.clear()

    first = SioWs(server.port)
    first.send("40")
    hello = _connect_reply(first)
    sid, pid = hello["sid"], hello["pid"]
    sio.emit("tick", 1, to=sid)
    number, seen = _tick(first)  # the offset the client reconnects with
    assert number == 1 and seen
    reset(first.ws.sock)  # the transport dies: the session is saved
    _wait_until(lambda: server.stats()["sockets"] == 0, "gone")

    sio.emit("tick", 2, to=sid)  # missed while away
    sio.emit("tick", 3, to=sid)
    log.hold = held_in == "log"
    hold_connect["on"] = held_in == "connect_handler"
    second = SioWs(server.port)
    try:
        second.send("40" + json.dumps({"pid": pid, "offset": seen}))
        assert entered.wait(5), "the restore was not held"
        sio.emit("tick", 4, to=sid)  # while the restore is held
        sio.emit("tick", 5, to=sid)
        server.call(lambda: log.gate.set())  # after the emits: same thread-safe queue, in order
        assert _connect_reply(second)["sid"] == sid
        got = [_tick(second) for _ in range(4)]
        sio.emit("tick", 6, to=sid)
        got.append(_tick(second))
        assert [n for n, _ in got] == [2, 3, 4, 5, 6]
        offsets = [o for _, o in got]
        assert len(set(offsets)) == 5 and seen not in offsets
        assert server.call(lambda: sio.recovered(sid))
    finally:
        log.hold = False
        hold_connect["on"] = False
        second.close()
    _wait_until(lambda: server.stats()["sockets"] == 0, "closed")
