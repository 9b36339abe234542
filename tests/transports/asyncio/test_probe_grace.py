"""A polling GET right behind the client's "5" is refused as after the upgrade, on asyncio.

The client sent the upgrade packet on its WebSocket and then a GET on
another connection; the GET reaches the server first (the two connections
race: an epoll turn, an ASGI server's queues). The GET waits while the probe
is open (``poll_probe_grace``), so the "5" read meanwhile completes the
upgrade and the GET is answered 400 as a poll after it. The ordering is held,
not hoped for: the "5" is sent only once the server has taken the GET in
(a spy on ``poll_probe_grace``), and the grace is made long so that a slow
machine cannot let it run out first; the GET must then end with the upgrade,
not with the grace. The same for the gevent driver:
tests/transports/gevent/test_probe_grace.py.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from engineio import Config
from tests.integration import _wsclient
from transports import _esocket
from transports._esocket import EngineSocketBase

from ._harness import AioServer

pytestmark = pytest.mark.timeout(60)
PATH = "/engine.io/"
LONG_GRACE = 30.0


def _handshake(port: int) -> str:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", f"{PATH}?EIO=4&transport=polling")
    body = conn.getresponse().read()
    conn.close()
    return str(json.loads(body[1:])["sid"])


def _get(port: int, sid: str) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=LONG_GRACE + 10)
    conn.request("GET", f"{PATH}?EIO=4&transport=polling&sid={sid}")
    resp = conn.getresponse()
    out = resp.status, resp.read()
    conn.close()
    return out


@pytest.fixture
def graces(monkeypatch: pytest.MonkeyPatch) -> list[threading.Event]:
    """A long grace, and an Event per GET the server let wait for the probe."""
    monkeypatch.setattr(_esocket, "PROBE_GRACE_S", LONG_GRACE)
    seen: list[threading.Event] = [threading.Event()]
    real = EngineSocketBase.poll_probe_grace

    def spy(self: EngineSocketBase) -> float:
        grace = real(self)
        if grace:
            seen[0].set()
        return grace

    monkeypatch.setattr(EngineSocketBase, "poll_probe_grace", spy)
    return seen


def test_a_get_behind_the_upgrade_packet_is_refused(graces: list[threading.Event]) -> None:
    with AioServer(Config(ping_interval=20, ping_timeout=20)) as server, ThreadPoolExecutor(1) as pool:
        sid = _handshake(server.port)
        with _wsclient.connect(server.port, f"{PATH}?EIO=4&transport=websocket&sid={sid}") as ws:
            ws.send("2probe")
            assert ws.recv() == "3probe"
            started = time.monotonic()
            get = pool.submit(_get, server.port, sid)
            assert graces[0].wait(10), "the GET was not held for the probe"
            ws.send("5")  # held back until the server has the GET
            status, body = get.result(LONG_GRACE + 10)
            assert time.monotonic() - started < LONG_GRACE / 2  # ended by the upgrade
            assert status == 400, (status, body)
            ws.send("4still here")
            assert ws.recv() == "4still here"


def test_without_the_upgrade_packet_the_get_goes_on_after_the_grace(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_esocket, "PROBE_GRACE_S", 0.05)
    with AioServer(Config(ping_interval=20, ping_timeout=20)) as server, ThreadPoolExecutor(1) as pool:
        sid = _handshake(server.port)
        with _wsclient.connect(server.port, f"{PATH}?EIO=4&transport=websocket&sid={sid}") as ws:
            ws.send("2probe")
            assert ws.recv() == "3probe"
            get: Any = pool.submit(_get, server.port, sid)
            # Still polling: the GET is answered (the noop that ends a poll during an upgrade).
            assert get.result(10) == (200, b"6")
            ws.send("5")
            ws.send("4over websocket")
            assert ws.recv() == "4over websocket"
