"""Misbehaving clients on a real server: overlapping polls, garbage HTTP, malformed packets.

Every test ends by checking that the server process is still running and that
a brand-new client still gets its echo: bad input must only ever cost the
offending session or connection.
"""

from __future__ import annotations

import socket
import struct
import time
from typing import Iterator

import pytest

from tests.conftest import EchoServer

from ._eio import Background, Eio, raw_exchange, running_server, skip_under_asgi
from ._wsclient import WsClosed

pytestmark = pytest.mark.timeout(60)


@pytest.fixture(scope="module")
def server(eio_driver: str) -> Iterator[EchoServer]:
    with running_server("--ping-interval", "20000", "--ping-timeout", "20000",
                        "--max-payload", "10000", driver=eio_driver) as srv:
        yield srv
    # No request, however bad, may reach an unhandled exception.
    log = "".join(srv.output)
    assert "Traceback" not in log, log


@pytest.fixture
def eio(server: EchoServer) -> Iterator[Eio]:
    client = Eio(server.port)
    yield client
    assert server.proc.poll() is None, "the server died"
    assert client.alive(), "a new client no longer gets its echo"


def _status(raw: bytes) -> int:
    assert raw.startswith(b"HTTP/1.1 "), raw[:100]
    return int(raw[9:12])


# ------------------------------------------------------------- overlapping GET


def test_concurrent_gets_on_one_sid_close_the_session(eio: Eio) -> None:
    sid, _ = eio.handshake()
    first = Background(eio.poll, sid)
    time.sleep(0.2)  # let the first GET reach the server (ordering only)
    second = eio.poll(sid)
    assert second.status == 400
    released = first.join()
    assert released.status == 200
    assert released.body == b"1"  # REF: the pending GET gets a close packet
    after = eio.poll(sid)
    assert after.status == 400
    assert after.json() == {"code": 1, "message": "Session ID unknown"}


def test_client_vanishing_during_a_poll_ends_the_session(eio: Eio, server: EchoServer) -> None:
    sid, _ = eio.handshake()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(f"GET /engine.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\n"
                     f"Host: x\r\n\r\n".encode())
        time.sleep(0.2)  # the GET is now waiting on the server
    deadline = time.monotonic() + 5
    status = 200
    while time.monotonic() < deadline:
        resp = eio.poll(sid, timeout=1)
        status = resp.status
        if status == 400:
            break
    assert status == 400


