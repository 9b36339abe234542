"""An in-memory stand-in for a connected gevent socket, and a parser for what the server wrote.

:class:`MemorySocket` hands the server scripted chunks through a gevent queue
(``recv`` honours ``settimeout`` and raises ``socket.timeout``), records every
byte written, and behaves like a non-TCP stream where the transports probe the
OS (``setsockopt`` raises, ``fileno`` is -1). It lets the HTTP layer run with no
socket at all, and the tests choose exactly how the bytes are split.

With ``hub=True`` it also has what the gevent driver looks for in a gevent
socket before it moves a connection into the hub (``transports.gevent._http.plain_socket_of``):
a read watcher (``_read_event``, level-triggered like libev's: its callback
runs in the hub while bytes or the end are waiting) and the plain
non-blocking socket under it (``_sock``: ``recv`` raises BlockingIOError when
nothing waits; ``send`` takes at most ``send_limit`` bytes). So the hub-driven
paths (a connection waiting for its next request with no greenlet, a request
answered from the hub, a parked poll) run over memory too. Closing it cancels
an active watcher as gevent does (``throw`` on the callback's owner).
``hub_answers`` counts the responses the hub wrote.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass
from typing import Any, Callable, Iterable

import gevent.queue
from gevent import get_hub
from greenlet import getcurrent

__all__ = ["MemorySocket", "Resp", "parse_responses", "request"]


class _Watcher:
    """A stand-in for a gevent socket's libev read watcher (level-triggered)."""

    def __init__(self, sock: "MemorySocket") -> None:
        self.sock = sock
        self.callback: Callable[..., Any] | None = None
        self.args: tuple[Any, ...] = ()
        self.active = False
        self._scheduled = False

    def start(self, callback: Callable[..., Any], *args: Any) -> None:
        self.callback, self.args, self.active = callback, args, True
        self.poke()

    def stop(self) -> None:
        self.active = False

    def poke(self) -> None:
        """Run the callback from the hub soon, if active and there is something to read."""
        if self.active and not self._scheduled and self.sock.readable:
            self._scheduled = True
            get_hub().loop.run_callback(self._fire)

    def _fire(self) -> None:
        self._scheduled = False
        if self.active and self.sock.readable and self.callback is not None:
            self.callback(*self.args)
            self.poke()  # level-triggered: again while something waits

    def cancel(self) -> None:
        """The socket was closed under an active watcher: gevent throws into its owner."""
        if not self.active or self.callback is None:
            return
        self.active = False
        owner = getattr(self.callback, "__self__", None)
        if owner is not None and hasattr(owner, "throw"):
            get_hub().loop.run_callback(
                owner.throw, OSError(9, "File descriptor was closed in another greenlet")
            )


class _Plain:
    """The plain non-blocking socket under a hub-capable MemorySocket."""

    def __init__(self, sock: "MemorySocket") -> None:
        self.sock = sock

    def recv(self, size: int) -> bytes:
        return self.sock._recv_now(size)

    def send(self, data: bytes) -> int:
        sock = self.sock
        if sock.send_limit is not None:
            data = data[: sock.send_limit]
        return sock.send(data)


class MemorySocket:
    def __init__(
        self, chunks: Iterable[bytes] = (), *, eof: bool = True, hub: bool = False,
        watcher: bool = False, send_limit: int | None = None,
    ) -> None:
        #: What the gevent driver looks for before it uses the hub (see the module
        #: note). ``watcher=True`` alone gives the read watcher without the plain
        #: socket: the driver then keeps a greenlet per connection, but a waiting
        #: poll still watches for the client leaving, as on a real socket.
        self._read_event: _Watcher | None = _Watcher(self) if hub or watcher else None
        self._sock: _Plain | None = _Plain(self) if hub else None
        #: At most this many bytes per write on the plain socket (a full send buffer).
        self.send_limit = send_limit
        #: Responses whose head was written from the hub (the hub-driven paths' answers).
        self.hub_answers = 0
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
        if self._read_event is not None:
            self._read_event.poke()

    def end(self) -> None:
        self._inbox.put(b"")
        if self._read_event is not None:
            self._read_event.poke()

    @property
    def readable(self) -> bool:
        """Whether a read would not wait: bytes, or the end, are there."""
        return bool(self._rest) or self._eof or not self._inbox.empty()

    def _recv_now(self, size: int) -> bytes:
        """A read on the plain non-blocking socket: BlockingIOError when nothing waits."""
        if self.closed:
            raise OSError(9, "Bad file descriptor")
        if not self._rest and not self._eof:
            try:
                chunk = self._inbox.get_nowait()
            except gevent.queue.Empty:
                raise BlockingIOError(11, "Resource temporarily unavailable") from None
            if not chunk:
                self._eof = True
            self._rest = chunk
        data, self._rest = self._rest[:size], self._rest[size:]
        self.bytes_read += len(data)
        return data

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
        if data.startswith(b"HTTP/1.1 ") and getcurrent() is get_hub():
            self.hub_answers += 1
        self.sent += data
        return len(data)

    def sendall(self, data: bytes) -> None:
        self.send(data)

    def setsockopt(self, *args: object) -> None:
        raise OSError(95, "not a TCP socket")

    def fileno(self) -> int:
        # A hub-capable socket looks open to the driver's liveness check; the
        # number is never used to make a watcher (``_read_event`` is there).
        return 1_000_000 if self._read_event is not None and not self.closed else -1

    def shutdown(self, how: int) -> None:
        self.shut = True

    def close(self) -> None:
        self.closed = True
        watcher, self._read_event = self._read_event, None
        if watcher is not None:
            watcher.cancel()


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
