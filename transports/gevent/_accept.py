"""Accepting at the file-descriptor limit: refuse with 503, log once, keep going.

When the process runs out of descriptors, ``accept()`` fails with EMFILE
(ENFILE: the whole system) while the connection stays in the kernel's
backlog, and the listening socket stays readable. gevent's accept loop then
logs a traceback, backs off for up to a second and tries again, for as long as
the shortage lasts; the clients in the backlog hang until they give up.

The answer here is the reserve-descriptor trick (libev's documentation,
nginx and Node do the same): one descriptor (``/dev/null``) is held from the
start. When accept fails for lack of descriptors, the reserve is closed, which
frees exactly one; each waiting connection is then accepted on it, answered
503 and closed, until the backlog is empty; then the reserve is taken again.
The clients get a prompt, clear refusal instead of a hang, and the server
keeps serving the connections it has. If the reserve cannot be taken back
(another descriptor took the free slot meanwhile), accepting pauses for
:data:`PAUSE` seconds instead. The shortage is logged as one warning line per
:data:`LOG_EVERY` seconds, with the count of refusals since the last one.
"""

from __future__ import annotations

import errno
import logging
import os
import socket as _stdsocket
from time import monotonic
from typing import Any

__all__ = ["ShedAtFdLimit"]

log = logging.getLogger(__name__)

#: accept() errors that mean "no descriptor for the new connection".
_NO_DESCRIPTOR = frozenset({errno.EMFILE, errno.ENFILE})
#: Seconds accepting pauses when there is no reserve to answer 503 with.
PAUSE = 0.5
#: Seconds between two warnings about the shortage.
LOG_EVERY = 60.0

_REFUSAL = (
    b"HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\n"
    b"Content-Type: text/plain\r\nContent-Length: 19\r\n\r\nService Unavailable"
)


def _take_reserve() -> int | None:
    try:
        return os.open(os.devnull, os.O_RDONLY | os.O_CLOEXEC)
    except OSError:
        return None


def _refuse(fd: int) -> None:
    """Answer an accepted connection 503 and close it; never blocks, never raises.

    What the client already sent is read first: closing a socket with unread
    data makes the kernel reset the connection, and the client might then
    lose the answer.
    """
    sock = _stdsocket.socket(fileno=fd)
    try:
        sock.setblocking(False)
        try:
            sock.recv(65536)
        except OSError:
            pass
        try:
            sock.send(_REFUSAL)
            sock.shutdown(_stdsocket.SHUT_WR)
        except OSError:
            pass
    finally:
        sock.close()


class ShedAtFdLimit:
    """A mixin for gevent's ``StreamServer``: 503 at the descriptor limit (see the module note).

    It overrides ``do_read`` (one accept), ``init_socket`` (takes the
    reserve) and ``close`` (gives it back).
    """

    _reserve: int | None = None
    _refused = 0
    _next_warning = 0.0

    # What the mixed-in StreamServer provides.
    socket: Any
    loop: Any
    max_accept: int

    def init_socket(self) -> None:
        super().init_socket()  # type: ignore[misc]
        if self._reserve is None:
            self._reserve = _take_reserve()

    def close(self) -> None:
        try:
            super().close()  # type: ignore[misc]
        finally:
            reserve, self._reserve = self._reserve, None
            if reserve is not None:
                os.close(reserve)

    def do_read(self) -> Any:
        try:
            return super().do_read()  # type: ignore[misc]
        except OSError as exc:
            if exc.errno not in _NO_DESCRIPTOR:
                raise
            self._shed(exc)
            return None  # gevent's loop stops this turn quietly

    def _shed(self, exc: OSError) -> None:
        """Out of descriptors: refuse the backlog on the reserve, or pause accepting."""
        reserve, self._reserve = self._reserve, None
        refused = 0
        if reserve is not None:
            os.close(reserve)
            for _ in range(self.max_accept):
                try:
                    fd, _ = self.socket._accept()
                except OSError:  # the backlog is empty (EAGAIN), or still no descriptor
                    break
                _refuse(fd)
                refused += 1
            self._reserve = _take_reserve()
        self._refused += refused
        now = monotonic()
        if now >= self._next_warning:
            self._next_warning = now + LOG_EVERY
            log.warning(
                "out of file descriptors (%s): new connections are answered 503 "
                "(%d since the last warning); raise the limit (ulimit -n) or lower "
                "max_connections", exc.strerror, self._refused,
            )
            self._refused = 0
        if self._reserve is None:
            # No descriptor to answer with: stop accepting for a moment rather
            # than wake up for the same full backlog on every loop turn.
            self.stop_accepting()  # type: ignore[attr-defined]
            timer = self.loop.timer(PAUSE)
            timer.start(self._resume_accepting, timer)

    def _resume_accepting(self, timer: Any) -> None:
        timer.close()
        if self._reserve is None:
            self._reserve = _take_reserve()
        self._start_accepting_if_started()  # type: ignore[attr-defined]
