"""Messages through the echo: binary, batching, size limits and HTTP compression."""

from __future__ import annotations

import base64
import gzip
import socket
import zlib
from typing import Iterator

import pytest

from tests.conftest import EchoServer

from ._eio import Eio, running_server, split_payload
from ._wsclient import WsClosed

pytestmark = pytest.mark.timeout(60)

MAX_PAYLOAD = 100_000


@pytest.fixture(scope="module")
def server(eio_driver: str) -> Iterator[EchoServer]:
    with running_server("--ping-interval", "20000", "--ping-timeout", "20000",
                        "--max-payload", str(MAX_PAYLOAD), driver=eio_driver) as srv:
        yield srv


@pytest.fixture
def eio(server: EchoServer) -> Eio:
    return Eio(server.port)


# ---------------------------------------------------------------------- binary

BLOBS = [b"\x01\x02\x03\x04", b"\xff\x00\xfe", bytes(range(256)), b"\x1e", b""]


def test_binary_over_polling_is_base64_and_echoed_unchanged(eio: Eio) -> None:
    sid, _ = eio.handshake()
    records = [f"b{base64.b64encode(blob).decode()}" for blob in BLOBS]
    assert eio.post(sid, "\x1e".join(records)).body == b"ok"
    resp = eio.poll(sid)
    assert resp.status == 200
    assert split_payload(resp.body) == records
    assert [base64.b64decode(r[1:]) for r in split_payload(resp.body)] == BLOBS


def test_text_and_binary_mixed_keep_their_order_over_polling(eio: Eio) -> None:
    sid, _ = eio.handshake()
    body = "4hello\x1ebAQIDBA==\x1e4world\x1e4\u00e9t\u00e9 \u2603"
    assert eio.post(sid, body).body == b"ok"
    resp = eio.poll(sid)
    assert resp.body.decode("utf-8") == body


def test_binary_over_websocket_comes_back_as_binary_frames(eio: Eio) -> None:
    client, _ = eio.ws_session()
    with client:
        for blob in BLOBS[:-1]:
            client.send(blob)
            echoed = client.recv()
            assert isinstance(echoed, bytes), "a binary message must come back as a binary frame"
            assert echoed == blob
        client.send("4text")
        echoed_text = client.recv()
        assert isinstance(echoed_text, str)
        assert echoed_text == "4text"


def test_order_is_kept_over_websocket(eio: Eio) -> None:
    client, _ = eio.ws_session()
    with client:
        sent: list[str | bytes] = []
        for i in range(50):
            item: str | bytes = f"4m{i}" if i % 3 else bytes([i, 0, 255])
            sent.append(item)
            client.send(item)
        assert [client.recv() for _ in sent] == sent


def test_empty_message_is_echoed(eio: Eio) -> None:
    client, _ = eio.ws_session()
    with client:
        client.send("4")
        assert client.recv() == "4"


# -------------------------------------------------------------------- batching


def test_batched_post_is_echoed_in_one_poll_response(eio: Eio) -> None:
    sid, _ = eio.handshake()
    assert eio.post(sid, "4a\x1e4b\x1e4c").body == b"ok"
    resp = eio.poll(sid)
    assert resp.body == b"4a\x1e4b\x1e4c"
    # Nothing was left behind for a second poll: the next POST's echo comes alone.
    assert eio.post(sid, "4d").body == b"ok"
    assert eio.poll(sid).body == b"4d"


def test_two_posts_before_a_poll_come_back_together(eio: Eio) -> None:
    sid, _ = eio.handshake()
    assert eio.post(sid, "4one").body == b"ok"
    assert eio.post(sid, "4two\x1e4three").body == b"ok"
    assert eio.poll(sid).body == b"4one\x1e4two\x1e4three"


def test_poll_responses_stay_within_max_payload(eio: Eio) -> None:
    sid, _ = eio.handshake()
    chunk = "4" + "x" * 39_999  # three of these do not fit in one 100 000-byte payload
    for _ in range(3):
        assert eio.post(sid, chunk).body == b"ok"
    received: list[str] = []
    while len(received) < 3:
        resp = eio.poll(sid)
        assert len(resp.body) <= MAX_PAYLOAD
        received += split_payload(resp.body)
    assert received == [chunk] * 3


# ----------------------------------------------------------------- size limits


def test_polling_post_at_the_limit_is_echoed(eio: Eio) -> None:
    sid, _ = eio.handshake()
    body = "4" + "y" * (MAX_PAYLOAD - 1)
    assert len(body) == MAX_PAYLOAD
    assert eio.post(sid, body).body == b"ok"
    assert eio.poll(sid).body == body.encode()


