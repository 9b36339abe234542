"""Every session's deadlines on one ``loop.call_at`` timer.

The heap and its rules (stale entries, coalescing, compaction) are shared
with every driver (:mod:`transports._deadlines`); here one timer handle is
armed for the earliest deadline plus ``coalesce`` and re-armed after each
run. asyncio's clock is ``time.monotonic``, the one sessions use.
"""

from __future__ import annotations

import asyncio
from time import monotonic
from typing import Any

from .._deadlines import DeadlineHeap, Schedulable

__all__ = ["Scheduler", "Schedulable"]


class Scheduler(DeadlineHeap):
    def __init__(self, coalesce: float = 0.01) -> None:
        super().__init__(coalesce)
        self._loop: asyncio.AbstractEventLoop | None = None
        self._timer: Any = None
        #: When the armed timer fires (None: no timer).
        self._armed_for: float | None = None

    def start(self) -> None:
        """Run on the running loop (idempotent; the first request calls it)."""
        if self._loop is None:
            self._loop = asyncio.get_running_loop()
            self._arm()

    def stop(self) -> None:
        if self._timer is not None:
            self._timer.cancel()
        self._timer = self._armed_for = None
        self._loop = None
        self.clear()

    def _wake(self) -> None:
        if self._loop is not None:
            self._arm()

    def _arm(self) -> None:
        due = self.next_due()
        if due is None:
            return  # a timer armed earlier finds nothing and re-arms for nothing
        when = due + self.coalesce
        armed = self._armed_for
        if armed is not None and armed <= when:
            return  # the armed timer comes first; it re-arms after running
        if self._timer is not None:
            self._timer.cancel()
        assert self._loop is not None
        self._timer = self._loop.call_at(when, self._fire)
        self._armed_for = when

    def _fire(self) -> None:
        self._timer = self._armed_for = None
        self.run_due(monotonic())
        if self._loop is not None:
            self._arm()
