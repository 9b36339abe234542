"""Handler failures in the log: named, and rate-limited.

A handler that fails on every event would otherwise write one traceback per
event: 10,000 failing calls, 10,000 tracebacks, and the one line that matters
scrolls away. :class:`FailureLog` writes the first :data:`BURST` failures of
an interval in full (with traceback), counts the rest, and writes the count
in one line when the interval ends (a timer armed by the first suppressed
failure through the server's runtime, so the count appears even if the
failures stop).

Every line names what failed the way the application knows it: the event,
the namespace, the sid and the handler's qualified name
(:func:`handler_name`).
"""

from __future__ import annotations

import logging
from time import monotonic
from typing import Any, Callable

from transports._runtime import Timer

__all__ = ["BURST", "INTERVAL", "FailureLog", "handler_name"]

#: Failures written in full per interval; enough to see a pattern, few enough to read.
BURST = 5
#: Seconds per interval (one summary line at most per interval).
INTERVAL = 60.0


def handler_name(fn: Any) -> str:
    """``module.qualname`` of a handler (a method: its class's; a partial: its function's)."""
    target = getattr(fn, "func", fn)  # functools.partial (Namespace.trigger_event)
    target = getattr(target, "__func__", target)  # bound method
    module = getattr(target, "__module__", None)
    name = getattr(target, "__qualname__", None) or getattr(target, "__name__", None) or repr(target)
    return f"{module}.{name}" if module else str(name)


class FailureLog:
    """Logs failures with tracebacks, :data:`BURST` per :data:`INTERVAL`, then counts them."""

    def __init__(
        self,
        logger: Callable[[], logging.Logger],
        burst: int = BURST,
        interval: float = INTERVAL,
        clock: Callable[[], float] = monotonic,
        later: Callable[[float, Callable[[], None]], Timer] | None = None,
    ) -> None:
        self._logger = logger
        #: ``later(delay, fn)`` arms the end-of-interval flush (None: no timer;
        #: the count is then written by the next failure after the interval).
        self._later = later
        self.burst = burst
        self.interval = interval
        self.clock = clock
        self.window_end = 0.0
        self.shown = 0
        self.suppressed = 0
        self._flush_timer: Timer | None = None

    def failed(self, message: str, *args: Any) -> None:
        """Log ``message % args`` at ERROR with the current exception, or count it."""
        now = self.clock()
        if now >= self.window_end:
            self.flush()
            self.window_end = now + self.interval
            self.shown = 0
        if self.shown < self.burst:
            self.shown += 1
            last = self.shown == self.burst
            self._logger().error(
                message + (" (further failures in the next %.0f s are counted, not shown)" if last else ""),
                *args, *((self.interval,) if last else ()), exc_info=True,
            )
            return
        self.suppressed += 1
        if self._flush_timer is None and self._later is not None:
            self._flush_timer = self._later(max(0.0, self.window_end - now), self.flush)

    def flush(self) -> None:
        """Write the count of suppressed failures, if any (at the end of an interval)."""
        timer, self._flush_timer = self._flush_timer, None
        if timer is not None:
            timer.cancel()  # harmless when it is the timer running this flush
        if self.suppressed:
            count, self.suppressed = self.suppressed, 0
            self._logger().error(
                "%d more handler failures in the last %.0f s (tracebacks not shown)", count, self.interval
            )
