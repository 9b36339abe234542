"""One HTTP/1.1 connection over a gevent socket, parsed by h11.

Strategy: h11 does the parsing and the state tracking (keep-alive, pipelining,
framing); this module only moves bytes and applies the limits and timeouts of
:class:`HttpLimits`. Responses are written with a single ``sendall`` (headers
and body together) on a ``TCP_NODELAY`` socket, so no Nagle / delayed-ACK
stall can hold a long-poll answer back. A WebSocket upgrade hands the request
h11 parsed, plus the bytes left after it, to the WebSocket transport.
"""

from __future__ import annotations

import re
import socket as _stdsocket
from time import monotonic as _monotonic
from dataclasses import dataclass, field
from typing import Any, Callable
from urllib.parse import unquote_plus

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
            self._query = _parse_query(self.query_string)
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

    def compact(self) -> None:
        """Keep only the parsed forms (header map, query) for a long-lived session."""
        _ = self.header_map, self.query
        self.headers = []

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


def _parse_query(query: str) -> dict[str, str]:
    """``a=1&b=x%20y`` -> dict (last value wins); unquoting only where needed."""
    result: dict[str, str] = {}
    for part in query.split("&"):
        if not part:
            continue
        key, _, value = part.partition("=")
        if "%" in part or "+" in part:
            key = unquote_plus(key)
            value = unquote_plus(value)
        result[key] = value
    return result


# The fast path's grammar: a subset of RFC 9112 that h11 accepts too.
_REQUEST_LINE = re.compile(rb"(GET|POST|OPTIONS|HEAD|PUT|DELETE|PATCH) (/[!-~]*) HTTP/1\.1")
_HEADER_LINES = re.compile(
    rb"(?:[!#$%&'*+\-.^_`|~0-9A-Za-z]+:[ \t]*"
    rb"(?:[!-~\x80-\xff](?:[ \t!-~\x80-\xff]*[!-~\x80-\xff])?)?[ \t]*\r\n)*"
)


def _parse_head_fast(
    head: bytes,
) -> tuple[bytes, bytes, list[tuple[bytes, bytes]], int] | None:
    """(method, target, headers, content length) of a plain head, or None to let h11 judge."""
    line_end = head.find(b"\r\n")
    if line_end < 0:
        return None  # no Host header: h11 answers that
    match = _REQUEST_LINE.fullmatch(head, 0, line_end)
    if match is None:
        return None
    block = head[line_end + 2 :] + b"\r\n"
    if _HEADER_LINES.fullmatch(block) is None:
        return None
    headers: list[tuple[bytes, bytes]] = []
    content_length: int | None = None
    has_host = False
    for line in block.split(b"\r\n")[:-1]:
        name, _, value = line.partition(b":")
        name = name.lower()
        value = value.strip(b" \t")
        if name == b"content-length":
            if content_length is not None or not value.isdigit() or len(value) > 18:
                return None
            content_length = int(value)
        elif name == b"transfer-encoding":
            return None
        elif name == b"host":
            if has_host:
                return None
            has_host = True
        headers.append((name, value))
    if not has_host:
        return None
    return match.group(1), match.group(2), headers, content_length or 0


#: Stands in for the parser of a connection handed to another protocol, so
#: the h11 state (and its buffers) of a long-lived WebSocket is released.
_TAKEN_OVER = h11.Connection(h11.SERVER)

_PHRASES_TEXT = {k: v.decode() for k, v in _PHRASES.items()}


def status_phrase(status: int) -> bytes:
    return _PHRASES.get(status, b"")


def _wants_keep_alive(http_version: bytes, headers: list[tuple[bytes, bytes]]) -> bool:
    """HTTP/1.1 keeps the connection unless ``Connection: close``; 1.0 only on request."""
    tokens: set[bytes] = set()
    for name, value in headers:
        if name == b"connection":
            tokens.update(t.strip().lower() for t in value.split(b","))
    if http_version == b"1.0":
        return b"keep-alive" in tokens
    return b"close" not in tokens


