"""Waiting for the loop's next turn (the budgets are shared: :mod:`transports._turns`).

``asyncio.sleep(0)`` resumes the task from a callback queued for the next
iteration of the loop, which first polls the selector (with no wait): every
socket that became ready meanwhile is served before the task goes on.
"""

from __future__ import annotations

import asyncio

from .._turns import TURN_MESSAGES, TURN_PACKETS, TURN_REQUESTS

__all__ = ["TURN_MESSAGES", "TURN_REQUESTS", "TURN_PACKETS", "next_turn"]


async def next_turn() -> None:
    """Let the loop poll every socket before this task goes on."""
    await asyncio.sleep(0)
