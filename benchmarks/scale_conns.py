"""The lean load client's connections: raw WebSocket and raw long-polling Socket.IO clients.

Each object is one client of ``scale_client.py``'s epoll loop: it owns a
non-blocking socket bound to one of several loopback source addresses (one
source address reaches one port through only ~28,000 ephemeral ports), and
speaks just enough Engine.IO v4 / Socket.IO v5 to connect, answer pings and
run the benchmark's operations. Frames are written by hand: the client masks
with one fixed non-zero key (see :data:`MASK`), server frames are
read without a general parser; the only "JSON" is byte searches for the two
fields the benchmark needs (an ack id, a broadcast sequence number). The
point is a client cheap enough that 20,000 of them per process and a few
processes beside the server still leave the CPU to the server under test.

Standard library only: it runs from whichever Python starts the harness.
"""

from __future__ import annotations

import errno
import functools
import socket
from typing import Any

# IP_BIND_ADDRESS_NO_PORT (linux/in.h): bind() picks the source address only, the
# port is chosen at connect() per destination, so ports are not exhausted by bind.
_IP_BIND_ADDRESS_NO_PORT = 24

# connection states
CONNECTING, HTTP, OPEN, NSP, READY, CLOSED = range(6)
OUTCOMES = ("ready", "refused_503", "http_error", "reset", "closed", "hung", "error")

PAYLOAD = b'"' + b"x" * 30 + b'"'  # one 32-byte JSON string argument
ECHO = b'42["echo",' + PAYLOAD + b"]"
ACK_REPLY_TAIL = b"[" + PAYLOAD + b"]"


#: The clients' mask key. Not the all-zero key: a server may skip the XOR for
#: that one (the floor peer does), and browsers mask with random keys, so the
#: zero key would make the servers' costs look unlike a real client's.
MASK = b"\x5a\xc3\x0f\x96"


