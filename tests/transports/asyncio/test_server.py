"""Our asyncio HttpServer over real sockets: TLS, the connection limit, and fair turns.

The fairness checks are counts of messages handled per loop turn
(:class:`._harness.TurnCountingEcho`), not clocks: one flooding WebSocket,
one POST of thousands of packets and one connection pipelining requests
each get at most their budget (:mod:`transports._turns`) per turn.
"""

from __future__ import annotations

import http.client
import socket
import ssl
import subprocess
from typing import Callable

import pytest

from engineio import Config
from tests.conftest import EchoServer
from tests.integration import _wsclient
from transports import HttpLimits
from transports._frames import OP_TEXT
from transports._turns import TURN_MESSAGES, TURN_PACKETS, TURN_REQUESTS

from ._harness import AioServer, polling_handshake

pytestmark = pytest.mark.timeout(60)
PATH = "/engine.io/"


def _masked_text(text: str) -> bytes:
    payload = text.encode()
    assert len(payload) < 126
    key = b"\x01\x02\x03\x04"
    return bytes([0x80 | OP_TEXT, 0x80 | len(payload)]) + key + bytes(
        b ^ key[i % 4] for i, b in enumerate(payload)
    )


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1"],
        check=True, capture_output=True,
    )
    return str(cert), str(key)


def test_tls_polling_and_websocket(certificate: tuple[str, str]) -> None:
    context = ssl.create_default_context()
    context.check_hostname = False
    context.verify_mode = ssl.CERT_NONE
    with AioServer(certfile=certificate[0], keyfile=certificate[1]) as server:
        conn = http.client.HTTPSConnection("127.0.0.1", server.port, timeout=10, context=context)
        conn.request("GET", f"{PATH}?EIO=4&transport=polling")
        response = conn.getresponse()
        assert response.status == 200 and response.read()[:1] == b"0"
        conn.close()
        client = _wsclient.connect(server.port, f"{PATH}?EIO=4&transport=websocket",
                                   ssl_context=context)
        with client:
            assert str(client.recv())[:1] == "0"
            client.send("4over tls")
            assert client.recv() == "4over tls"
            secure = server.call(lambda: [e.request.secure for e in server.engine.sessions.values()])
            assert secure == [True, True]  # the polling session and the WebSocket one


def test_connections_past_the_limit_get_503() -> None:
    with AioServer(limits=HttpLimits(max_connections=1)) as server:
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as first:
            first.sendall(f"GET {PATH}?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n\r\n".encode())
            assert first.recv(65536).startswith(b"HTTP/1.1 200")  # served, and kept open
            with socket.create_connection(("127.0.0.1", server.port), timeout=10) as second:
                second.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                assert second.recv(65536).startswith(b"HTTP/1.1 503")


def test_a_websocket_flood_gets_its_budget_per_turn() -> None:
    count = 40 * TURN_MESSAGES
    with AioServer(count_turns=True) as server:
        client = _wsclient.connect(server.port, f"{PATH}?EIO=4&transport=websocket")
        with client:
            client.recv()  # OPEN
            client.send_raw(b"".join(_masked_text(f"4m{i}") for i in range(count)))
            for i in range(count):
                assert client.recv() == f"4m{i}"
        per_turn = server.handler.per_turn
        assert sum(per_turn.values()) == count
        assert max(per_turn.values()) <= TURN_MESSAGES
        assert len(per_turn) >= count // TURN_MESSAGES


def test_a_long_post_is_handed_up_over_many_turns() -> None:
    count = 40 * TURN_PACKETS
    with AioServer(Config(ping_interval=20, ping_timeout=20, max_payload=1_000_000),
                   count_turns=True) as server:
        sid = polling_handshake(server.port, PATH)
        conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
        conn.request("POST", f"{PATH}?EIO=4&transport=polling&sid={sid}",
                     "\x1e".join(["4x"] * count).encode())
        response = conn.getresponse()
        assert (response.status, response.read()) == (200, b"ok")
        conn.close()
        per_turn = server.handler.per_turn
        assert sum(per_turn.values()) == count
        assert max(per_turn.values()) <= TURN_PACKETS
        assert len(per_turn) >= count // TURN_PACKETS


