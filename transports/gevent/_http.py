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

Bodies are read and settled by :class:`._body.BodyReading`.
"""

from __future__ import annotations

import socket as _stdsocket
from time import monotonic as _monotonic
from typing import Any, Callable

import h11
from gevent import get_hub
from gevent.ssl import SSLSocket as _SSLSocket
from greenlet import getcurrent

from .._limits import HttpLimits
from .._ownership import HUB_WRITES, ON_DETACH, ON_RELEASE, Owner
from ._body import BodyReading
from .._request import (
    BodyTooLarge,
    ClientGone,
    HttpRequest,
    head_end,
    head_problem,
    judge_h11_head,
    response_bytes,
    status_head,
    _keep_alive_11,
    _parse_head,
    _ParsedHead,
    _wants_keep_alive,
    raw_refusal,
    repeat_pattern,
    status_phrase,
)

__all__ = ["HttpRequest", "HttpConnection", "BodyTooLarge", "ClientGone", "status_phrase"]

_READ_SIZE = 65536
#: Request heads up to this size are remembered for the connection's next
#: request (see HttpConnection._parse_head_cached). A polling client's head is
#: a few hundred bytes, a browser's with cookies a few KB; caching a 15 KB one
#: would keep about four times that alive on an idle connection.
_CACHED_HEAD_MAX = 4096


#: Stands in for the parser of a connection handed to another protocol, so
#: the h11 state (and its buffers) of a long-lived WebSocket is released.
_TAKEN_OVER = h11.Connection(h11.SERVER)

class _IdleTimeout(Exception):
    """Thrown into a connection's greenlet by its keep-alive timer."""


def plain_socket_of(sock: Any) -> Any:
    """The non-blocking stdlib socket under a gevent socket, or None.

    Reading, writing and watching that one directly skips gevent's wrapper;
    it is not safe under TLS (it carries records, not our bytes) nor for a
    socket without gevent's internals (a test stream, a WSGI server's own).
    """
    if getattr(sock, "_read_event", None) is None or isinstance(sock, _SSLSocket):
        return None
    return getattr(sock, "_sock", None)