class HttpConnection:
    """Reads requests and writes responses on one accepted socket.

    Two parsers, one behaviour. A request head in the plain form browsers
    and clients send on the hot path (a known method, an origin-form target,
    HTTP/1.1, token header names, visible-ASCII values, a Host, at most one
    Content-Length and no Transfer-Encoding) is parsed by a strict fast path:
    two regular expressions in C over the whole head. Anything else (chunked
    bodies, HTTP/1.0, odd whitespace, a malformed line) goes to h11, which
    decides and answers exactly as it always does; the fast path never
    accepts a head h11 would refuse, it only declines to judge. Responses are
    simple (we choose every header), so they are formatted directly. h11 costs
    about 20 µs per request here, the fast path about 3.
    """

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
        #: Bytes received and not parsed yet (between requests, and in fast mode).
        self._buf = b""
        self._eof = False
        #: The parser of the current request when it is not on the fast path.
        self.h11: h11.Connection | None = None
        #: Fast path: body bytes of the current request still to read.
        self._body_left = 0
        self._keep_alive = True
        self._head_only = False
        #: Set by an owner that can let the connection outlive its greenlet
        #: (our server): called once when a connection handed over to the hub
        #: (a reacting WebSocket) finally ends.
        self.release: Callable[[], None] | None = None
        #: The connection was handed over: its owner must neither close it nor count it ended.
        self.detached = False
        try:
            sock.setsockopt(_stdsocket.IPPROTO_TCP, _stdsocket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass  # not TCP (a unix socket or a test stream)

    def _new_parser(self) -> h11.Connection:
        return h11.Connection(h11.SERVER, max_incomplete_event_size=self.limits.max_header_bytes)

    def _recv(self, timeout: float, *, answer_timeout: bool) -> bytes:
        sock = self.sock
        try:
            sock.settimeout(timeout)
            return bytes(sock.recv(_READ_SIZE))
        except _stdsocket.timeout:
            raise ClientGone("timed out", 408 if answer_timeout else None) from None
        except OSError as exc:
            raise ClientGone(str(exc)) from None

    def _fill(self, timeout: float) -> None:
        assert self.h11 is not None
        self.h11.receive_data(
            self._recv(timeout, answer_timeout=bool(self.h11.trailing_data[0]))
        )

    def _next_event(self, timeout: float) -> Any:
        assert self.h11 is not None
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as exc:
                raise ClientGone(f"bad HTTP: {exc}", exc.error_status_hint) from None
            if event is h11.NEED_DATA:
                self._fill(timeout)
                continue
            return event

    def feed(self, data: bytes) -> None:
        """Bytes read by someone else (a waiting poll's watcher) that belong to us."""
        if self.h11 is not None:
            self.h11.receive_data(data)
        else:
            self._buf += data

    def read_request(self) -> HttpRequest | None:
        """The next request head, or None when the client closed between requests.

        Raises ClientGone on a timeout or malformed HTTP; its ``status`` says
        whether the client deserves an answer (see :meth:`reject_raw`).
        """
        if self.h11 is not None:
            leftover, closed = self.h11.trailing_data
            self._buf = bytes(leftover)
            self._eof = self._eof or closed
            self.h11 = None
        self._body_left = 0
        # Idle keep-alive until the first byte of a request; from then on the
        # whole head must arrive within header_timeout (slowloris).
        deadline: float | None = None
        limit = self.limits.max_header_bytes
        while True:
            end = self._buf.find(b"\r\n\r\n")
            if end >= 0:
                break
            if len(self._buf) > limit:
                raise ClientGone("request head too large", 431)
            if self._eof:
                if not self._buf:
                    return None
                return self._read_request_h11()  # h11 judges the truncated head
            if deadline is None and not self._buf:
                data = self._recv(self.limits.keepalive_timeout, answer_timeout=False)
                deadline = _monotonic() + self.limits.header_timeout
            else:
                if deadline is None:
                    deadline = _monotonic() + self.limits.header_timeout
                data = self._recv(max(0.001, deadline - _monotonic()), answer_timeout=True)
            if data:
                self._buf += data
            else:
                self._eof = True
        if end + 4 > limit:
            raise ClientGone("request head too large", 431)
        parsed = _parse_head_fast(self._buf[:end])
        if parsed is None:
            return self._read_request_h11()
        method, target, headers, content_length = parsed
        if len(headers) > self.limits.max_header_count:
            raise ClientGone("too many headers", 431)
        self._buf = self._buf[end + 4 :]
        self._body_left = content_length
        return self._request(method, target, b"1.1", headers)

    def _read_request_h11(self) -> HttpRequest | None:
        self.h11 = self._new_parser()
        if self._buf:
            self.h11.receive_data(self._buf)
        if self._eof:
            self.h11.receive_data(b"")
        self._buf = b""
        deadline = _monotonic() + self.limits.header_timeout
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as exc:
                raise ClientGone(f"bad HTTP: {exc}", exc.error_status_hint) from None
            if event is not h11.NEED_DATA:
                break
            self._fill(max(0.001, deadline - _monotonic()))
        if isinstance(event, h11.ConnectionClosed):
            return None
        if not isinstance(event, h11.Request):
            raise ClientGone(f"unexpected {type(event).__name__}")
        if len(event.headers) > self.limits.max_header_count:
            raise ClientGone("too many headers", 431)
        # h11 bounds only a head still incomplete; one that arrived whole in a
        # single read is measured here.
        head_size = len(event.target) + sum(len(n) + len(v) + 4 for n, v in event.headers)
        if head_size > self.limits.max_header_bytes:
            raise ClientGone("request head too large", 431)
        return self._request(event.method, event.target, event.http_version, list(event.headers))

    def _request(
        self, method_b: bytes, target_b: bytes, version: bytes, headers: list[tuple[bytes, bytes]]
    ) -> HttpRequest:
        target = target_b.decode("latin-1")
        path, _, query = target.partition("?")
        self._keep_alive = _wants_keep_alive(version, headers)
        method = method_b.decode("ascii")
        self._head_only = method == "HEAD"
        return HttpRequest(
            method=method,
            target=target,
            path=path,
            query_string=query,
            headers=headers,
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
        if self.h11 is None:
            return self._take_body(self._body_left)
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

    def _take_body(self, size: int) -> bytes:
        """Fast path: exactly ``size`` body bytes (Content-Length framing)."""
        buf = self._buf
        while len(buf) < size:
            if self._eof:
                raise ClientGone("connection closed inside a body")
            data = self._recv(self.limits.body_timeout, answer_timeout=False)
            if not data:
                self._eof = True
                continue
            buf += data
        self._buf = buf[size:]
        self._body_left = 0
        return buf[:size]

    def respond(
        self,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes = b"",
        *,
        close: bool = False,
    ) -> None:
        """Write a complete response (head and body) in one write.

        Raises ClientGone when the write fails.
        """
        if close:
            self._keep_alive = False
        lines = [f"HTTP/1.1 {status} {_PHRASES_TEXT.get(status, '')}\r\n"]
        for name, value in headers:
            lines.append(f"{name}: {value}\r\n")
        lines.append(f"Content-Length: {len(body)}\r\n")
        if not self._keep_alive:
            lines.append("Connection: close\r\n")
        lines.append("\r\n")
        data = "".join(lines).encode("latin-1")
        if body and not self._head_only:
            data += body
        self.write_raw(data)

    def discard_body(self) -> None:
        """Skip an unread request body so the connection can serve the next request."""
        if self.h11 is None:
            if self._body_left:
                self._take_body(self._body_left)
            return
        while self.h11.their_state is h11.SEND_BODY:
            event = self._next_event(self.limits.body_timeout)
            if isinstance(event, (h11.EndOfMessage, h11.ConnectionClosed)):
                break

    @property
    def keep_alive(self) -> bool:
        """Whether the connection can serve another request (request fully read, no close)."""
        if self.h11 is None:
            return self._keep_alive and self._body_left == 0
        return self._keep_alive and self.h11.their_state is h11.DONE

    def take_over(self) -> bytes:
        """Stop HTTP processing for a protocol switch; returns the bytes read past the request."""
        self.sock.settimeout(None)  # the new protocol has its own liveness checks
        if self.h11 is not None:
            data = bytes(self.h11.trailing_data[0])
        else:
            data = self._buf
        self.h11 = _TAKEN_OVER
        self._buf = b""
        return data

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

    def _linger(self, seconds: float = 2.0, max_bytes: int = 4 * 1024 * 1024) -> None:
        sock = self.sock
        try:
            sock.shutdown(_stdsocket.SHUT_WR)
            deadline = _monotonic() + seconds
            drained = 0
            while drained < max_bytes:
                remaining = deadline - _monotonic()
                if remaining <= 0:
                    break
                sock.settimeout(remaining)
                chunk = sock.recv(_READ_SIZE)
                if not chunk:
                    break
                drained += len(chunk)
        except (OSError, AttributeError):
            pass

    def write_raw(self, data: bytes) -> None:
        sock = self.sock
        try:
            sock.settimeout(self.limits.body_timeout)
            # One send() usually takes everything; gevent's sendall costs a
            # getsockopt() and a memoryview loop on every call.
            sent = sock.send(data)
            if sent < len(data):
                sock.sendall(data[sent:])
        except OSError as exc:
            raise ClientGone(str(exc)) from None

    def close(self) -> None:
        """Close the connection; with a request body left unread, linger first.

        Closing with unread data makes the kernel reset the connection, and
        the client may never read our answer (a 413, say): so stop writing,
        read and drop what the client still sends for a moment, then close.
        """
        unread = (
            self._body_left > 0
            if self.h11 is None
            else self.h11 is not _TAKEN_OVER and self.h11.their_state is h11.SEND_BODY
        )
        if unread:
            self._linger()
        try:
            self.sock.shutdown(_stdsocket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass
