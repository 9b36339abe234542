"""Acknowledgement bookkeeping: waiting for one client's answer, or a broadcast's.

An emit with a callback registers it on the client under a fresh ack id
(:meth:`~socketio_core.protocol.Connection.new_ack_id`); the ACK packet that
comes back runs it. Two shapes of callback need more than a plain function:

- :class:`AckWaiter`, behind :meth:`Server.call`: when the client disconnects
  first, its ``gone()`` runs, so the caller stops waiting at once instead of
  holding its greenlet (or thread) until the timeout.
- :class:`Gather`, behind a broadcast with a callback: it collects
  ``{sid: answer}`` until every recipient answered, left, or time ran out.

How ack arguments map to Python values is fixed here once: none -> None,
one -> itself, several -> a tuple; a handler's return value maps back the same way.

The other direction, answering a client's ack request, is usually a handler's
return value; :class:`Ack` is the way for a handler to answer later, from
elsewhere, or not at all.
"""

from __future__ import annotations

from typing import Any, Callable

from ..protocol._errors import LocalSocketIOError

__all__ = ["Ack", "AckWaiter", "Gather", "ack_args", "ack_value"]


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

    The server calls ``gone()`` (in a worker) for every waiter still pending
    when its client disconnects; a plain callback is simply dropped.
    """

    __slots__ = ("answer", "gone")

    def __init__(self, answer: Callable[[tuple[Any, ...]], None], gone: Callable[[], None]) -> None:
        self.answer = answer
        self.gone = gone

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
