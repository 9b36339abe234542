"""A small blocking WebSocket client for the integration tests: wsproto on a plain socket.

It exists so the tests see exactly what the server writes: each WebSocket
message comes back as ``str`` (text frame) or ``bytes`` (binary frame), a
refused upgrade exposes the raw HTTP status, headers and body, and a close is
reported with the server's close code. Nothing here is clever: one socket, one
wsproto connection, a queue of complete messages.
"""

from __future__ import annotations

import socket
import ssl
import time
from collections import deque

from wsproto import ConnectionType, WSConnection
from wsproto.connection import ConnectionState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)
from wsproto.utilities import LocalProtocolError

from engineio import Wire

__all__ = ["WsClient", "WsClosed", "WsRejected", "connect"]



class WsClosed(Exception):
    """The server closed the WebSocket (``code`` is None when the TCP stream just ended)."""

    def __init__(self, code: int | None, reason: str = "") -> None:
        super().__init__(f"WebSocket closed (code={code}, reason={reason!r})")
        self.code = code
        self.reason = reason


class WsRejected(Exception):
    """The server answered the upgrade request with something other than 101."""

    def __init__(self, status: int, headers: dict[str, str], body: bytes) -> None:
        super().__init__(f"upgrade refused: {status} {body!r}")
        self.status = status
        self.headers = headers
        self.body = body


class WsClient:
    """One client WebSocket. Use :func:`connect`, which performs the handshake."""

    def __init__(self, sock: socket.socket, conn: WSConnection) -> None:
        self.sock = sock
        self.conn = conn
        self.messages: deque[Wire] = deque()
        self.closed: WsClosed | None = None
        self._parts: list[Wire] = []

    # ------------------------------------------------------------ sending

    def send(self, item: Wire) -> None:
        """One message: ``str`` goes out as a text frame, ``bytes`` as a binary frame."""
        event = TextMessage(data=item) if isinstance(item, str) else BytesMessage(data=item)
        self.sock.sendall(self.conn.send(event))

    def send_raw(self, data: bytes) -> None:
        """Bytes straight onto the socket (hand-built, possibly invalid frames)."""
        self.sock.sendall(data)

    # ---------------------------------------------------------- receiving

    def recv(self, timeout: float = 5.0) -> Wire:
        """The next complete message.

        Raises WsClosed once the server closed the connection, TimeoutError if
        nothing arrives within ``timeout`` seconds.
        """
        deadline = time.monotonic() + timeout
        while not self.messages:
            if self.closed is not None:
                raise self.closed
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"no WebSocket message within {timeout} s")
            self._read(remaining)
        return self.messages.popleft()

    def wait_closed(self, timeout: float = 5.0) -> WsClosed:
        """Read (and drop) messages until the server closes; returns how it closed.

        Raises TimeoutError when the connection is still open after ``timeout``.
        """
        deadline = time.monotonic() + timeout
        while self.closed is None:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise TimeoutError(f"WebSocket still open after {timeout} s")
            self._read(remaining)
        return self.closed

    def _read(self, timeout: float) -> None:
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return
        except OSError:
            data = b""
        self.conn.receive_data(data or None)
        self._drain_events()
        if not data and self.closed is None:
            self.closed = WsClosed(None, "connection ended without a close frame")

    def _drain_events(self) -> None:
        for event in self.conn.events():
            if isinstance(event, (TextMessage, BytesMessage)):
                self._parts.append(event.data if isinstance(event.data, str) else bytes(event.data))
                if event.message_finished:
                    parts, self._parts = self._parts, []
                    if isinstance(event, TextMessage):
                        self.messages.append("".join(parts))  # type: ignore[arg-type]
                    else:
                        self.messages.append(b"".join(parts))  # type: ignore[arg-type]
            elif isinstance(event, Ping):
                self._send_quietly(self.conn.send(event.response()))
            elif isinstance(event, CloseConnection):
                if self.conn.state is ConnectionState.REMOTE_CLOSING:
                    self._send_quietly(self.conn.send(event.response()))
                self.closed = WsClosed(event.code, event.reason or "")

    def _send_quietly(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError:
            pass

    # ------------------------------------------------------------ closing

    def close(self, code: int = 1000) -> None:
        """Send a close frame if the connection is still open, then drop the socket."""
        try:
            if self.conn.state is ConnectionState.OPEN:
                self._send_quietly(self.conn.send(CloseConnection(code=code)))
        except LocalProtocolError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass

    def __enter__(self) -> "WsClient":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def connect(
    port: int,
    target: str,
    *,
    headers: list[tuple[str, str]] | None = None,
    host: str = "127.0.0.1",
    timeout: float = 5.0,
    ssl_context: ssl.SSLContext | None = None,
) -> WsClient:
    """Open a TCP connection and perform the WebSocket opening handshake.

    Raises WsRejected when the server does not answer 101 (with the status,
    headers and body it sent), WsClosed when it drops the connection first.
    """
    sock = socket.create_connection((host, port), timeout=timeout)
    if ssl_context is not None:  # wss://
        sock = ssl_context.wrap_socket(sock, server_hostname=host)
    conn = WSConnection(ConnectionType.CLIENT)
    extra = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers or []]
    sock.sendall(conn.send(Request(host=f"{host}:{port}", target=target, extra_headers=extra)))
    client = WsClient(sock, conn)
    reject: RejectConnection | None = None
    body = b""
    rejected = False
    deadline = time.monotonic() + timeout
    while not rejected:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            sock.close()
            raise TimeoutError("no answer to the WebSocket handshake")
        sock.settimeout(remaining)
        try:
            data = sock.recv(65536)
        except socket.timeout:
            continue
        except OSError:
            data = b""
        conn.receive_data(data or None)
        for event in conn.events():
            if isinstance(event, AcceptConnection):
                # Frames that came in the same read as the 101 are still queued.
                client._drain_events()
                return client
            if isinstance(event, RejectConnection):
                reject = event
                rejected = not event.has_body
            elif isinstance(event, RejectData):
                body += bytes(event.data)
                rejected = event.body_finished
        if not data and not rejected:
            sock.close()
            raise WsClosed(None, "connection closed during the handshake")
    sock.close()
    assert reject is not None
    raw = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in reject.headers}
    raise WsRejected(reject.status_code, raw, body)