def test_pipelined_requests_get_their_budget_per_turn() -> None:
    count = 20 * TURN_REQUESTS
    with AioServer(count_turns=True) as server:
        sid = polling_handshake(server.port, PATH)
        request = (f"POST {PATH}?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\n"
                   f"Content-Length: 2\r\n\r\n4p").encode()
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(request * count)
            answers = b""
            while answers.count(b"\r\n\r\nok") < count:
                data = sock.recv(65536)
                assert data, "the server closed the connection"
                answers += data
        per_turn = server.handler.per_turn
        assert sum(per_turn.values()) == count
        assert max(per_turn.values()) <= TURN_REQUESTS
        assert len(per_turn) >= count // TURN_REQUESTS


def test_the_asyncio_echo_takes_a_message_queue_and_serves_while_redis_is_absent(
    echo_server: Callable[..., EchoServer],
) -> None:
    """``--driver asyncio --message-queue``: the Redis adapter runs on asyncio too (the
    cluster tests drive it with Redis). With Redis absent it serves its own clients."""
    server = echo_server("--driver", "asyncio", "--message-queue", "redis://127.0.0.1:1/0")
    server.wait_for_output("cannot subscribe to redis at redis://127.0.0.1:1/0")
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
    conn.request("GET", "/socket.io/?EIO=4&transport=polling")
    response = conn.getresponse()
    assert response.status == 200 and response.read().startswith(b'0{"sid":')
    conn.close()


def test_a_websocket_client_that_stops_reading_is_dropped_as_a_slow_consumer() -> None:
    """Past the transport's high-water mark output stays in the session, which bounds it."""
    config = Config(ping_interval=20, ping_timeout=20, max_buffer_bytes=1_000_000)
    with AioServer(config) as server:
        client = _wsclient.connect(server.port, f"{PATH}?EIO=4&transport=websocket")
        with client:
            client.recv()  # OPEN; from now on the client reads nothing
            chunk = "4" + "x" * 100_000

            def send() -> tuple[bool, int]:
                esock = next(iter(server.engine.sessions.values()), None)
                if esock is None:
                    return False, 0
                esock.send(chunk)
                buffered = esock.ws._writer.transport.get_write_buffer_size() if esock.ws else 0
                return True, buffered

            most_buffered = 0
            for _ in range(2000):  # up to 200 MB offered; the kernel's buffers take a few
                alive, buffered = server.call(send)
                if not alive:
                    break
                most_buffered = max(most_buffered, buffered)
            else:
                pytest.fail("the client was never dropped")
        assert [reason for _, reason in server.handler.closed] == ["slow consumer"]
        # What waits in the transport is one batch past the high-water mark at most.
        assert most_buffered <= 65536 + 2 * len(chunk)


SHORT = HttpLimits(header_timeout=0.3, keepalive_timeout=0.3, body_timeout=0.3)


def _read_until_closed(sock: socket.socket, timeout: float) -> bytes:
    sock.settimeout(timeout)
    data = b""
    while True:
        chunk = sock.recv(65536)  # socket.timeout fails the test: the server kept it open
        if not chunk:
            return data
        data += chunk


@pytest.mark.parametrize(("sent", "answer"), [
    (b"", b""),  # idle: keepalive_timeout, closed without a word
    (b"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n", b"HTTP/1.1 408"),  # slowloris
    (b"POST /x HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n4abc", None),  # a stalled body
], ids=["idle", "head", "body"])
def test_a_stalled_client_is_cut_at_its_timeout(sent: bytes, answer: bytes | None) -> None:
    with AioServer(limits=SHORT) as server:
        sid = polling_handshake(server.port, PATH)
        if b"POST" in sent:
            sent = sent.replace(b"/x", f"{PATH}?EIO=4&transport=polling&sid={sid}".encode())
        with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
            sock.sendall(sent)
            data = _read_until_closed(sock, 5.0)
        if answer is None:
            assert data == b"" or data.startswith(b"HTTP/1.1 408")
        else:
            assert data.startswith(answer) if answer else data == b""
        # The session survives its client's stalled POST.
        assert sid in server.call(lambda: list(server.engine.sessions))
