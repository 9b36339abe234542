#!/usr/bin/env python3
"""Function calls per delivery of a room broadcast, counted (deterministic, unlike CPU time).

An in-process server on gevent, N raw WebSocket clients on loopback in one
room; ``sys.setprofile`` counts every Python and C function call while the
server emits to the room and flushes at the end of the loop turn, over a few
broadcasts. The scale benchmark measures the same broadcast from outside
(CPU per delivery against the floor server's, which makes about one C call,
``sock.send``, per recipient); this says where the difference is, and a
before/after of a change to the broadcast path reads the same on a busy
machine as on a quiet one.

    python benchmarks/broadcast_calls.py [N ...]            (default 100 1000)
    PYTHONPATH=/path/to/other/checkout python benchmarks/broadcast_calls.py   (another tree)
"""

from __future__ import annotations

import sys
from typing import Any

import gevent
from gevent import socket
from gevent.event import Event

import socketio_core
from socketio_core import Server

_UPGRADE = (
    b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n"
    b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)
_CONNECT = bytes((0x81, 0x82)) + b"\0\0\0\0" + b"40"  # "40", masked with a zero key


def _drain(sock: Any) -> bytes:
    got = b""
    try:
        while True:
            chunk = sock.recv(1 << 20)
            if not chunk:
                return got
            got += chunk
    except BlockingIOError:
        return got


def calls_per_delivery(n: int, rounds: int = 5) -> tuple[float, float]:
    """(Python calls, C calls) per delivery of a broadcast to a room of ``n`` WebSocket clients."""
    sio = Server()
    connected = Event()
    sids: list[str] = []

    def on_connect(sid: str) -> None:
        sids.append(sid)
        if len(sids) == n:
            connected.set()

    sio.on("connect", on_connect)
    _, port = sio.start("127.0.0.1", 0)
    socks = []
    try:
        for _ in range(n):
            sock = socket.create_connection(("127.0.0.1", port))
            sock.sendall(_UPGRADE)
            data = b""
            while b'"sid"' not in data:
                data += sock.recv(4096)
            sock.sendall(_CONNECT)
            socks.append(sock)
        assert connected.wait(60), f"{len(sids)}/{n} connected"
        for sid in sids:
            sio.enter_room(sid, "r1")
        counts = {"call": 0, "c_call": 0}

        def profile(frame: Any, event: str, arg: Any) -> None:
            if event in counts:
                counts[event] += 1

        for r in range(rounds + 1):  # the first one warms up (frames of the CONNECT replies flushed)
            gevent.sleep(0)
            for sock in socks:
                sock.setblocking(False)
                _drain(sock)
            if r:
                sys.setprofile(profile)
            sio.emit("bcast", {"room": "r1", "s": r}, to="r1")
            gevent.sleep(0)  # this loop turn's end: the queued writes
            sys.setprofile(None)
        for sock in socks:
            got = _drain(sock)
            assert got.count(b'42["bcast"') == 1, got  # delivered, exactly once
        return counts["call"] / (rounds * n), counts["c_call"] / (rounds * n)
    finally:
        for sock in socks:
            sock.close()
        sio.stop()


def main(argv: list[str]) -> None:
    sizes = [int(a) for a in argv] or [100, 1000]
    print(f"tree: {socketio_core.__file__}")
    for n in sizes:
        py, c = calls_per_delivery(n)
        print(f"room of {n:>6}: {py:5.2f} Python calls + {c:5.2f} C calls per delivery")


if __name__ == "__main__":
    main(sys.argv[1:])
