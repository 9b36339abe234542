"""Fair shares of one event loop: the per-turn budgets every driver applies.

Every connection is served from one OS thread. A client that keeps its
socket full (a WebSocket flood, requests pipelined back to back, one POST of
500,000 tiny packets) would otherwise be served for as long as it keeps
sending, and everyone else would wait. So each kind of input has a budget
per loop turn: past it, the connection's remaining work waits for the next
turn, after the loop has polled every other socket. The budgets are counts,
not clock reads (a counter per request or packet costs nothing on the hot
path), sized to about a millisecond of echo work each:

- ``TURN_MESSAGES`` WebSocket messages from one WebSocket;
- ``TURN_REQUESTS`` requests from one pipelining HTTP connection;
- ``TURN_PACKETS`` packets from one polling POST's payload.

How a driver waits for the next turn is its own business
(:mod:`transports.gevent._turns`, :mod:`transports.asyncio._turns`).
"""

from __future__ import annotations

__all__ = ["TURN_MESSAGES", "TURN_REQUESTS", "TURN_PACKETS"]

#: Messages one WebSocket hands over per loop turn before others get theirs:
#: about 1 ms of echo handling, and far above what a normal client has
#: waiting at once (a flood of small messages fills a 16 KB read with ~600).
TURN_MESSAGES = 64
#: Requests one keep-alive connection is served per loop turn. A polling
#: client sends one at a time (the budget never bites); a client pipelining
#: 404s or POSTs back to back fills a 64 KB read with ~600 of them. A request
#: costs several WebSocket messages' work (an HTTP head, an answer, the
#: Engine.IO checks): 64 a turn kept a normal client's connect + echo at
#: ~45 ms p50 behind pipelined POSTs (benchmarks/fairness.py), 16 at ~15 ms.
TURN_REQUESTS = 16
#: Packets of one polling POST acted on per loop turn: a 1 MB body holds up
#: to 500,000 noops (or ~77,000 events); a browser's POST holds a few.
TURN_PACKETS = 64
