"""RedisAdapter inside this process, against a real redis-server: requests and their limits.

Two ``Server`` objects share this process's gevent hub (no HTTP, no clients):
enough for the request/response paths (server-side events with answers,
``fetch_sockets``, ``server_count``), for what a subscriber that never answers
costs (a timeout, not an error), for calls from a plain OS thread, and for
``close``.
"""

from __future__ import annotations

import logging
import socket
import threading
import time
from typing import Any, Iterator

import gevent
import pytest
from gevent.event import AsyncResult

from socketio_core import Server
from socketio_core.redis._codec import all_channel
from socketio_core.redis_adapter import RedisAdapter, redact

from tests.socketio_core.server._fakes import FakeEngineSocket, connect

from .conftest import RedisServer

CHANNEL = all_channel("inproc")


def _server(url: str, **options: Any) -> Server:
    sio = Server(adapter=RedisAdapter(url, channel_prefix="inproc", request_timeout=0.5, **options))
    sio.bind_hub()
    return sio


@pytest.fixture
def pair(redis_server: RedisServer) -> Iterator[tuple[Server, Server]]:
    a, b = _server(redis_server.url), _server(redis_server.url)
    yield a, b
    a.adapter.close()
    b.adapter.close()


def _wait_subscribers(redis_server: RedisServer, n: int) -> None:
    deadline = time.monotonic() + 5
    while redis_server.subscribers(CHANNEL) != n:
        assert time.monotonic() < deadline, f"expected {n} subscribers"
        gevent.sleep(0.05)


def test_server_side_emit_gathers_the_other_servers_answers(pair: tuple[Server, Server]) -> None:
    a, b = pair
    heard: list[Any] = []

    def ping(x: Any) -> dict[str, Any]:
        heard.append(x)
        return {"pong": x}

    b.on_server_event("ping", ping)
    a.on_server_event("ping", lambda x: pytest.fail("a server does not hear itself"))
    answers: AsyncResult[list[Any]] = AsyncResult()
    t0 = time.monotonic()
    a.server_side_emit("ping", b"\x01", callback=answers.set, timeout=5)
    assert answers.get(timeout=5) == [{"pong": b"\x01"}]
    assert time.monotonic() - t0 < 1  # all answered: no waiting for the timeout
    a.server_side_emit("ping", 2)  # no answers wanted
    deadline = time.monotonic() + 5
    while len(heard) < 2 and time.monotonic() < deadline:
        gevent.sleep(0.01)
    assert heard == [b"\x01", 2]


def test_a_volatile_broadcast_with_ack_neither_sends_to_nor_waits_for_busy_sockets(
    pair: tuple[Server, Server], redis_server: RedisServer
) -> None:
    a, b = pair
    b.on("connect", lambda sid: None)
    _wait_subscribers(redis_server, 2)
    busy, ready = FakeEngineSocket("busy", writable=False), FakeEngineSocket("ready")
    connect(b, busy, "/")
    ready_sid = connect(b, ready, "/")
    ready.sent.clear()
    ready.received.clear()
    busy.sent.clear()
    answers: AsyncResult[dict[str, Any]] = AsyncResult()
    t0 = time.monotonic()
    a.emit("q", callback=answers.set, timeout=5, volatile=True)
    assert ready.received.wait(timeout=5)
    assert ready.sent == ['420["q"]']
    b.engineio_message(ready, '30["ok"]')  # type: ignore[arg-type]  # ACK 0 (Engine.IO prefix stripped)
    assert answers.get(timeout=5) == {ready_sid: "ok"}
    assert time.monotonic() - t0 < 4  # b counted only the socket it sent to: no waiting for the timeout
    assert busy.sent == []


def test_fetch_sockets_and_server_count(pair: tuple[Server, Server]) -> None:
    a, b = pair
    t0 = time.monotonic()
    assert gevent.spawn(a.fetch_sockets).get(timeout=5) == []
    assert time.monotonic() - t0 < 0.4  # both answered (there is nobody to list)
    assert gevent.spawn(a.adapter.server_count).get(timeout=5) == 2


