"""Errors of the Engine.IO protocol core, split by blame as h11 does.

A :class:`RemoteProtocolError` means the peer broke the protocol; it carries the
hints the I/O layer needs to answer without deciding anything itself: the HTTP
status (and, for request errors, the spec's JSON error code and message) and the
close reason the session ends with. A :class:`LocalProtocolError` means our own
code asked for something the protocol does not allow (a bug on our side).
"""

from __future__ import annotations

import json

__all__ = [
    "ProtocolError",
    "LocalProtocolError",
    "RemoteProtocolError",
    "RequestRejected",
    "reject",
    "TRANSPORT_UNKNOWN",
    "SESSION_ID_UNKNOWN",
    "BAD_HANDSHAKE_METHOD",
    "BAD_REQUEST",
    "FORBIDDEN",
    "UNSUPPORTED_PROTOCOL_VERSION",
]

# The request errors of [EIO4] (PROTOCOL.md 1.9): the one table of codes and
# messages. Every refusal, in the core or in a transport, is built by
# :func:`reject` from it, so a client sees the same text whoever refused.
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


class ProtocolError(Exception):
    """Base class of every error the protocol core raises on purpose."""


class LocalProtocolError(ProtocolError):
    """Our side misused the state machine (sending on a closed session, ...)."""


class RemoteProtocolError(ProtocolError):
    """The peer sent something the protocol forbids.

    ``http_status`` is what a polling request that caused it must be answered
    with; ``close_reason`` is set when the error ended the session.
    """

    def __init__(
        self, message: str, *, http_status: int = 400, close_reason: str | None = None
    ) -> None:
        super().__init__(message)
        self.http_status = http_status
        self.close_reason = close_reason


class RequestRejected(RemoteProtocolError):
    """An HTTP request refused before it reached a session ([EIO4] errors table).

    ``code`` and ``message`` are the spec's error code and text; ``body()``
    renders the JSON body a polling request is answered with. Codes: 0 transport
    unknown, 1 session ID unknown, 2 bad handshake method, 3 bad request,
    4 forbidden, 5 unsupported protocol version.
    """

    def __init__(self, code: int, message: str, *, http_status: int = 400) -> None:
        super().__init__(message, http_status=http_status)
        self.code = code
        self.message = message

    def body(self) -> bytes:
        return json.dumps(
            {"code": self.code, "message": self.message}, separators=(",", ":")
        ).encode()


def reject(code: int, *, http_status: int | None = None) -> RequestRejected:
    """The error for ``code`` with the table's message; HTTP 403 for FORBIDDEN, 400 for the rest (REF).

    Raises KeyError for a code the table does not have (a bug on our side).
    """
    if http_status is None:
        http_status = 403 if code == FORBIDDEN else 400
    return RequestRejected(code, _MESSAGES[code], http_status=http_status)
