"""One timer greenlet for every session's deadlines.

The heap and its rules (stale entries, coalescing, compaction) are shared
with every driver (:mod:`transports._deadlines`); here a greenlet sleeps on
an Event until the earliest deadline plus ``coalesce`` and runs what is due.
"""

from __future__ import annotations

from time import monotonic

import gevent
from gevent.event import Event

from .._deadlines import DeadlineHeap, Schedulable

__all__ = ["Scheduler", "Schedulable"]


class Scheduler(DeadlineHeap):
    def __init__(self, coalesce: float = 0.01) -> None:
        super().__init__(coalesce)
        self._wakeup = Event()
        self._greenlet: gevent.Greenlet[[], None] | None = None

    def _wake(self) -> None:
        self._wakeup.set()

    def start(self) -> None:
        if self._greenlet is None:
            self._greenlet = gevent.spawn(self._run)

    def stop(self) -> None:
        if self._greenlet is not None:
            self._greenlet.kill()
            self._greenlet = None
        self.clear()

    def _run(self) -> None:
        heap = self._heap
        while True:
            if heap:
                delay = heap[0][0] - monotonic()
                if delay > 0:
                    self._wakeup.wait(delay + self.coalesce)
            else:
                self._wakeup.wait()
            self._wakeup.clear()
            self.run_due(monotonic())
