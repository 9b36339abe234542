"""Sticky routing: which worker owns a request, read from its Engine.IO sid.

Every worker process gets a number of its own, ``wid``, never reused while
the supervisor lives (a restarted or reloaded worker gets a new one), and
prefixes every Engine.IO session id it makes with it: ``"<wid>.<random>"``
(``.`` is an unreserved URL character, so clients carry it unchanged in
``?sid=``). The supervisor therefore needs no table of sessions: the first
request head of a connection names its worker. A request without a sid (a
handshake, a page) may go anywhere; a sid whose worker is gone goes anywhere
too, and is answered "Session ID unknown" there, as it would be by the
worker itself, since its session ended with it.

Pure functions on bytes, so the supervisor (no event loop) and the workers
(gevent) share them and tests need no socket.
"""

from __future__ import annotations

import secrets
from typing import Callable

from ..._request import _parse_query

__all__ = ["sid_factory", "owner_of_sid", "owner_of_head", "head_end", "MAX_WID_DIGITS"]

#: A wid has at most this many digits (a million restarts); longer prefixes are not ours.
MAX_WID_DIGITS = 7


def sid_factory(wid: int) -> Callable[[], str]:
    """Session ids for worker ``wid``: its prefix, then 120 random bits (as the engine's default)."""
    prefix = f"{wid}."

    def new_sid() -> str:
        return prefix + secrets.token_urlsafe(15)

    return new_sid


def owner_of_sid(sid: str) -> int | None:
    """The wid in ``sid``'s prefix, or None when it has none (not made by a worker)."""
    head, dot, _ = sid.partition(".")
    if not dot or not head or len(head) > MAX_WID_DIGITS or not head.isdigit() or not head.isascii():
        return None
    return int(head)


def head_end(buffer: bytes) -> int:
    """Where the first request head ends (index past its blank line), or -1 while incomplete.

    A bare-LF head (``\\n\\n``) counts too: the worker's parser judges it.
    """
    end = buffer.find(b"\r\n\r\n")
    if end >= 0:
        return end + 4
    end = buffer.find(b"\n\n")
    return end + 2 if end >= 0 else -1


def owner_of_head(head: bytes) -> int | None:
    """The wid owning the request whose head (or its first line) is ``head``, or None.

    Only the request line is read: ``METHOD SP target SP version``; the
    target's ``sid`` query parameter decides. Anything unusual answers None
    (any worker), and that worker's own parser answers the client.
    """
    line_end = head.find(b"\n")
    line = head[: line_end if line_end >= 0 else len(head)]
    parts = line.split(b" ")
    if len(parts) != 3:
        return None
    target = parts[1]
    mark = target.find(b"?")
    if mark < 0 or b"sid=" not in target:
        return None
    try:
        query = _parse_query(target[mark + 1 :].decode("latin-1"))
    except ValueError:
        return None
    sid = query.get("sid")
    return owner_of_sid(sid) if sid else None
