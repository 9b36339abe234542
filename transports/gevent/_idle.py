"""Waiting for a connection's next request: the keep-alive half of :class:`._http.HttpConnection`.

Kept apart from reading heads because it is a different job with its own
machinery: between requests nothing is parsed, the connection only waits
(``keepalive_timeout``) on gevent's read watcher and one libev timer per
connection, either in its own greenlet (:meth:`IdleWaiting._recv_idle`) or
in the hub with no greenlet at all (:meth:`IdleWaiting.watch`, what a
polling client's idle connection mostly does). The methods are a mixin of
the connection, not an object it calls, so every wait costs what it did.

A hub-served connection's timer is not re-armed per request: it checks
:attr:`IdleWaiting.last_active` when it fires (:meth:`IdleWaiting.idle_left`)
and restarts for what is left (:meth:`IdleWaiting.restart_timer_in`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable

import h11
from gevent import get_hub
from greenlet import getcurrent

from .._limits import HttpLimits
from .._request import ClientGone
from ._body import _READ_SIZE

__all__ = ["IdleWaiting"]


class _IdleTimeout(Exception):
    """Thrown into a connection's greenlet by its keep-alive timer."""


class IdleWaiting:
    """Idle-wait methods of :class:`._http.HttpConnection`, kept apart (a mixin)."""

    # The connection's state this works on (set by HttpConnection).
    sock: Any
    limits: HttpLimits
    h11: h11.Connection | None
    release: Callable[[], None] | None
    parked: Any
    unsent: bytes
    _raw: Any
    _timer: Any
    _buf: bytes
    _eof: bool
    #: When a hub-served connection's last request was served (``time.monotonic``):
    #: its keep-alive timer, not re-armed per request, checks it when it fires.
    last_active: float

    if TYPE_CHECKING:

        def _recv(self, timeout: float, *, answer_timeout: bool) -> bytes: ...

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
