"""Reusable greenlets for application handlers.

Creating a greenlet per message costs about 10 µs here, more than the whole
protocol work of an echo; handing a task to a parked greenlet costs well
under one. So handlers run on a pool of worker greenlets that grows on
demand: a handler that blocks (sleeps, waits for an ack, does I/O) keeps its
worker, and the tasks behind it are handed to another worker the moment it
waits (gevent's ``switch_out`` hook, :class:`_Worker`), so a slow handler
never holds up anyone else's. Workers beyond ``keep_idle`` exit once the
queue is empty.

Tasks submitted from the hub wait for the hub's callback phase, which comes
after every I/O callback of the loop turn. With thousands of clients ready in
one turn that was thousands of queued tasks, each holding its decoded
packet, arguments and bound method: enough live container objects to set off
the garbage collector's young collections in the middle of the turn, which
promoted every waiting task's objects and so, every few seconds, forced a
full collection over all the connections' objects (0.3-0.6 s at 10,000
connections; issue 19's cost curve). So once ``drain_at`` tasks wait, the hub
hands them to a worker at once (:meth:`WorkerPool._drain_now`) and the queue
stays short however many clients are ready; below that nothing changes.
"""

from __future__ import annotations

import logging
from collections import deque
from typing import Any, Callable

import gevent
from greenlet import getcurrent, greenlet

__all__ = ["WorkerPool", "DRAIN_AT"]

log = logging.getLogger(__name__)

#: Tasks queued from the hub in one loop turn before a worker runs them at
#: once: a few tasks' objects at a time stay below the collector's young
#: threshold (700 live container allocations) with room for everything else.
DRAIN_AT = 32

#: greenlet's switch, without gevent's ``Hub.switch`` (which calls ``switch_out``).
_switch = greenlet.switch


class WorkerPool:
    def __init__(self, keep_idle: int = 64, drain_at: int = DRAIN_AT) -> None:
        self.keep_idle = keep_idle
        self.drain_at = drain_at
        #: How often the hub handed a long queue to a worker at once (tests, benchmarks).
        self.drained_now = 0
        self._tasks: deque[tuple[Callable[..., Any], tuple[Any, ...]]] = deque()
        self._idle: list[greenlet] = []
        #: Workers woken (or created) that have not started taking tasks yet.
        self._woken = 0
        self.workers = 0
        self._hub: Any = None

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Run ``fn(*args)`` soon in a worker greenlet; exceptions are logged."""
        tasks = self._tasks
        tasks.append((fn, args))
        if self._woken == 0:
            self._wake_one()
        elif len(tasks) >= self.drain_at and getcurrent() is self._hub:
            self._drain_now()

    def _drain_now(self) -> None:
        """From the hub: a worker runs the queued tasks now, then the hub goes on.

        The worker counts as woken (the one woken earlier stays so, and
        finds the queue empty when its turn comes); a task that blocks
        switches back here, and the woken worker takes the rest on its turn,
        as when a task blocks on the ordinary path.
        """
        self.drained_now += 1
        self._woken += 1
        if self._idle:
            worker = self._idle.pop()
        else:
            worker = _Worker(self, self._hub)
            self.workers += 1
        worker.switch()

    def _wake_one(self) -> None:
        hub = self._hub
        if hub is None:
            hub = self._hub = gevent.get_hub()
        self._woken += 1
        if self._idle:
            worker = self._idle.pop()
        else:
            worker = _Worker(self, hub)
            self.workers += 1
        hub.loop.run_callback(worker.switch)

    def _blocked(self) -> None:
        """A worker's task waits (it switched to the hub): someone takes the tasks behind it."""
        if self._tasks and self._woken == 0:
            self._wake_one()

    def _run(self) -> None:
        tasks = self._tasks
        idle = self._idle
        me = greenlet.getcurrent()
        while True:
            self._woken -= 1
            while tasks:
                fn, args = tasks.popleft()
                try:
                    fn(*args)
                except Exception:
                    log.exception("handler %r failed", fn)
            if len(idle) >= self.keep_idle:
                self.workers -= 1
                return
            idle.append(me)
            _switch(self._hub)  # greenlet's own switch: gevent's would call switch_out

    @property
    def idle_count(self) -> int:
        return len(self._idle)

    @property
    def pending(self) -> int:
        return len(self._tasks)


class _Worker(greenlet):
    """A worker greenlet that hands the queue on when its task waits.

    gevent calls ``switch_out`` on the current greenlet whenever it switches
    to the hub to wait (``Hub.switch``): for a worker inside a task, that is
    the moment the tasks behind it need another worker. Waking one only then,
    rather than before every task just in case, saves a second worker's wake
    and two greenlet switches per loop turn with more than one task (about a
    third of the pool's cost at a few messages per turn).
    """

    def __init__(self, pool: WorkerPool, hub: Any) -> None:
        super().__init__(pool._run, parent=hub)
        self.pool = pool

    def switch_out(self) -> None:
        """Only a waiting task calls it: an idle worker parks with greenlet's own switch."""
        self.pool._blocked()
