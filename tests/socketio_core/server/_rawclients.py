"""Raw Socket.IO clients on gevent sockets that keep every byte the server writes (test helper).

For the broadcast tests, which compare what each client received down to
the byte: a WebSocket client keeps its whole stream after a mark, a
long-polling client the packets of its GETs. Neither reads until told to
(:meth:`collect`), so a large message leaves the server with a write still
under way. Both run on the test's hub beside an in-process server.
"""

from __future__ import annotations

import json
import os

from gevent import socket

__all__ = ["WsClient", "PollClient", "frames_of"]

_UPGRADE = (
    "GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: t\r\nUpgrade: websocket\r\n"
    "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


def frames_of(data: bytes) -> tuple[list[tuple[int, bytes]], bytes]:
    """The complete unmasked frames at the start of ``data`` (opcode, payload), and the rest."""
    frames = []
    while len(data) >= 2:
        size = data[1] & 0x7F
        head = 2
        if size == 126:
            if len(data) < 4:
                break
            size, head = int.from_bytes(data[2:4], "big"), 4
        elif size == 127:
            if len(data) < 10:
                break
            size, head = int.from_bytes(data[2:10], "big"), 10
        if len(data) < head + size:
            break
        frames.append((data[0] & 0x0F, data[head:head + size]))
        data = data[head + size:]
    return frames, data


def _masked(text: str) -> bytes:
    payload = text.encode("utf-8")
    key = os.urandom(4)
    body = bytes(b ^ key[i % 4] for i, b in enumerate(payload))
    assert len(payload) < 126
    return bytes((0x81, 0x80 | len(payload))) + key + body


class WsClient:
    """A WebSocket client: connects to namespaces, then keeps the raw stream."""

    def __init__(self, port: int) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        # A small receive window: a large message then stays partly in the server's hands.
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 65536)
        self.sock.connect(("127.0.0.1", port))
        self.sock.sendall(_UPGRADE.encode())
        self.data = b""
        while b"\r\n\r\n" not in self.data:
            self._read()
        head, _, self.data = self.data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        self.next_message()  # the OPEN packet

    def _read(self) -> None:
        chunk = self.sock.recv(1 << 20)
        assert chunk, "the server closed the connection"
        self.data += chunk

    def next_message(self) -> str:
        while True:
            frames, _ = frames_of(self.data)
            if frames:
                opcode, payload = frames[0]
                self.data = self.data[self._frame_size():]
                return payload.decode("utf-8") if opcode == 1 else payload.hex()
            self._read()

    def _frame_size(self) -> int:
        size = self.data[1] & 0x7F
        if size == 126:
            return 4 + int.from_bytes(self.data[2:4], "big")
        if size == 127:
            return 10 + int.from_bytes(self.data[2:10], "big")
        return 2 + size

    def connect(self, namespace: str) -> str:
        """Join ``namespace``; its sid."""
        prefix = "" if namespace == "/" else namespace + ","
        self.sock.sendall(_masked("40" + prefix))
        reply = self.next_message()
        assert reply.startswith("40" + prefix), reply
        return str(json.loads(reply[2 + len(prefix):])["sid"])

    def mark(self) -> None:
        """Forget what arrived so far: :meth:`collect` returns what comes after."""
        assert not self.data, self.data
        self.data = b""

    def collect(self, end: str) -> bytes:
        """Read until the last frame is a text message starting with ``end``; everything since the mark."""
        marker = end.encode("utf-8")
        while True:
            # The last frame, once it is the (short) end one, lies in the last 64 bytes:
            # parse the whole stream only then (it may be megabytes).
            if marker in self.data[-64:]:
                frames, rest = frames_of(self.data)
                if frames and not rest and frames[-1][1].startswith(marker):
                    return self.data
            self._read()

    def close(self) -> None:
        self.sock.close()


class PollClient:
    """A long-polling client: one request per connection, packets split out of each body."""

    def __init__(self, port: int) -> None:
        self.port = port
        body = self._request("GET", "")
        assert body.startswith(b"0{"), body
        self.sid = json.loads(body[1:])["sid"]

    def _request(self, method: str, body: str, sid: str | None = None) -> bytes:
        query = "EIO=4&transport=polling" + (f"&sid={sid}" if sid else "")
        data = body.encode("utf-8")
        sock = socket.create_connection(("127.0.0.1", self.port))
        try:
            sock.sendall(
                f"{method} /socket.io/?{query} HTTP/1.1\r\nHost: t\r\nConnection: close\r\n"
                f"Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {len(data)}\r\n\r\n".encode() + data
            )
            answer = b""
            while True:
                chunk = sock.recv(1 << 20)
                if not chunk:
                    break
                answer += chunk
        finally:
            sock.close()
        head, _, rest = answer.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), head
        return rest

    def get(self) -> list[str]:
        return self._request("GET", "", self.sid).decode("utf-8").split("\x1e")

    def connect(self, namespace: str) -> str:
        prefix = "" if namespace == "/" else namespace + ","
        assert self._request("POST", "40" + prefix, self.sid) == b"ok"
        for packet in self.get():
            if packet.startswith("40" + prefix):
                return str(json.loads(packet[2 + len(prefix):])["sid"])
        raise AssertionError("no CONNECT reply")

    def mark(self) -> None:
        pass

    def collect(self, end: str) -> list[str]:
        packets: list[str] = []
        while not packets or not packets[-1].startswith(end):
            packets.extend(self.get())
        return packets

    def close(self) -> None:
        pass
