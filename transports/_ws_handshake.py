"""A strict fast path for the WebSocket opening handshake (RFC 6455 section 4.2).

Strategy: wsproto's ``H11Handshake`` judges an upgrade by serialising the
request we already parsed back into bytes with h11 and parsing it again, which
costs about 120 µs per connection, a third of a whole Socket.IO handshake. For
the request every client sends (a plain GET with one each of ``Upgrade:
websocket``, ``Connection: Upgrade``, ``Sec-WebSocket-Version: 13`` and a
well-formed ``Sec-WebSocket-Key``, no subprotocol, and no extension we would
negotiate) the answer is fixed but for the accept token, so we check those
fields ourselves and format the 101 directly.

Like the fast HTTP parser, this path only ever *declines*: anything unusual
(a repeated field, a subprotocol, an offered extension while compression is
on, non-ASCII where wsproto decodes ASCII or IDNA) returns None and wsproto
judges as before, refusals and permessage-deflate included. The caller
(:func:`._websocket.websocket_response`) uses it only for a head that our
fast HTTP parser read (lower-case names, stripped values, HTTP/1.1, a grammar
h11 accepts, exactly one Host), so h11's own re-parse inside wsproto cannot
refuse what we accept; ``tests/transports/test_ws_handshake.py`` checks that
the two agree on heads read by the real HTTP layer.
"""

from __future__ import annotations

import re

from wsproto import ConnectionType
from wsproto.events import AcceptConnection, Request
from wsproto.extensions import PerMessageDeflate
from wsproto.handshake import H11Handshake
from wsproto.utilities import LocalProtocolError as WsLocalError
from wsproto.utilities import RemoteProtocolError as WsRemoteError
from wsproto.utilities import generate_accept_token

from ._deflate import MessageDeflate, negotiated
from ._errors import TransportError
from ._request import HttpRequest, status_phrase

__all__ = [
    "HandshakeFailed", "plain_upgrade_response", "valid_key", "upgrade_response", "refusal_response",
]


class HandshakeFailed(TransportError):
    """The upgrade request is not a valid WebSocket opening handshake."""

#: A Sec-WebSocket-Key is the base64 of 16 random bytes (section 4.1, item 7):
#: 22 significant characters, then "==". (Of the 22nd only 2 bits count; like
#: Node's ws, the other 4 are not required to be zero.) wsproto takes any
#: value, so the general path checks it with :func:`valid_key` first; here a
#: malformed key is declined, and refused there.
_KEY = re.compile(r"[A-Za-z0-9+/]{22}==")
_KEY_BYTES = re.compile(_KEY.pattern.encode())


def valid_key(key: str | bytes | None) -> bool:
    """Whether a Sec-WebSocket-Key value is the base64 of exactly 16 bytes.

    RFC 6455 4.2.1 item 5: the server must refuse (400) any other. Surrounding
    whitespace is ignored (HTTP strips it from field values).
    """
    if key is None:
        return False
    if isinstance(key, bytes):
        return _KEY_BYTES.fullmatch(key.strip(b" \t")) is not None
    return _KEY.fullmatch(key.strip(" \t")) is not None

#: The fields the handshake reads. Each must appear at most once here:
#: wsproto keeps the last of a repeated field in some checks and joins all of
#: them in others (the key), so repeats are its call.
_WATCHED = frozenset(
    {
        b"host",
        b"upgrade",
        b"connection",
        b"sec-websocket-key",
        b"sec-websocket-version",
        b"sec-websocket-extensions",
        b"sec-websocket-protocol",
    }
)

#: Byte for byte what wsproto writes through h11 for an AcceptConnection with
#: no subprotocol, no extension and no extra header.
_RESPONSE = (
    b"HTTP/1.1 101 Switching Protocols\r\n"
    b"Upgrade: websocket\r\n"
    b"Connection: Upgrade\r\n"
    b"Sec-WebSocket-Accept: %s\r\n\r\n"
)


