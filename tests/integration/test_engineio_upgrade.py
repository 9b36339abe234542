"""Upgrade from long-polling to WebSocket ([EIO4] "Upgrade"; PROTOCOL.md 1.7), on a real server."""

from __future__ import annotations

import time
from typing import Iterator

import pytest

from tests.conftest import EchoServer

from ._eio import Background, Eio, running_server
from ._wsclient import WsClient, WsClosed

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def server(eio_driver: str) -> Iterator[EchoServer]:
    # Long timers: no ping interleaves with the exchanges under test.
    with running_server("--ping-interval", "20000", "--ping-timeout", "20000", driver=eio_driver) as srv:
        yield srv


@pytest.fixture
def eio(server: EchoServer) -> Eio:
    return Eio(server.port)


def _probe(eio: Eio, sid: str) -> WsClient:
    client = eio.ws(f"EIO=4&transport=websocket&sid={sid}")
    client.send("2probe")
    assert client.recv() == "3probe"
    return client


def test_upgrade_with_a_pending_poll(eio: Eio) -> None:
    sid, _ = eio.handshake()
    pending = Background(eio.poll, sid)
    time.sleep(0.2)  # let the GET reach the server (ordering only, not asserted)
    client = eio.ws(f"EIO=4&transport=websocket&sid={sid}")
    with client:
        # No open packet on an upgrading WebSocket: the first frame answers the probe.
        client.send("2probe")
        assert client.recv() == "3probe"
        released = pending.join()
        assert released.status == 200
        assert released.body == b"6"
        client.send("5")
        client.send("4over websocket")
        assert client.recv() == "4over websocket"
        client.send(b"\x00\x01\xfe\xff")
        assert client.recv() == b"\x00\x01\xfe\xff"


def test_upgrade_without_a_pending_poll(eio: Eio) -> None:
    sid, _ = eio.handshake()
    with _probe(eio, sid) as client:
        # The next poll ends the polling cycle with a noop straight away.
        resp = eio.poll(sid, timeout=5)
        assert resp.status == 200
        assert resp.body == b"6"
        client.send("5")
        client.send("4done")
        assert client.recv() == "4done"


def test_messages_sent_during_the_upgrade_go_out_on_the_poll(eio: Eio) -> None:
    # As Node's server: until "5", messages keep going out on the polls; a
    # poll with nothing to carry ends with a noop 100 ms after the probe,
    # and every poll after that one at once (none is stalled).
    sid, _ = eio.handshake()
    with _probe(eio, sid) as client:
        assert eio.post(sid, "4queued-1\x1e4queued-2").body == b"ok"
        received: list[bytes] = []
        while True:
            body = eio.poll(sid, timeout=5).body
            if body == b"6":
                break
            received.extend(body.split(b"\x1e"))
        assert received == [b"4queued-1", b"4queued-2"]
        assert eio.poll(sid, timeout=1).body == b"6"  # at once, not after a ping interval
        client.send("5")
        client.send("4after")
        assert client.recv() == "4after"


def test_polling_after_upgrade_is_refused(eio: Eio) -> None:
    sid, _ = eio.handshake()
    with _probe(eio, sid) as client:
        assert eio.poll(sid, timeout=5).body == b"6"
        client.send("5")
        client.send("4sync")
        assert client.recv() == "4sync"  # the upgrade is complete
        for method, body in (("GET", None), ("POST", b"4x")):
            resp = eio.request(method, f"EIO=4&transport=polling&sid={sid}", body)
            assert resp.status == 400
            assert resp.json() == {"code": 3, "message": "Bad request"}
        # The WebSocket is unaffected.
        client.send("4still here")
        assert client.recv() == "4still here"


def test_second_websocket_after_upgrade_is_accepted_then_closed(eio: Eio) -> None:
    sid, _ = eio.handshake()
    with _probe(eio, sid) as client:
        assert eio.poll(sid, timeout=5).body == b"6"
        client.send("5")
        client.send("4sync")
        assert client.recv() == "4sync"
        # 101 first (connect() raises on anything else), then the server closes it.
        second = eio.ws(f"EIO=4&transport=websocket&sid={sid}")
        with second:
            assert isinstance(second.wait_closed(timeout=5), WsClosed)
        client.send("4first still works")
        assert client.recv() == "4first still works"


def test_second_websocket_during_upgrade_is_accepted_then_closed(eio: Eio) -> None:
    sid, _ = eio.handshake()
    with _probe(eio, sid) as client:
        second = eio.ws(f"EIO=4&transport=websocket&sid={sid}")
        with second:
            assert isinstance(second.wait_closed(timeout=5), WsClosed)
        # The first probe still completes.
        assert eio.poll(sid, timeout=5).body == b"6"
        client.send("5")
        client.send("4ok")
        assert client.recv() == "4ok"


def test_websocket_with_sid_of_websocket_session_is_closed(eio: Eio) -> None:
    first, info = eio.ws_session()
    with first:
        second = eio.ws(f"EIO=4&transport=websocket&sid={info['sid']}")
        with second:
            assert isinstance(second.wait_closed(timeout=5), WsClosed)
        first.send("4alive")
        assert first.recv() == "4alive"


def test_aborted_probe_leaves_the_session_on_polling(eio: Eio) -> None:
    sid, _ = eio.handshake()
    client = eio.ws(f"EIO=4&transport=websocket&sid={sid}")
    client.send("4not a probe")
    assert isinstance(client.wait_closed(timeout=5), WsClosed)
    client.close()
    assert eio.post(sid, "4polling").body == b"ok"
    assert eio.poll(sid, timeout=5).body == b"4polling"


def test_probe_connection_dropped_leaves_the_session_on_polling(eio: Eio) -> None:
    sid, _ = eio.handshake()
    client = _probe(eio, sid)
    client.sock.close()  # vanish without a close frame
    assert eio.post(sid, "4back").body == b"ok"
    # A poll that races the abort may still get the probe's noop; after it,
    # polling carries messages again.
    body = eio.poll(sid, timeout=5).body
    if body == b"6":
        body = eio.poll(sid, timeout=5).body
    assert body == b"4back"


def test_a_client_leaving_mid_upgrade_is_not_logged_as_an_aborted_upgrade(server: EchoServer, eio: Eio) -> None:
    """A refused Socket.IO client closes its session while its probe is open:
    that is the client leaving (DEBUG), not an upgrade problem worth an INFO line."""
    sid, _ = eio.handshake()
    probe = _probe(eio, sid)
    probe.close()  # the refused client drops its probe first (socket.io-client does)...
    assert eio.post(sid, "1").body == b"ok"  # ...then closes its session
    server.wait_for_output(rf"disconnect {sid} ")
    assert f"upgrade of session {sid} aborted" not in server.log()


def test_a_misbehaving_probe_is_logged_at_info(server: EchoServer, eio: Eio) -> None:
    sid, _ = eio.handshake()
    client = eio.ws(f"EIO=4&transport=websocket&sid={sid}")
    client.send("4not a probe")
    assert isinstance(client.wait_closed(timeout=5), WsClosed)
    client.close()
    server.wait_for_output(rf"upgrade of session {sid} aborted: unexpected packet")
