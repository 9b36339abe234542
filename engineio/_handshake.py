"""Request validation and the handshake, as pure functions ([EIO4] "Handshake").

Every HTTP request to the Engine.IO path goes through :func:`check_request`
before any session is touched, so the whole table of request errors
(PROTOCOL.md 1.9) lives here and nowhere else. The order of the checks is the
reference server's, because clients and the conformance suite observe which
error wins when several apply.
"""

from __future__ import annotations

from dataclasses import dataclass
from json.encoder import encode_basestring_ascii as _json_string
from typing import TYPE_CHECKING, Callable, Mapping, Protocol, TypeVar

from ._config import Config
from ._errors import (
    BAD_HANDSHAKE_METHOD,
    BAD_REQUEST,
    FORBIDDEN,
    SESSION_ID_UNKNOWN,
    TRANSPORT_UNKNOWN,
    UNSUPPORTED_PROTOCOL_VERSION,
    reject,
)
from ._state import _CLOSED
from ._util import trusted_builder

if TYPE_CHECKING:
    from ._session import Session

__all__ = [
    "Request",
    "check_request",
    "SessionCarrier",
    "live_polling_session",
    "open_packet",
    "TRANSPORT_UNKNOWN",
    "SESSION_ID_UNKNOWN",
    "BAD_HANDSHAKE_METHOD",
    "BAD_REQUEST",
    "FORBIDDEN",
    "UNSUPPORTED_PROTOCOL_VERSION",
]

@dataclass(frozen=True, slots=True, kw_only=True)
class Request:
    """What a valid request asks for: a new session (``sid is None``) or an existing one."""

    transport: str
    sid: str | None
    #: A WebSocket request carrying the sid of a polling session: an upgrade.
    is_upgrade: bool = False
    #: Engine.IO protocol revision: 4, or 3 for a legacy client (``Config.allow_eio3``).
    #: For a request on an existing session, that session's revision when known.
    protocol: int = 4


# A valid request on an existing polling session is the hot path (two per
# long-polling round trip): (transport, sid, is_upgrade, protocol) without the
# frozen dataclass's __init__.
_request = trusted_builder(Request)
_EIO_OF = {3: "3", 4: "4"}


def check_request(
    method: str,
    query: Mapping[str, str],
    *,
    is_websocket: bool,
    config: Config,
    session_transport: Callable[[str], str | None],
    session_protocol: Callable[[str], int | None] | None = None,
) -> Request:
    """Validate an Engine.IO request.

    ``is_websocket`` tells whether the request asks for a WebSocket upgrade
    (``Upgrade: websocket``); ``session_transport(sid)`` returns the current
    transport name of a live session, or None when there is no such session;
    ``session_protocol(sid)``, when given, its protocol revision (3 or 4).

    The handshake accepts ``EIO=4``, and ``EIO=3`` when ``config.allow_eio3``
    is set; anything else, a missing ``EIO`` included, is code 5 (PROTOCOL.md
    4: the reference maps a missing EIO to 3, which the v4 suite forbids). A
    request on an existing session whose ``EIO`` names the other revision is a
    protocol mismatch (code 3, as the reference answers); one without ``EIO``
    is let through, as before.

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
        protocol = session_protocol(sid) if session_protocol is not None else None
        eio = query.get("EIO")
        if protocol is not None and eio in ("3", "4") and eio != (_EIO_OF.get(protocol) or str(protocol)):
            raise reject(BAD_REQUEST)  # protocol mismatch
        protocol = protocol or 4
        if transport == "websocket":
            if not is_websocket:
                raise reject(BAD_REQUEST)
            # Whether an upgrade is still possible is the session's call
            # (it may be upgrading or upgraded already): see Session.begin_upgrade.
            return Request(transport=transport, sid=sid, is_upgrade=True, protocol=protocol)
        if current != transport:
            raise reject(BAD_REQUEST)  # polling request on an upgraded session
        return _request(transport, sid, False, protocol)
    if method != "GET":
        raise reject(BAD_HANDSHAKE_METHOD)
    if transport == "websocket" and not is_websocket:
        raise reject(BAD_REQUEST)
    eio = query.get("EIO")
    if eio == "4":
        return Request(transport=transport, sid=None)
    if eio == "3" and config.allow_eio3:
        return Request(transport=transport, sid=None, protocol=3)
    raise reject(UNSUPPORTED_PROTOCOL_VERSION)


class SessionCarrier(Protocol):
    """What a driver keeps per session; :func:`live_polling_session` reads only its session."""

    @property
    def session(self) -> "Session": ...


_Carrier = TypeVar("_Carrier", bound=SessionCarrier)


def live_polling_session(
    method: str,
    query: Mapping[str, str],
    sessions: Mapping[str, _Carrier],
    config: Config,
    now: float,
) -> _Carrier | None:
    """The fast path of :func:`check_request`: a plain poll or send of a live v4 polling session.

    Half of a long-polling round trip's requests are this, so the driver asks
    here first: ``sessions`` maps live sids to whatever the driver keeps per
    session, and the entry found is returned. It accepts only requests
    :func:`check_request` accepts the same way (a GET or POST, ``EIO=4``,
    ``transport=polling`` enabled, a known sid whose session is on polling,
    speaks v4, is not closed and has no deadline due at ``now``), and returns
    None for anything else, which the driver then gives to the general check
    for its exact answer. Never raises. ``tests/engineio/test_polling_fast_check.py``
    holds it to the general path.
    """
    if method != "GET" and method != "POST":
        return None
    sid = query.get("sid")
    if sid is None or query.get("transport") != "polling" or query.get("EIO") != "4":
        return None
    carrier = sessions.get(sid)
    if carrier is None:
        return None
    session = carrier.session
    if (
        session.protocol != 4
        or session.transport != "polling"
        or session.state is _CLOSED
        or "polling" not in config.transports
    ):
        return None
    due = session.next_deadline()
    if due is not None and due <= now:
        return None  # the general path runs the timeout first
    return carrier


def open_packet(sid: str, transport: str, config: Config) -> str:
    """The OPEN packet for a new session: exactly the five keys the spec names.

    v3 sessions get the same packet: [EIO3] names four keys, the reference
    sends ``maxPayload`` to v3 clients too and the [EIO3] suite accepts it.
    The text is what ``json.dumps`` of the whole object gives (compact
    separators); only the sid is encoded per session.
    """
    return '0{"sid":' + _json_string(sid) + "," + config.open_packet_tail(transport)
