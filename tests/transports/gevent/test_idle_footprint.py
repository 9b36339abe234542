"""What an idle WebSocket session holds on the gevent driver (issue 19: bytes per connection).

Each idle connection once kept a closure and bound methods for its reader's
callbacks, the server's ``release`` bound again per connection, and its
handshake request parsed (a header dict, a list of pairs, a query dict).
Through a real server and a real socket: the reacting WebSocket points at
its session and its HTTP connection (objects, no callbacks made for it),
every connection shares the server's one ``release``, the kept request is
compact, and the session still ends and releases its connection.
"""

from __future__ import annotations

from typing import Any

from gevent import socket
from gevent.event import Event

from engineio import Config
from transports import EngineServer, Server


class _Handler:
    def __init__(self) -> None:
        self.opened: list[Any] = []
        self.closed = Event()

    def engineio_session_opened(self, esock: Any) -> None:
        self.opened.append(esock)

    def engineio_message(self, esock: Any, data: str | bytes) -> None:
        esock.send(data)

    def engineio_session_closed(self, esock: Any, reason: str) -> None:
        self.closed.set()


def _upgrade(port: int) -> socket.socket:
    sock = socket.create_connection(("127.0.0.1", port))
    sock.sendall(
        b"GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: h\r\nUpgrade: websocket\r\n"
        b"Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        b"Sec-WebSocket-Version: 13\r\nX-App: idle\r\n\r\n"
    )
    data = b""
    while b'"sid"' not in data:  # the 101, then the OPEN packet's frame
        chunk = sock.recv(4096)
        assert chunk, data
        data += chunk
    assert data.startswith(b"HTTP/1.1 101")
    return sock


def test_an_idle_websocket_session_keeps_objects_not_callbacks() -> None:
    handler = _Handler()
    server = Server(EngineServer(handler, Config(), path="/engine.io/"))
    _, port = server.start("127.0.0.1", 0)
    try:
        clients = [_upgrade(port), _upgrade(port)]
        first, second = handler.opened
        for esock in (first, second):
            ws = esock.ws
            assert ws._handler is esock and ws._then is None
            http = ws._release
            assert type(http).__name__ == "HttpConnection"
            assert http.release is server._release_one  # one bound method for every connection
            request = esock.request
            assert request._header_map is None and request._query is None and request._fields is None
            assert request.header("x-app") == "idle" and request._header_map is None
        assert first.request.path is second.request.path  # the server's own copy
        connections = server.connections
        clients[0].close()
        assert handler.closed.wait(timeout=5)
        # released in the same hub callback as the session's end, before this greenlet resumes
        assert server.connections == connections - 1
        assert first.ws is None or first.ws._handler is None  # the end dropped the references
        clients[1].close()
    finally:
        server.stop(timeout=1)
