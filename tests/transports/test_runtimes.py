"""What both runtimes do with a callback handed over before their loop is bound.

An adapter with threads of its own (the Redis link) may have results for a
server that is built but not yet serving. gevent hands them to the hub of the
thread that built the runtime (the one ``run``/``start`` then serve on);
asyncio keeps them, in order, for the loop ``bind`` binds (an ``AsyncServer``
is often built before uvicorn's loop exists). Waits are on the callbacks
themselves: an AsyncResult, a future.
"""

from __future__ import annotations

import asyncio
import threading
from typing import Any

from gevent.event import AsyncResult

from transports.asyncio._runtime import AsyncioRuntime
from transports.gevent._runtime import GeventRuntime


def _from_a_thread(fn: Any, *args: Any) -> None:
    thread = threading.Thread(target=fn, args=args)
    thread.start()
    thread.join()


def test_gevent_before_bind_hands_over_to_the_building_threads_hub() -> None:
    runtime = GeventRuntime()
    got: AsyncResult[int] = AsyncResult()
    _from_a_thread(runtime.call_soon_threadsafe, got.set, 1)
    assert got.get(timeout=5) == 1
    runtime.bind()
    again: AsyncResult[int] = AsyncResult()
    _from_a_thread(runtime.call_soon_threadsafe, again.set, 2)
    assert again.get(timeout=5) == 2


def test_asyncio_before_bind_keeps_callbacks_in_order_for_the_loop_it_binds() -> None:
    runtime = AsyncioRuntime()  # built outside any loop, as at import
    order: list[Any] = []
    _from_a_thread(lambda: [runtime.call_soon_threadsafe(order.append, i) for i in range(3)])
    assert order == []  # kept: there is no loop to run them yet

    async def main() -> None:
        runtime.bind()
        done = asyncio.get_running_loop().create_future()
        _from_a_thread(runtime.call_soon_threadsafe, lambda: (order.append("after"), done.set_result(None)))
        await asyncio.wait_for(done, 5)
        assert threading.get_ident() == runtime.thread

    asyncio.run(main())
    assert order == [0, 1, 2, "after"]
