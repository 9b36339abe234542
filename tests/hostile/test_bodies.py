"""Request bodies as weapons: a body declared huge and streamed, a body dribbled forever.

A body the server does not want (a 404, an Engine.IO refusal, OPTIONS, a GET
with a body) must be answered and the connection closed at once, not read
to its declared end; a body the server does want must arrive within
``request_timeout`` in all, however steadily it dribbles. Meanwhile a normal
client is served, and the server's memory stays flat (the suite's server
runs in this process, so this process's RSS is the server's).
"""

from __future__ import annotations

import socket
import threading
import time

import pytest

from ._harness import LIMITS, PATH, ServerThread, raw_connect, read_until_closed, sio_ws_echo

pytestmark = pytest.mark.timeout(60)

HUGE = 99_999_999_999_999_999
#: Bounds no healthy run comes near (the server answers these in milliseconds).
ANSWER_WITHIN = 3.0
ECHO_WITHIN = 2.0
RSS_GROWTH = 32 * 1024 * 1024


def _rss() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * 4096


def _status(answer: bytes) -> int | None:
    return int(answer[9:12]) if answer.startswith(b"HTTP/1.1 ") else None


class Streamer:
    """One connection: a request head, then body bytes as fast as the server takes them."""

    def __init__(self, port: int, head: bytes, piece: bytes) -> None:
        self.sock = raw_connect(port)
        self.sent = 0
        self.started = threading.Event()
        self._stop = threading.Event()
        self._head = head
        self._piece = piece
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.sock.sendall(self._head)
            while not self._stop.is_set():
                self.sock.sendall(self._piece)
                self.sent += len(self._piece)
                if self.sent >= 1_000_000:
                    self.started.set()
        except OSError:
            pass  # the server closed the connection: what the test wants
        finally:
            self.started.set()

    def stop(self) -> None:
        self._stop.set()
        try:
            self.sock.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        self._thread.join(10)
        self.sock.close()


def _head(method: str, target: str, *extra: str) -> bytes:
    return "".join(
        [f"{method} {target} HTTP/1.1\r\nHost: x\r\n", *(f"{e}\r\n" for e in extra), "\r\n"]
    ).encode()


_PIECE = b"4" * 65536
_CHUNK = b"10000\r\n" + _PIECE + b"\r\n"
POLLING = f"{PATH}?EIO=4&transport=polling"

UNWANTED = {
    # (head, what each write sends, the answers allowed)
    "post-404": (_head("POST", "/", f"Content-Length: {HUGE}"), _PIECE, {404}),
    "get-with-body-404": (_head("GET", "/nowhere", f"Content-Length: {HUGE}"), _PIECE, {404}),
    "post-unknown-sid": (
        _head("POST", POLLING + "&sid=nope", f"Content-Length: {HUGE}"), _PIECE, {400}
    ),
    "options": (_head("OPTIONS", POLLING, f"Content-Length: {HUGE}"), _PIECE, {204}),
    "handshake-get-with-body": (_head("GET", POLLING, f"Content-Length: {HUGE}"), _PIECE, {200}),
    "chunked-post-404": (_head("POST", "/", "Transfer-Encoding: chunked"), _CHUNK, {404}),
    "chunked-options": (_head("OPTIONS", POLLING, "Transfer-Encoding: chunked"), _CHUNK, {204}),
}


@pytest.mark.parametrize("kind", list(UNWANTED))
def test_an_unwanted_body_streamed_without_end_is_not_read(server: ServerThread, kind: str) -> None:
    """Answered and closed at once; a normal client is served meanwhile; memory stays flat.

    The old server read such a body to its declared end (here, forever),
    re-copying its buffer on every read: one connection took a core and
    every other client waited.
    """
    head, piece, statuses = UNWANTED[kind]
    rss_before = _rss()
    streamer = Streamer(server.port, head, piece)
    try:
        streamer.started.wait(ANSWER_WITHIN)  # the server is being fed, or already closed
        start = time.monotonic()
        sio_ws_echo(server.port)
        echo_time = time.monotonic() - start
        answer = read_until_closed(streamer.sock, timeout=ANSWER_WITHIN)
        rss_growth = _rss() - rss_before
    finally:
        streamer.stop()
    assert echo_time < ECHO_WITHIN, f"a normal client waited {echo_time:.2f} s"
    assert _status(answer) in statuses | {None}, answer[:200]
    if answer:
        assert b"\r\nConnection: close\r\n" in answer.split(b"\r\n\r\n", 1)[0] + b"\r\n"
    assert rss_growth < RSS_GROWTH, f"RSS grew {rss_growth / 2**20:.1f} MiB"


def test_body_dribbled_forever_hits_the_request_timeout(server: ServerThread) -> None:
    """50 POSTs to live sessions, each declaring a body the server accepts (within
    max_payload) and sending it one byte at a time, fast enough never to trip
    body_timeout: each is cut at request_timeout (408 or a plain close).

    The old server had only the between-reads timeout: a dribbler kept its
    connection (and everything it had sent) for as long as it liked.
    """
    eio = server.eio()
    sids = [eio.handshake()[0] for _ in range(50)]
    socks = [raw_connect(server.port) for _ in sids]
    stop = threading.Event()

    def dribble() -> None:
        while not stop.is_set():
            for sock in socks:
                try:
                    sock.send(b"4")
                except OSError:
                    pass
            stop.wait(LIMITS.body_timeout / 10)

    for sid, sock in zip(sids, socks):
        sock.sendall(_head("POST", f"{POLLING}&sid={sid}", "Content-Type: text/plain",
                           "Content-Length: 50000"))
    dribbler = threading.Thread(target=dribble, daemon=True)
    start = time.monotonic()
    dribbler.start()
    try:
        echo_start = time.monotonic()
        sio_ws_echo(server.port)
        assert time.monotonic() - echo_start < ECHO_WITHIN
        answers = [
            read_until_closed(sock, timeout=max(0.1, start + LIMITS.request_timeout + 4 - time.monotonic()))
            for sock in socks
        ]
        elapsed = time.monotonic() - start
    finally:
        stop.set()
        dribbler.join(10)
        for sock in socks:
            sock.close()
    assert LIMITS.request_timeout - 0.5 < elapsed < LIMITS.request_timeout + 4
    assert {_status(a) for a in answers} <= {408, None}