class HttpConnection(BodyReading):
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

    #: The head the fast parser's last request arrived as, and that request (:meth:`allow_repeat`).
    _taken: tuple[bytes, HttpRequest] | None
    #: A head routed before (:meth:`repeated_request`): the bytes up to its
    #: Content-Length value and after it (b"" without one), the request, its query.
    _repeat: tuple[bytes, bytes, HttpRequest, dict[str, str]] | None
    #: When a hub-served connection's last request was served (``time.monotonic``):
    #: its keep-alive timer, not re-armed per request, checks it when it fires.
    last_active: float

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

    def _recv_idle(self) -> bytes:
        """The first bytes of the next request, waiting up to ``keepalive_timeout``.

        gevent's ``recv`` pays, per wait, an exception for the first EAGAIN,
        a ``settimeout`` and a new ``Timeout`` (a Python object around a new
        libev timer): a few µs on each of the two idle waits of a polling
        round trip. Here the socket's read watcher is waited on first, with
        one timer per connection restarted each time, then the plain socket
        is read: between keep-alive requests the next one has almost never
        arrived yet, and trying first cost a failed system call and an
        exception per request.
        """
        raw = self._raw
        if raw is None:
            return self._recv(self.limits.keepalive_timeout, answer_timeout=False)
        while True:
            io = self.sock._read_event
            if io is None:
                raise ClientGone("socket closed")
            current = getcurrent()
            timer = self.restart_timer(current.throw, _IdleTimeout)
            # The watcher switches straight back to this greenlet: no Waiter
            # object per wait. A close of the socket meanwhile throws into it
            # (gevent's cancel_wait), like a timeout does.
            io.start(current.switch)
            try:
                get_hub().switch()
            except _IdleTimeout:
                if self.parked is not None:
                    continue  # a parked poll is not an idle connection
                raise ClientGone("timed out") from None
            except OSError as exc:  # the socket was closed under us (gevent's cancel_wait)
                raise ClientGone(str(exc)) from None
            finally:
                io.stop()
                timer.stop()
            try:
                data: bytes = raw.recv(_READ_SIZE)
                return data
            except BlockingIOError:
                continue  # a spurious wake-up
            except OSError as exc:
                raise ClientGone(str(exc)) from None

    @property
    def can_watch(self) -> bool:
        """Whether the wait for the next request can move to the hub (:meth:`watch`).

        A plain gevent socket, no parser state, nothing buffered, still open,
        and an owner that lets the connection outlive its greenlet.
        """
        return (
            self.release is not None
            and self._raw is not None
            and self.h11 is None
            and not self._buf
            and not self._eof
            and not self.unsent
            and self.sock._read_event is not None
        )

    def watch(self, on_readable: Callable[[], None], on_timeout: Callable[[], None]) -> None:
        """Wait for the next request in the hub: the read watcher and the keep-alive timer.

        ``on_readable`` and ``on_timeout`` run in the hub; ``on_readable``
        must belong to an object with a ``throw`` method (gevent's way of
        cancelling a watcher when the socket is closed).
        """
        self.sock._read_event.start(on_readable)
        self.restart_timer(on_timeout)

    def restart_timer(self, on_timeout: Callable[..., None], *args: Any) -> Any:
        """(Re)start the keep-alive timer: ``on_timeout(*args)`` after ``keepalive_timeout``.

        One timer per connection, made on first use and reused for every wait.
        """
        timer = self._timer
        if timer is None:
            seconds = self.limits.keepalive_timeout
            timer = self._timer = get_hub().loop.timer(seconds, seconds)
        timer.again(on_timeout, *args, update=False)
        return timer

    def unwatch(self) -> None:
        io = self.sock._read_event
        if io is not None:
            io.stop()
        if self._timer is not None:
            self._timer.stop()

    def recv_now(self) -> bool:
        """Read what the socket has, without waiting; False if nothing was there.

        The bytes are buffered; end of stream (or an error) sets the EOF flag.
        """
        try:
            data = self._raw.recv(_READ_SIZE)
        except BlockingIOError:
            return False
        except OSError:
            data = b""
        if data:
            self._buf += data
        else:
            self._eof = True
        return True

    @property
    def at_eof(self) -> bool:
        return self._eof

    @property
    def has_buffered(self) -> bool:
        return bool(self._buf)

    def _drop_timer(self) -> None:
        timer, self._timer = self._timer, None
        if timer is not None:
            timer.stop()
            timer.close()

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

    def _parse_head_cached(self, head: bytes) -> _ParsedHead | None:
        """:func:`_parse_head` of ``head``, remembered for the connection's next request.

        A long-polling client repeats its head byte for byte (same sid, same
        headers; a POST's Content-Length changes only with the size): the
        comparison costs far less than the parse (about 2.5 µs a request).
        The parse is only ever read (nothing mutates a header map or query).
        """
        cached = self._last_head
        if cached is not None and cached[0] == head:
            return cached[1]
        parsed = _parse_head(head.decode("latin-1"))
        if parsed is not None and len(head) <= _CACHED_HEAD_MAX:
            self._last_head = (head, parsed, None)
        else:
            self._last_head = None
        return parsed

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

    # ------------------------------------------------- repeated heads (fast path)

    def allow_repeat(self, request: HttpRequest) -> None:
        """The endpoint routed ``request`` and will route its head the same way again.

        A polling client repeats its head (a POST's differs only in its
        Content-Length): :meth:`repeated_request` then knows it from the raw
        bytes. Only a kept-alive GET (no body) or POST the fast parser took:
        a repeat is byte for byte a head the general path accepted (the
        length aside, checked as that parser checks it)."""
        taken = self._taken
        if taken is None or taken[1] is not request or not self._keep_alive or self.h11 is not None:
            return
        pattern = repeat_pattern(taken[0], request.method)
        if pattern is not None:
            self._repeat = (pattern[0], pattern[1], request, request.query)

    def repeated_request(self) -> tuple[HttpRequest, dict[str, str], int, int] | None:
        """The buffered request if its head repeats the kept one and its body is whole.

        (The kept request, its query, the head's length with its blank line,
        the body's length); nothing is consumed (:meth:`take_repeated` does).
        None declines: the general path reads the buffer as always."""
        repeat = self._repeat
        if repeat is None or self.h11 is not None or self._eof:
            return None
        prefix, suffix, request, query = repeat
        buf = self._buf
        if not buf.startswith(prefix):
            return None
        at = len(prefix)
        if not suffix:
            if not buf.startswith(b"\r\n", at):
                return None
            return request, query, at + 2, 0
        end = buf.find(b"\r\n", at, at + 20)
        if end < 0:
            return None
        digits = buf[at:end]
        if not digits.isdigit() or not buf.startswith(suffix, end):
            return None
        end += len(suffix)
        if not buf.startswith(b"\r\n", end) or end + 2 > self.limits.max_header_bytes:
            return None
        length = int(digits)
        if len(buf) - end - 2 < length:
            return None  # the body is still on its way: the general path waits for it
        return request, query, end + 2, length

    def take_repeated(self, head_length: int, body_length: int) -> None:
        """Consume the head :meth:`repeated_request` found; the body is left for :meth:`read_body`."""
        self._buf = self._buf[head_length:]
        self._body_left = body_length
        self._keep_alive = True  # allow_repeat keeps kept-alive heads only
        self._head_only = False

    def idle_left(self, now: float) -> float:
        """Seconds of keep-alive left at ``now`` since :attr:`last_active` (0: the connection is idle)."""
        left = self.last_active + self.limits.keepalive_timeout - now
        return left if left > 0.001 else 0.0

    def restart_timer_in(self, seconds: float, on_timeout: Callable[..., None]) -> None:
        """The keep-alive timer for ``seconds`` (what :attr:`last_active` left of a period).

        A new timer (a libev timer's delay is fixed when made; this runs once
        per period of a busy connection) repeating the full period, as
        :meth:`restart_timer` expects; the old one is only stopped (this runs
        in its callback)."""
        old = self._timer
        if old is not None:
            old.stop()
        timer = self._timer = get_hub().loop.timer(seconds, self.limits.keepalive_timeout)
        timer.start(on_timeout)

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
        self.write_raw(self.format_response(status, headers, body, close=close))

    def format_response(
        self,
        status: int,
        headers: list[tuple[str, str]],
        body: bytes = b"",
        *,
        close: bool = False,
    ) -> bytes:
        """The bytes :meth:`respond` writes (for a writer that cannot block, see :meth:`write_from_hub`)."""
        if close:
            self._keep_alive = False
        return self.finish_response(status_head(status, headers), body)

    def finish_response(self, head: bytes, body: bytes = b"") -> bytes:
        """A whole response from a status line and headers already in bytes.

        ``head`` ends with the last header's CRLF and has no Content-Length
        (added here, with ``Connection: close`` when the connection ends), so
        callers with fixed headers keep it prebuilt. A request body nobody
        read is settled first (:meth:`discard_body`): the answer says
        ``Connection: close`` when the connection cannot go on. Not while a
        poll is parked: that answer is an earlier request's, and the body
        state may already be a pipelined request's (its own body was settled
        when it was parked).
        """
        if self._keep_alive and (self._body_left or self.h11 is not None) and self.parked is None:
            self.discard_body()
        return response_bytes(head, body, keep_alive=self._keep_alive, head_only=self._head_only)

    @property
    def can_park(self) -> bool:
        """Whether the current request's answer can be written later from the hub.

        A plain socket (non-blocking writes are possible), a fast-path
        request (no h11 state to finish) whose body, if any, is buffered
        whole, and a connection that stays open.
        """
        return (
            self._raw is not None
            and self.h11 is None
            and self._keep_alive
            and len(self._buf) >= self._body_left
        )

    def try_write(self, data: bytes) -> bytes:
        """Write what the socket takes now, never waiting; returns the rest.

        For the hub, which must not block (only when :attr:`can_park`).
        Raises ClientGone when the connection is gone.
        """
        try:
            sent = self._raw.send(data)
        except BlockingIOError:
            return data
        except OSError as exc:
            raise ClientGone(str(exc)) from None
        return data[sent:] if sent < len(data) else b""

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

    def reject_raw(self, status: int) -> None:
        """Best-effort error answer when HTTP parsing itself failed; never raises."""
        try:
            self.sock.sendall(raw_refusal(status))
        except OSError:
            pass

    def detach(self) -> None:
        """A WebSocket read from the hub takes the connection over from its greenlet."""
        self.owner = ON_DETACH[self.owner]

    def released(self) -> None:
        """The WebSocket that took the connection over ended: tell the server (:attr:`release`)."""
        self.owner = ON_RELEASE[self.owner]
        if self.release is not None:
            self.release()

    def write_raw(self, data: bytes) -> None:
        if self.owner in HUB_WRITES:
            # Never wait in the hub: what the socket does not take now is
            # kept, in order, for the greenlet the connection is handed to.
            if self.unsent:
                self.unsent += data
            else:
                self.unsent = self.try_write(data)
            return
        raw = self._raw
        if raw is not None:
            # The plain socket: one send() takes a response whole, with no
            # settimeout() and no wrapper; what it leaves goes the slow way.
            try:
                sent = raw.send(data)
            except BlockingIOError:
                sent = 0
            except OSError as exc:
                raise ClientGone(str(exc)) from None
            if sent == len(data):
                return
            data = data[sent:]
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
        self._drop_timer()
        try:
            self.sock.shutdown(_stdsocket.SHUT_RDWR)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass
