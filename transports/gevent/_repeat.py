"""A polling client's repeated request heads: the head-cache half of :class:`._http.HttpConnection`.

A long-polling client sends the same head over and over (same sid, same
headers; a POST's differs only in its Content-Length). Two tricks rest on
that, and they live here together because they share that one fact and the
state that records it:

- :meth:`RepeatedHeads._parse_head_cached`: the fast parser's result for
  the last head is kept, and a byte-equal head reuses it (a comparison
  instead of a parse).
- :meth:`RepeatedHeads.allow_repeat` / :meth:`RepeatedHeads.repeated_request`
  / :meth:`RepeatedHeads.take_repeated`: once the endpoint has routed a
  head, the next identical one is recognised from the raw bytes and routed
  the same way without building a request (``_engine``'s repeat route).

Both are fast paths beside the general head reading of ``_http`` (which
records the head a request came from in ``_taken``); each declines anything
it is not sure of, and ``tests/transports/gevent/test_repeat_route.py``
holds the second to the general path. The methods are a mixin of the
connection, not an object it calls, so they cost what they did.
"""

from __future__ import annotations

import h11

from .._limits import HttpLimits
from .._request import HttpRequest, _parse_head, _ParsedHead, repeat_pattern

__all__ = ["RepeatedHeads"]

#: Request heads up to this size are remembered for the connection's next
#: request (see RepeatedHeads._parse_head_cached). A polling client's head is
#: a few hundred bytes, a browser's with cookies a few KB; caching a 15 KB one
#: would keep about four times that alive on an idle connection.
_CACHED_HEAD_MAX = 4096


class RepeatedHeads:
    """Repeated-head methods of :class:`._http.HttpConnection`, kept apart (a mixin)."""

    # The connection's state this works on (set by HttpConnection).
    limits: HttpLimits
    h11: h11.Connection | None
    _buf: bytes
    _eof: bool
    _body_left: int
    _keep_alive: bool
    _head_only: bool
    #: The last request head, its parse and its query (see _parse_head_cached).
    _last_head: tuple[bytes, _ParsedHead, dict[str, str] | None] | None
    #: The head the fast parser's last request arrived as, and that request (:meth:`allow_repeat`).
    _taken: tuple[bytes, HttpRequest] | None
    #: A head routed before (:meth:`repeated_request`): the bytes up to its
    #: Content-Length value and after it (b"" without one), the request, its query.
    _repeat: tuple[bytes, bytes, HttpRequest, dict[str, str]] | None

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
