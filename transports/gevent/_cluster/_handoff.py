"""Handing a TCP connection to another process: the message and the descriptor.

A handoff is one ``SOCK_SEQPACKET`` message carrying the connection's file
descriptor (``SCM_RIGHTS``) and, in its body, the peer address and the bytes
already read from the connection (at least one request head). The
supervisor sends them to workers; a worker sends one back when a keep-alive
connection's next request belongs to another worker's session. Both ends
share these few lines so that the format is written once.
"""

from __future__ import annotations

import socket
import struct
from dataclasses import dataclass
from typing import Any

__all__ = ["HANDOFF_MAX", "WorkerContext", "pack_handoff", "unpack_handoff", "send_fd"]

#: Largest handoff message: the head and what came with it (a body's start).
HANDOFF_MAX = 256 * 1024
_ADDR = struct.Struct("!HH")
_FD = struct.Struct("i")


@dataclass
class WorkerContext:
    """What a worker process is given: who it is and its two sockets to the supervisor."""

    slot: int
    wid: int
    workers: int
    handoff: socket.socket
    bus: socket.socket


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