def test_a_silent_subscriber_costs_a_timeout_not_an_error(
    pair: tuple[Server, Server], redis_server: RedisServer, caplog: pytest.LogCaptureFixture
) -> None:
    a, b = pair
    with socket.create_connection(("127.0.0.1", redis_server.port)) as stray:
        stray.sendall(f"SUBSCRIBE {CHANNEL}\r\n".encode())
        _wait_subscribers(redis_server, 3)
        with caplog.at_level(logging.WARNING, "socketio_core.redis"):
            t0 = time.monotonic()
            assert gevent.spawn(a.fetch_sockets).get(timeout=5) == []
            elapsed = time.monotonic() - t0
        assert 0.4 < elapsed < 2, elapsed  # request_timeout=0.5
        assert "1 server(s) did not answer in time" in caplog.text
        assert gevent.spawn(a.adapter.server_count).get(timeout=5) == 3


def test_calls_from_a_plain_os_thread(pair: tuple[Server, Server]) -> None:
    a, b = pair
    b.on_server_event("who", lambda: "b")
    out: dict[str, Any] = {}

    def worker() -> None:
        out["fetch"] = a.fetch_sockets()
        out["count"] = a.adapter.server_count()
        done = threading.Event()

        def answered(answers: list[Any]) -> None:
            out["who"] = answers
            done.set()

        a.server_side_emit("who", callback=answered)
        out["answered"] = done.wait(5)

    thread = threading.Thread(target=worker)
    thread.start()
    while thread.is_alive():  # the hub must run for the thread's requests to be served
        gevent.sleep(0.01)
    assert out == {"fetch": [], "count": 2, "who": ["b"], "answered": True}


def test_close_unsubscribes(redis_server: RedisServer) -> None:
    a = _server(redis_server.url)
    _wait_subscribers(redis_server, 1)
    a.adapter.close()
    _wait_subscribers(redis_server, 0)


def test_startup_without_redis_is_quick_and_joins_later(caplog: pytest.LogCaptureFixture) -> None:
    from tests.conftest import free_port

    late = RedisServer(free_port())
    with caplog.at_level(logging.INFO, "socketio_core.redis"):
        t0 = time.monotonic()
        a = _server(late.url, backoff_max=0.2)
        assert time.monotonic() - t0 < 1.5  # a refused connection ends the startup wait
        try:
            late.start()
            _wait_subscribers(late, 1)
        finally:
            a.adapter.close()
            late.kill()
    lines = [r.getMessage() for r in caplog.records]
    assert sum("cannot subscribe" in line for line in lines) == 1, lines  # not one per attempt
    assert sum(line.startswith("subscribed to redis") for line in lines) == 1, lines


def test_passwords_stay_out_of_logs() -> None:
    assert redact("redis://user:secret@host:6379/0") == "redis://user:***@host:6379/0"
    assert redact("redis://:secret@host/0") == "redis://:***@host/0"
    assert redact("redis://host:6379/0") == "redis://host:6379/0"


def test_an_idle_subscription_stays_up(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Silence makes the subscriber PING; the PONG must count as a sign of life.
    monkeypatch.setattr(RedisAdapter, "liveness_interval", 0.1)
    with caplog.at_level(logging.INFO, "socketio_core.redis"):
        a = _server(redis_server.url)
        try:
            gevent.sleep(1.0)  # ten liveness periods without traffic
        finally:
            a.adapter.close()
    assert "lost the subscription" not in caplog.text


def test_requests_answer_at_once_while_redis_is_down(caplog: pytest.LogCaptureFixture) -> None:
    from tests.conftest import free_port

    gone = RedisServer(free_port())
    gone.start()
    a = _server(gone.url)
    try:
        gone.kill()
        with caplog.at_level(logging.INFO, "socketio_core.redis"):
            t0 = time.monotonic()
            answers: AsyncResult[list[Any]] = AsyncResult()
            a.server_side_emit("anyone", callback=answers.set, timeout=5)
            assert answers.get(timeout=5) == []
            assert gevent.spawn(a.fetch_sockets).get(timeout=5) == []
            assert gevent.spawn(a.adapter.server_count).get(timeout=5) == 1
            a.emit("lost", 1)  # a broadcast: local delivery only, and no error
            assert time.monotonic() - t0 < 0.4  # nothing waited for a timeout
        assert caplog.text.count("publishing to redis at") == 1, caplog.text  # one line, not four
    finally:
        a.adapter.close()
