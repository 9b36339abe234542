"""Heartbeat, ping timeout and close, on a real server with short timers (300 / 200 ms).

Timing is asserted only where the protocol dictates it: the first ping is due
``pingInterval`` after the handshake (never earlier), and a silent session is
gone after ``pingInterval + pingTimeout``. Upper bounds are generous.
"""

from __future__ import annotations

import json
import threading
import time
from typing import Iterator

import pytest

from tests.conftest import EchoServer

from ._eio import Background, Eio, running_server, skip_under_asgi
from ._wsclient import WsClosed

pytestmark = pytest.mark.timeout(60)

INTERVAL = 0.3
TIMEOUT = 0.2
SLACK = 0.3  # scheduling slack on top of a protocol deadline before we look


@pytest.fixture(scope="module")
def server(eio_driver: str) -> Iterator[EchoServer]:
    with running_server("--ping-interval", "300", "--ping-timeout", "200", driver=eio_driver) as srv:
        yield srv


@pytest.fixture
def eio(server: EchoServer) -> Eio:
    return Eio(server.port)


# -------------------------------------------------------------------- polling


def test_polling_first_ping_arrives_after_ping_interval(eio: Eio) -> None:
    start = time.monotonic()
    sid, _ = eio.handshake()
    resp = eio.poll(sid)
    elapsed = time.monotonic() - start
    assert resp.status == 200
    assert resp.body == b"2"
    assert elapsed >= INTERVAL - 0.02, f"ping after {elapsed:.3f} s, before pingInterval"
    assert elapsed < INTERVAL + TIMEOUT + 1.5


def test_polling_pongs_keep_the_session_alive(eio: Eio) -> None:
    start = time.monotonic()
    sid, _ = eio.handshake()
    for _ in range(5):
        resp = eio.poll(sid)
        assert resp.status == 200
        assert resp.body == b"2"
        assert eio.post(sid, "3").body == b"ok"
    # Five intervals: well past interval + timeout, several times over.
    assert time.monotonic() - start > 5 * INTERVAL - 0.05
    assert eio.post(sid, "4alive").body == b"ok"
    assert eio.poll(sid).body == b"4alive"


def test_polling_silent_session_times_out(eio: Eio) -> None:
    sid, _ = eio.handshake()
    time.sleep(INTERVAL + TIMEOUT + SLACK)
    resp = eio.poll(sid)
    assert resp.status == 400
    assert resp.json() == {"code": 1, "message": "Session ID unknown"}


def test_polling_pending_get_gets_ping_then_session_times_out(eio: Eio) -> None:
    sid, _ = eio.handshake()
    assert eio.poll(sid).body == b"2"
    # No pong: the session is closed pingTimeout after the ping.
    time.sleep(TIMEOUT + SLACK)
    resp = eio.poll(sid)
    assert resp.status == 400
    assert resp.json()["code"] == 1


def test_polling_client_close_releases_pending_get(eio: Eio) -> None:
    sid, _ = eio.handshake()
    # Keep the session alive past the first ping so the pending GET is empty.
    pending = Background(eio.poll, sid)
    time.sleep(0.1)  # let the GET reach the server (ordering only, not asserted)
    first = pending.join()
    assert first.body == b"2"
    assert eio.post(sid, "3").body == b"ok"
    pending = Background(eio.poll, sid)
    time.sleep(0.1)
    resp = eio.post(sid, "1")
    assert resp.status == 200
    released = pending.join()
    assert released.status == 200
    assert released.body == b"6"
    after = eio.poll(sid)
    assert after.status == 400
    assert after.json() == {"code": 1, "message": "Session ID unknown"}


def test_polling_close_packet_stops_the_payload(eio: Eio) -> None:
    sid, _ = eio.handshake()
    assert eio.post(sid, "4before\x1e1\x1e4after").body == b"ok"
    # The first poll after the client's own close may have been in flight
    # already: it gets the noop that ends the cycle (never "after"'s echo).
    resp = eio.poll(sid)
    assert (resp.status, resp.body) == (200, b"6")
    resp = eio.poll(sid)
    assert resp.status == 400
    assert resp.json()["code"] == 1


# ------------------------------------------------------------------ websocket


def test_websocket_first_ping_arrives_after_ping_interval(eio: Eio) -> None:
    start = time.monotonic()
    client, _ = eio.ws_session()
    with client:
        assert client.recv(timeout=5) == "2"
        elapsed = time.monotonic() - start
        assert elapsed >= INTERVAL - 0.02
        assert elapsed < INTERVAL + TIMEOUT + 1.5


def test_websocket_pongs_keep_the_session_alive(eio: Eio) -> None:
    start = time.monotonic()
    client, _ = eio.ws_session()
    with client:
        for _ in range(5):
            assert client.recv(timeout=5) == "2"
            client.send("3")
        assert time.monotonic() - start > 5 * INTERVAL - 0.05
        client.send("4alive")
        # The next message is the echo, or a ping that came first; never a close.
        got = [client.recv(timeout=5)]
        if got[0] == "2":
            client.send("3")
            got.append(client.recv(timeout=5))
        assert "4alive" in got


def test_websocket_silent_session_is_closed(eio: Eio) -> None:
    start = time.monotonic()
    client, _ = eio.ws_session()
    with client:
        assert client.recv(timeout=5) == "2"
        closed = client.wait_closed(timeout=5)
        elapsed = time.monotonic() - start
        assert isinstance(closed, WsClosed)
        assert elapsed >= INTERVAL + TIMEOUT - 0.02
        assert elapsed < INTERVAL + TIMEOUT + 2.0


def test_websocket_client_close_packet_ends_the_session(eio: Eio) -> None:
    client, _ = eio.ws_session()
    with client:
        client.send("1")
        closed = client.wait_closed(timeout=INTERVAL + TIMEOUT + 2.0)
        assert isinstance(closed, WsClosed)


def test_websocket_ping_from_client_is_a_protocol_error(eio: Eio) -> None:
    """v4: only the server pings; a client ping closes the session (REF "invalid heartbeat direction")."""
    client, _ = eio.ws_session()
    with client:
        client.send("2")
        closed = client.wait_closed(timeout=2.0)
        assert isinstance(closed, WsClosed)


# ------------------------------------------------------- server-side close


def test_server_shutdown_closes_sessions_with_a_close_packet(eio_driver: str) -> None:
    """SIGTERM: a pending poll gets ``1``, a WebSocket gets ``1`` then a close; clean exit."""
    skip_under_asgi(eio_driver, "the ASGI server closes its connections before the lifespan shutdown")
    with running_server("--ping-interval", "20000", "--ping-timeout", "20000", driver=eio_driver) as srv:
        eio = Eio(srv.port)
        sid, _ = eio.handshake()
        pending = Background(eio.poll, sid)
        client, info = eio.ws_session()
        time.sleep(0.2)  # let the GET reach the server (ordering only)
        stopper = threading.Thread(target=srv.stop)
        stopper.start()
        released = pending.join()
        assert released.status == 200
        assert released.body == b"1"
        with client:
            assert client.recv(timeout=5) == "1"
            assert isinstance(client.wait_closed(timeout=5), WsClosed)
        stopper.join(15)
        assert srv.proc.returncode == 0
        log = "".join(srv.output)
        assert f"disconnect {sid}" in log
        assert f"disconnect {info['sid']}" in log


def test_open_packet_values_match_the_timers(eio: Eio) -> None:
    resp = eio.request("GET", "EIO=4&transport=polling")
    info = json.loads(resp.body[1:])
    assert (info["pingInterval"], info["pingTimeout"]) == (300, 200)
