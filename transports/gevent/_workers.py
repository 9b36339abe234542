"""Reusable greenlets for application handlers.

Creating a greenlet per message costs about 10 µs here, more than the whole
protocol work of an echo; handing a task to a parked greenlet costs well
under one. So handlers run on a pool of worker greenlets that grows on
demand: a handler that blocks (sleeps, waits for an ack, does I/O) keeps its
worker, and the tasks behind it are handed to another worker *before* it
starts, so a slow handler never holds up anyone else's. Workers beyond
``keep_idle`` exit once the queue is empty.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any, Callable

import gevent
from greenlet import greenlet

__all__ = ["WorkerPool"]

log = logging.getLogger(__name__)


class WorkerPool:
    def __init__(self, keep_idle: int = 64) -> None:
        self.keep_idle = keep_idle
        self._tasks: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        self._idle: list[greenlet] = []
        #: Workers woken (or created) that have not started taking tasks yet.
        self._woken = 0
        self.workers = 0
        self._hub: Any = None

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` soon in a worker greenlet; exceptions are logged."""
        self._tasks.append((fn, args))
        if self._woken == 0:
            self._wake_one()

    def _wake_one(self) -> None:
        hub = self._hub
        if hub is None:
            hub = self._hub = gevent.get_hub()
        self._woken += 1
        if self._idle:
            worker = self._idle.pop()
        else:
            worker = greenlet(self._run, parent=hub)
            self.workers += 1
        hub.loop.run_callback(worker.switch)

    def _run(self) -> None:
        tasks = self._tasks
        idle = self._idle
        while True:
            self._woken -= 1
            while tasks:
                fn, args = tasks.popleft()
                if tasks and self._woken == 0:
                    self._wake_one()  # this task may block: someone takes the rest
                try:
                    fn(*args)
                except Exception:
                    log.exception("handler %r failed", fn)
            if len(idle) >= self.keep_idle:
                self.workers -= 1
                return
            idle.append(greenlet.getcurrent())
            self._hub.switch()

    @property
    def idle_count(self) -> int:
        return len(self._idle)

    @property
    def pending(self) -> int:
        return len(self._tasks)
