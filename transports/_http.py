"""One HTTP/1.1 connection over a gevent socket, parsed by h11.

Strategy: h11 does the parsing and the state tracking (keep-alive, pipelining,
framing); this module only moves bytes and applies the limits and timeouts of
:class:`HttpLimits`. Responses are written with a single ``sendall`` (headers
and body together) on a ``TCP_NODELAY`` socket, so no Nagle / delayed-ACK
stall can hold a long-poll answer back. A WebSocket upgrade hands the request
h11 parsed, plus the bytes left after it, to the WebSocket transport.
"""

from __future__ import annotations

import socket as _stdsocket
from time import monotonic as _monotonic
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import gevent
import h11

from ._limits import HttpLimits

__all__ = ["HttpRequest", "HttpConnection", "BodyTooLarge", "ClientGone", "status_phrase"]

_READ_SIZE = 65536


class ClientGone(Exception):
    """The peer closed the connection, timed out, or broke HTTP.

    ``status`` is set when the client is still there and deserves an answer
    (400 for malformed HTTP, 431 for an oversized head, 408 for a slow one).
    """

    def __init__(self, message: str, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


class BodyTooLarge(Exception):
    """The request body exceeds the allowed size (answered 413)."""


@dataclass(slots=True)
class HttpRequest:
    """A parsed request head: what the routing and Engine.IO layers look at."""

    method: str
    target: str
    path: str
    query_string: str
    headers: list[tuple[bytes, bytes]]
    remote_addr: tuple[str, int] | None = None
    secure: bool = False
    _query: dict[str, str] | None = field(default=None, repr=False)
    _header_map: dict[str, str] | None = field(default=None, repr=False)

    @property
    def query(self) -> dict[str, str]:
        if self._query is None:
            self._query = dict(parse_qsl(self.query_string, keep_blank_values=True))
        return self._query

    @property
    def header_map(self) -> dict[str, str]:
        """Headers by lower-case name; repeated headers are joined with ", "."""
        if self._header_map is None:
            result: dict[str, str] = {}
            for name, value in self.headers:
                key = name.decode("latin-1").lower()
                text = value.decode("latin-1")
                result[key] = f"{result[key]}, {text}" if key in result else text
            self._header_map = result
        return self._header_map

    def header(self, name: str, default: str | None = None) -> str | None:
        return self.header_map.get(name, default)

    @property
    def wants_websocket(self) -> bool:
        upgrade = self.header_map.get("upgrade", "")
        return "websocket" in upgrade.lower()


_PHRASES = {
    101: b"Switching Protocols",
    200: b"OK",
    204: b"No Content",
    400: b"Bad Request",
    403: b"Forbidden",
    404: b"Not Found",
    405: b"Method Not Allowed",
    408: b"Request Timeout",
    413: b"Payload Too Large",
    431: b"Request Header Fields Too Large",
    500: b"Internal Server Error",
    503: b"Service Unavailable",
}


def status_phrase(status: int) -> bytes:
    return _PHRASES.get(status, b"")


class HttpConnection:
    """Reads requests and writes responses on one accepted socket."""

    def __init__(
        self,
        sock: Any,
        remote_addr: tuple[str, int] | None,
        limits: HttpLimits,
        *,
        secure: bool = False,
    ) -> None:
        self.sock = sock
        self.remote_addr = remote_addr
        self.limits = limits
        self.secure = secure
        self.h11 = h11.Connection(h11.SERVER, max_incomplete_event_size=limits.max_header_bytes)
        try:
            sock.setsockopt(_stdsocket.IPPROTO_TCP, _stdsocket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass  # not TCP (a unix socket or a test stream)

    def _fill(self, timeout: float) -> None:
        try:
            with gevent.Timeout(timeout):
                data = self.sock.recv(_READ_SIZE)
        except gevent.Timeout:
            raise ClientGone("timed out") from None
        except OSError as exc:
            raise ClientGone(str(exc)) from None
        self.h11.receive_data(data)

    def _next_event(self, timeout: float) -> Any:
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as exc:
                raise ClientGone(f"bad HTTP: {exc}") from None
            if event is h11.NEED_DATA:
                self._fill(timeout)
                continue
            return event

    def read_request(self) -> HttpRequest | None:
        """The next request head, or None when the client closed between requests.

        Raises ClientGone on a timeout or malformed HTTP (the caller tries to
        answer 400 / 431 before closing, see :meth:`reject_malformed`).
        """
        if self.h11.their_state is h11.DONE and self.h11.our_state is h11.DONE:
            self.h11.start_next_cycle()
        # Idle keep-alive until the first byte of a request; from then on the
        # whole head must arrive within header_timeout (slowloris).
        deadline: float | None = None
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as exc:
                raise ClientGone(f"bad HTTP: {exc}", exc.error_status_hint) from None
            if event is not h11.NEED_DATA:
                break
            if deadline is None:
                if self.h11.trailing_data[0]:
                    deadline = _monotonic() + self.limits.header_timeout
                    continue
                self._fill(self.limits.keepalive_timeout)
                deadline = _monotonic() + self.limits.header_timeout
            else:
                self._fill(max(0.0, deadline - _monotonic()))
        if isinstance(event, h11.ConnectionClosed):
            return None
        if not isinstance(event, h11.Request):
            raise ClientGone(f"unexpected {type(event).__name__}")
        if len(event.headers) > self.limits.max_header_count:
            raise ClientGone("too many headers", 431)
        target = event.target.decode("latin-1")
        path, _, query = target.partition("?")
        return HttpRequest(
            method=event.method.decode("ascii"),
            target=target,
            path=path,
            query_string=query,
            headers=list(event.headers),
            remote_addr=self.remote_addr,
            secure=self.secure,
        )

    def read_body(self, request: HttpRequest, limit: int) -> bytes:
        """The whole request body; BodyTooLarge as soon as it exceeds ``limit``.

        A declared Content-Length is checked before anything is buffered, and
        the running size while reading (chunked bodies).
        """
        declared = request.header("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise BodyTooLarge()
        chunks: list[bytes] = []
        size = 0
        while True:
            event = self._next_event(self.limits.body_timeout)
            if isinstance(event, h11.Data):
                size += len(event.data)
                if size > limit:
                    raise BodyTooLarge()
                chunks.append(bytes(event.data))
            elif isinstance(event, h11.EndOfMessage):
                return b"".join(chunks)
            else:
                raise ClientGone("connection closed inside a body")

    def respond(
        self,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes = b"",
        *,
        close: bool = False,
    ) -> None:
        """Write a complete response in one ``sendall``.

        Raises ClientGone when the write fails.
        """
        all_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers]
        all_headers.append((b"Content-Length", str(len(body)).encode()))
        if close:
            all_headers.append((b"Connection", b"close"))
        try:
            data = self.h11.send(
                h11.Response(status_code=status, headers=all_headers, reason=status_phrase(status))
            )
            if body:
                data += self.h11.send(h11.Data(data=body))
            data += self.h11.send(h11.EndOfMessage())
        except h11.LocalProtocolError as exc:
            raise ClientGone(f"cannot respond: {exc}") from None
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise ClientGone(str(exc)) from None

    def discard_body(self) -> None:
        """Skip an unread request body so the connection can serve the next request."""
        while self.h11.their_state is h11.SEND_BODY:
            event = self._next_event(self.limits.body_timeout)
            if isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                break

    @property
    def keep_alive(self) -> bool:
        return self.h11.our_state is h11.DONE and self.h11.their_state is h11.DONE

    def take_over(self) -> bytes:
        """Stop HTTP processing for a protocol switch; returns the bytes read past the request."""
        data, _closed = self.h11.trailing_data
        return bytes(data)

    def reject_raw(self, status: int) -> None:
        """Best-effort error answer when HTTP parsing itself failed; never raises."""
        body = status_phrase(status)
        head = (
            f"HTTP/1.1 {status} {body.decode()}\r\nConnection: close\r\n"
            f"Content-Type: text/plain\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        try:
            self.sock.sendall(head + body)
        except OSError:
            pass

    def write_raw(self, data: bytes) -> None:
        try:
            self.sock.sendall(data)
        except OSError as exc:
            raise ClientGone(str(exc)) from None

    def close(self) -> None:
        try:
            self.sock.shutdown(_stdsocket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass
