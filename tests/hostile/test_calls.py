"""Server-to-client calls against a client that never answers (issue 14 item 6).

A ``call()`` that times out, a broadcast whose acks time out, and an emit whose
ack never comes leave nothing in the client's ack table; a client owes at most
``max_pending_acks`` acks (past it the caller gets TooManyPendingAcks at once);
a disconnect wakes every caller waiting for that client at once; and waiting
holds no worker greenlet.
"""

from __future__ import annotations

import concurrent.futures
import json
import re
import time
from typing import Any, Callable, Iterator

import pytest

from socketio_core import Server, TooManyPendingAcks

from ._harness import ServerThread, SioWs, sio_ws_echo

pytestmark = pytest.mark.timeout(60)

LIMIT = 3
_CALL = re.compile(r"^42(\d+)(\[.*)$")


def _register(sio: Server) -> None:
    @sio.on("call_short")
    def call_short(sid: str) -> None:
        # A handler calling back its client, which never answers.
        try:
            sio.call("ping_client", to=sid, timeout=0.3)
            outcome = "answered"
        except TimeoutError:
            outcome = "TimeoutError"
        sio.emit("call_result", outcome, to=sid)

    @sio.on("call_many")
    def call_many(sid: str, n: int) -> None:
        # From the hub's thread: past the limit, the error comes at once.
        outcomes = []
        for _ in range(n):
            try:
                sio.emit("ping_client", to=sid, callback=lambda *a: None, timeout=30)
                outcomes.append("sent")
            except TooManyPendingAcks:
                outcomes.append("TooManyPendingAcks")
        sio.emit("call_result", outcomes, to=sid)


@pytest.fixture(scope="module")
def calls_server() -> Iterator[ServerThread]:
    server = ServerThread(max_pending_acks=LIMIT).start()
    assert server.sio is not None
    server.call(lambda: _register(server.sio))  # type: ignore[arg-type]
    yield server
    server.stop()


@pytest.fixture
def server(calls_server: ServerThread) -> Iterator[ServerThread]:
    calls_server.wait_idle()
    yield calls_server
    sio_ws_echo(calls_server.port)
    calls_server.wait_idle()
    assert not calls_server.greenlet_errors, calls_server.greenlet_errors
    assert not calls_server.log.records, "\n\n".join(calls_server.log.records)


def _wait_until(check: Callable[[], bool], what: str, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"not {what} within {timeout} s")
        time.sleep(0.02)


def _call_request(client: SioWs) -> tuple[int, list[Any]]:
    """The next server-to-client call: (ack id, data)."""
    message = client.recv()
    assert isinstance(message, str)
    match = _CALL.match(message)
    assert match, message
    return int(match[1]), json.loads(match[2])


def _pending(server: ServerThread) -> int:
    return server.stats()["pending_acks"]


def test_a_call_that_times_out_in_a_handler_leaves_no_ack_behind(server: ServerThread) -> None:
    with SioWs(server.port) as client:
        client.connect()
        client.send('42["call_short"]')
        _, data = _call_request(client)
        assert data == ["ping_client"]
        assert client.recv() == '42["call_result","TimeoutError"]'
        assert _pending(server) == 0  # the client is still connected


def test_a_call_from_a_thread_that_times_out_leaves_no_ack_behind(server: ServerThread) -> None:
    assert server.sio is not None
    with SioWs(server.port) as client:
        sid = client.connect()
        started = time.monotonic()
        with pytest.raises(TimeoutError, match="no ack"):
            server.sio.call("ping_client", 1, to=sid, timeout=0.3)
        assert time.monotonic() - started < 3
        assert _call_request(client)[1] == ["ping_client", 1]
        assert _pending(server) == 0
        assert server.stats()["busy_workers"] == 0


def test_broadcast_and_emit_acks_that_never_come_are_forgotten_after_their_timeout(
    server: ServerThread,
) -> None:
    sio = server.sio
    assert sio is not None
    with SioWs(server.port) as client:
        sid = client.connect()
        assert sio.call_all("ping_client", to=sid, timeout=0.3) == {}
        _call_request(client)
        assert _pending(server) == 0
        sio.emit("ping_client", to=sid, callback=lambda *a: None, timeout=0.3)
        _call_request(client)
        _wait_until(lambda: _pending(server) == 0, "forgotten")


def test_past_the_limit_the_caller_gets_too_many_pending_acks(server: ServerThread) -> None:
    sio = server.sio
    assert sio is not None
    with SioWs(server.port) as client, concurrent.futures.ThreadPoolExecutor(LIMIT) as pool:
        sid = client.connect()
        calls = [pool.submit(sio.call, "ping_client", i, to=sid, timeout=30) for i in range(LIMIT)]
        requests = dict(_call_request(client) for _ in range(LIMIT))
        assert _pending(server) == LIMIT
        assert server.stats()["busy_workers"] == 0  # waiting callers hold no greenlet
        with pytest.raises(TooManyPendingAcks, match="max_pending_acks=3"):
            sio.call("ping_client", "one too many", to=sid, timeout=30)
        # From a handler (the hub's thread) too, and for emit with a callback.
        client.send('42["call_many",2]')
        assert client.recv() == '42["call_result",["TooManyPendingAcks","TooManyPendingAcks"]]'
        # An answer makes room again.
        ack_id, data = next((k, v) for k, v in requests.items() if v == ["ping_client", 0])
        client.send(f'43{ack_id}["pong"]')
        assert calls[0].result(5) == "pong"
        assert _pending(server) == LIMIT - 1


def test_a_disconnect_wakes_every_waiting_caller_at_once(server: ServerThread) -> None:
    sio = server.sio
    assert sio is not None
    client = SioWs(server.port)
    sid = client.connect()
    with concurrent.futures.ThreadPoolExecutor(LIMIT) as pool:
        calls = [pool.submit(sio.call, "ping_client", i, to=sid, timeout=30) for i in range(LIMIT)]
        for _ in range(LIMIT):
            _call_request(client)
        started = time.monotonic()
        client.close()
        for call in calls:
            with pytest.raises(TimeoutError, match="disconnected"):
                call.result(10)
        assert time.monotonic() - started < 5  # not the 30 s timeout
    assert _pending(server) == 0
