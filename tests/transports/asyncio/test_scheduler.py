"""The asyncio scheduler: deadlines on one ``loop.call_at`` timer over the shared heap."""

from __future__ import annotations

import asyncio
from time import monotonic

from transports.asyncio import Scheduler


class Target:
    def __init__(self) -> None:
        self.scheduled_at: float | None = None
        self.fired: list[float] = []
        self.event = asyncio.Event()

    def on_deadline(self, now: float) -> None:
        self.fired.append(now)
        self.event.set()


async def _fired(target: Target, timeout: float = 5.0) -> None:
    await asyncio.wait_for(target.event.wait(), timeout)


def test_a_deadline_fires_at_or_after_it_never_before() -> None:
    async def main() -> None:
        scheduler = Scheduler(coalesce=0.0)
        scheduler.start()
        target = Target()
        due = monotonic() + 0.05
        scheduler.schedule(target, due)
        await _fired(target)
        assert target.fired[0] >= due
        assert scheduler.active == 0 and target.scheduled_at is None
        scheduler.stop()

    asyncio.run(main())


def test_an_earlier_deadline_rearms_the_timer() -> None:
    async def main() -> None:
        scheduler = Scheduler(coalesce=0.0)
        scheduler.start()
        late, early = Target(), Target()
        scheduler.schedule(late, monotonic() + 3600)
        scheduler.schedule(early, monotonic() + 0.01)
        await _fired(early)  # not an hour: the timer moved earlier
        assert not late.fired and scheduler.active == 1
        scheduler.stop()

    asyncio.run(main())


def test_a_cancelled_deadline_does_not_fire() -> None:
    async def main() -> None:
        scheduler = Scheduler(coalesce=0.0)
        scheduler.start()
        cancelled, witness = Target(), Target()
        scheduler.schedule(cancelled, monotonic() + 0.01)
        scheduler.schedule(witness, monotonic() + 0.02)
        scheduler.cancel(cancelled)
        await _fired(witness)
        assert not cancelled.fired
        scheduler.stop()

    asyncio.run(main())


def test_a_later_deadline_keeps_the_earlier_entry() -> None:
    """A moved-later deadline fires at the old time, and the target re-reports (shared heap rule)."""
    async def main() -> None:
        scheduler = Scheduler(coalesce=0.0)
        scheduler.start()
        target = Target()
        first = monotonic() + 0.01
        scheduler.schedule(target, first)
        scheduler.schedule(target, first + 3600)
        assert target.scheduled_at == first and len(scheduler) == 1
        await _fired(target)
        scheduler.stop()

    asyncio.run(main())


def test_deadlines_scheduled_before_start_run_once_started() -> None:
    async def main() -> None:
        scheduler = Scheduler(coalesce=0.0)
        target = Target()
        scheduler.schedule(target, monotonic() + 0.01)
        await asyncio.sleep(0)
        assert not target.fired
        scheduler.start()
        await _fired(target)
        scheduler.stop()

    asyncio.run(main())
