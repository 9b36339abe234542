"""One HTTP/1.1 connection over a gevent socket, parsed by h11.

Strategy: h11 does the parsing and the state tracking (keep-alive, pipelining,
framing); this module only moves bytes and applies the limits and timeouts of
:class:`HttpLimits`. Responses are written with a single ``sendall`` (headers
and body together) on a ``TCP_NODELAY`` socket, so no Nagle / delayed-ACK
stall can hold a long-poll answer back. A WebSocket upgrade hands the request
h11 parsed, plus the bytes left after it, to the WebSocket transport.

The hot path is a keep-alive long-polling client: two small requests per
round trip, each costing more in Python overhead than in parsing. So the
plain socket is read and written directly where gevent's wrapper would add a
``Timeout`` object and a ``settimeout`` per call (see :meth:`HttpConnection._recv_idle`),
a plain head is decoded once and split by one C regex pass, and a request
keeps its headers as a ``str`` map, building h11's byte pairs only on demand.

One connection object, its jobs in one module each (mixins, so no call goes
through another object): this one reads request heads (both parsers), hands
the connection over (WebSocket, hub) and closes it; the wait between
requests and the keep-alive timer are :class:`._idle.IdleWaiting`'s; the
repeated-head fast paths of a polling client :class:`._repeat.RepeatedHeads`';
bodies are read and settled by :class:`._body.BodyReading`; responses are
formatted and written by :class:`._respond.ResponseWriting`.
"""

from __future__ import annotations

import socket as _stdsocket
from time import monotonic as _monotonic
from typing import Any, Callable

import h11
from gevent.ssl import SSLSocket as _SSLSocket

from .._limits import HttpLimits
from .._ownership import ON_DETACH, ON_RELEASE, Owner
from ._body import _READ_SIZE, BodyReading
from ._idle import IdleWaiting
from ._repeat import RepeatedHeads
from ._respond import ResponseWriting
from .._request import (
    BodyTooLarge,
    ClientGone,
    HttpRequest,
    head_end,
    head_problem,
    judge_h11_head,
    _keep_alive_11,
    _ParsedHead,
    _wants_keep_alive,
    status_phrase,
)

__all__ = ["HttpRequest", "HttpConnection", "BodyTooLarge", "ClientGone", "status_phrase"]

#: Stands in for the parser of a connection handed to another protocol, so
#: the h11 state (and its buffers) of a long-lived WebSocket is released.
_TAKEN_OVER = h11.Connection(h11.SERVER)


def plain_socket_of(sock: Any) -> Any:
    """The non-blocking stdlib socket under a gevent socket, or None.

    Reading, writing and watching that one directly skips gevent's wrapper;
    it is not safe under TLS (it carries records, not our bytes) nor for a
    socket without gevent's internals (a test stream, a WSGI server's own).
    """
    if getattr(sock, "_read_event", None) is None or isinstance(sock, _SSLSocket):
        return None
    return getattr(sock, "_sock", None)


