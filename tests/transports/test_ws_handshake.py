"""The fast WebSocket handshake never accepts what wsproto refuses, and answers alike.

:func:`plain_upgrade_response` may decline anything (wsproto then judges),
but an upgrade it accepts must be one wsproto's ``H11Handshake`` accepts from
the same request, with byte for byte the same 101. Requests are read by the
real HTTP layer from raw heads (so the headers are exactly what the
handshake gets in production), over an in-memory socket.
"""

from __future__ import annotations

import base64
import os

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wsproto import ConnectionType
from wsproto.events import AcceptConnection, Request
from wsproto.extensions import PerMessageDeflate
from wsproto.handshake import H11Handshake

from transports import HttpConnection, HttpLimits, HttpRequest
from transports import _ws_handshake
from transports.gevent._websocket import HandshakeFailed, start_websocket, websocket_response
from transports._ws_handshake import plain_upgrade_response

from ._memsock import MemorySocket

pytestmark = pytest.mark.timeout(60)

TARGET = "/socket.io/?EIO=4&transport=websocket"
KEY = b"dGhlIHNhbXBsZSBub25jZQ=="  # RFC 6455 section 1.3's example
ACCEPT = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo="


def read(head: bytes) -> tuple[HttpConnection, HttpRequest | None]:
    """``head`` (no final blank line) read by the HTTP layer, as the server reads it."""
    http = HttpConnection(MemorySocket([head + b"\r\n\r\n"]), ("127.0.0.1", 1), HttpLimits())
    try:
        return http, http.read_request()
    except Exception:  # the HTTP layer refused the head: nothing for the handshake
        return http, None


def wsproto_response(request: HttpRequest, *, compression: bool) -> bytes | None:
    """What wsproto alone answers (None: it refuses, by any exception)."""
    handshake = H11Handshake(ConnectionType.SERVER)
    try:
        handshake.initiate_upgrade_connection(request.headers, request.target)
        event = next(handshake.events(), None)
        if not isinstance(event, Request):
            return None
        extensions = [PerMessageDeflate()] if compression else []
        return handshake.send(AcceptConnection(extensions=extensions))  # type: ignore[arg-type]
    except Exception:
        return None


def count_wsproto_calls(patch: pytest.MonkeyPatch) -> list[int]:
    """From now on, ``[n]``: how often the server asked wsproto's ``H11Handshake`` to judge."""
    calls = [0]

    class Counting(H11Handshake):
        def __init__(self, *args: object, **kwargs: object) -> None:
            calls[0] += 1
            super().__init__(*args, **kwargs)  # type: ignore[arg-type]

    patch.setattr(_ws_handshake, "H11Handshake", Counting)
    return calls


def head(*fields: bytes, method: bytes = b"GET") -> bytes:
    return b"\r\n".join([method + b" " + TARGET.encode() + b" HTTP/1.1", *fields])


CHROME = head(
    b"Host: 127.0.0.1:5000",
    b"Connection: Upgrade",
    b"Pragma: no-cache",
    b"Upgrade: websocket",
    b"Origin: http://127.0.0.1:5000",
    b"Sec-WebSocket-Version: 13",
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64) Chrome/120.0.0.0",
    b"Accept-Encoding: gzip, deflate, br",
    b"Sec-WebSocket-Key: " + KEY,
    b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",
)
FIREFOX = head(
    b"Host: localhost:5000",
    b"User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:121.0) Gecko/20100101 Firefox/121.0",
    b"Sec-WebSocket-Version: 13",
    b"Origin: http://localhost:5000",
    b"Sec-WebSocket-Extensions: permessage-deflate",
    b"Sec-WebSocket-Key: " + KEY,
    b"Connection: keep-alive, Upgrade",
    b"Upgrade: websocket",
)
NODE_WS = head(  # the npm ws package (socket.io-client in Node)
    b"Sec-WebSocket-Version: 13",
    b"Sec-WebSocket-Key: " + KEY,
    b"Connection: Upgrade",
    b"Upgrade: websocket",
    b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits",
    b"Host: 127.0.0.1:5000",
)
BARE = head(  # no extension offered at all
    b"Host: a", b"Upgrade: WebSocket", b"Connection: upgrade", b"Sec-WebSocket-Version: 13",
    b"Sec-WebSocket-Key: " + KEY,
)


@pytest.mark.parametrize("raw", [CHROME, FIREFOX, NODE_WS, BARE])
def test_real_clients_take_the_fast_path(raw: bytes) -> None:
    _, request = read(raw)
    assert request is not None
    fast = plain_upgrade_response(request.method, request.headers, compression=False)
    assert fast is not None
    assert b"Sec-WebSocket-Accept: " + ACCEPT + b"\r\n" in fast
    assert fast == wsproto_response(request, compression=False)


