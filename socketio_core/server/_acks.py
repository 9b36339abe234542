"""Acknowledgement bookkeeping: waiting for one client's answer, or a broadcast's.

An emit with a callback registers it on the client under a fresh ack id
(:meth:`~socketio_core.protocol.Connection.new_ack_id`); the ACK packet that
comes back runs it. Two shapes of callback need more than a plain function:

- :class:`AckWaiter`, behind :meth:`Server.call`: when the client disconnects
  first, its ``gone()`` runs, so the caller stops waiting at once instead of
  holding its greenlet (or thread) until the timeout.
- :class:`Gather`, behind a broadcast with a callback: it collects
  ``{sid: answer}`` until every recipient answered, left, or time ran out.

Each client files its callbacks in an :class:`AckTable`. An entry leaves it in
exactly one of three ways, all on the loop's thread: the answer comes
(:meth:`AckTable.answer`), its timeout passes (a timer of the loop, armed
through the runtime's ``call_later``: no greenlet or task waits for it), or
the client goes away (:meth:`AckTable.release`).
A waiter is told in the last two cases too, at once, so nothing is left
behind a ``call()``. A client already owing ``limit`` acks gets no more
packets that ask for one: :class:`TooManyPendingAcks` goes to the caller
instead, so one client that never answers cannot make the server hold an
unbounded number of waiters (nor the greenlets of the handlers behind them).

How ack arguments map to Python values is fixed here once: none -> None,
one -> itself, several -> a tuple; a handler's return value maps back the same way.

The other direction, answering a client's ack request, is usually a handler's
return value; :class:`Ack` is the way for a handler to answer later, from
elsewhere, or not at all.
"""

from __future__ import annotations

from typing import Any, Callable, Iterator

from transports._runtime import Timer

from ..protocol._errors import LocalSocketIOError, SocketIOError

__all__ = ["Ack", "AckTable", "AckWaiter", "Gather", "TooManyPendingAcks", "ack_args", "ack_value"]


class TooManyPendingAcks(SocketIOError):
    """The client already owes ``max_pending_acks`` acks: no more calls to it until it answers.

    Raised by :meth:`Server.call` and by ``Server.emit(..., callback=...)`` to a
    single socket; a broadcast with acks counts such a client as not answering.
    """


def ack_value(args: tuple[Any, ...] | list[Any]) -> Any:
    """An ACK's arguments as one value: None, the single argument, or a tuple."""
    if not args:
        return None
    if len(args) == 1:
        return args[0]
    return tuple(args)


def ack_args(result: Any) -> list[Any]:
    """A handler's return value as ACK arguments (the inverse of :func:`ack_value`)."""
    if result is None:
        return []
    if isinstance(result, tuple):
        return list(result)
    return [result]


class Gather:
    """Collects the acks of a broadcast until every recipient answered or time ran out."""

    def __init__(self, expected: list[str], done: Callable[[dict[str, Any]], None]) -> None:
        self.waiting = set(expected)
        self.answers: dict[str, Any] = {}
        self.done = done
        self.finished = False

    def answer(self, sid: str, args: tuple[Any, ...]) -> None:
        if self.finished:
            return
        self.waiting.discard(sid)
        self.answers[sid] = ack_value(args)
        if not self.waiting:
            self.finish()

    def gone(self, sid: str) -> None:
        """A recipient disconnected: its answer will never come, stop waiting for it."""
        self.waiting.discard(sid)
        if not self.waiting:
            self.finish()

    def finish(self) -> None:
        if not self.finished:
            self.finished = True
            self.done(self.answers)


class AckWaiter:
    """An ack callback that also knows what to do when no answer can come.

    ``answer(args)`` runs when the ack comes; ``gone()`` instead if the client
    disconnects first, and ``expired()`` (by default ``gone``) if the timeout
    passes first; a plain callback is simply dropped in those cases. With
    ``inline`` the three run on the hub (they only hand a result over), else
    in a worker greenlet.
    """

    __slots__ = ("answer", "gone", "expired", "inline")

    def __init__(
        self,
        answer: Callable[[tuple[Any, ...]], None],
        gone: Callable[[], None],
        expired: Callable[[], None] | None = None,
        *,
        inline: bool = False,
    ) -> None:
        self.answer = answer
        self.gone = gone
        self.expired = expired if expired is not None else gone
        self.inline = inline

    def __call__(self, *args: Any) -> None:
        self.answer(args)


