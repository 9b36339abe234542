"""Malformed and abusive HTTP: the server answers (or drops) the offender promptly, and only it.

Every test runs against the shared in-process server; the ``server`` fixture
then checks that a well-behaved client still gets its echo and that every
counter of ``stats()`` is back to zero.
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from tests.integration._eio import raw_exchange

from ._harness import LIMITS, MAX_PAYLOAD, PATH, ServerThread, raw_connect, read_until_closed, reset

pytestmark = pytest.mark.timeout(30)

HANDSHAKE = f"GET {PATH}?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n".encode()


def status_of(answer: bytes) -> int | None:
    """The status of the server's answer, or None when it closed without one."""
    if not answer:
        return None
    assert answer.startswith(b"HTTP/1.1 "), answer[:200]
    return int(answer[9:12])


def exchange(server: ServerThread, data: bytes, *, half_close: bool = False) -> int | None:
    """Send ``data``; the status the server answers with before it closes (None: no answer).

    TimeoutError if the server keeps the connection open. The server may
    answer and close before it has read everything: write errors then
    (reset, not connected) are expected, its answer is still read.
    """
    sock = raw_connect(server.port)
    try:
        try:
            sock.sendall(data)
            if half_close:
                sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        return status_of(read_until_closed(sock, timeout=5))
    finally:
        sock.close()


# ------------------------------------------------------------ request lines


@pytest.mark.parametrize("request_bytes", [
    b"\x00\x01\x02\x03garbage\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03" + bytes(range(64)) + b"\r\n\r\n",  # a TLS hello
    b"GET\r\n\r\n",
    b"GET /socket.io/\r\n\r\n",  # HTTP/0.9
    b"GET /socket.io/ HTTP/1.1 extra\r\nHost: x\r\n\r\n",
    b"GET /socket.io/?EIO=4&transport=polling HTTP/x.y\r\nHost: x\r\n\r\n",
    b"GET /a b c HTTP/1.1\r\nHost: x\r\n\r\n",
    b"G\xc3\xa9T / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET /socket.io/\x00?EIO=4 HTTP/1.1\r\nHost: x\r\n\r\n",
    b"\r\n\r\n\r\n\r\n",
], ids=[
    "binary", "tls-hello", "method-only", "http09", "extra-token", "bad-version",
    "spaces-in-target", "non-ascii-method", "nul-in-target", "only-newlines",
])
def test_malformed_request_line(server: ServerThread, request_bytes: bytes) -> None:
    status = exchange(server, request_bytes, half_close=True)
    assert status is None or 400 <= status < 600


# ------------------------------------------------------------------ headers


@pytest.mark.parametrize("headers", [
    b"Host: x\r\nno colon here\r\n",
    b"Host: x\r\nX-Bad : space before colon\r\n",
    b"Host: x\r\nX\x01Y: control in name\r\n",
    b"Host: x\r\nX-Nul: a\x00b\r\n",
    b"Host: x\r\nX-Folded: a\r\n  folded continuation\r\n",
    b"Host: x\r\n: empty name\r\n",
    b"Host: x\r\nContent-Length: 5\r\nContent-Length: 6\r\n",
    b"Host: x\r\nContent-Length: -1\r\n",
    b"Host: x\r\nContent-Length: 0x10\r\n",
    b"Host: x\r\nTransfer-Encoding: gzip\r\n",
    b"Host: x\r\nTransfer-Encoding: chunked, chunked\r\n",
    b"Host: x\r\nHost: y\r\nConnection: upgrade, \xff\xfe\r\nUpgrade: websocket\r\n",
], ids=[
    "no-colon", "space-before-colon", "control-in-name", "nul-in-value", "obs-fold",
    "empty-name", "conflicting-lengths", "negative-length", "hex-length", "unknown-coding",
    "double-chunked", "binary-connection",
])
def test_malformed_headers(server: ServerThread, headers: bytes) -> None:
    request = f"POST {PATH}?EIO=4&transport=polling HTTP/1.1\r\n".encode() + headers + b"\r\n"
    status = exchange(server, request, half_close=True)
    assert status is None or 400 <= status < 600


def test_huge_header_in_one_write_is_431(server: ServerThread) -> None:
    big = b"X-Big: " + b"a" * (LIMITS.max_header_bytes + 1000) + b"\r\n"
    assert exchange(server, HANDSHAKE + big + b"\r\n") == 431


