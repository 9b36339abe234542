"""python-socketio's ``async_handlers=False``: one client's events are handled in order, one at a time.

Driven through the real Engine.IO handler methods with in-memory sessions
(see :mod:`._fakes`); handlers block on gevent events the test controls.
"""

from __future__ import annotations

from typing import Any

import pytest
from gevent.event import Event

from socketio_core import Server

from ._fakes import FakeEngineSocket, connect

pytestmark = pytest.mark.timeout(30)


def _server(async_handlers: bool) -> tuple[Server, list[str], Event, Event]:
    sio = Server(async_handlers=async_handlers)
    order: list[str] = []
    release = Event()
    started_slow = Event()

    @sio.on("slow")
    def slow(sid: str, tag: str) -> None:
        order.append("slow:start:" + tag)
        started_slow.set()
        release.wait(10)
        order.append("slow:end:" + tag)

    @sio.on("fast")
    def fast(sid: str, tag: str) -> None:
        order.append("fast:" + tag)

    @sio.on("boom")
    def boom(sid: str) -> None:
        raise ValueError("boom")

    return sio, order, release, started_slow


def _wait_until(predicate: Any) -> None:
    import gevent

    with gevent.Timeout(10):
        while not predicate():
            gevent.sleep(0.005)


def test_false_runs_one_clients_events_in_order_and_never_holds_back_others() -> None:
    sio, order, release, started_slow = _server(async_handlers=False)
    a, b = FakeEngineSocket("A"), FakeEngineSocket("B")
    connect(sio, a, "/")
    connect(sio, b, "/")
    sio.engineio_message(a, '2["slow","a1"]')  # type: ignore[arg-type]
    sio.engineio_message(a, '2["boom"]')  # type: ignore[arg-type]
    sio.engineio_message(a, '2["fast","a2"]')  # type: ignore[arg-type]
    assert started_slow.wait(10)
    sio.engineio_message(b, '2["fast","b1"]')  # type: ignore[arg-type]
    _wait_until(lambda: "fast:b1" in order)
    assert "fast:a2" not in order  # A's next event waits for A's slow one
    release.set()
    _wait_until(lambda: "fast:a2" in order)
    assert order == ["slow:start:a1", "fast:b1", "slow:end:a1", "fast:a2"]  # and survives a raising handler


def test_true_the_default_runs_each_event_at_once() -> None:
    sio, order, release, started_slow = _server(async_handlers=True)
    a = FakeEngineSocket("A")
    connect(sio, a, "/")
    sio.engineio_message(a, '2["slow","a1"]')  # type: ignore[arg-type]
    assert started_slow.wait(10)
    sio.engineio_message(a, '2["fast","a2"]')  # type: ignore[arg-type]
    _wait_until(lambda: "fast:a2" in order)
    assert "slow:end:a1" not in order
    release.set()
    _wait_until(lambda: "slow:end:a1" in order)
