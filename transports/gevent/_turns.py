"""Waiting for the hub's next loop turn (the budgets are shared: :mod:`transports._turns`).

``gevent.sleep(0)`` is not it, since it resumes from the hub's callback
queue, which runs again before the next poll. A zero-delay timer fires only
after the next poll, beside every socket that became ready meanwhile:
:func:`next_turn` for a greenlet, a timer of the caller's own
(``get_hub().loop.timer(0.0)``) for code running in the hub.
"""

from __future__ import annotations

from gevent import get_hub

from .._turns import TURN_MESSAGES, TURN_PACKETS, TURN_REQUESTS

__all__ = ["TURN_MESSAGES", "TURN_REQUESTS", "TURN_PACKETS", "next_turn"]


def next_turn() -> None:
    """Let the hub run one loop turn (poll every socket) before this greenlet goes on.

    Only from a greenlet, never from the hub itself.
    """
    hub = get_hub()
    timer = hub.loop.timer(0.0)
    try:
        hub.wait(timer)
    finally:
        timer.close()
