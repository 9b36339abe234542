"""The worker pool runs a long queue from the hub at once, and the answers do not change.

:class:`WorkerPool` normally runs the tasks the hub queued in one loop turn
after every I/O callback of that turn. Once ``drain_at`` tasks wait, the hub
hands them to a worker at once (``_drain_now``), so thousands of clients
ready in one turn never make thousands of queued tasks (whose objects set
off the garbage collector mid-turn; issue 19). The tests drive a pool from
a callback of the hub, as the WebSocket reader does, and compare it with a
pool that never drains early (``drain_at`` out of reach): the same tasks
run, each client's in its order, a blocking task holds up nobody else, and
the early drain really answered (``drained_now`` counted).
"""

from __future__ import annotations

import gc
from typing import Any

import gevent
import pytest
from gevent.event import Event
from hypothesis import given, settings
from hypothesis import strategies as st

from transports.gevent._workers import WorkerPool

pytestmark = pytest.mark.timeout(60)

NEVER = 10**9


def _from_hub(fn: Any, *args: Any) -> None:
    """Run ``fn(*args)`` in a callback of the hub (where the WebSocket reader submits), and wait."""
    done = Event()

    def call() -> None:
        try:
            fn(*args)
        finally:
            done.set()

    gevent.get_hub().loop.run_callback(call)
    done.wait()


def _run_plan(drain_at: int, plan: list[tuple[int, bool]]) -> tuple[list[tuple[int, int]], int, int]:
    """Submit ``plan`` (client, blocks?) from one hub callback; what ran, in which order.

    Returns the (client, n-th task of that client) pairs in the order they
    finished, the longest queue seen at a submit, and the early drains.
    """
    pool = WorkerPool(drain_at=drain_at)
    finished: list[tuple[int, int]] = []
    release = Event()
    longest = 0

    def task(client: int, k: int, blocks: bool) -> None:
        if blocks:
            release.wait()
        finished.append((client, k))

    def submit_all() -> None:
        nonlocal longest
        seen: dict[int, int] = {}
        for client, blocks in plan:
            k = seen.get(client, 0)
            seen[client] = k + 1
            pool.submit(task, client, k, blocks)
            longest = max(longest, pool.pending)

    _from_hub(submit_all)
    gevent.sleep(0)
    release.set()
    with gevent.Timeout(10):
        while len(finished) < len(plan):
            gevent.sleep(0.001)
    return finished, longest, pool.drained_now


def test_a_long_queue_from_the_hub_is_drained_early_in_order() -> None:
    plan = [(i, False) for i in range(1000)]
    finished, longest, drained = _run_plan(32, plan)
    assert finished == [(i, 0) for i in range(1000)]
    assert longest <= 32
    assert drained >= 1000 // 32 - 1
    # the general path: one queue, run after the callback
    finished, longest, drained = _run_plan(NEVER, plan)
    assert finished == [(i, 0) for i in range(1000)]
    assert longest == 1000 and drained == 0


@pytest.mark.parametrize("drain_at", [8, NEVER])
def test_a_blocking_task_holds_up_nobody(drain_at: int) -> None:
    plan = [(i, i == 5) for i in range(200)]
    finished, _, drained = _run_plan(drain_at, plan)
    assert (drained > 0) == (drain_at == 8)
    assert sorted(finished) == [(i, 0) for i in range(200)]
    assert finished[-1] == (5, 0)  # it waited; all the others ran meanwhile


def test_tasks_that_do_not_wait_need_one_worker() -> None:
    """A second worker is woken only when a task waits, not before every task just in case."""
    pool = WorkerPool()
    ran: list[int] = []

    def submit_some() -> None:
        for i in range(10):
            pool.submit(ran.append, i)

    for _ in range(5):
        _from_hub(submit_some)
    gevent.sleep(0)
    assert ran == list(range(10)) * 5
    assert pool.workers == 1


def test_a_greenlet_submitting_never_drains_early() -> None:
    pool = WorkerPool(drain_at=4)
    ran: list[int] = []

    def submit_many() -> None:
        for i in range(50):
            pool.submit(ran.append, i)
        assert ran == []  # nothing ran yet: only the hub hands over at once

    gevent.spawn(submit_many).join()
    with gevent.Timeout(10):
        while len(ran) < 50:
            gevent.sleep(0.001)
    assert ran == list(range(50)) and pool.drained_now == 0


def _young_collections(drain_at: int, tasks: int = 5000) -> int:
    """Young collections while the hub submits ``tasks`` tasks holding a fresh packet each."""
    pool = WorkerPool(drain_at=drain_at)
    count = [0]

    def on_gc(phase: str, info: dict[str, Any]) -> None:
        if phase == "start":
            count[0] += 1

    def submit_all() -> None:
        gc.collect()
        gc.callbacks.append(on_gc)
        try:
            for i in range(tasks):
                pool.submit(len, ["echo", {"n": i}])  # a decoded packet: a list and a dict
        finally:
            gc.callbacks.remove(on_gc)

    _from_hub(submit_all)
    gevent.sleep(0)
    return count[0]


def test_an_early_drain_keeps_the_collector_quiet() -> None:
    # 5,000 queued tasks of 4 container objects each cross the young threshold many times
    assert _young_collections(NEVER) >= 10
    assert _young_collections(32) <= 1


def _numbered(plan: list[tuple[int, bool]]) -> list[tuple[int, int]]:
    seen: dict[int, int] = {}
    out = []
    for client, _ in plan:
        k = seen.get(client, 0)
        seen[client] = k + 1
        out.append((client, k))
    return out


def _in_order_per_client(plan: list[tuple[int, bool]], finished: list[tuple[int, int]]) -> dict[int, list[int]]:
    """Each client's non-blocking tasks, in the order they finished."""
    blocking = {ck for ck, (_, blocks) in zip(_numbered(plan), plan) if blocks}
    out: dict[int, list[int]] = {}
    for c, k in finished:
        if (c, k) not in blocking:
            out.setdefault(c, []).append(k)
    return out


def test_early_drains_change_no_answer() -> None:
    """Differential: the same tasks finish, each client's non-blocking ones in order, as without.

    Also counts the examples in which the early drain answered: a run that
    only ever saw the general path would prove nothing.
    """
    counts = [0, 0]  # [examples with an early drain, examples]

    @settings(max_examples=80, database=None)
    @given(
        plan=st.lists(st.tuples(st.integers(0, 7), st.integers(0, 15).map(lambda x: x == 0)),
                      min_size=20, max_size=300),
        drain_at=st.integers(1, 16),
    )
    def check(plan: list[tuple[int, bool]], drain_at: int) -> None:
        early, _, drained = _run_plan(drain_at, plan)
        general, _, none = _run_plan(NEVER, plan)
        assert none == 0
        assert sorted(early) == sorted(general) == sorted(_numbered(plan))
        assert _in_order_per_client(plan, early) == _in_order_per_client(plan, general)
        for ks in _in_order_per_client(plan, early).values():
            assert ks == sorted(ks)
        counts[0] += drained > 0
        counts[1] += 1

    check()
    assert counts[0] >= counts[1] // 3, counts