def test_huge_target_is_refused(server: ServerThread) -> None:
    target = PATH.encode() + b"?EIO=4&transport=polling&pad=" + b"p" * 40_000
    status = exchange(server, b"GET " + target + b" HTTP/1.1\r\nHost: x\r\n\r\n")
    assert status in (400, 414, 431)


def test_huge_head_dribbled_in_chunks_is_refused_before_it_is_buffered(server: ServerThread) -> None:
    sock = raw_connect(server.port)
    try:
        sock.sendall(HANDSHAKE)
        sent = 0
        try:
            while sent < 1_000_000:  # far beyond the limit: the server must stop first
                sock.sendall(b"X-Pad-%d: %s\r\n" % (sent, b"b" * 1000))
                sent += 1000
        except OSError:
            pass
        answer = read_until_closed(sock)
    finally:
        sock.close()
    assert status_of(answer) in (None, 431)
    assert sent < 1_000_000 or status_of(answer) == 431


def test_too_many_headers_is_431(server: ServerThread) -> None:
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(LIMITS.max_header_count + 50))
    assert exchange(server, HANDSHAKE + many + b"\r\n") == 431


def test_too_many_headers_on_a_websocket_upgrade_is_431(server: ServerThread) -> None:
    head = (
        f"GET {PATH}?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n"
    ).encode()
    many = b"".join(b"X-H%d: v\r\n" % i for i in range(LIMITS.max_header_count + 10))
    assert exchange(server, head + many + b"\r\n") == 431


# ---------------------------------------------------------------- bodies


def _session(server: ServerThread) -> str:
    sid, _ = server.eio().handshake()
    return sid


def _post_head(sid: str, extra: str) -> bytes:
    return (
        f"POST {PATH}?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\n"
        f"Content-Type: text/plain\r\n{extra}\r\n"
    ).encode()


@pytest.mark.parametrize("body", [
    b"ZZ\r\n40\r\n0\r\n\r\n",  # a chunk size that is not hex
    b"2\r\n40XXXX\r\n0\r\n\r\n",  # chunk longer than announced
    b"2;" + b"e" * 200_000 + b"\r\n40\r\n0\r\n\r\n",  # an extension past the head limit
    b"-2\r\n40\r\n0\r\n\r\n",
    b"2\r\n40",  # then EOF inside the body
], ids=["non-hex-size", "overlong-chunk", "huge-extension", "negative-size", "eof-in-chunk"])
def test_invalid_chunked_encoding(server: ServerThread, body: bytes) -> None:
    sid = _session(server)
    status = exchange(server, _post_head(sid, "Transfer-Encoding: chunked\r\n") + body, half_close=True)
    assert status is None or 400 <= status < 600


