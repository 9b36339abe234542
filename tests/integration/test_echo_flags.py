"""The echo server's ``--connection-state-recovery`` and ``--websocket-compression`` (ECHO_SERVER.md).

Recovery with the official client (tests/interop/echo_recovery_client.js): a
client whose transport drops comes back with its id and every room message
it missed, once and in order; without the flag it comes back as a new
client. (Across servers, with ``--message-queue``: tests/cluster.)
Compression in Socket.IO mode is exercised by test_websocket_compression.py;
here, the bare Engine.IO echo (``--engineio-only``) takes the flag too.
"""

from __future__ import annotations

import socket
from typing import Any, Callable

import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, Request, TextMessage
from wsproto.extensions import PerMessageDeflate

from tests.conftest import run_node

pytestmark = pytest.mark.timeout(60)


@pytest.mark.parametrize("mode", ["websocket", "polling"])
def test_connection_state_recovery_flag(echo_server: Callable[..., Any], mode: str) -> None:
    server = echo_server("--connection-state-recovery")
    result = run_node("echo_recovery_client.js", server.url, "-", mode)
    assert "error" not in result, result
    assert result["recovered"] == [False, True], result
    assert result["connects"][0] == result["connects"][1], result
    assert result["messages"] == ["m1", "m2", "m3", "m4", "m5"], result


def test_without_the_flag_a_client_is_not_recovered(echo_server: Callable[..., Any]) -> None:
    server = echo_server()
    result = run_node("echo_recovery_client.js", server.url, "-", "websocket")
    assert "error" not in result, result
    assert not any(result["recovered"]), result
    assert result["connects"][0] != result["connects"][1], result
    assert result["messages"] == [], result


def test_engineio_only_echo_offers_compression(echo_server: Callable[..., Any]) -> None:
    server = echo_server("--engineio-only", "--websocket-compression")
    sock = socket.create_connection(("127.0.0.1", server.port), timeout=10)
    conn = WSConnection(ConnectionType.CLIENT)
    sock.sendall(conn.send(Request(
        host="127.0.0.1", target="/engine.io/?EIO=4&transport=websocket", extensions=[PerMessageDeflate()],
    )))
    messages: list[str] = []
    accepted: list[AcceptConnection] = []
    wire = bytearray()

    def read_until(count: int) -> None:
        while len(messages) < count:
            data = sock.recv(65536)
            assert data, "closed"
            if accepted:
                wire.extend(data)
            conn.receive_data(data)
            for event in conn.events():
                if isinstance(event, AcceptConnection):
                    accepted.append(event)
                elif isinstance(event, TextMessage):
                    messages.append(event.data)

    try:
        read_until(1)  # the open packet
        assert accepted and accepted[0].extensions, "permessage-deflate was not agreed"
        big = "4" + "compress me " * 2000
        wire.clear()
        sock.sendall(conn.send(TextMessage(data=big)))  # compressed by wsproto's client
        read_until(2)
        assert messages[1] == big
        assert wire[0] == 0xC1 and len(wire) < len(big) // 10  # and compressed on the way back
    finally:
        sock.close()
