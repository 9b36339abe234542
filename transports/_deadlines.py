"""Every session's deadlines in one heap: the part of the scheduler no driver owns.

Strategy: sessions report their next deadline (pings, pong timeouts, upgrade
and close timeouts); the heap keeps ``(due, seq, target)`` and the driver
sleeps until the earliest (a greenlet in :mod:`transports.gevent._scheduler`,
``loop.call_at`` in :mod:`transports.asyncio._scheduler`). A deadline that
moves *later* is not removed from the heap: when the stale entry fires, the
target's ``on_deadline`` finds nothing to do and reports its real deadline
again. Only an *earlier* deadline pushes a new entry. So a healthy session
costs one heap push per ping interval, and 10,000 sessions need no timer
objects at all.

Wake-ups are coalesced: the driver sleeps until the earliest deadline plus
``coalesce`` (10 ms), then runs everything due by then (:meth:`run_due`),
so thousands of spread-out pings cost tens of wake-ups per second rather
than thousands. No deadline fires early; a request that arrives after an
expired deadline finds it handled anyway (the engine checks deadlines on
arrival).
"""

from __future__ import annotations

import heapq
import itertools
import logging
from typing import Protocol

__all__ = ["DeadlineHeap", "Schedulable"]

log = logging.getLogger(__name__)

#: Below this many entries, stale ones are left to expire on their own.
_COMPACT_MIN = 64


class Schedulable(Protocol):
    #: The deadline the scheduler currently holds for this target (None: none).
    scheduled_at: float | None

    def on_deadline(self, now: float) -> None: ...


class DeadlineHeap:
    """The heap and its bookkeeping; a driver adds :meth:`_wake` and the sleeping."""

    def __init__(self, coalesce: float = 0.01) -> None:
        self.coalesce = coalesce
        self._heap: list[tuple[float, int, Schedulable]] = []
        self._seq = itertools.count()
        #: Targets holding a live deadline (stale heap entries excluded).
        self.active = 0

    def __len__(self) -> int:
        return len(self._heap)

    def _wake(self) -> None:
        """The earliest deadline moved earlier: the driver re-arms its sleep."""
        raise NotImplementedError

    def cancel(self, target: Schedulable) -> None:
        """Forget ``target``'s deadline (its heap entry becomes stale and is skipped).

        A stale entry keeps its target (a closed session, its socket, its
        buffers) alive until the deadline passes: for a ping that is 25 s of
        every short-lived connection, which the garbage collector then walks
        again and again. Once most entries are stale, they are dropped in one
        pass (amortised O(1) per cancel, since each pass at least halves the heap).
        """
        if target.scheduled_at is not None:
            target.scheduled_at = None
            self.active -= 1
            heap = self._heap
            if len(heap) > _COMPACT_MIN and len(heap) > 2 * self.active:
                heap[:] = [entry for entry in heap if entry[2].scheduled_at == entry[0]]
                heapq.heapify(heap)

    def schedule(self, target: Schedulable, due: float | None) -> None:
        """Make sure ``target.on_deadline`` runs at or after ``due``."""
        if due is None:
            return
        current = target.scheduled_at
        if current is not None and current <= due:
            return  # an entry at or before due exists; it will re-report
        if current is None:
            self.active += 1
        target.scheduled_at = due
        heapq.heappush(self._heap, (due, next(self._seq), target))
        if self._heap[0][2] is target:
            self._wake()

    def clear(self) -> None:
        self._heap.clear()
        self.active = 0

    def next_due(self) -> float | None:
        heap = self._heap
        return heap[0][0] if heap else None

    def run_due(self, now: float) -> None:
        """Run every deadline due by ``now``; one failing target stops no other."""
        heap = self._heap
        while heap and heap[0][0] <= now:
            due, _, target = heapq.heappop(heap)
            if target.scheduled_at != due:
                continue  # superseded by an earlier entry that already ran
            target.scheduled_at = None
            self.active -= 1
            try:
                target.on_deadline(now)
            except Exception:  # one broken session must not stop every timer
                log.exception("deadline handler failed")
