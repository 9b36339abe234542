"""HTTP limits answered properly: an oversized head, an oversized body the client keeps sending."""

from __future__ import annotations

import socket
from typing import Iterator

import pytest

from tests.conftest import EchoServer

from ._eio import Eio, raw_exchange, running_server


@pytest.fixture(scope="module")
def server(eio_driver: str) -> Iterator[EchoServer]:
    with running_server(driver=eio_driver) as srv:
        yield srv


def test_head_over_the_limit_in_one_read_is_refused_with_431(server: EchoServer) -> None:
    big = "x" * 20_000  # over the 16 KB default, sent in one write
    request = (
        f"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: a\r\nX-Big: {big}\r\n\r\n"
    ).encode()
    answer = raw_exchange(server.port, request)
    assert answer.startswith(b"HTTP/1.1 431 ")


def test_client_sending_a_huge_body_reads_the_413(server: EchoServer) -> None:
    sid, _ = Eio(server.port).handshake()
    body_size = 5_000_000  # five times max_payload, more than socket buffers hold
    with socket.create_connection(("127.0.0.1", server.port), timeout=10) as sock:
        sock.sendall(
            f"POST /engine.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: a\r\n"
            f"Content-Type: text/plain\r\nContent-Length: {body_size}\r\n\r\n".encode()
        )
        chunk = b"4" + b"x" * 65535
        sent = 0
        try:
            while sent < body_size:
                sock.sendall(chunk[: body_size - sent])
                sent += len(chunk)
        except OSError:
            pass  # the server stops reading after its answer; what matters is the answer
        answer = sock.recv(4096)
    assert answer.startswith(b"HTTP/1.1 413 ")
    # the session was dropped with its oversized POST; the server serves others
    assert Eio(server.port).handshake()[0]
