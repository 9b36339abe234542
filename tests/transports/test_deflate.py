"""permessage-deflate (RFC 7692): our reader and codec against wsproto's client, both ways.

wsproto's client-side :class:`PerMessageDeflate` is an independent
implementation: whatever it sends under the parameters we agreed must come
out of :class:`FrameReader` + :class:`MessageDeflate` as the same messages,
and whatever we send must come out of it. A bomb stops at the limit.
"""

from __future__ import annotations

import tracemalloc
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from wsproto.connection import Connection, ConnectionType
from wsproto.events import BytesMessage, TextMessage
from wsproto.extensions import PerMessageDeflate

from transports._deflate import InflateError, MessageDeflate, negotiated
from transports._frames import OP_BINARY, OP_TEXT, RSV1, FrameError, FrameReader, unmask

pytestmark = pytest.mark.timeout(120)

PARAMS = [
    "permessage-deflate",
    "permessage-deflate; client_max_window_bits=9",
    "permessage-deflate; client_no_context_takeover",
    "permessage-deflate; server_no_context_takeover",
    "permessage-deflate; server_max_window_bits=10; client_max_window_bits",
    "permessage-deflate; server_max_window_bits=9",
    "permessage-deflate; client_max_window_bits=8",  # refused by wsproto's judge: see below
]


def agreed(offer: str) -> tuple[MessageDeflate, PerMessageDeflate]:
    """Our codec for ``offer`` as the server's wsproto agreed to it, and the client's twin."""
    server_ext = PerMessageDeflate()
    answer = server_ext.accept(offer)
    if answer is None:  # a window of 8: wsproto does not agree, nothing is compressed
        assert negotiated(server_ext) is None
        offer, server_ext = "permessage-deflate", PerMessageDeflate()
        answer = server_ext.accept(offer)
    assert isinstance(answer, str)
    codec = negotiated(server_ext, threshold=8)
    assert codec is not None
    client_ext = PerMessageDeflate()
    client_ext.finalize(("permessage-deflate; " + answer).rstrip("; "))
    return codec, client_ext


def masked(first: int, payload: bytes, mask: bytes = b"\x01\x02\x03\x04") -> bytes:
    n = len(payload)
    if n < 126:
        head = bytes([first, 0x80 | n])
    else:
        head = bytes([first, 0x80 | 127]) + n.to_bytes(8, "big")
    return head + mask + unmask(payload, mask)


def take(reader: FrameReader, codec: MessageDeflate, limit: int) -> list[str | bytes]:
    out: list[str | bytes] = []
    while (message := reader.next_message()) is not None:
        opcode, payload = message
        if opcode & RSV1:
            data = codec.inflate(payload, limit)  # type: ignore[arg-type]
            out.append(data.decode() if opcode & 0x0F == OP_TEXT else data)
        else:
            out.append(payload)
    return out


messages = st.lists(
    st.text(max_size=400) | st.binary(max_size=400) | st.sampled_from(["a" * 3000, b"\0" * 5000]),
    min_size=1, max_size=8,
)


@settings(max_examples=200, deadline=None)
@given(offer=st.sampled_from(PARAMS), items=messages, split=st.integers(1, 97))
def test_what_a_wsproto_client_compresses_we_inflate(offer: str, items: list[str | bytes], split: int) -> None:
    codec, client_ext = agreed(offer)
    client = Connection(ConnectionType.CLIENT, extensions=[client_ext])
    wire = b"".join(
        client.send(TextMessage(data=i) if isinstance(i, str) else BytesMessage(data=i)) for i in items
    )
    reader = FrameReader(1_000_000, deflate=True)
    got: list[str | bytes] = []
    for start in range(0, len(wire), split):  # the bytes arrive cut anywhere
        reader.feed(wire[start : start + split])
        got += take(reader, codec, 1_000_000)
    assert got == items


@settings(max_examples=200, deadline=None)
@given(offer=st.sampled_from(PARAMS), items=messages)
def test_what_we_compress_a_wsproto_client_inflates(offer: str, items: list[str | bytes]) -> None:
    from transports.gevent._websocket import WebSocket

    codec, client_ext = agreed(offer)
    ws = WebSocket(None, codec, max_message_size=1_000_000)
    wire = ws.encode(items)  # type: ignore[arg-type]
    client = Connection(ConnectionType.CLIENT, extensions=[client_ext])
    client.receive_data(wire)
    got = [e.data for e in client.events()]
    assert got == [bytes(i) if isinstance(i, (bytes, bytearray)) else i for i in items]
    compressed = sum(1 for i in items if len(i) >= codec.threshold)
    # Frames with RSV1 set: one per message at or above the threshold.
    assert wire.count(b"\xc1") + wire.count(b"\xc2") >= compressed


