"""The packet and payload codec ([EIO4] "Packet encoding"; PROTOCOL.md 1.2, 1.4, 1.5).

Wire cases are tables: each row is the exact wire form and the packet it means,
checked in both directions. Byte-level edge cases and hypothesis properties
make sure malformed input only ever raises RemoteProtocolError.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engineio import (
    RECORD_SEPARATOR,
    LocalProtocolError,
    Packet,
    PacketType,
    RemoteProtocolError,
    decode_packet,
    decode_payload,
    encode_packet,
    encode_payload,
    iter_payload,
)
from engineio._packets import encoded_size

T = PacketType

# --------------------------------------------------------------- WebSocket form

#: One packet per WebSocket message: (wire, packet). Text keeps its type digit;
#: a binary message is the raw bytes only, no type byte, no "b", no base64.
WEBSOCKET_CASES = [
    ('0{"sid":"abc"}', Packet(type=T.OPEN, data='{"sid":"abc"}')),
    ("1", Packet(type=T.CLOSE)),
    ("2", Packet(type=T.PING)),
    ("2probe", Packet(type=T.PING, data="probe")),
    ("3", Packet(type=T.PONG)),
    ("3probe", Packet(type=T.PONG, data="probe")),
    ("4hello", Packet(type=T.MESSAGE, data="hello")),
    ("4", Packet(type=T.MESSAGE, data="")),
    ("5", Packet(type=T.UPGRADE)),
    ("6", Packet(type=T.NOOP)),
    ("4héllo €😀", Packet(type=T.MESSAGE, data="héllo €😀")),
    ("4\x1e", Packet(type=T.MESSAGE, data="\x1e")),  # no separator on WebSocket
    ("44", Packet(type=T.MESSAGE, data="4")),
    ("4b", Packet(type=T.MESSAGE, data="b")),
    (b"\x01\x02\x03\x04", Packet(type=T.MESSAGE, data=b"\x01\x02\x03\x04")),
    (b"", Packet(type=T.MESSAGE, data=b"")),
    (b"4hello", Packet(type=T.MESSAGE, data=b"4hello")),  # bytes are never parsed
    (b"\xff\x00", Packet(type=T.MESSAGE, data=b"\xff\x00")),
]


@pytest.mark.parametrize(("wire", "packet"), WEBSOCKET_CASES, ids=repr)
def test_websocket_wire_decodes(wire: str | bytes, packet: Packet) -> None:
    assert decode_packet(wire) == packet


@pytest.mark.parametrize(("wire", "packet"), WEBSOCKET_CASES, ids=repr)
def test_websocket_wire_encodes(wire: str | bytes, packet: Packet) -> None:
    encoded = encode_packet(packet)
    assert encoded == wire
    assert type(encoded) is type(wire)  # text frame vs binary frame


@pytest.mark.parametrize("view", [bytearray, memoryview])
def test_binary_frame_buffer_types_decode_to_bytes(view: type) -> None:
    packet = decode_packet(view(b"\x01\x02"))
    assert packet == Packet(type=T.MESSAGE, data=b"\x01\x02")
    assert type(packet.data) is bytes and packet.is_binary


def test_every_packet_type_has_a_row() -> None:
    assert {p.type for _, p in WEBSOCKET_CASES} == set(PacketType)
    assert [int(t) for t in PacketType] == list(range(7))


#: Text that is not a packet: (wire, what the error message mentions).
BAD_TEXT_PACKETS = [
    ("", "empty"),
    ("7", "unknown"),
    ("9hello", "unknown"),
    ("a", "unknown"),
    ("b!!", "base64"),  # the base64 form must be valid base64
    (" 4hello", "unknown"),
    ("-1", "unknown"),
    ("\x1e4hello", "unknown"),
    ("٤hello", "unknown"),  # ARABIC-INDIC DIGIT FOUR is not "4"
    ("４hello", "unknown"),  # FULLWIDTH DIGIT FOUR neither
    ("\x00", "unknown"),
    ("\ud800", "unknown"),  # a lone surrogate, as a broken decoder might hand us
]


@pytest.mark.parametrize(("wire", "detail"), BAD_TEXT_PACKETS, ids=repr)
def test_bad_text_packet_is_a_parse_error(wire: str, detail: str) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        decode_packet(wire)
    assert info.value.close_reason == "parse error"
    assert info.value.http_status == 400
    assert detail in str(info.value)


def test_a_base64_text_packet_is_a_binary_message() -> None:
    # engine.io-client with forceBase64 sends binary as "b<base64>" text
    # frames over WebSocket too, not only inside polling payloads.
    assert decode_packet("bAQIDBA==") == Packet(type=T.MESSAGE, data=b"\x01\x02\x03\x04")
    assert decode_packet("b") == Packet(type=T.MESSAGE, data=b"")


@pytest.mark.parametrize("ptype", [t for t in PacketType if t is not T.MESSAGE])
def test_only_message_packets_can_be_binary(ptype: PacketType) -> None:
    # Encoding is our side's job: asking for a binary ping is a local misuse.
    with pytest.raises(LocalProtocolError):
        encode_packet(Packet(type=ptype, data=b"\x01"))


# ----------------------------------------------------------------- payload form

#: Long-polling bodies: (body bytes, packets). Includes the spec's examples.
PAYLOAD_CASES = [
    (b"4hello\x1e2\x1e4world", [
        Packet(type=T.MESSAGE, data="hello"),
        Packet(type=T.PING),
        Packet(type=T.MESSAGE, data="world"),
    ]),
    (b"4hello\x1ebAQIDBA==", [
        Packet(type=T.MESSAGE, data="hello"),
        Packet(type=T.MESSAGE, data=b"\x01\x02\x03\x04"),
    ]),
    (b"4test1\x1e4test2\x1e4test3", [
        Packet(type=T.MESSAGE, data=f"test{i}") for i in (1, 2, 3)
    ]),
    (b"4", [Packet(type=T.MESSAGE, data="")]),
    (b"4\x1e4", [Packet(type=T.MESSAGE, data=""), Packet(type=T.MESSAGE, data="")]),
    (b"b", [Packet(type=T.MESSAGE, data=b"")]),
    (b"bAA==", [Packet(type=T.MESSAGE, data=b"\x00")]),
    (b"b/w==", [Packet(type=T.MESSAGE, data=b"\xff")]),
    (b"b+/8=", [Packet(type=T.MESSAGE, data=b"\xfb\xff")]),  # standard alphabet
    (b"1", [Packet(type=T.CLOSE)]),
    (b"3", [Packet(type=T.PONG)]),
    (b"6", [Packet(type=T.NOOP)]),
    (b"3\x1e4a\x1e1", [
        Packet(type=T.PONG), Packet(type=T.MESSAGE, data="a"), Packet(type=T.CLOSE),
    ]),
    ("4héllo €😀".encode(), [Packet(type=T.MESSAGE, data="héllo €😀")]),
    ("4日本\x1e4ü".encode(), [
        Packet(type=T.MESSAGE, data="日本"), Packet(type=T.MESSAGE, data="ü"),
    ]),
    (b'0{"sid":"x"}', [Packet(type=T.OPEN, data='{"sid":"x"}')]),
]


def _wire(packet: Packet) -> str | bytes:
    return encode_packet(packet)


@pytest.mark.parametrize(("body", "packets"), PAYLOAD_CASES, ids=repr)
def test_payload_decodes(body: bytes, packets: list[Packet]) -> None:
    assert decode_payload(body) == packets
    assert decode_payload(body.decode("utf-8")) == packets
    assert decode_payload(bytearray(body)) == packets


@pytest.mark.parametrize(("body", "packets"), PAYLOAD_CASES, ids=repr)
def test_payload_encodes(body: bytes, packets: list[Packet]) -> None:
    encoded = encode_payload([_wire(p) for p in packets])
    assert type(encoded) is bytes
    assert encoded == body


def test_payload_separator_is_record_separator() -> None:
    assert RECORD_SEPARATOR == "\x1e"


#: Bodies that are not payloads: (body, what the error message mentions).
BAD_PAYLOADS = [
    (b"", "empty"),
    (b"\x1e", "empty"),
    (b"4a\x1e", "empty"),  # trailing separator
    (b"\x1e4a", "empty"),  # leading separator
    (b"4a\x1e\x1e4b", "empty"),
    (b"7", "unknown"),
    (b"4a\x1ex", "unknown"),
    (b"bAQIDBA", "base64"),  # missing padding
    (b"bAQ=", "base64"),  # wrong padding
    (b"bAQ!D", "base64"),  # outside the alphabet
    (b"b AQID", "base64"),  # whitespace is not skipped
    (b"bAQID\n", "base64"),
    (b"bAQ_-", "base64"),  # URL-safe alphabet is not base64
    ("bé".encode(), "base64"),  # non-ASCII where base64 is expected
    (b"\xff", "UTF-8"),
    (b"4\xc3", "UTF-8"),  # truncated two-byte sequence
    (b"4\xc3(", "UTF-8"),
    (b"4\xe2\x82", "UTF-8"),  # truncated three-byte sequence
    (b"4\xed\xa0\x80", "UTF-8"),  # an encoded surrogate is not UTF-8
    (b"4\xc0\xaf", "UTF-8"),  # overlong encoding of "/"
    (b"4\xf4\x90\x80\x80", "UTF-8"),  # above U+10FFFF
    (b"4ok\x1e4\x80", "UTF-8"),
]


@pytest.mark.parametrize(("body", "detail"), BAD_PAYLOADS, ids=repr)
def test_bad_payload_is_a_parse_error(body: bytes, detail: str) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        decode_payload(body)
    assert info.value.close_reason == "parse error"
    assert info.value.http_status == 400
    assert detail in str(info.value)


def test_iter_payload_yields_the_packets_before_a_bad_record() -> None:
    got: list[Packet] = []
    with pytest.raises(RemoteProtocolError):
        for packet in iter_payload(b"4a\x1e2\x1e9\x1e4never"):
            got.append(packet)
    assert got == [Packet(type=T.MESSAGE, data="a"), Packet(type=T.PING)]


@pytest.mark.parametrize(
    ("wire", "size"),
    [
        ("4hello", 6),
        ("4", 1),
        ("4é", 3),  # bytes, not characters: max_payload is a byte limit
        ("4€", 4),
        ("4😀", 5),
        (b"", 1),  # "b"
        (b"\x01", 5),  # "bAQ=="
        (b"\x01\x02", 5),
        (b"\x01\x02\x03", 5),
        (b"\x01\x02\x03\x04", 9),  # "bAQIDBA=="
    ],
    ids=repr,
)
def test_encoded_size_is_the_payload_byte_count(wire: str | bytes, size: int) -> None:
    assert encoded_size(wire) == size == len(encode_payload([wire]))


# -------------------------------------------------------- byte-level robustness


@pytest.mark.parametrize(("body", "packets"), PAYLOAD_CASES, ids=repr)
def test_payload_cut_at_every_byte_only_raises_protocol_errors(
    body: bytes, packets: list[Packet]
) -> None:
    # The core takes whole bodies, so "byte at a time" here means: a body cut
    # short at any byte boundary (mid UTF-8 sequence, mid base64 quantum, right
    # after a separator) either decodes or is a parse error, nothing else.
    for cut in range(len(body) + 1):
        try:
            decode_payload(body[:cut])
        except RemoteProtocolError as exc:
            assert exc.close_reason == "parse error"


# ------------------------------------------------------------------- properties

_text = st.text(alphabet=st.characters(exclude_categories=("Cs",)))
_payload_text = st.text(
    alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x1e")
)

text_packets = st.builds(
    lambda t, d: Packet(type=t, data=d), st.sampled_from(list(PacketType)), _text
)
binary_packets = st.builds(lambda d: Packet(type=T.MESSAGE, data=d), st.binary())
payload_packets = st.one_of(
    st.builds(
        lambda t, d: Packet(type=t, data=d), st.sampled_from(list(PacketType)), _payload_text
    ),
    binary_packets,
)


@given(st.one_of(text_packets, binary_packets))
def test_packet_round_trip(packet: Packet) -> None:
    assert decode_packet(encode_packet(packet)) == packet


@given(st.lists(payload_packets, min_size=1))
def test_payload_round_trip(packets: list[Packet]) -> None:
    body = encode_payload([encode_packet(p) for p in packets])
    body.decode("utf-8")  # the whole body is UTF-8 text
    assert decode_payload(body) == packets


@given(st.one_of(st.text(), st.binary()))
def test_decode_packet_only_raises_remote_protocol_error(wire: str | bytes) -> None:
    try:
        packet = decode_packet(wire)
    except RemoteProtocolError:
        return
    assert isinstance(packet, Packet)


@given(st.one_of(st.text(), st.binary()))
def test_decode_payload_only_raises_remote_protocol_error(body: str | bytes) -> None:
    try:
        packets = decode_payload(body)
    except RemoteProtocolError:
        return
    assert packets and all(isinstance(p, Packet) for p in packets)


@given(
    st.lists(
        st.one_of(
            st.sampled_from(["4a", "b", "bAQ==", "2", "3", "6", "1", "4é", "bAQIDBA=="]),
            st.text(max_size=6),
        ),
        min_size=1,
        max_size=6,
    )
)
def test_decode_payload_of_near_valid_records(records: list[str]) -> None:
    body = RECORD_SEPARATOR.join(records).encode("utf-8", "surrogatepass")
    try:
        decode_payload(body)
    except RemoteProtocolError:
        pass
