"""What the Admin UI is sent: sockets, timestamps, aggregated counters.

The shapes are those of the reference instrumentation (``@socket.io/admin-ui``
0.5): a socket is ``{id, clientId, transport, nsp, data, handshake, rooms}``,
with ``handshake`` = ``{address, headers, query, issued, secure, time, url,
xdomain}`` (never the CONNECT auth: the admin's own carries its password),
timestamps are ISO 8601 strings in UTC with milliseconds (a JS ``Date`` as
JSON), and aggregated events are ``{timestamp, type, subType?, count}`` per
second.
"""

from __future__ import annotations

from datetime import datetime, timezone
from time import time
from typing import Any, Iterable, Mapping

__all__ = ["EventBuffer", "iso_now", "jsonable", "serialize_socket"]


def iso_now() -> str:
    """Now as ``new Date().toJSON()`` writes it: ``2024-01-31T12:00:00.123Z``."""
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _js_date_string(seconds: float) -> str:
    """A time as ``Date.prototype.toString`` writes it, in UTC."""
    moment = datetime.fromtimestamp(seconds, timezone.utc)
    return moment.strftime("%a %b %d %Y %H:%M:%S GMT+0000 (Coordinated Universal Time)")


def jsonable(value: Any, depth: int = 0) -> Any:
    """``value`` with whatever JSON cannot carry turned into strings (user data is free-form)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    if depth > 32:
        return repr(value)
    if isinstance(value, Mapping):
        return {str(k): jsonable(v, depth + 1) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v, depth + 1) for v in value]
    if isinstance(value, (set, frozenset)):
        return [jsonable(v, depth + 1) for v in sorted(value, key=repr)]
    return str(value)


def serialize_socket(
    *,
    sid: str,
    namespace: str,
    client_id: str | None,
    transport: str | None,
    handshake: Mapping[str, Any],
    data: Mapping[str, Any],
    rooms: Iterable[str],
) -> dict[str, Any]:
    """A socket as the Admin UI lists it; ``handshake`` as :class:`SocketInfo` holds it."""
    headers = handshake.get("headers") or {}
    issued = handshake.get("issued") or time()
    address = (
        headers.get("cf-connecting-ip") or headers.get("x-forwarded-for") or handshake.get("address", "")
    )
    user_data = {k: v for k, v in data.items() if k != "_admin"}
    return {
        "id": sid,
        "clientId": client_id,
        "transport": transport,
        "nsp": namespace,
        "data": jsonable(user_data),
        "handshake": {
            "address": address,
            "headers": dict(headers),
            "query": dict(handshake.get("query") or {}),
            "issued": int(issued * 1000),
            "secure": bool(handshake.get("secure", False)),
            "time": _js_date_string(issued),
            "url": handshake.get("url", ""),
            "xdomain": "origin" in headers,
        },
        "rooms": list(rooms),
    }


class EventBuffer:
    """Counters per second, type and sub-type, handed out and cleared with each ``server_stats``."""

    __slots__ = ("_counts",)

    def __init__(self) -> None:
        self._counts: dict[tuple[int, str, str | None], int] = {}

    def push(self, type_: str, sub_type: str | None = None, count: int = 1) -> None:
        key = (int(time()) * 1000, type_, sub_type)
        counts = self._counts
        counts[key] = counts.get(key, 0) + count

    def values_and_clear(self) -> list[dict[str, Any]]:
        counts, self._counts = self._counts, {}
        out = []
        for (timestamp, type_, sub_type), count in counts.items():
            item: dict[str, Any] = {"timestamp": timestamp, "type": type_}
            if sub_type is not None:
                item["subType"] = sub_type
            item["count"] = count
            out.append(item)
        return out

    def clear(self) -> None:
        self._counts = {}