class Ack:
    """A client's request for an acknowledgement, which a handler answers when it likes.

    A handler that declares a keyword-only ``ack`` parameter gets one of
    these (or None when the client asked for no ack), and its return value
    is no longer sent: call ``ack(*args)`` once, from the handler, from
    another greenlet or thread, later; or never, and the client's ack
    callback never runs (its timeout, if any, fires), as a Node handler that
    does not call its callback. An answer after the client left is dropped.
    """

    __slots__ = ("_send", "_sent")

    def __init__(self, send: Callable[[list[Any]], None]) -> None:
        self._send = send
        self._sent = False

    @property
    def sent(self) -> bool:
        """Whether this ack was answered."""
        return self._sent

    def __call__(self, *args: Any) -> None:
        """Send the ACK with ``args``. Raises LocalSocketIOError on a second call."""
        if self._sent:
            raise LocalSocketIOError("this ack was already sent")
        self._sent = True
        self._send(list(args))


class AckTable:
    """One client's pending acks: ``{ack_id: (callback, timer)}``, at most ``limit``."""

    __slots__ = ("limit", "_entries", "_run", "_call_later")

    def __init__(
        self, limit: int, run: Callable[..., Any], call_later: Callable[..., Timer]
    ) -> None:
        self.limit = limit
        self._entries: dict[int, tuple[Callable[..., Any], Timer | None]] = {}
        #: How callbacks that may block run: the server's worker pool's ``submit``.
        self._run = run
        #: The runtime's ``call_later(delay, fn, *args)``: timeouts run on the loop.
        self._call_later = call_later

    def __len__(self) -> int:
        return len(self._entries)

    def __iter__(self) -> Iterator[int]:
        """The ack ids waited for (what the ``pending_acks`` counter counts)."""
        return iter(self._entries)

    def pop(self, ack_id: int) -> Callable[..., Any] | None:
        """Take ``ack_id``'s callback out without running it (None if not waited for)."""
        entry = self._entries.pop(ack_id, None)
        if entry is None:
            return None
        if entry[1] is not None:
            entry[1].cancel()
        return entry[0]

    def check_room(self, who: str) -> None:
        """Raise :class:`TooManyPendingAcks` if one more ack would pass the limit."""
        if len(self._entries) >= self.limit:
            raise TooManyPendingAcks(
                f"client {who} already owes {len(self._entries)} acks (max_pending_acks={self.limit})"
            )

    def add(self, ack_id: int, callback: Callable[..., Any], timeout: float | None) -> None:
        """File ``callback``; after ``timeout`` seconds it is forgotten (a waiter is told)."""
        timer = None if timeout is None else self._call_later(timeout, self._expire, ack_id)
        self._entries[ack_id] = (callback, timer)

    def answer(self, ack_id: int, args: tuple[Any, ...]) -> None:
        """The ack ``ack_id`` came: run its callback (an unknown or expired id is ignored)."""
        entry = self._entries.pop(ack_id, None)
        if entry is None:
            return
        callback, timer = entry
        if timer is not None:
            timer.cancel()
        if type(callback) is AckWaiter and callback.inline:
            callback.answer(args)
        else:
            self._run(callback, *args)

    def release(self) -> None:
        """The client went away: forget everything, waking every waiter at once."""
        entries, self._entries = self._entries, {}
        for callback, timer in entries.values():
            if timer is not None:
                timer.cancel()
            if type(callback) is AckWaiter:
                self._notify(callback, callback.gone)

    def _expire(self, ack_id: int) -> None:
        entry = self._entries.pop(ack_id, None)
        if entry is None:
            return
        callback, timer = entry
        assert timer is not None
        timer.cancel()
        if type(callback) is AckWaiter:
            self._notify(callback, callback.expired)

    def _notify(self, waiter: AckWaiter, fn: Callable[[], None]) -> None:
        if waiter.inline:
            fn()
        else:
            self._run(fn)
