"""An in-memory stand-in for a connected gevent socket, and a parser for what the server wrote.

:class:`MemorySocket` hands the server scripted chunks through a gevent queue
(``recv`` honours ``settimeout`` and raises ``socket.timeout``), records every
byte written, and behaves like a non-TCP stream where the transports probe the
OS (``setsockopt`` raises, ``fileno`` is -1). It lets the HTTP layer run with no
socket at all, and the tests choose exactly how the bytes are split.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Iterable

import gevent.queue

__all__ = ["MemorySocket", "Resp", "parse_responses", "request"]


class MemorySocket:
    def __init__(self, chunks: Iterable[bytes] = (), *, eof: bool = True) -> None:
        self._inbox: gevent.queue.Queue[bytes] = gevent.queue.Queue()
        for chunk in chunks:
            self.feed(chunk)
        if eof:
            self.end()
        self._rest = b""
        self._eof = False
        self.sent = bytearray()
        self.timeout: float | None = None
        self.closed = False
        self.shut = False
        #: Bytes the server has taken out of the socket so far.
        self.bytes_read = 0

    # what the test does

    def feed(self, data: bytes) -> None:
        assert data, "use end() for EOF"
        self._inbox.put(data)

    def end(self) -> None:
        self._inbox.put(b"")

    # what the server calls

    def settimeout(self, timeout: float | None) -> None:
        self.timeout = timeout

    def gettimeout(self) -> float | None:
        return self.timeout

    def recv(self, size: int) -> bytes:
        if self.closed:
            raise OSError(9, "Bad file descriptor")
        if not self._rest:
            if self._eof:
                return b""
            try:
                self._rest = self._inbox.get(timeout=self.timeout)
            except gevent.queue.Empty:
                raise socket.timeout("timed out") from None
            if not self._rest:
                self._eof = True
                return b""
        data, self._rest = self._rest[:size], self._rest[size:]
        self.bytes_read += len(data)
        return data

    def send(self, data: bytes) -> int:
        if self.closed:
            raise OSError(9, "Bad file descriptor")
        self.sent += data
        return len(data)

    def sendall(self, data: bytes) -> None:
        self.send(data)

    def setsockopt(self, *args: object) -> None:
        raise OSError(95, "not a TCP socket")

    def fileno(self) -> int:
        return -1

    def shutdown(self, how: int) -> None:
        self.shut = True

    def close(self) -> None:
        self.closed = True


@dataclass
class Resp:
    status: int
    headers: dict[str, str]
    body: bytes


def parse_responses(data: bytes | bytearray) -> list[Resp]:
    """Split a stream of HTTP/1.1 responses (every one has a Content-Length or none)."""
    out: list[Resp] = []
    data = bytes(data)
    while data:
        head, sep, rest = data.partition(b"\r\n\r\n")
        assert sep, f"incomplete response head: {data[:200]!r}"
        lines = head.decode("latin-1").split("\r\n")
        version, status, *_ = lines[0].split(" ")
        assert version == "HTTP/1.1", lines[0]
        headers: dict[str, str] = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        length = int(headers.get("content-length", "0"))
        assert len(rest) >= length, "truncated body"
        out.append(Resp(int(status), headers, rest[:length]))
        data = rest[length:]
        if int(status) == 101:
            break  # what follows is WebSocket frames
    return out


def request(method: str, target: str, body: bytes | None = None,
            headers: Iterable[tuple[str, str]] = ()) -> bytes:
    lines = [f"{method} {target} HTTP/1.1", "Host: test"]
    lines += [f"{k}: {v}" for k, v in headers]
    if body is not None:
        lines.append(f"Content-Length: {len(body)}")
    return ("\r\n".join(lines) + "\r\n\r\n").encode() + (body or b"")