def test_rsv1_opens_a_compressed_message_only_when_agreed() -> None:
    body = zlib.compressobj(wbits=-15)
    data = body.compress(b"hello") + body.flush(zlib.Z_SYNC_FLUSH)
    payload = data[:-4]
    plain = FrameReader(100)
    plain.feed(masked(0xC1, payload))
    with pytest.raises(FrameError) as refused:
        plain.next_message()
    assert refused.value.code == 1002
    reader = FrameReader(100, deflate=True)
    # Fragmented: RSV1 on the first frame only, a ping in the middle.
    reader.feed(masked(0x41, payload[:3]) + masked(0x89, b"p") + masked(0x80, payload[3:]))
    assert reader.next_message() == (0x9, b"p")
    assert reader.next_message() == (OP_TEXT | RSV1, payload)
    assert MessageDeflate().inflate(payload, 100) == b"hello"
    reader.feed(masked(0xC2, payload))
    assert reader.next_message() == (OP_BINARY | RSV1, payload)


@pytest.mark.parametrize("raw", [
    masked(0x41, b"x", ) + masked(0xC0, b"y"),  # RSV1 on a continuation
    masked(0xC9, b"ping"),  # on a control frame
    masked(0xA1, b"x"),  # RSV2
    masked(0x91, b"x"),  # RSV3
    masked(0xE1, b"x"),  # RSV1 and RSV2
], ids=["continuation", "control", "rsv2", "rsv3", "rsv1+rsv2"])
def test_other_reserved_bits_stay_refused(raw: bytes) -> None:
    reader = FrameReader(100, deflate=True)
    reader.feed(raw)
    with pytest.raises(FrameError) as refused:
        while reader.next_message() is not None:
            pass
    assert refused.value.code == 1002


def test_context_takeover_and_its_absence() -> None:
    def client_stream(no_takeover: bool) -> list[bytes]:
        deflater = zlib.compressobj(wbits=-15)
        out = []
        for _ in range(3):
            if no_takeover:
                deflater = zlib.compressobj(wbits=-15)
            out.append((deflater.compress(b"abcdefgh" * 20) + deflater.flush(zlib.Z_SYNC_FLUSH))[:-4])
        return out

    kept = client_stream(False)
    assert len(kept[1]) < len(kept[0])  # the second message refers back to the first
    codec = MessageDeflate()
    assert [codec.inflate(p, 1000) for p in kept] == [b"abcdefgh" * 20] * 3
    # A client without context takeover never refers back: the kept window is harmless.
    assert [codec.inflate(p, 1000) for p in client_stream(True)] == [b"abcdefgh" * 20] * 3
    # A stream that ended with a final block starts over with the next message.
    whole = zlib.compressobj(wbits=-15)
    ended = whole.compress(b"done") + whole.flush(zlib.Z_FINISH)
    codec = MessageDeflate()
    assert codec.inflate(ended, 100) == b"done"
    assert codec.inflate(client_stream(False)[0], 1000) == b"abcdefgh" * 20


def test_a_bomb_stops_at_the_limit_without_inflating_further() -> None:
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    bomb = deflater.compress(b"\0" * 50_000_000) + deflater.flush(zlib.Z_SYNC_FLUSH)
    assert len(bomb) < 60_000
    limit = 100_000
    tracemalloc.start()
    try:
        with pytest.raises(InflateError) as refused:
            MessageDeflate().inflate(bomb[:-4], limit)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert refused.value.code == 1009
    assert peak < 4 * limit + 2 * len(bomb), peak  # nowhere near the 50 MB it holds
    # Exactly at the limit is fine; one byte over is not.
    codec = MessageDeflate()
    exact = zlib.compressobj(wbits=-15)
    assert codec.inflate((exact.compress(b"x" * limit) + exact.flush(zlib.Z_SYNC_FLUSH))[:-4], limit) == b"x" * limit
    over = zlib.compressobj(wbits=-15)
    with pytest.raises(InflateError):
        MessageDeflate().inflate((over.compress(b"x" * (limit + 1)) + over.flush(zlib.Z_SYNC_FLUSH))[:-4], limit)


def test_corrupt_data_is_invalid_payload() -> None:
    with pytest.raises(InflateError) as refused:
        MessageDeflate().inflate(b"\xff\xff\xff\xff", 100)
    assert refused.value.code == 1007


def test_nothing_agreed_means_no_codec() -> None:
    assert negotiated(None) is None
    assert negotiated(PerMessageDeflate()) is None  # never accepted an offer
