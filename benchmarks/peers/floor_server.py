"""Benchmark peer: the floor, what pure Python on gevent can do at all for these operations.

Not a Socket.IO server: it answers exactly the byte patterns the scale
benchmark's client sends and nothing else, with hand-parsed frames, no JSON,
no protocol state beyond a room table and a per-session outbox for polling:

- WebSocket: the upgrade (one SHA-1 for the accept key), the open packet;
  ``40`` -> ``40{"sid":...}`` and ``42["auth",{}]``; ``42["echo",...]`` -> the same
  text; ``42N["echo_ack",ARGS...]`` -> ``43N[ARGS...]``; ``42N["join","R"]`` ->
  joins R, ``43N["R"]``; ``42["bcast",{"room":"R",...}]`` -> one frame built once
  and written to every member of R. No pings are sent (idle is not measured here).
- Long-polling (keep-alive HTTP/1.1, ``Content-Length`` bodies): a GET without
  ``sid`` opens a session; a POST queues the answers of its packets (as above,
  split on the record separator); a GET returns the queue, or waits for it.

One greenlet and one socket per connection, ``TCP_NODELAY``, one write per
answer, reads and writes straight on the OS socket (gevent's wrappers only to
wait). Server CPU per operation of this process is the denominator of the
"ours / floor" ratios in ``scale.py``.

    python floor_server.py --port N   (from the project's venv or benchmarks/.venv-peers: gevent)
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import itertools
import resource
import signal
import socket
import sys

import gevent
from gevent.event import Event
from gevent.server import StreamServer

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC11B85"
OPEN_TAIL = b'","upgrades":[],"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}'


def frame(payload: bytes) -> bytes:
    n = len(payload)
    if n < 126:
        return bytes((0x81, n)) + payload
    if n < 65536:
        return b"\x81\x7e" + n.to_bytes(2, "big") + payload
    return b"\x81\x7f" + n.to_bytes(8, "big") + payload


def unmask(data: bytes, key: bytes) -> bytes:
    if key == b"\0\0\0\0":
        return data
    n = len(data)
    k = int.from_bytes((key * (n // 4 + 1))[:n], "little")
    return (int.from_bytes(data, "little") ^ k).to_bytes(n, "little")


class Floor:
    def __init__(self) -> None:
        self.rooms: dict[bytes, list[object]] = {}
        self.ids = itertools.count(1)
        self.sessions: dict[bytes, list[object]] = {}  # sid -> [outbox list, Event]

    def answers(self, pkt: bytes, sid: bytes, member: object, out: list[bytes]) -> list[bytes] | None:
        """The packets a client packet asks for (a broadcast is written to its room here)."""
        if pkt[:10] == b'42["bcast"':
            i = pkt.find(b'"room":"')
            room = pkt[i + 8:pkt.index(b'"', i + 8)]
            data = frame(pkt)
            for m in self.rooms.get(room, ()):
                m.send(data)  # type: ignore[attr-defined]
            return None
        if pkt[:8] == b'42["echo':
            out.append(pkt)
        elif pkt[:2] == b"42":
            i = pkt.index(b"[")
            if pkt[i:i + 12] == b'["echo_ack",':
                out.append(b"43" + pkt[2:i] + b"[" + pkt[i + 12:])
            elif pkt[i:i + 8] == b'["join",':
                room = pkt[i + 9:pkt.index(b'"', i + 9)]
                self.rooms.setdefault(room, []).append(member)
                out.append(b"43" + pkt[2:i] + b'["' + room + b'"]')
        elif pkt[:2] == b"40":
            out.append(b'40{"sid":"' + sid + b'"}')
            out.append(b'42["auth",{}]')
        return out

    # ------------------------------------------------------------ connections
    def handle(self, sock: socket.socket, _addr: object) -> None:
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        member = Member(sock)
        raw = member.raw
        buf = b""
        try:
            while True:
                while b"\r\n\r\n" not in buf:
                    data = recv(sock, raw)
                    if not data:
                        return
                    buf += data
                end = buf.index(b"\r\n\r\n")
                head, buf = buf[:end], buf[end + 4:]
                lower = head.lower()
                if b"upgrade: websocket" in lower:
                    self.websocket(sock, head, buf)
                    return
                i = lower.find(b"content-length:")
                length = int(lower[i + 15:lower.find(b"\r\n", i) if lower.find(b"\r\n", i) > 0 else None]) \
                    if i >= 0 else 0
                while len(buf) < length:
                    data = recv(sock, raw)
                    if not data:
                        return
                    buf += data
                body, buf = buf[:length], buf[length:]
                member.send(self.polling(head, body))
        except OSError:
            pass
        finally:
            sock.close()

    def polling(self, head: bytes, body: bytes) -> bytes:
        line = head[:head.index(b"\r\n")]
        i = line.find(b"sid=")
        if i < 0:
            sid = str(next(self.ids)).encode()
            self.sessions[sid] = [[], Event()]
            return ok(b'0{"sid":"' + sid + OPEN_TAIL)
        j = i + 4
        while j < len(line) and line[j:j + 1] not in (b"&", b" "):
            j += 1
        sid = line[i + 4:j]
        sess = self.sessions.get(sid)
        if sess is None:
            return b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n"
        outbox, ev = sess
        if line[:4] == b"POST":
            for pkt in body.split(b"\x1e"):
                self.answers(pkt, sid, None, outbox)  # type: ignore[arg-type]
            if outbox:
                ev.set()  # type: ignore[attr-defined]
            return ok(b"ok")
        while not outbox:
            ev.clear()  # type: ignore[attr-defined]
            ev.wait()  # type: ignore[attr-defined]
        data = b"\x1e".join(outbox)  # type: ignore[arg-type]
        outbox.clear()  # type: ignore[attr-defined]
        return ok(data)

    def websocket(self, sock: socket.socket, head: bytes, buf: bytes) -> None:
        lower = head.lower()
        i = lower.index(b"sec-websocket-key:") + 18
        key = head[i:head.find(b"\r\n", i) if head.find(b"\r\n", i) > 0 else None].strip()
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest())
        sid = str(next(self.ids)).encode()
        sock.sendall(b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                     b"Sec-WebSocket-Accept: " + accept + b"\r\n\r\n" + frame(b'0{"sid":"' + sid + OPEN_TAIL))
        member = Member(sock)
        send = member.send
        raw = member.raw
        try:
            while True:
                n = len(buf)
                if n < 2:
                    data = recv(sock, raw)
                    if not data:
                        return
                    buf += data
                    continue
                length = buf[1] & 0x7F
                hdr = 6
                if length == 126:
                    length = int.from_bytes(buf[2:4], "big") if n >= 4 else 1 << 40
                    hdr = 8
                elif length == 127:
                    length = int.from_bytes(buf[2:10], "big") if n >= 10 else 1 << 40
                    hdr = 14
                if n < hdr + length:
                    data = recv(sock, raw)
                    if not data:
                        return
                    buf += data
                    continue
                op = buf[0] & 0x0F
                pkt = unmask(buf[hdr:hdr + length], buf[hdr - 4:hdr])
                buf = buf[hdr + length:]
                if op == 8:
                    return
                if op != 1:
                    continue
                out = self.answers(pkt, sid, member, [])
                if out:
                    send(b"".join(frame(p) for p in out))
        finally:
            for members in self.rooms.values():
                if member in members:
                    members.remove(member)


class Member:
    """A connection's writer: straight to the OS socket, gevent's sendall only for the rest."""

    __slots__ = ("sock", "raw")

    def __init__(self, sock: socket.socket) -> None:
        self.sock = sock
        self.raw = raw_of(sock)

    def send(self, data: bytes) -> None:
        try:
            n = self.raw.send(data)
            if n < len(data):
                self.sock.sendall(data[n:])
        except BlockingIOError:
            self.sock.sendall(data)
        except OSError:
            pass


def raw_of(sock: socket.socket) -> socket.socket:
    """The stdlib socket under a gevent one (non-blocking): a call without gevent's wrapper."""
    return getattr(sock, "_sock", sock)


def recv(sock: socket.socket, raw: socket.socket) -> bytes:
    """What is there now, else what gevent's recv waits for."""
    try:
        return raw.recv(65536)
    except BlockingIOError:
        return sock.recv(65536)


def ok(body: bytes) -> bytes:
    return (b"HTTP/1.1 200 OK\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\n\r\n" + body)


def main() -> int:
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ping-interval", type=int, default=25000)  # accepted, unused: no pings
    args = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    server = StreamServer((args.host, args.port), Floor().handle, backlog=2048)
    server.start()
    print(f"listening on http://{args.host}:{args.port}", flush=True)
    gevent.signal_handler(signal.SIGTERM, server.stop)
    gevent.signal_handler(signal.SIGINT, server.stop)
    server.serve_forever()
    return 0


if __name__ == "__main__":
    sys.exit(main())