def test_request_pipelined_behind_a_waiting_poll_is_answered_after_it(
    eio: Eio, server: EchoServer
) -> None:
    # The waiting GET is answered from the hub while its connection is read
    # on: a request pipelined behind it must still get its answer second.
    sid, _ = eio.handshake()
    target = f"/engine.io/?EIO=4&transport=polling&sid={sid}"
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(f"GET {target} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        time.sleep(0.2)  # the GET is now waiting on the server
        sock.sendall(f"GET /elsewhere HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        time.sleep(0.2)
        assert eio.post(sid, "4hello").status == 200
        data = b""
        while data.count(b"HTTP/1.1 ") < 2 or not data.endswith(b"Not Found"):
            chunk = sock.recv(65536)
            assert chunk, data
            data += chunk
    first, second = data.split(b"HTTP/1.1 ")[1:]
    assert first.startswith(b"200 ") and first.endswith(b"\r\n\r\n4hello"), data
    assert second.startswith(b"404 "), data


# ----------------------------------------------------------------- garbage HTTP


@pytest.mark.parametrize("garbage", [
    b"\x00\x01\x02garbage\r\n\r\n",
    b"HELLO\r\n\r\n",
    b"GET /engine.io/?EIO=4&transport=polling HTTP/x.y\r\n\r\n",
    b"GET /engine.io/ HTTP/1.1\r\nHost: x\r\nbad header line\r\n\r\n",
    b"POST /engine.io/ HTTP/1.1\r\nHost: x\r\nContent-Length: abc\r\n\r\n",
    b"GET  HTTP/1.1\r\n\r\n",
], ids=["binary", "no-request-line", "bad-version", "bad-header", "bad-length", "empty-target"])
def test_garbage_http_gets_400(eio: Eio, garbage: bytes) -> None:
    answer = raw_exchange(eio.port, garbage)
    assert _status(answer) == 400


def test_oversized_request_head_is_refused(eio: Eio) -> None:
    head = (b"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n"
            b"X-Big: " + b"a" * 70_000 + b"\r\n\r\n")
    answer = raw_exchange(eio.port, head)
    assert _status(answer) in (400, 431)


def test_truncated_request_then_close(eio: Eio) -> None:
    # The server must notice and close promptly (raw_exchange raises otherwise);
    # whether it says 400 first does not matter to a client that left.
    answer = raw_exchange(eio.port, b"GET /engine.io/?EIO=4&transp", half_close=True)
    assert answer == b"" or _status(answer) == 400


def test_truncated_post_body_then_close(eio: Eio) -> None:
    sid, _ = eio.handshake()
    raw_exchange(
        eio.port,
        f"POST /engine.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\n"
        f"Host: x\r\nContent-Length: 100\r\n\r\n4abc".encode(),
        half_close=True,
    )
    # The session survives a POST whose client went away.
    assert eio.post(sid, "4after").body == b"ok"
    assert eio.poll(sid).body == b"4after"


def test_connection_opened_and_closed_without_a_byte(eio: Eio) -> None:
    for _ in range(20):
        socket.create_connection(("127.0.0.1", eio.port), timeout=5).close()


# ---------------------------------------------------------- malformed packets


@pytest.mark.parametrize("payload", [
    b"9unknown",
    b"",
    b"4ok\x1e\x1e4lost",
    b"bnot*base64!",
    b"4\xff\xfe not utf-8",
    b"2",  # the client may not ping in v4
], ids=["bad-type", "empty", "empty-record", "bad-base64", "bad-utf8", "client-ping"])
def test_malformed_polling_payload_closes_only_that_session(eio: Eio, payload: bytes) -> None:
    sid, _ = eio.handshake()
    other, _ = eio.handshake()
    resp = eio.post(sid, payload)
    assert resp.status in (200, 400)
    after = eio.poll(sid, timeout=5)
    # The offending session is gone (a packet before the bad record may be echoed first).
    if after.status == 200:
        assert after.body in (b"4ok", b"1")
        after = eio.poll(sid, timeout=5)
    assert after.status == 400
    assert after.json()["code"] == 1
    # Another session on the same server is untouched.
    assert eio.post(other, "4fine").body == b"ok"
    assert eio.poll(other).body == b"4fine"


def test_binary_content_type_post_is_refused(eio: Eio) -> None:
    sid, _ = eio.handshake()
    resp = eio.post(sid, b"\x04hello", headers={"Content-Type": "application/octet-stream"})
    assert resp.status == 400
    assert eio.poll(sid).status == 400


@pytest.mark.parametrize("message", ["x", "", "9nine"], ids=["bad-type", "empty", "nine"])
def test_malformed_websocket_packet_closes_that_session(eio: Eio, message: str) -> None:
    client, _ = eio.ws_session()
    bystander, _ = eio.ws_session()
    with client, bystander:
        client.send(message)
        assert isinstance(client.wait_closed(timeout=5), WsClosed)
        bystander.send("4unaffected")
        assert bystander.recv() == "4unaffected"


def _frame(opcode: int, payload: bytes, *, masked: bool, fin: bool = True) -> bytes:
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    mask_bit = 0x80 if masked else 0
    if n < 126:
        head += bytes([mask_bit | n])
    else:
        head += bytes([mask_bit | 126]) + struct.pack("!H", n)
    if not masked:
        return head + payload
    key = b"\x01\x02\x03\x04"
    return head + key + bytes(b ^ key[i % 4] for i, b in enumerate(payload))


@pytest.mark.parametrize(("frame", "codes"), [
    (_frame(0x1, b"4unmasked", masked=False), {1002}),
    (_frame(0x1, b"4\xff\xfe", masked=True), {1007, 1002}),  # invalid UTF-8 in a text frame
    (_frame(0x3, b"reserved", masked=True), {1002}),  # reserved opcode
    (_frame(0x0, b"orphan continuation", masked=True), {1002}),
    (_frame(0x9, b"p" * 200, masked=True), {1002}),  # control frame over 125 bytes
], ids=["unmasked", "bad-utf8", "reserved-opcode", "orphan-continuation", "big-ping"])
def test_invalid_websocket_frame_closes_with_an_error_code(
    eio: Eio, frame: bytes, codes: set[int], eio_driver: str
) -> None:
    skip_under_asgi(eio_driver, "the ASGI server reads the frames (uvicorn drops the connection)")
    client, _ = eio.ws_session()
    with client:
        client.send_raw(frame)
        closed = client.wait_closed(timeout=5)
        assert closed.code in codes


def test_websocket_ping_frame_gets_a_pong(eio: Eio) -> None:
    client, _ = eio.ws_session()
    with client:
        client.send_raw(_frame(0x9, b"hi", masked=True))
        client.sock.settimeout(5)
        data = client.sock.recv(100)
        assert data[:1] == b"\x8a"  # FIN + pong
        assert data[2:4] == b"hi"


def test_websocket_dropped_without_close_frame(eio: Eio) -> None:
    client, _ = eio.ws_session()
    client.sock.close()


def test_many_sessions_at_once(eio: Eio) -> None:
    sids = [eio.handshake()[0] for _ in range(50)]
    for sid in sids:
        assert eio.post(sid, f"4{sid}").body == b"ok"
    for sid in sids:
        assert eio.poll(sid).body == f"4{sid}".encode()
