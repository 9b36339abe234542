"""Limits of the HTTP layer, with the reasons for their defaults.

Every number a hostile client could push on is bounded here and configurable
through :class:`HttpLimits`; the Engine.IO limits (payload size, timeouts) live
in :class:`engineio.Config`.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["HttpLimits"]


@dataclass(frozen=True, slots=True, kw_only=True)
class HttpLimits:
    #: Request line plus headers. Browsers send 1-4 KB; 16 KB leaves room for
    #: big cookies while keeping a slowloris' memory bounded (h11's own default).
    max_header_bytes: int = 16 * 1024
    #: Header fields per request; a browser sends about 20.
    max_header_count: int = 100
    #: Seconds a client has to send a complete request head (slowloris).
    header_timeout: float = 10.0
    #: Seconds an idle keep-alive connection is kept open between requests.
    keepalive_timeout: float = 75.0
    #: Seconds allowed between two reads of a request body.
    body_timeout: float = 30.0
    #: Seconds a client has to send a whole request body, however steadily it
    #: dribbles (body_timeout only bounds the gaps). Counted from when the
    #: server starts waiting for body bytes; the head has header_timeout.
    #: Node's requestTimeout (head and body together) is 300 s.
    request_timeout: float = 300.0
    #: Concurrent TCP connections before new ones are answered 503.
    max_connections: int = 20_000
