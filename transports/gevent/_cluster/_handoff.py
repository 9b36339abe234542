"""Handing a TCP connection to another process: the message and the descriptor.

A handoff is one ``SOCK_SEQPACKET`` message carrying the connection's file
descriptor (``SCM_RIGHTS``) and, in its body, the peer address and the bytes
already read from the connection (at least one request head). The
supervisor sends them to workers; a worker sends one back when a keep-alive
connection's next request belongs to another worker's session. Both ends
share these few lines so that the format is written once.
"""

from __future__ import annotations

import os
import socket
import struct
from dataclasses import dataclass
from typing import Any

__all__ = ["HANDOFF_MAX", "WorkerContext", "pack_handoff", "unpack_handoff", "send_fd",
           "HandoffReader", "close_fd"]

#: Largest handoff message: the head and what came with it (a body's start).
HANDOFF_MAX = 256 * 1024
_ADDR = struct.Struct("!HH")
_FD = struct.Struct("i")
#: Descriptors one handoff may carry (one is used; more are closed).
_MAX_FDS = 4
_ANCILLARY = socket.CMSG_SPACE(_MAX_FDS * _FD.size)
#: recvmsg flags of a cut message, as a plain int (the enum's ``|`` and ``&`` are Python calls).
_CUT = int(socket.MSG_TRUNC | socket.MSG_CTRUNC)
_SOL_SOCKET = int(socket.SOL_SOCKET)
_SCM_RIGHTS = int(socket.SCM_RIGHTS)


@dataclass
class WorkerContext:
    """What a worker process is given: who it is and its two sockets to the supervisor."""

    slot: int
    wid: int
    workers: int
    handoff: socket.socket
    bus: socket.socket
    #: The listening socket's address family: every connection handed over has it, so
    #: the receiver builds its socket object without asking the kernel (two getsockopt
    #: and a getsockname per connection otherwise).
    family: int = socket.AF_INET


def pack_handoff(address: Any, data: bytes) -> bytes:
    """A handoff message: the peer address, then the bytes read so far."""
    if isinstance(address, tuple) and len(address) >= 2:
        host, port = str(address[0]).encode(), int(address[1])
    else:
        host, port = b"", 0
    return _ADDR.pack(len(host), port) + host + data


def unpack_handoff(message: bytes) -> tuple[tuple[str, int], bytes]:
    """The peer address and the bytes read so far, from a :func:`pack_handoff` message."""
    size, port = _ADDR.unpack_from(message)
    start = _ADDR.size
    host = message[start : start + size].decode()
    return (host, port), message[start + size :]


def send_fd(channel: socket.socket, message: bytes, fd: int) -> None:
    """``socket.send_fds`` for one descriptor, without its array (one ``sendmsg``)."""
    channel.sendmsg([message], [(socket.SOL_SOCKET, socket.SCM_RIGHTS, _FD.pack(fd))])


class HandoffReader:
    """Reads handoffs from non-blocking ``SOCK_SEQPACKET`` sockets into one reused buffer.

    ``socket.recv_fds`` allocates a buffer of the largest message size for
    every message (at 256 KB that is an ``mmap`` and a ``munmap`` per new
    connection) and an array for the descriptors; this reads each message
    into the same :data:`HANDOFF_MAX` bytes and copies out only what arrived.
    """

    __slots__ = ("_buffer", "_view")

    def __init__(self, size: int = HANDOFF_MAX) -> None:
        self._buffer = bytearray(size)
        self._view = memoryview(self._buffer)

    def read(self, sock: socket.socket) -> tuple[bytes, list[int]] | None:
        """One handoff from ``sock``: its message and descriptors; None when the other end closed.

        Raises BlockingIOError when nothing waits, OSError when the socket
        failed. A message longer than the buffer (never sent by
        :func:`pack_handoff`'s users) arrives cut: its descriptors are closed
        and it is returned empty, so that the caller drops it.
        """
        size, ancillary, flags, _ = sock.recvmsg_into([self._buffer], _ANCILLARY)
        fds: list[int] = []
        for level, kind, data in ancillary:
            if level == _SOL_SOCKET and kind == _SCM_RIGHTS:
                whole = len(data) - len(data) % _FD.size
                fds.extend(struct.unpack(f"{whole // _FD.size}i", data[:whole]))
        if not size and not fds:
            return None
        if flags & _CUT:
            for fd in fds:
                close_fd(fd)
            return b"", []
        return bytes(self._view[:size]), fds


def close_fd(fd: int) -> None:
    """Close a descriptor received but not used."""
    try:
        os.close(fd)
    except OSError:
        pass