def test_chunked_body_over_max_payload_is_413(server: ServerThread) -> None:
    sid = _session(server)
    chunk = b"4" + b"x" * 9_999
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(MAX_PAYLOAD // len(chunk) + 5))
    status = exchange(server, _post_head(sid, "Transfer-Encoding: chunked\r\n") + body + b"0\r\n\r\n")
    assert status == 413


def test_enormous_chunk_size_is_413_before_buffering(server: ServerThread) -> None:
    sid = _session(server)
    sock = raw_connect(server.port)
    try:
        sock.sendall(_post_head(sid, "Transfer-Encoding: chunked\r\n") + b"7fffffffffffffff\r\n")
        try:
            for _ in range(40):  # ~2.6 MB: well past max_payload, far below the announced size
                sock.sendall(b"4" * 65536)
        except OSError:
            pass
        answer = read_until_closed(sock)
    finally:
        sock.close()
    assert status_of(answer) == 413


def test_declared_content_length_over_max_payload_is_413_at_once(server: ServerThread) -> None:
    sid = _session(server)
    sock = raw_connect(server.port)
    try:
        sock.sendall(_post_head(sid, f"Content-Length: {10**18}\r\n"))
        answer = read_until_closed(sock, timeout=5)
    finally:
        sock.close()
    assert status_of(answer) == 413


def test_content_length_too_big_for_any_integer_type(server: ServerThread) -> None:
    sid = _session(server)
    status = exchange(server, _post_head(sid, "Content-Length: " + "9" * 100 + "\r\n"), half_close=True)
    assert status is None or 400 <= status < 600


def test_body_on_a_refused_handshake_post_is_not_read_forever(server: ServerThread) -> None:
    # POST without sid is a bad handshake (400): a client claiming a huge body
    # and then sending nothing must still be answered or dropped promptly.
    sock = raw_connect(server.port)
    try:
        sock.sendall(
            f"POST {PATH}?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n"
            f"Content-Length: {10**12}\r\n\r\n".encode()
        )
        start = time.monotonic()
        answer = read_until_closed(sock, timeout=5)
    finally:
        sock.close()
    assert time.monotonic() - start < 4
    assert status_of(answer) in (None, 400, 413)


# ----------------------------------------------------------------- slowloris


def _dribble(sock: socket.socket, data: bytes, delay: float, stop: threading.Event) -> None:
    for i in range(len(data)):
        if stop.is_set():
            return
        try:
            sock.send(data[i : i + 1])
        except OSError:
            return
        time.sleep(delay)


def test_slowloris_head_is_cut_at_the_header_timeout(server: ServerThread) -> None:
    # A head that never ends, one byte every 20 ms: new bytes keep arriving,
    # but the whole head has header_timeout (0.5 s here) to be complete.
    head = HANDSHAKE + b"".join(b"X-Slow-%d: %s\r\n" % (i, b"z" * 20) for i in range(200))
    sock = raw_connect(server.port)
    stop = threading.Event()
    dribbler = threading.Thread(target=_dribble, args=(sock, head, 0.02, stop), daemon=True)
    start = time.monotonic()
    dribbler.start()
    try:
        answer = read_until_closed(sock, timeout=LIMITS.header_timeout + 3)
        elapsed = time.monotonic() - start
    finally:
        stop.set()
        dribbler.join()
        sock.close()
    assert elapsed < LIMITS.header_timeout + 1.5
    assert status_of(answer) in (None, 408)


def test_many_slowloris_clients_do_not_stall_others(server: ServerThread) -> None:
    from ._harness import sio_polling_echo, sio_ws_echo

    head = HANDSHAKE + b"X-Slow: " + b"z" * 500
    socks = [raw_connect(server.port) for _ in range(100)]
    stop = threading.Event()
    threads = [
        threading.Thread(target=_dribble, args=(s, head, 0.05, stop), daemon=True) for s in socks
    ]
    for t in threads:
        t.start()
    try:
        time.sleep(0.1)
        start = time.monotonic()
        sio_ws_echo(server.port)
        sio_polling_echo(server.port)
        assert time.monotonic() - start < 2
        for s in socks:
            read_until_closed(s, timeout=LIMITS.header_timeout + 3)
    finally:
        stop.set()
        for t in threads:
            t.join()
        for s in socks:
            s.close()


def test_slow_head_after_a_keep_alive_request_is_cut_too(server: ServerThread) -> None:
    sock = raw_connect(server.port)
    stop = threading.Event()
    try:
        sock.sendall(HANDSHAKE + b"\r\n")
        sock.settimeout(5)
        first = sock.recv(65536)
        assert first.startswith(b"HTTP/1.1 200 ")
        dribbler = threading.Thread(
            target=_dribble, args=(sock, HANDSHAKE + b"X-Slow: " + b"z" * 500, 0.02, stop),
            daemon=True,
        )
        start = time.monotonic()
        dribbler.start()
        read_until_closed(sock, timeout=LIMITS.header_timeout + 3)
        assert time.monotonic() - start < LIMITS.header_timeout + 1.5
    finally:
        stop.set()
        sock.close()


def test_idle_connection_is_closed_after_keepalive_timeout(server: ServerThread) -> None:
    sock = raw_connect(server.port)
    try:
        start = time.monotonic()
        assert read_until_closed(sock, timeout=LIMITS.keepalive_timeout + 3) in (b"",)
        assert time.monotonic() - start < LIMITS.keepalive_timeout + 1.5
    finally:
        sock.close()


# ------------------------------------------------------------ pipelining


def test_pipelined_garbage_after_a_valid_request(server: ServerThread) -> None:
    answer = raw_exchange(
        server.port, HANDSHAKE + b"\r\n" + b"\x00\xffNOT HTTP\r\n\r\n", timeout=5, half_close=True
    )
    assert answer.startswith(b"HTTP/1.1 200 ")
    assert b"HTTP/1.1 400 " in answer[12:]


def test_reset_in_the_middle_of_a_head(server: ServerThread) -> None:
    for _ in range(50):
        sock = raw_connect(server.port)
        sock.sendall(HANDSHAKE[:20])
        reset(sock)