class HttpConnection(IdleWaiting, RepeatedHeads, BodyReading, ResponseWriting):
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
        #: Set by a server that can let the connection outlive its greenlet
        #: (ours): called once when a connection handed over to the hub (a
        #: reacting WebSocket) finally ends (see :meth:`released`).
        self.release: Callable[[], None] | None = None
        #: Who has the connection now: its greenlet, the hub, a WebSocket, a
        #: parked poll beside the reader (``transports._ownership``). Changed
        #: only by a move through that module's table.
        self.owner = Owner.GREENLET
        try:
            sock.setsockopt(_stdsocket.IPPROTO_TCP, _stdsocket.TCP_NODELAY, 1)
        except (OSError, AttributeError):
            pass  # not TCP (a unix socket or a test stream)
        #: The plain non-blocking socket under a gevent socket, when reading
        #: and writing it directly is safe (not TLS: that one carries records).
        self._raw: Any = plain_socket_of(sock)
        #: The keep-alive timer, made on the first idle wait and reused for every one after.
        self._timer: Any = None
        #: The parked poll while :attr:`owner` says there is one: a polling GET
        #: waiting for output, answered from the hub while the connection's
        #: reader goes on (``transports.gevent._polling._ParkedPoll``): it has
        #: ``wait()`` and ``abandon()``. Set and cleared with the PARK and
        #: ANSWERED moves.
        self.parked: Any = None
        #: The last request head, its parse and its query (see _parse_head_cached).
        self._last_head: tuple[bytes, _ParsedHead, dict[str, str] | None] | None = None
        #: What a write from the hub left unwritten; a greenlet finishes it.
        self.unsent = b""
        # Set here in one order: the instance keeps its shared-key dict (else 832 B more each).
        self._taken = self._repeat = None
        self.last_active = 0.0

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
        # whole head must arrive within header_timeout (slowloris). The
        # deadline is only computed when a head takes more than one read.
        deadline: float | None = None
        limit = self.limits.max_header_bytes
        while True:
            end = head_end(self._buf, limit)
            if end >= 0:
                break
            if self._eof:
                if not self._buf:
                    return None
                return self._read_request_h11()  # h11 judges the truncated head
            if deadline is None and not self._buf:
                data = self._recv_idle()
                if data and self.parked is not None:
                    # A pipelined request: it is answered after the parked poll.
                    self.parked.wait()
            else:
                if deadline is None:
                    deadline = _monotonic() + self.limits.header_timeout
                data = self._recv(max(0.001, deadline - _monotonic()), answer_timeout=True)
            if data:
                self._buf += data
            else:
                self._eof = True
        buf = self._buf
        parsed = self._parse_head_cached(buf[: end + 2])
        if parsed is None:
            problem = head_problem(buf[: end + 4])
            if problem is not None:
                raise ClientGone(f"bad HTTP: {problem}", 400)
            return self._read_request_h11()
        if len(parsed[2]) > self.limits.max_header_count:
            raise ClientGone("too many headers", 431)
        return self._take_head(end, parsed)

    def buffered_request(self) -> HttpRequest | None:
        """The next request if its head and body are already buffered and plain; else None.

        For the hub, which must not wait: nothing is read and, on None,
        nothing consumed (a greenlet then reads the request the usual way,
        with every check and timeout).
        """
        if self.h11 is not None or self._eof:
            return None
        buf = self._buf
        end = buf.find(b"\r\n\r\n")
        if end < 0 or end + 4 > self.limits.max_header_bytes:
            return None
        parsed = self._parse_head_cached(buf[: end + 2])
        if parsed is None or len(parsed[2]) > self.limits.max_header_count:
            return None
        if len(buf) - end - 4 < parsed[4]:
            return None  # the body is still on its way
        self._body_left = 0
        return self._take_head(end, parsed)
    def _take_head(self, end: int, parsed: _ParsedHead) -> HttpRequest:
        method, target, fields, header_map, content_length = parsed
        self._buf = self._buf[end + 4 :]
        self._body_left = content_length
        self._keep_alive = _keep_alive_11(header_map.get("connection"))
        self._head_only = method == "HEAD"
        path, _, query = target.partition("?")
        request = HttpRequest(
            method, target, path, query, None, self.remote_addr, self.secure,
            header_map=header_map, fields=fields,
        )
        cached = self._last_head
        if cached is not None and cached[1] is parsed:
            if cached[2] is None:
                self._last_head = (cached[0], parsed, request.query)
            else:
                request._query = cached[2]
            self._taken = (cached[0], request)
        elif self._taken is not None:
            self._taken = None
        return request

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
        headers = list(event.headers)
        judge_h11_head(
            event.target, headers,
            max_header_count=self.limits.max_header_count,
            max_header_bytes=self.limits.max_header_bytes,
        )
        return self._request(event.method, event.target, event.http_version, headers)

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

    @property
    def keep_alive(self) -> bool:
        """Whether the connection can serve another request (request fully read, no close)."""
        if self.h11 is None:
            return self._keep_alive and self._body_left == 0
        return self._keep_alive and self.h11.their_state is h11.DONE

    def take_over(self) -> bytes:
        """Stop HTTP processing for a protocol switch; returns the bytes read past the request."""
        self.sock.settimeout(None)  # the new protocol has its own liveness checks
        self._drop_timer()
        self._last_head = None
        self._taken = self._repeat = None
        if self.h11 is not None:
            data = bytes(self.h11.trailing_data[0])
        else:
            data = self._buf
        self.h11 = _TAKEN_OVER
        self._buf = b""
        return data

    def detach(self) -> None:
        """A WebSocket read from the hub takes the connection over from its greenlet."""
        self.owner = ON_DETACH[self.owner]

    def released(self) -> None:
        """The WebSocket that took the connection over ended: tell the server (:attr:`release`)."""
        self.owner = ON_RELEASE[self.owner]
        if self.release is not None:
            self.release()

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
        self._drop_timer()
        try:
            self.sock.shutdown(_stdsocket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass
