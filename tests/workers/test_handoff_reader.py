"""HandoffReader: a handoff's message and descriptor read into one reused buffer.

Real ``SOCK_SEQPACKET`` socket pairs (no network): what :func:`send_fd`
sends arrives whole with a working descriptor; a message cut by the buffer
is dropped with its descriptors closed; a closed sender reads as None.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Iterator

import pytest

from transports.gevent._cluster._handoff import (
    HandoffReader, pack_handoff, send_fd, unpack_handoff,
)


@pytest.fixture
def pair() -> Iterator[tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    a.settimeout(5)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


def test_messages_and_descriptors_arrive_whole_one_by_one(pair: tuple[socket.socket, socket.socket]) -> None:
    sender, receiver = pair
    reader = HandoffReader()
    with pytest.raises(BlockingIOError):
        reader.read(receiver)
    r1, w1 = os.pipe()
    r2, w2 = os.pipe()
    heads = [b"GET /a HTTP/1.1\r\n\r\n" + b"x" * 1000, b"GET /b HTTP/1.1\r\n\r\n"]
    send_fd(sender, pack_handoff(("10.0.0.1", 4242), heads[0]), w1)
    send_fd(sender, pack_handoff(("::1", 80), heads[1]), w2)
    for head, theirs, ours in ((heads[0], r1, w1), (heads[1], r2, w2)):
        got = reader.read(receiver)
        assert got is not None
        message, fds = got
        assert unpack_handoff(message)[1] == head  # the buffer's later bytes never leak into it
        assert len(fds) == 1 and fds[0] != ours
        os.write(fds[0], b"through")  # the received descriptor is the pipe's write end
        assert os.read(theirs, 16) == b"through"
        for fd in (fds[0], ours, theirs):
            os.close(fd)
    with pytest.raises(BlockingIOError):
        reader.read(receiver)


def test_a_message_cut_by_the_buffer_is_dropped_with_its_descriptors(pair: tuple[socket.socket, socket.socket]) -> None:
    sender, receiver = pair
    r, w = os.pipe()
    send_fd(sender, b"y" * 100, w)
    os.close(w)
    assert HandoffReader(size=64).read(receiver) == (b"", [])
    assert os.read(r, 1) == b""  # every write end closed: the received copy was closed too
    os.close(r)


def test_a_closed_sender_reads_as_none(pair: tuple[socket.socket, socket.socket]) -> None:
    sender, receiver = pair
    sender.close()
    assert HandoffReader().read(receiver) is None