def plain_upgrade_response(
    method: str, headers: list[tuple[bytes, bytes]], *, compression: bool
) -> bytes | None:
    """The 101 response for a plain upgrade request, or None to let wsproto judge.

    ``headers`` are the fast parser's (lower-case names, stripped values).
    ``compression`` is whether we would offer permessage-deflate: then a
    client that asks for an extension needs wsproto's negotiation. Without
    it, an offered extension is simply not answered, as wsproto does.
    Never raises.
    """
    if method != "GET":
        return None
    found: dict[bytes, bytes] = {}
    for name, value in headers:
        if name in _WATCHED:
            if name in found:
                return None
            found[name] = value
    get = found.get
    # wsproto compares these exactly (after h11 stripped the whitespace).
    if get(b"sec-websocket-version") != b"13":
        return None
    upgrade = get(b"upgrade")
    if upgrade is None or upgrade.lower() != b"websocket":
        return None
    key = get(b"sec-websocket-key")
    if key is None or _KEY_BYTES.fullmatch(key) is None:
        return None
    if b"sec-websocket-protocol" in found:
        return None  # we choose no subprotocol; wsproto answers those
    extensions = get(b"sec-websocket-extensions")
    # wsproto decodes the offer as ASCII even when it negotiates nothing.
    if extensions is not None and (compression or not extensions.isascii()):
        return None
    connection = get(b"connection")
    # wsproto decodes the tokens as ASCII; within the fast parser's grammar
    # bytes.strip() removes exactly what str.strip() does.
    if connection is None or not connection.isascii():
        return None
    for token in connection.split(b","):
        if token.strip().lower() == b"upgrade":
            break
    else:
        return None
    host = get(b"host")
    # wsproto decodes Host as IDNA, which raises on some non-ASCII and on some
    # "xn--" labels; plain ASCII without that prefix decodes as ASCII always.
    if host is None or not host.isascii() or b"xn--" in host.lower():
        return None
    return _RESPONSE % generate_accept_token(key)


def upgrade_response(
    request: HttpRequest, *, fast: bool, compression: bool
) -> tuple[bytes, MessageDeflate | None]:
    """Judge an upgrade request: the 101 response to write, and the agreed compression.

    ``fast`` says the head was read by our own fast HTTP parser (HTTP/1.1,
    a grammar h11 accepts): then a plain request is answered by
    :func:`plain_upgrade_response`. Everything else, and every refusal, is
    wsproto's ``H11Handshake``: a WSGI server's request, an h11-parsed
    head, permessage-deflate, subprotocols. The second value is the
    permessage-deflate codec when it was agreed, else None. Nothing is
    written here.

    Raises HandshakeFailed (the caller answers 400).
    """
    if fast:
        response = plain_upgrade_response(request.method, request.headers, compression=compression)
        if response is not None:
            return response, None
    if not valid_key(request.header("sec-websocket-key")):
        raise HandshakeFailed("Sec-WebSocket-Key missing or not the base64 of 16 bytes")
    handshake = H11Handshake(ConnectionType.SERVER)
    try:
        handshake.initiate_upgrade_connection(request.headers, request.target)
        event = next(handshake.events(), None)
    except (WsRemoteError, WsLocalError) as exc:
        raise HandshakeFailed(str(exc)) from None
    if not isinstance(event, Request):
        raise HandshakeFailed("not a WebSocket handshake")
    extension = PerMessageDeflate() if compression else None
    try:
        data = handshake.send(AcceptConnection(extensions=[extension] if extension else []))
    except (WsLocalError, WsRemoteError) as exc:
        raise HandshakeFailed(str(exc)) from None
    return data, negotiated(extension)


def refusal_response(status: int, message: str) -> bytes:
    """An upgrade refused the way the reference server does (plain text, then close)."""
    body = message.encode()
    return (
        f"HTTP/1.1 {status} {status_phrase(status).decode()}\r\nConnection: close\r\n"
        f"Content-type: text/html\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
