"""Writing HTTP responses: the output half of :class:`._http.HttpConnection`.

Kept apart from reading because writing has its own rules, all about who
may block: a greenlet that owns the connection writes a whole response with
one ``send`` on the plain socket (no ``settimeout``, no wrapper) and only
what that leaves goes through gevent's waiting send; the hub, which must
never wait, writes what the socket takes now and keeps the rest in
``unsent`` for the greenlet the connection is handed to next
(:data:`transports._ownership.HUB_WRITES` says when that is). Responses are
formatted here too: we choose every header, so they need no h11. The
methods are a mixin of the connection, not an object it calls, so every
response costs what it did.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import h11

from .._limits import HttpLimits
from .._ownership import HUB_WRITES, Owner
from .._request import ClientGone, raw_refusal, response_bytes, status_head

__all__ = ["ResponseWriting"]


class ResponseWriting:
    """Response methods of :class:`._http.HttpConnection`, kept apart (a mixin)."""

    # The connection's state this works on (set by HttpConnection).
    sock: Any
    limits: HttpLimits
    h11: h11.Connection | None
    owner: Owner
    parked: Any
    unsent: bytes
    _raw: Any
    _buf: bytes
    _body_left: int
    _keep_alive: bool
    _head_only: bool

    if TYPE_CHECKING:

        def discard_body(self) -> None: ...  # BodyReading's

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

    def reject_raw(self, status: int) -> None:
        """Best-effort error answer when HTTP parsing itself failed; never raises."""
        try:
            self.sock.sendall(raw_refusal(status))
        except OSError:
            pass

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
