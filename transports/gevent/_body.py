"""Reading and settling HTTP request bodies: the body half of :class:`._http.HttpConnection`.

Every body the server reads is bounded before it is read: a declared
Content-Length over the caller's limit is refused (413) without reading a
byte, a chunked body is counted as it arrives, and the whole body must come
within ``request_timeout`` however steadily it dribbles. Bytes read are kept
as a list of chunks joined once, never re-copied per read; a body that
arrived with its head (every polling POST) is one slice of the buffer. A
body the server does not want (a 404, a refused Engine.IO request, OPTIONS,
a GET with a body) is never waited for: if it is already in the buffer it is
dropped there, otherwise the answer says ``Connection: close`` and the
connection ends after it, with the lingering close of :meth:`HttpConnection.close`
so the client still reads the answer.

Limits: ``max_payload`` (the caller's ``limit``) is Engine.IO's; the
timeouts are :class:`HttpLimits`' ``body_timeout`` (silence between reads)
and ``request_timeout`` (the whole body).
"""

from __future__ import annotations

import socket as _stdsocket
from time import monotonic as _monotonic
from typing import Any

import h11

from .._limits import HttpLimits
from .._request import BodyTooLarge, ClientGone, HttpRequest

__all__ = ["BodyReading"]

_READ_SIZE = 65536


class BodyReading:
    """Body methods of :class:`._http.HttpConnection`, kept apart (a mixin).

    A fast-path request's body is ``_body_left`` bytes, of which ``_buf``
    may hold some or all; an h11-path request's is h11's to frame.
    """

    # The connection's state this works on (set by HttpConnection).
    sock: Any
    limits: HttpLimits
    h11: h11.Connection | None
    _buf: bytes
    _eof: bool
    _body_left: int
    _keep_alive: bool

    def read_body(self, request: HttpRequest, limit: int) -> bytes:
        """The whole request body; BodyTooLarge as soon as it exceeds ``limit``.

        A declared Content-Length is checked before anything is read, a
        chunked body's running size as it arrives. Raises ClientGone when the
        client leaves, pauses over ``body_timeout`` or takes longer than
        ``request_timeout`` in all (that one with status 408). After
        BodyTooLarge or ClientGone the body is unread: the connection closes.
        """
        if self.h11 is None:
            size = self._body_left
            if size > limit:  # the declared Content-Length
                raise BodyTooLarge()
            buf = self._buf
            if len(buf) >= size:  # the usual case: the body came with its head
                self._buf = buf[size:]
                self._body_left = 0
                return buf[:size]
            return self._receive_body(size)
        declared = request.header("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise BodyTooLarge()
        chunks: list[bytes] = []
        size = 0
        deadline: float | None = None
        while True:
            event, deadline = self._next_body_event(deadline)
            if isinstance(event, h11.Data):
                size += len(event.data)
                if size > limit:
                    raise BodyTooLarge()
                chunks.append(event.data)
            elif isinstance(event, h11.EndOfMessage):
                return b"".join(chunks)
            else:
                raise ClientGone("connection closed inside a body")

    def _receive_body(self, size: int) -> bytes:
        """Fast path: ``size`` body bytes, of which the buffer holds only a part.

        Reads never go past the body (what follows stays in the kernel for
        the next request), and the pieces are joined once at the end.
        """
        chunks = [self._buf]
        got = len(self._buf)
        self._buf = b""
        self._body_left = size - got  # what close() must still drain, should this fail
        deadline = _monotonic() + self.limits.request_timeout
        while got < size:
            if self._eof:
                raise ClientGone("connection closed inside a body")
            data = self._recv_body(min(_READ_SIZE, size - got), deadline)
            if not data:
                self._eof = True
                continue
            chunks.append(data)
            got += len(data)
            self._body_left = size - got
        self._body_left = 0
        return b"".join(chunks)

    def _recv_body(self, size: int, deadline: float) -> bytes:
        """One read of body bytes: at most ``body_timeout`` of silence, and never past ``deadline``."""
        remaining = deadline - _monotonic()
        if remaining <= 0:
            raise ClientGone("request body too slow (request_timeout)", 408)
        timeout = min(self.limits.body_timeout, remaining)
        sock = self.sock
        try:
            sock.settimeout(timeout)
            return bytes(sock.recv(size))
        except _stdsocket.timeout:
            if timeout < self.limits.body_timeout:
                raise ClientGone("request body too slow (request_timeout)", 408) from None
            raise ClientGone("timed out inside a body") from None
        except OSError as exc:
            raise ClientGone(str(exc)) from None

    def _next_body_event(self, deadline: float | None) -> tuple[Any, float | None]:
        """h11's next event inside a body, reading when it needs data; and the deadline.

        The deadline (``request_timeout`` from the first wait) is set on the
        first read: a body h11 already holds costs no clock reading.
        """
        assert self.h11 is not None
        while True:
            try:
                event = self.h11.next_event()
            except h11.RemoteProtocolError as exc:
                raise ClientGone(f"bad HTTP: {exc}", exc.error_status_hint) from None
            if event is not h11.NEED_DATA:
                return event, deadline
            if deadline is None:
                deadline = _monotonic() + self.limits.request_timeout
            self.h11.receive_data(self._recv_body(_READ_SIZE, deadline))

    def discard_body(self) -> None:
        """Settle a request body nobody wants, without reading from the socket.

        A body already in the buffer is dropped there and the connection
        goes on. Otherwise it is not waited for (a client declaring a huge
        body would otherwise be read to its end): the connection stops
        keeping alive, the answer says so, and :meth:`close` lingers briefly
        so the client still reads it. Never raises.
        """
        parser = self.h11
        if parser is None:
            left = self._body_left
            if left:
                if len(self._buf) >= left:
                    self._buf = self._buf[left:]
                    self._body_left = 0
                else:
                    self._keep_alive = False
            return
        # h11 may hold the rest of the body already (a small chunked body):
        # consume what it has, and stop at the first need for data.
        try:
            while parser.their_state is h11.SEND_BODY:
                event = parser.next_event()
                if event is h11.NEED_DATA or isinstance(event, h11.ConnectionClosed):
                    self._keep_alive = False
                    return
        except h11.RemoteProtocolError:
            self._keep_alive = False

    def _linger(self, seconds: float = 2.0, max_bytes: int = 4 * 1024 * 1024) -> None:
        """Before closing with a body unread: stop writing, then read and drop for a moment (see ``close``)."""
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
