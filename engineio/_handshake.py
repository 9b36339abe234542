"""Request validation and the handshake, as pure functions ([EIO4] "Handshake").

Every HTTP request to the Engine.IO path goes through :func:`check_request`
before any session is touched, so the whole table of request errors
(PROTOCOL.md 1.9) lives here and nowhere else. The order of the checks is the
reference server's, because clients and the conformance suite observe which
error wins when several apply.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable, Mapping

from ._config import Config
from ._errors import RequestRejected

__all__ = [
    "Request",
    "check_request",
    "open_packet",
    "TRANSPORT_UNKNOWN",
    "SESSION_ID_UNKNOWN",
    "BAD_HANDSHAKE_METHOD",
    "BAD_REQUEST",
    "FORBIDDEN",
    "UNSUPPORTED_PROTOCOL_VERSION",
]

TRANSPORT_UNKNOWN = 0
SESSION_ID_UNKNOWN = 1
BAD_HANDSHAKE_METHOD = 2
BAD_REQUEST = 3
FORBIDDEN = 4
UNSUPPORTED_PROTOCOL_VERSION = 5

_MESSAGES = {
    TRANSPORT_UNKNOWN: "Transport unknown",
    SESSION_ID_UNKNOWN: "Session ID unknown",
    BAD_HANDSHAKE_METHOD: "Bad handshake method",
    BAD_REQUEST: "Bad request",
    FORBIDDEN: "Forbidden",
    UNSUPPORTED_PROTOCOL_VERSION: "Unsupported protocol version",
}


def reject(code: int, *, http_status: int | None = None) -> RequestRejected:
    """The error for ``code``; HTTP 403 for FORBIDDEN, 400 for the rest (REF)."""
    if http_status is None:
        http_status = 403 if code == FORBIDDEN else 400
    return RequestRejected(code, _MESSAGES[code], http_status=http_status)


@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """What a valid request asks for: a new session (``sid is None``) or an existing one."""

    transport: str
    sid: str | None
    #: A WebSocket request carrying the sid of a polling session: an upgrade.
    is_upgrade: bool = False


def check_request(
    method: str,
    query: Mapping[str, str],
    *,
    is_websocket: bool,
    config: Config,
    session_transport: Callable[[str], str | None],
) -> Request:
    """Validate an Engine.IO request.

    ``is_websocket`` tells whether the request asks for a WebSocket upgrade
    (``Upgrade: websocket``); ``session_transport(sid)`` returns the current
    transport name of a live session, or None when there is no such session.

    Raises RequestRejected with the spec's code and HTTP status.
    """
    transport = query.get("transport")
    if transport not in config.transports:
        raise reject(TRANSPORT_UNKNOWN)
    sid = query.get("sid")
    if sid is not None:
        current = session_transport(sid)
        if current is None:
            raise reject(SESSION_ID_UNKNOWN)
        if transport == "websocket":
            if not is_websocket:
                raise reject(BAD_REQUEST)
            # Whether an upgrade is still possible is the session's call
            # (it may be upgrading or upgraded already): see Session.begin_upgrade.
            return Request(transport=transport, sid=sid, is_upgrade=True)
        if current != transport:
            raise reject(BAD_REQUEST)  # polling request on an upgraded session
        return Request(transport=transport, sid=sid)
    if method != "GET":
        raise reject(BAD_HANDSHAKE_METHOD)
    if transport == "websocket" and not is_websocket:
        raise reject(BAD_REQUEST)
    if query.get("EIO") != "4":
        raise reject(UNSUPPORTED_PROTOCOL_VERSION)
    return Request(transport=transport, sid=None)


def open_packet(sid: str, transport: str, config: Config) -> str:
    """The OPEN packet for a new session: exactly the five keys the spec names."""
    return "0" + json.dumps(
        {
            "sid": sid,
            "upgrades": config.upgrades_for(transport),
            "pingInterval": round(config.ping_interval * 1000),
            "pingTimeout": round(config.ping_timeout * 1000),
            "maxPayload": config.max_payload,
        },
        separators=(",", ":"),
    )
