"""permessage-deflate end to end: Chromium, the official Node client, and raw clients.

The echo server runs with ``--websocket-compression``. Chromium and Node's
``ws`` always offer the extension; each exchanges small and large messages
both ways (text and binary, a burst that exercises context takeover). A
wsproto client checks what the wire carries: large server frames compressed
(RSV1), a broadcast reaching a compressed and a plain client alike (the
shared frame is never a compressed one), and a bomb refused with 1009.
"""

from __future__ import annotations

import json
import shutil
import socket
import zlib
from pathlib import Path
from typing import Any, Callable

import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, BytesMessage, CloseConnection, Request, TextMessage
from wsproto.extensions import PerMessageDeflate

from tests.conftest import run_node

pytestmark = pytest.mark.timeout(120)

CHROMIUM = Path("/usr/bin/chromium")
TARGET = "/socket.io/?EIO=4&transport=websocket"


class RawClient:
    """A Socket.IO client over wsproto that keeps every byte the server wrote."""

    def __init__(self, port: int, *, deflate: bool) -> None:
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)
        self.conn = WSConnection(ConnectionType.CLIENT)
        extensions = [PerMessageDeflate()] if deflate else []
        self.sock.sendall(self.conn.send(Request(host="127.0.0.1", target=TARGET, extensions=extensions)))
        self.wire = bytearray()
        self.messages: list[Any] = []
        self.accepted: AcceptConnection | None = None
        self.closed: CloseConnection | None = None
        while self.accepted is None:
            self._read()
        self.recv()  # the Engine.IO open packet
        self.send('40')
        assert self.recv().startswith("40")
        assert self.recv() == '42["auth",{}]'

    def _read(self) -> None:
        data = self.sock.recv(65536)
        if not data:
            raise ConnectionError("closed without a close frame")
        if self.accepted is not None:
            self.wire += data
        self.conn.receive_data(data)
        for event in self.conn.events():
            if isinstance(event, AcceptConnection):
                self.accepted = event
            elif isinstance(event, (TextMessage, BytesMessage)):
                assert event.message_finished  # the server never fragments
                self.messages.append(event.data)
            elif isinstance(event, CloseConnection):
                self.closed = event

    def recv(self) -> Any:
        while not self.messages:
            if self.closed is not None:
                raise ConnectionError(f"closed {self.closed.code}")
            self._read()
        return self.messages.pop(0)

    def send(self, text: str) -> None:
        self.sock.sendall(self.conn.send(TextMessage(data=text)))

    def wait_closed(self) -> CloseConnection:
        while self.closed is None:
            self._read()
        return self.closed

    def close(self) -> None:
        self.sock.close()


def test_official_node_client_with_compression(echo_server: Callable[..., Any]) -> None:
    server = echo_server("--websocket-compression")
    for threshold in ("0", "1024"):  # the client compresses everything / only large messages
        result = run_node("compression_client.js", server.url, threshold)
        assert result == {
            "extensions": "permessage-deflate", "small": "small", "bigOk": True,
            "bigLength": 548889, "blobOk": True, "burst": 50,
        }, result
    assert "Traceback" not in server.stop()


def test_without_the_flag_nothing_is_negotiated(echo_server: Callable[..., Any]) -> None:
    server = echo_server()
    result = run_node("compression_client.js", server.url, "0")
    assert result["extensions"] == "" and result["bigOk"] and result["blobOk"], result


def test_chromium_with_compression(echo_server: Callable[..., Any]) -> None:
    assert CHROMIUM.exists() or shutil.which("chromium"), "chromium is missing: run `make system-deps`"
    server = echo_server("--websocket-compression")
    result = run_node("browser_compression.js", server.url, str(CHROMIUM), timeout=90)
    log = server.stop()
    assert result == {
        "extensions": "permessage-deflate; client_max_window_bits=15", "small": "small",
        "bigOk": True, "blobOk": True, "burstOk": True, "transport": "websocket",
        "errors": [], "failed": [],
    }, result
    assert "Traceback" not in log and "protocol error" not in log, log


def test_large_server_frames_are_compressed_small_ones_not(echo_server: Callable[..., Any]) -> None:
    server = echo_server("--websocket-compression")
    client = RawClient(server.port, deflate=True)
    try:
        assert client.accepted is not None and client.accepted.extensions
        client.wire.clear()
        client.send('42["echo","small"]')
        assert client.recv() == '42["echo","small"]'
        assert client.wire[0] == 0x81  # plain text frame
        client.wire.clear()
        big = "abc" * 10_000
        client.send(json.dumps(["echo", big]).join(["42", ""]))
        assert client.recv() == '42["echo","%s"]' % big
        assert client.wire[0] == 0xC1  # FIN, RSV1, text
        assert len(client.wire) < len(big) // 10
    finally:
        client.close()


@pytest.mark.parametrize("first", ["compressed", "plain"])
def test_a_broadcast_reaches_compressed_and_plain_clients(echo_server: Callable[..., Any], first: str) -> None:
    """One broadcast packet is written to both; whichever is served first, each gets its own kind."""
    server = echo_server("--websocket-compression")
    # The server writes in connection order; the sender is served like any other.
    order = [True, False] if first == "compressed" else [False, True]
    clients = [RawClient(server.port, deflate=flag) for flag in order]
    try:
        for size in (10, 5000):  # below and above the compression threshold
            payload = "z" * size
            clients[0].send('42["bcast","%s"]' % payload)
            for client in clients:
                client.wire.clear()
                assert client.recv() == '42["bcast","%s"]' % payload
    finally:
        for client in clients:
            client.close()


def test_a_compressed_bomb_is_refused_with_1009(echo_server: Callable[..., Any]) -> None:
    server = echo_server("--websocket-compression", "--max-payload", "100000")
    client = RawClient(server.port, deflate=True)
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = deflater.compress(b"4" + b"2" * 50_000_000) + deflater.flush(zlib.Z_SYNC_FLUSH)
    try:
        header = bytes([0xC1, 0x80 | 126]) + len(bomb[:-4]).to_bytes(2, "big") + b"\0\0\0\0"
        client.sock.sendall(header + bomb[:-4])  # a zero mask: the payload as is
        assert client.wait_closed().code == 1009
    finally:
        client.close()
    assert "Traceback" not in server.stop()