DECLINED = [
    # wsproto refuses these
    head(b"Host: a", b"Upgrade: websocket", b"Connection: Upgrade", b"Sec-WebSocket-Key: " + KEY),
    head(b"Host: a", b"Upgrade: websocket", b"Connection: Upgrade", b"Sec-WebSocket-Version: 8",
         b"Sec-WebSocket-Key: " + KEY),
    head(b"Host: a", b"Upgrade: websocket", b"Connection: keep-alive", b"Sec-WebSocket-Version: 13",
         b"Sec-WebSocket-Key: " + KEY),
    head(b"Host: a", b"Upgrade: websocket, h2c", b"Connection: Upgrade", b"Sec-WebSocket-Version: 13",
         b"Sec-WebSocket-Key: " + KEY),
    head(b"Host: a", b"Upgrade: websocket", b"Connection: Upgrade", b"Sec-WebSocket-Version: 13",
         b"Sec-WebSocket-Key: " + KEY, method=b"POST"),
    # wsproto keeps only the last Connection header: it refuses this one
    head(b"Host: a", b"Upgrade: websocket", b"Connection: Upgrade", b"Connection: keep-alive",
         b"Sec-WebSocket-Version: 13", b"Sec-WebSocket-Key: " + KEY),
    # wsproto accepts this one; the general path refuses it (see below)
    head(b"Host: a", b"Upgrade: websocket", b"Connection: Upgrade", b"Sec-WebSocket-Version: 13",
         b"Sec-WebSocket-Key: not-a-16-byte-nonce"),
    # wsproto accepts these; they are its call
    head(b"Host: a", b"Upgrade: websocket", b"Connection: Upgrade", b"Sec-WebSocket-Version: 13",
         b"Sec-WebSocket-Key: " + KEY, b"Sec-WebSocket-Protocol: chat"),
    head(b"Host: xn--bcher-kva.example", b"Upgrade: websocket", b"Connection: Upgrade",
         b"Sec-WebSocket-Version: 13", b"Sec-WebSocket-Key: " + KEY),
    head(b"Host: caf\xc3\xa9", b"Upgrade: websocket", b"Connection: Upgrade",
         b"Sec-WebSocket-Version: 13", b"Sec-WebSocket-Key: " + KEY),
    head(b"Host: a", b"Upgrade: websocket", b"Connection: Upgrade", b"Sec-WebSocket-Version: 13",
         b"Sec-WebSocket-Key: " + KEY, b"Sec-WebSocket-Key: " + KEY),
]


@pytest.mark.parametrize("raw", DECLINED)
def test_unusual_upgrades_are_left_to_wsproto(raw: bytes) -> None:
    _, request = read(raw)
    assert request is not None
    assert plain_upgrade_response(request.method, request.headers, compression=False) is None


def test_an_extension_offer_goes_to_wsproto_when_compression_is_on() -> None:
    http, request = read(CHROME)
    assert request is not None
    assert plain_upgrade_response(request.method, request.headers, compression=True) is None
    response, deflate = websocket_response(http, request, compression=True)
    assert deflate is not None  # wsproto negotiated permessage-deflate
    assert b"Sec-WebSocket-Extensions: permessage-deflate" in response
    ws = start_websocket(http, deflate, max_message_size=1000)
    assert ws.deflate is deflate and ws.reader.deflate
    # With no offer, compression on or off, there is nothing to negotiate.
    http, request = read(BARE)
    assert request is not None
    assert websocket_response(http, request, compression=True)[1] is None


def test_websocket_response_uses_the_fast_path_only_for_our_parser(monkeypatch: pytest.MonkeyPatch) -> None:
    wsproto_calls = count_wsproto_calls(monkeypatch)
    http, request = read(CHROME)
    assert request is not None
    response, deflate = websocket_response(http, request, compression=False)
    assert deflate is None and wsproto_calls == [0]
    assert response == wsproto_response(request, compression=False)
    ws = start_websocket(http, deflate, max_message_size=1000)
    assert ws.deflate is None and not ws.reader.deflate
    # HTTP/1.0 is h11's to parse, so wsproto judges the upgrade.
    http, request = read(CHROME.replace(b"HTTP/1.1", b"HTTP/1.0", 1))
    assert request is not None and http.h11 is not None
    response, deflate = websocket_response(http, request, compression=False)
    assert deflate is None and wsproto_calls == [1]
    assert response == wsproto_response(request, compression=False)


def test_a_refused_upgrade_raises_handshake_failed() -> None:
    http, request = read(DECLINED[1])
    assert request is not None
    with pytest.raises(HandshakeFailed):
        websocket_response(http, request, compression=False)


BAD_KEYS = [
    b"not-a-16-byte-nonce",
    base64.b64encode(b"x" * 15),  # 15 bytes
    base64.b64encode(b"x" * 17),  # 17 bytes
    KEY[:-2],  # no padding
    KEY[:-3] + b"*==",  # not base64
    KEY + b", " + KEY,  # two keys joined
]