def test_polling_post_over_the_limit_is_413(eio: Eio) -> None:
    sid, _ = eio.handshake()
    resp = eio.post(sid, "4" + "z" * MAX_PAYLOAD)
    assert resp.status == 413
    assert resp.body == b""
    # The session ends with a transport error.
    after = eio.poll(sid)
    assert after.status == 400
    assert after.json()["code"] == 1


def test_huge_declared_post_is_refused_without_sending_the_body(eio: Eio, server: EchoServer) -> None:
    """413 is answered from the Content-Length alone: the client never sends its body."""
    sid, _ = eio.handshake()
    with socket.create_connection(("127.0.0.1", server.port), timeout=5) as sock:
        sock.sendall(
            f"POST /engine.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\n"
            f"Host: 127.0.0.1\r\nContent-Type: text/plain\r\n"
            f"Content-Length: {100 * MAX_PAYLOAD}\r\n\r\n".encode()
        )
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    assert data.startswith(b"HTTP/1.1 413 ")


def test_websocket_message_at_the_limit_is_echoed(eio: Eio) -> None:
    client, _ = eio.ws_session()
    with client:
        text = "4" + "y" * (MAX_PAYLOAD - 1)
        client.send(text)
        assert client.recv() == text
        blob = bytes(range(256)) * (MAX_PAYLOAD // 256) + b"\x00" * (MAX_PAYLOAD % 256)
        assert len(blob) == MAX_PAYLOAD
        client.send(blob)
        assert client.recv() == blob


@pytest.mark.parametrize("item", ["4" + "z" * MAX_PAYLOAD, b"\x07" * (MAX_PAYLOAD + 1)],
                         ids=["text", "binary"])
def test_websocket_message_over_the_limit_closes_1009(eio: Eio, item: str | bytes) -> None:
    client, _ = eio.ws_session()
    with client:
        client.send(item)
        closed = client.wait_closed(timeout=5)
        assert isinstance(closed, WsClosed)
        assert closed.code == 1009
        assert closed.reason == ""  # as Node's server: engine.io-client shows the reason


# ------------------------------------------------------------------ compression


def _big_echo(eio: Eio) -> tuple[str, bytes]:
    sid, _ = eio.handshake()
    payload = ("4" + "compress me " * 200).encode()
    assert len(payload) > 1024
    assert eio.post(sid, payload).body == b"ok"
    return sid, payload


def test_large_poll_response_is_gzipped_when_accepted(eio: Eio) -> None:
    sid, payload = _big_echo(eio)
    resp = eio.poll(sid, headers={"Accept-Encoding": "gzip, deflate, br"})
    assert resp.status == 200
    assert resp.header("content-encoding") == "gzip"
    assert len(resp.body) < len(payload)
    assert gzip.decompress(resp.body) == payload


def test_large_poll_response_is_deflated_when_only_deflate_is_accepted(eio: Eio) -> None:
    sid, payload = _big_echo(eio)
    resp = eio.poll(sid, headers={"Accept-Encoding": "deflate"})
    assert resp.header("content-encoding") == "deflate"
    assert zlib.decompress(resp.body) == payload


@pytest.mark.parametrize("accept", [None, "identity"])
def test_poll_response_is_plain_without_accept_encoding(eio: Eio, accept: str | None) -> None:
    sid, payload = _big_echo(eio)
    # http.client sends "Accept-Encoding: identity" unless told otherwise; with
    # None, skip it so there is no Accept-Encoding header at all.
    import http.client

    conn = http.client.HTTPConnection("127.0.0.1", eio.port, timeout=10)
    try:
        conn.putrequest("GET", eio.url(f"EIO=4&transport=polling&sid={sid}"),
                        skip_accept_encoding=True)
        if accept is not None:
            conn.putheader("Accept-Encoding", accept)
        conn.endheaders()
        resp = conn.getresponse()
        body = resp.read()
        assert resp.status == 200
        assert resp.getheader("Content-Encoding") is None
        assert body == payload
    finally:
        conn.close()


def test_small_poll_response_is_not_compressed(eio: Eio) -> None:
    sid, _ = eio.handshake()
    assert eio.post(sid, "4small").body == b"ok"
    resp = eio.poll(sid, headers={"Accept-Encoding": "gzip"})
    assert resp.header("content-encoding") is None
    assert resp.body == b"4small"
