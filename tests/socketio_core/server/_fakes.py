"""In-memory stand-ins for the gevent driver's Engine.IO sessions.

A :class:`FakeEngineSocket` has just what the server's engine glue uses of an
:class:`transports.EngineSocket`: it records every message the server sends,
and the test drives the server through the real Engine.IO handler methods
(``engineio_session_opened`` / ``engineio_message``), so everything above the
transport runs for real, without a socket.
"""

from __future__ import annotations

from typing import Any

from gevent.event import Event

from socketio_core import Server


class FakeRequest:
    query: dict[str, str] = {}
    header_map: dict[str, str] = {}
    remote_addr = ("127.0.0.1", 4000)
    secure = False
    target = "/socket.io/?EIO=4&transport=websocket"
    method = "GET"
    path = "/socket.io/"
    query_string = "EIO=4&transport=websocket"


class FakeSession:
    protocol = 4


class FakeEngineSocket:
    transport = "websocket"

    def __init__(self, sid: str, writable: bool = True) -> None:
        self.sid = sid
        self.context: Any = None
        self.session = FakeSession()
        self.request = FakeRequest()
        self.writable_now = writable
        self.closed = False
        self.sent: list[str | bytes] = []
        self.connected = Event()
        #: Set whenever something is sent (tests clear it before they wait).
        self.received = Event()

    def send_encoded(self, wire: str | bytes) -> None:
        self.sent.append(wire)
        self.received.set()

    def send_frame(self, frame: bytes) -> bool:
        return False  # no WebSocket to write a frame on: a broadcast sends it the general way

    def send_many(self, wires: list[Any]) -> None:
        for wire in wires:
            if isinstance(wire, str) and wire.startswith("40"):
                self.connected.set()
        self.sent.extend(wires)
        self.received.set()

    def send(self, data: str | bytes) -> None:
        self.sent.append(data)

    def flush(self) -> None:
        pass

    def close(self, reason: Any = None) -> None:
        self.closed = True


def connect(server: Server, esock: FakeEngineSocket, namespace: str) -> str:
    """Join ``namespace`` through the real glue; returns the socket's sid once its CONNECT reply is out."""
    if esock.context is None:
        server.engineio_session_opened(esock)  # type: ignore[arg-type]
    esock.connected.clear()
    packet = "0" if namespace == "/" else f"0{namespace},"
    server.engineio_message(esock, packet)  # type: ignore[arg-type]
    assert esock.connected.wait(timeout=5), f"no CONNECT reply for {namespace}"
    sock = esock.context.sockets[namespace]
    assert sock.connected
    return str(sock.sid)
