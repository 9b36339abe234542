"""A polling GET right behind the client's "5" is refused as after the upgrade, on gevent.

The client sent the upgrade packet on its WebSocket and then a GET on
another connection; the GET reaches the server first (both connections were
readable in one turn of the hub, and the hub served the GET's first). The GET
waits while the probe is open (``poll_probe_grace``), so the "5" read
meanwhile completes the upgrade and the GET is answered 400 as a poll after
it. Over :class:`MemorySocket` the ordering is the test's: the GET is fed
and the hub settles (the GET is held) before the "5" is fed; the grace is
made long, so the GET must end with the upgrade, not with the grace. The GET
connection is one the hub serves (``hub=True``): the hub must hand such a GET
to a greenlet (``answers_in_hub``), since it cannot wait. The same for the
asyncio driver: tests/transports/asyncio/test_probe_grace.py.
"""

from __future__ import annotations

import gevent
import pytest
from gevent.event import Event

from engineio import Config
from transports import EngineServer, EngineSocket, Server, _esocket
from transports._frames import OP_TEXT

from .._memsock import MemorySocket, parse_responses, request

pytestmark = pytest.mark.timeout(60)

SID = "grace-test-sid"
PATH = "/engine.io/"
POLL = f"{PATH}?EIO=4&transport=polling&sid={SID}"
UPGRADE = request("GET", f"{PATH}?EIO=4&transport=websocket&sid={SID}", headers=[
    ("Upgrade", "websocket"), ("Connection", "Upgrade"),
    ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="), ("Sec-WebSocket-Version", "13"),
])


class _Echo:
    def engineio_session_opened(self, socket: EngineSocket) -> None: ...

    def engineio_message(self, socket: EngineSocket, data: str | bytes) -> None:
        socket.send(data)

    def engineio_session_closed(self, socket: EngineSocket, reason: str) -> None: ...


class _Polling(MemorySocket):
    """A MemorySocket that says when the server wrote to it."""

    def __init__(self) -> None:
        super().__init__(eof=False, hub=True)
        self.wrote = Event()

    def send(self, data: bytes) -> int:
        n = super().send(data)
        self.wrote.set()
        return n

    def answers(self, n: int) -> list[tuple[int, bytes]]:
        """The first ``n`` answers, once written (the grace and timers run meanwhile)."""
        with gevent.Timeout(10):
            while len(found := parse_responses(bytes(self.sent))) < n:
                self.wrote.clear()
                self.wrote.wait()
        return [(r.status, r.body) for r in found[:n]]


def _frame(text: str) -> bytes:
    payload = text.encode()
    key = b"\x01\x02\x03\x04"
    return bytes([0x80 | OP_TEXT, 0x80 | len(payload)]) + key + bytes(
        b ^ key[i % 4] for i, b in enumerate(payload)
    )


def _settle(socks: list[MemorySocket]) -> None:
    """Let the hub run until nothing moves: every greenlet waits, every callback ran."""
    last: tuple[tuple[int, int], ...] | None = None
    while True:
        gevent.idle()
        now = tuple((len(s.sent), s.bytes_read) for s in socks)
        if now == last:
            return
        last = now


def _upgrade_race(*, send_five: bool) -> tuple[list[tuple[int, bytes]], bytes]:
    """Handshake and a probe; then a GET, and (``send_five``) the "5" behind it.

    The answers on the polling connection, and what the WebSocket connection got.
    """
    engine = EngineServer(_Echo(), Config(ping_interval=600, ping_timeout=600), path=PATH,
                          sid_factory=lambda: SID)
    server = Server(engine)
    polling = _Polling()
    ws = MemorySocket(eof=False, hub=True)
    socks = [polling, ws]
    workers = [gevent.spawn(server._handle, sock, ("127.0.0.1", n)) for n, sock in enumerate(socks)]
    try:
        polling.feed(request("GET", f"{PATH}?EIO=4&transport=polling"))
        _settle(socks)
        ws.feed(UPGRADE + _frame("2probe"))
        _settle(socks)
        assert b"3probe" in ws.sent
        polling.feed(request("GET", POLL))
        _settle(socks)  # the GET is in, held for the probe
        if send_five:
            ws.feed(_frame("5") + _frame("4still here"))
            _settle(socks)
        answers = polling.answers(2)
        assert not [w.exception for w in workers if w.dead and w.exception is not None]
        return answers, bytes(ws.sent)
    finally:
        engine.close_all()
        engine.scheduler.stop()
        gevent.killall(workers)


def test_a_get_behind_the_upgrade_packet_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_esocket, "PROBE_GRACE_S", 30.0)
    answers, on_ws = _upgrade_race(send_five=True)
    assert answers[1][0] == 400, answers
    assert on_ws.endswith(b"4still here")  # the upgrade is complete: the WebSocket carries on


def test_without_the_upgrade_packet_the_get_goes_on_after_the_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_esocket, "PROBE_GRACE_S", 0.05)
    answers, _ = _upgrade_race(send_five=False)
    assert answers[1] == (200, b"6"), answers  # still polling: the noop that ends a poll mid-upgrade