@pytest.mark.parametrize("key", BAD_KEYS)
@pytest.mark.parametrize("variant", ["fast", "h11", "deflate", "subprotocol"])
def test_a_malformed_key_is_refused_on_every_path(key: bytes, variant: str) -> None:
    """RFC 6455 4.2.1: a key that is not the base64 of 16 bytes is refused (400).

    Whichever path judges: the fast one declines it, and the general one
    (wsproto, which takes any key) must refuse it rather than upgrade.
    """
    fields = [b"Host: a", b"Upgrade: websocket", b"Connection: Upgrade",
              b"Sec-WebSocket-Version: 13", b"Sec-WebSocket-Key: " + key]
    if variant == "deflate":
        fields.append(b"Sec-WebSocket-Extensions: permessage-deflate")
    if variant == "subprotocol":
        fields.append(b"Sec-WebSocket-Protocol: chat")
    raw = head(*fields)
    if variant == "h11":
        raw = raw.replace(b"HTTP/1.1", b"HTTP/1.0", 1)
    http, request = read(raw)
    assert request is not None
    assert (http.h11 is not None) == (variant == "h11")
    assert plain_upgrade_response(request.method, request.headers, compression=True) is None
    with pytest.raises(HandshakeFailed):
        websocket_response(http, request, compression=variant == "deflate")
    # The same request with a good key is upgraded on that path.
    http, request = read(raw.replace(b"Sec-WebSocket-Key: " + key, b"Sec-WebSocket-Key: " + KEY))
    assert request is not None
    response, _ = websocket_response(http, request, compression=variant == "deflate")
    assert response.startswith(b"HTTP/1.1 101 ")


def _key(size: int) -> bytes:
    return base64.b64encode(os.urandom(size))


# Values for each field the handshake reads: valid, near-valid and broken.
_FIELDS: dict[bytes, list[bytes]] = {
    b"Host": [b"127.0.0.1:5000", b"", b"xn--bcher-kva.ch", b"XN--x.y", b"caf\xc3\xa9", b"a..b", b"[::1]:80"],
    b"Upgrade": [b"websocket", b"WebSocket", b"websocket, h2c", b"h2c", b"web socket", b""],
    b"Connection": [b"Upgrade", b"upgrade", b"keep-alive, Upgrade", b"Upgrade ,close", b"keep-alive",
                    b"upgrade\xc3\xa9", b"Upgraded", b",,upgrade,,", b""],
    b"Sec-WebSocket-Version": [b"13", b"8", b"13, 8", b"013", b""],
    b"Sec-WebSocket-Key": [KEY, _key(16), _key(15), _key(17), b"dGhlIHNhbXBsZSBub25jZR==",
                           b"not a key", b""],
    b"Sec-WebSocket-Extensions": [b"permessage-deflate; client_max_window_bits", b"x-webkit-deflate-frame",
                                  b"permessage-deflate; server_max_window_bits=8", b"caf\xc3\xa9", b""],
    b"Sec-WebSocket-Protocol": [b"chat", b"chat, superchat"],
    b"Origin": [b"http://127.0.0.1:5000"],
    b"Content-Length": [b"0", b"3"],
}
_REQUIRED = [b"Host", b"Upgrade", b"Connection", b"Sec-WebSocket-Version", b"Sec-WebSocket-Key"]


@st.composite
def upgrade_heads(draw: st.DrawFn) -> bytes:
    lines: list[bytes] = []
    for name, values in _FIELDS.items():
        # Required fields are usually there once; any field may be missing or repeated.
        weights = [1, 12, 1] if name in _REQUIRED else [6, 3, 1]
        count = draw(st.sampled_from([0] * weights[0] + [1] * weights[1] + [2] * weights[2]))
        for _ in range(count):
            # The first value is a valid one: mostly that, so that many heads are accepted.
            value = draw(st.sampled_from([values[0]] * len(values) * 2 + values))
            spelled = draw(st.sampled_from([name, name.lower(), name.upper()]))
            pad = draw(st.sampled_from([b" ", b"", b"  ", b" \t"]))
            lines.append(spelled + b":" + pad + value + draw(st.sampled_from([b"", b" "])))
    lines = draw(st.permutations(lines))
    method = draw(st.sampled_from([b"GET"] * 8 + [b"POST", b"HEAD"]))
    return head(*lines, method=method)


# Its own timeout: 1500 examples take ~3 s on a quiet machine but many times
# that on a loaded one, and the module's 60 s, firing inside a draw, would be
# reported by hypothesis as a flaky strategy rather than as the time it took.
@pytest.mark.timeout(300)
@settings(max_examples=1500, deadline=None)
@given(raw=upgrade_heads(), compression=st.booleans())
def test_fast_path_agrees_with_wsproto(raw: bytes, compression: bool) -> None:
    with pytest.MonkeyPatch.context() as patch:
        _agrees_with_wsproto(raw, compression, count_wsproto_calls(patch))


def _agrees_with_wsproto(raw: bytes, compression: bool, calls: list[int]) -> None:
    http, request = read(raw)
    if request is None:
        return
    fast = plain_upgrade_response(request.method, request.headers, compression=compression)
    if fast is None:
        return  # declined: wsproto judges, as before
    assert fast == wsproto_response(request, compression=compression)
    response, deflate = websocket_response(http, request, compression=compression)
    assert response == fast and deflate is None
    # The server takes the fast path only for heads our own parser read
    # (those h11 read, here a repeated Content-Length, stay wsproto's).
    assert (calls[0] == 0) == (http.h11 is None)