def masked(payload: bytes) -> bytes:
    """``payload`` XORed with :data:`MASK` (RFC 6455 section 5.3)."""
    n = len(payload)
    key = int.from_bytes((MASK * (n // 4 + 1))[:n], "little")
    return (int.from_bytes(payload, "little") ^ key).to_bytes(n, "little")


@functools.lru_cache(maxsize=256)
def text_frame(payload: bytes) -> bytes:
    """A masked client text frame (cached: the benchmark sends a few payloads over and over)."""
    n = len(payload)
    if n < 126:
        head = bytes((0x81, 0x80 | n))
    elif n < 65536:
        head = bytes((0x81, 0xFE)) + n.to_bytes(2, "big")
    else:
        head = bytes((0x81, 0xFF)) + n.to_bytes(8, "big")
    return head + MASK + masked(payload)


PONG = text_frame(b"3")
CLOSE = bytes((0x88, 0x82)) + MASK + masked((1000).to_bytes(2, "big"))


def new_socket(src: str, dest: tuple[str, int]) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setblocking(False)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.setsockopt(socket.SOL_IP, _IP_BIND_ADDRESS_NO_PORT, 1)
    except OSError:
        pass
    sock.bind((src, 0))
    err = sock.connect_ex(dest)
    if err not in (0, errno.EINPROGRESS):
        sock.close()
        raise OSError(err, errno.errorcode.get(err, str(err)))
    return sock


class Conn:
    """Shared plumbing: the socket, the write buffer, the outcome of connecting."""

    __slots__ = ("loop", "sock", "fd", "st", "rbuf", "wbuf", "pings", "t_start", "outcome",
                 "sent_at", "busy", "room_ok", "exp_seq", "lost", "dups", "reorders", "idx")

    def __init__(self, loop: Any, src: str, dest: tuple[str, int], idx: int) -> None:
        self.loop = loop
        self.idx = idx
        self.sock = new_socket(src, dest)
        self.fd = self.sock.fileno()
        self.st = CONNECTING
        self.rbuf = bytearray()
        self.wbuf = b""
        self.pings = 0
        self.t_start = loop.now()
        self.outcome: str | None = None
        self.sent_at = 0.0
        self.busy = False  # one operation in flight
        self.room_ok = False
        self.exp_seq = 0
        self.lost = self.dups = self.reorders = 0

    # -- writing
    def write(self, data: bytes) -> None:
        if self.st == CLOSED:
            return
        if self.wbuf or self.st == CONNECTING:
            self.wbuf += data
            return
        try:
            n = self.sock.send(data)
        except BlockingIOError:
            n = 0
        except OSError:
            self.fail("reset")
            return
        if n < len(data):
            self.wbuf = data[n:]
            self.loop.want_write(self, True)

    def on_writable(self) -> None:
        if self.st == CONNECTING:
            err = self.sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                self.fail("reset")
                return
            self.loop.want_write(self, False)
            self.started()
            return
        if self.wbuf:
            try:
                n = self.sock.send(self.wbuf)
            except BlockingIOError:
                return
            except OSError:
                self.fail("reset")
                return
            self.wbuf = self.wbuf[n:]
        if not self.wbuf:
            self.loop.want_write(self, False)

    # -- reading
    def on_readable(self) -> None:
        try:
            data = self.sock.recv(262144)
        except BlockingIOError:
            return
        except OSError:
            self.fail("reset")
            return
        if not data:
            self.fail("closed")
            return
        self.rbuf += data
        self.consume()

    def fail(self, outcome: str) -> None:
        was = self.st
        if was == CLOSED:
            return
        self.st = CLOSED
        if self.outcome is None:
            self.outcome = outcome
        self.loop.closed(self, was)
        try:
            self.sock.close()
        except OSError:
            pass

    def ready(self) -> None:
        self.st = READY
        self.outcome = "ready"
        self.loop.connected(self)

    def close(self) -> None:
        if self.st == READY and not self.wbuf:
            try:
                self.sock.send(self.close_bytes())
            except OSError:
                pass
        self.outcome = self.outcome or "closed"
        self.fail("closed")

    def close_bytes(self) -> bytes:
        return b""

    def http_head(self) -> tuple[int, int, int] | None:
        """(status, header end, content length) of the response at the buffer's start."""
        end = self.rbuf.find(b"\r\n\r\n")
        if end < 0:
            return None
        head = bytes(self.rbuf[:end]).lower()
        try:
            status = int(head[9:12])
        except ValueError:
            status = 0
        i = head.find(b"content-length:")
        length = int(head[i + 15:head.index(b"\r\n", i) if b"\r\n" in head[i:] else len(head)]) if i >= 0 else -1
        return status, end + 4, length

    def started(self) -> None:
        raise NotImplementedError

    def consume(self) -> None:
        raise NotImplementedError


class WSConn(Conn):
    """A WebSocket-only Socket.IO client (``transport=websocket`` from the start)."""

    __slots__ = ()

    def started(self) -> None:
        self.st = HTTP
        self.write(self.loop.ws_request)

    def close_bytes(self) -> bytes:
        return CLOSE

    def consume(self) -> None:
        buf = self.rbuf
        if self.st == HTTP:
            head = self.http_head()
            if head is None:
                return
            status, end, _ = head
            if status != 101:
                self.fail("refused_503" if status == 503 else "http_error")
                return
            del buf[:end]
            self.st = OPEN
        pos, n = 0, len(buf)
        while n - pos >= 2:
            b1 = buf[pos + 1] & 0x7F
            hdr = 2
            if b1 == 126:
                if n - pos < 4:
                    break
                b1 = int.from_bytes(buf[pos + 2:pos + 4], "big")
                hdr = 4
            elif b1 == 127:
                if n - pos < 10:
                    break
                b1 = int.from_bytes(buf[pos + 2:pos + 10], "big")
                hdr = 10
            if n - pos < hdr + b1:
                break
            op = buf[pos] & 0x0F
            payload = bytes(buf[pos + hdr:pos + hdr + b1])
            pos += hdr + b1
            if op == 1:
                self.on_text(payload)
            elif op == 8:
                self.fail("closed")
                return
            elif op == 9:
                self.write(bytes((0x8A, 0x80 | len(payload))) + MASK + masked(payload))
            if self.st == CLOSED:
                return
        if pos:
            del buf[:pos]

    def on_text(self, p: bytes) -> None:
        st = self.st
        if st == READY:
            if p == b"2":
                self.pings += 1
                self.write(PONG)
            else:
                self.loop.event(self, p)
        elif st == OPEN:
            if p[:1] == b"0":
                self.st = NSP
                self.write(text_frame(b"40"))
            else:
                self.fail("error")
        elif st == NSP:
            if p[:3] == b"40{":
                self.ready()
            elif p == b"2":
                self.pings += 1
                self.write(PONG)
            elif p[:2] == b"44":
                self.fail("error")

    def send_text(self, payload: bytes) -> None:
        self.write(text_frame(payload))


class PollConn(Conn):
    """A long-polling Socket.IO client as a browser runs one: two keep-alive HTTP/1.1 connections.

    Once connected, a GET is always pending on this connection; POSTs go on
    its :class:`PostConn`, one at a time (a packet to send while a POST is out
    waits and goes with the next). A round trip is a POST of the event and the
    answer arriving on the pending GET, which is at once sent again. Pings come
    on the GET and are answered by a POST of ``3``.
    """

    __slots__ = ("sid", "phase", "post", "post_busy", "queued")

    def __init__(self, loop: Any, src: str, dest: tuple[str, int], idx: int) -> None:
        super().__init__(loop, src, dest, idx)
        self.post = PostConn(loop, src, dest, idx)
        self.post.owner = self
        self.post_busy = False
        self.queued: list[bytes] = []
        loop.adopt(self.post)

    def fail(self, outcome: str) -> None:
        super().fail(outcome)
        self.post.fail(outcome)

    def started(self) -> None:
        self.st = HTTP
        self.sid = b""
        self.phase = "open"
        self.write(self.loop.poll_get(b""))

    def consume(self) -> None:
        while self.st != CLOSED:
            head = self.http_head()
            if head is None:
                return
            status, end, length = head
            if length < 0:
                self.fail("error")  # the servers here all answer with a Content-Length
                return
            if len(self.rbuf) < end + length:
                return
            body = bytes(self.rbuf[end:end + length])
            del self.rbuf[:end + length]
            if status != 200:
                self.fail("refused_503" if status == 503 else "http_error")
                return
            self.on_get(body)

    def on_get(self, body: bytes) -> None:
        """The answer to this connection's GET (the handshake's, or the pending one)."""
        if self.phase == "open":
            i = body.find(b'"sid":"')
            if body[:1] != b"0" or i < 0:
                self.fail("error")
                return
            self.sid = body[i + 7:body.index(b'"', i + 7)]
            self.phase = "nsp"
            self.send_packet(b"40")
            self.write(self.loop.poll_get(self.sid))
            return
        events = []
        for pkt in body.split(b"\x1e"):
            if pkt == b"2":
                self.pings += 1
                self.send_packet(b"3")
            elif pkt[:3] == b"40{":
                if self.phase == "nsp":
                    self.phase = "ready"
                    self.ready()
            elif pkt[:1] == b"1" or pkt[:2] == b"41" or pkt[:2] == b"44":
                self.fail("closed")
                return
            elif self.st == READY:
                events.append(pkt)
        self.write(self.loop.poll_get(self.sid))  # the next GET before the events' answers
        for pkt in events:
            self.loop.event(self, pkt)

    def on_post(self, body: bytes) -> None:
        """The answer to a POST: the next queued packets go."""
        self.post_busy = False
        if self.queued:
            packets, self.queued = self.queued, []
            self.send_packet(b"\x1e".join(packets))

    def send_packet(self, payload: bytes) -> None:
        if self.post_busy:
            self.queued.append(payload)
            return
        self.post_busy = True
        self.post.write(self.loop.poll_post(self.sid, payload))

    def send_text(self, payload: bytes) -> None:
        """Send one packet (its answer comes on the pending GET)."""
        self.send_packet(payload)

    def poll_idle(self) -> None:
        """A GET is always pending: nothing to do to receive pings."""


class PostConn(Conn):
    """The POST connection of a :class:`PollConn`: its answers go to the owner."""

    __slots__ = ("owner",)

    def started(self) -> None:
        self.st = HTTP
        data, self.wbuf = self.wbuf, b""
        if data:
            self.write(data)

    def consume(self) -> None:
        owner = self.owner
        while self.st != CLOSED:
            head = self.http_head()
            if head is None:
                return
            status, end, length = head
            if length < 0 or len(self.rbuf) < end + length:
                if length < 0:
                    self.fail("error")
                return
            body = bytes(self.rbuf[end:end + length])
            del self.rbuf[:end + length]
            if status != 200:
                self.fail("refused_503" if status == 503 else "http_error")
                return
            owner.on_post(body)

    def fail(self, outcome: str) -> None:
        if self.st == CLOSED:
            return
        self.st = CLOSED
        self.loop.forget(self)
        try:
            self.sock.close()
        except OSError:
            pass
        self.owner.fail(outcome)

    def close(self) -> None:
        self.fail("closed")
