"""Wire cases for the Socket.IO v5 packet codec (PROTOCOL.md 2.2-2.6).

Table-driven: each valid case is checked in both directions where the text is
canonical (what we would write ourselves), each error case names the reason
fragment we expect, so a test also pins *why* the packet was refused.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from socketio_core.protocol._errors import LocalSocketIOError, RemoteSocketIOError, SocketIOError
from socketio_core.protocol._decoder import PacketDecoder
from socketio_core.protocol._encoder import encode_packet
from socketio_core.protocol._packets import (
    DEFAULT_MAX_ATTACHMENT_BYTES,
    DEFAULT_MAX_ATTACHMENTS,
    RESERVED_EVENTS,
    Packet,
    PacketType,
    _make_packet,
)

T = PacketType
PH0 = {"_placeholder": True, "num": 0}
PH1 = {"_placeholder": True, "num": 1}


def decode(text: str, *attachments: bytes, decoder: PacketDecoder | None = None) -> Packet:
    """Feed one packet (text, then its attachments) and return the result."""
    decoder = decoder or PacketDecoder()
    result = decoder.receive_text(text)
    for index, attachment in enumerate(attachments):
        assert result is None, "packet completed before its last attachment"
        assert decoder.pending_attachments == len(attachments) - index
        result = decoder.receive_binary(attachment)
    assert result is not None
    assert decoder.pending_attachments == 0
    return result


# (wire text, attachments, packet): canonical, so encode(packet) == (text, attachments).
CANONICAL: list[tuple[str, list[bytes], Packet]] = [
    # PROTOCOL.md 2.2
    ("0", [], Packet(type=T.CONNECT)),
    (
        '0/admin,{"sid":"oSO0OpakMV_3jnilAAAA"}',
        [],
        Packet(type=T.CONNECT, namespace="/admin", data={"sid": "oSO0OpakMV_3jnilAAAA"}),
    ),
    ('4{"message":"Not authorized"}', [], Packet(type=T.CONNECT_ERROR, data={"message": "Not authorized"})),
    ('2["foo"]', [], Packet(type=T.EVENT, data=["foo"])),
    ('212["foo"]', [], Packet(type=T.EVENT, data=["foo"], id=12)),
    ("1", [], Packet(type=T.DISCONNECT)),
    ("1/admin,", [], Packet(type=T.DISCONNECT, namespace="/admin")),
    ('2/admin,["bar"]', [], Packet(type=T.EVENT, namespace="/admin", data=["bar"])),
    ('3/admin,13["bar"]', [], Packet(type=T.ACK, namespace="/admin", data=["bar"], id=13)),
    (
        '51-["baz",{"_placeholder":true,"num":0}]',
        [b"\x01\x02\x03\x04"],
        Packet(type=T.BINARY_EVENT, data=["baz", b"\x01\x02\x03\x04"]),
    ),
    (
        '52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
        [b"\x01\x02", b"\x03\x04"],
        Packet(type=T.BINARY_EVENT, namespace="/admin", data=["baz", b"\x01\x02", b"\x03\x04"]),
    ),
    (
        '61-15["bar",{"_placeholder":true,"num":0}]',
        [b"\x01\x02\x03\x04"],
        Packet(type=T.BINARY_ACK, data=["bar", b"\x01\x02\x03\x04"], id=15),
    ),
    # PROTOCOL.md 2.4 / 2.5 / 2.6
    ('0{"token":"123"}', [], Packet(type=T.CONNECT, data={"token": "123"})),
    (
        '4/random,{"message":"Invalid namespace"}',
        [],
        Packet(type=T.CONNECT_ERROR, namespace="/random", data={"message": "Invalid namespace"}),
    ),
    (  # observed as 42456[...] on the wire; the "4" is Engine.IO's
        '2456["message-with-ack",1,"2",{"3":[false]}]',
        [],
        Packet(type=T.EVENT, data=["message-with-ack", 1, "2", {"3": [False]}], id=456),
    ),
    (
        '3456[1,"2",{"3":[false]}]',
        [],
        Packet(type=T.ACK, data=[1, "2", {"3": [False]}], id=456),
    ),
    (
        '52-789["message-with-ack",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
        [b"\x01", b"\x02"],
        Packet(type=T.BINARY_EVENT, data=["message-with-ack", b"\x01", b"\x02"], id=789),
    ),
    (
        '62-789[{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]',
        [b"\x01", b"\x02"],
        Packet(type=T.BINARY_ACK, data=[b"\x01", b"\x02"], id=789),
    ),
    (
        '51-["message-back",{"_placeholder":true,"num":0}]',
        [b"\x01\x02\x03"],
        Packet(type=T.BINARY_EVENT, data=["message-back", b"\x01\x02\x03"]),
    ),
    ("0/admin,", [], Packet(type=T.CONNECT, namespace="/admin")),
    ('2/admin,1["tellme"]', [], Packet(type=T.EVENT, namespace="/admin", data=["tellme"], id=1)),
    (
        '61-/admin,1[{"_placeholder":true,"num":0}]',
        [b"\xff"],
        Packet(type=T.BINARY_ACK, namespace="/admin", data=[b"\xff"], id=1),
    ),
    ('2["hello"]', [], Packet(type=T.EVENT, data=["hello"])),
    ('2["auth",{"token":"x"}]', [], Packet(type=T.EVENT, data=["auth", {"token": "x"}])),
    ('2/custom,["auth",{}]', [], Packet(type=T.EVENT, namespace="/custom", data=["auth", {}])),
    # Shapes the rules allow.
    ("30[]", [], Packet(type=T.ACK, data=[], id=0)),
    ("2[1]", [], Packet(type=T.EVENT, data=[1])),
    ("2[1.5,null]", [], Packet(type=T.EVENT, data=[1.5, None])),
    ('2["é",{"ключ":"値"}]', [], Packet(type=T.EVENT, data=["é", {"ключ": "値"}])),
    ('2["a",{"b":2,"a":1}]', [], Packet(type=T.EVENT, data=["a", {"b": 2, "a": 1}])),
    ('2999999999999999["x"]', [], Packet(type=T.EVENT, data=["x"], id=999_999_999_999_999)),
    ('2["a",{"_placeholder":true,"num":0}]', [], Packet(type=T.EVENT, data=["a", PH0])),
    (
        '53-["x",[{"_placeholder":true,"num":0},{"k":{"_placeholder":true,"num":1}}],{"_placeholder":true,"num":2}]',
        [b"a", b"", b"c"],
        Packet(type=T.BINARY_EVENT, data=["x", [b"a", {"k": b""}], b"c"]),
    ),
]


@pytest.mark.parametrize(("text", "attachments", "packet"), CANONICAL, ids=[c[0][:40] for c in CANONICAL])
def test_decode_canonical(text: str, attachments: list[bytes], packet: Packet) -> None:
    assert decode(text, *attachments) == packet


@pytest.mark.parametrize(("text", "attachments", "packet"), CANONICAL, ids=[c[0][:40] for c in CANONICAL])
def test_encode_canonical(text: str, attachments: list[bytes], packet: Packet) -> None:
    assert encode_packet(packet) == (text, attachments)


# Accepted on input, though we would write them differently.
LENIENT: list[tuple[str, Packet]] = [
    ("0/custom", Packet(type=T.CONNECT, namespace="/custom")),  # PROTOCOL.md 2.2: no comma
    ("1/custom", Packet(type=T.DISCONNECT, namespace="/custom")),
    ("0/,", Packet(type=T.CONNECT)),
    ("0/", Packet(type=T.CONNECT)),
    ('2/,["a"]', Packet(type=T.EVENT, data=["a"])),
    ('2007["a"]', Packet(type=T.EVENT, data=["a"], id=7)),
    ('2 ["a"] ', Packet(type=T.EVENT, data=["a"])),  # JSON.parse allows surrounding whitespace
    ('2\n["a"]', Packet(type=T.EVENT, data=["a"])),
    ('2["a","\\u00e9\\ud83d\\ude00"]', Packet(type=T.EVENT, data=["a", "é😀"])),
    ('2/a b/é,5["x"]', Packet(type=T.EVENT, namespace="/a b/é", data=["x"], id=5)),
    ("2[1e400]", Packet(type=T.EVENT, data=[float("inf")])),  # JSON.parse gives Infinity too
    ('4{"message":"x","data":{"a":1}}', Packet(type=T.CONNECT_ERROR, data={"message": "x", "data": {"a": 1}})),
    ('2["x",{"_placeholder":true,"num":99}]', Packet(type=T.EVENT, data=["x", {"_placeholder": True, "num": 99}])),
]


@pytest.mark.parametrize(("text", "packet"), LENIENT, ids=[c[0] for c in LENIENT])
def test_decode_lenient(text: str, packet: Packet) -> None:
    assert decode(text) == packet


def test_binary_packet_keeps_its_type_and_reencodes_identically() -> None:
    text = '52-/admin,["baz",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]'
    packet = decode(text, b"\x01\x02", b"\x03\x04")
    assert packet.type is T.BINARY_EVENT
    assert encode_packet(packet) == (text, [b"\x01\x02", b"\x03\x04"])
    # The same data declared as a plain EVENT goes out identically.
    as_event = Packet(type=T.EVENT, namespace="/admin", data=packet.data)
    assert encode_packet(as_event) == (text, [b"\x01\x02", b"\x03\x04"])


def test_placeholders_may_repeat_and_skip_attachments() -> None:
    # The reference does not require every attachment to be referenced once.
    packet = decode('52-["x",{"_placeholder":true,"num":1},{"_placeholder":true,"num":1}]', b"a", b"b")
    assert packet.data == ["x", b"b", b"b"]


def test_decoder_is_reusable_after_a_binary_packet() -> None:
    decoder = PacketDecoder()
    assert decode('51-["a",{"_placeholder":true,"num":0}]', b"1", decoder=decoder).data == ["a", b"1"]
    assert decode('2["b"]', decoder=decoder).data == ["b"]
    assert decode('61-3[{"_placeholder":true,"num":0}]', b"2", decoder=decoder).data == [b"2"]


def test_binary_message_types_accepted() -> None:
    decoder = PacketDecoder()
    assert decoder.receive_text('52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]') is None
    assert decoder.receive_binary(bytearray(b"x")) is None
    packet = decoder.receive_binary(memoryview(b"y"))
    assert packet is not None and packet.data == ["a", b"x", b"y"]
    assert all(type(item) is bytes for item in packet.data[1:])


# ------------------------------------------------------------------ encoding


def test_encode_binary_nested_depth_first_in_order() -> None:
    data = ["up", {"a": b"0", "b": [bytearray(b"1"), (memoryview(b"2"), {"c": b"3"})]}, b"4"]
    text, attachments = encode_packet(Packet(type=T.EVENT, data=data, id=7))
    assert text == (
        '55-7["up",{"a":{"_placeholder":true,"num":0},"b":[{"_placeholder":true,"num":1},'
        '[{"_placeholder":true,"num":2},{"c":{"_placeholder":true,"num":3}}]]},'
        '{"_placeholder":true,"num":4}]'
    )
    assert attachments == [b"0", b"1", b"2", b"3", b"4"]
    assert all(type(item) is bytes for item in attachments)


def test_encode_binary_ack() -> None:
    packet = Packet(type=T.ACK, namespace="/admin", data=[b"\x00"], id=0)
    assert encode_packet(packet) == ('61-/admin,0[{"_placeholder":true,"num":0}]', [b"\x00"])


def test_encode_binary_type_without_buffers_is_sent_plain() -> None:
    assert encode_packet(Packet(type=T.BINARY_EVENT, data=["a"])) == ('2["a"]', [])
    assert encode_packet(Packet(type=T.BINARY_ACK, data=[], id=4)) == ("34[]", [])


def test_encode_does_not_modify_the_data() -> None:
    data = ["a", {"b": b"x"}]
    encode_packet(Packet(type=T.EVENT, data=data))
    assert data == ["a", {"b": b"x"}]


def test_json_matches_javascript_stringify() -> None:
    data = ["é", {"z": 1, "a": [True, False, None]}, "\u2028", "日本", "😀", 'q"\\\n']
    text, _ = encode_packet(Packet(type=T.EVENT, data=data))
    # JSON.stringify: compact, key order kept, non-ASCII left literal.
    assert text == '2["é",{"z":1,"a":[true,false,null]},"\u2028","日本","😀","q\\"\\\\\\n"]'
    assert '"é"' in text and "\\u" not in text


def test_lone_surrogates_are_escaped_like_javascript() -> None:
    text, _ = encode_packet(Packet(type=T.EVENT, data=["a", "x\ud800y", {"\udfff": "é"}]))
    assert text == '2["a","x\\ud800y",{"\\udfff":"é"}]'
    text.encode("utf-8")  # sendable
    assert decode(text).data == ["a", "x\ud800y", {"\udfff": "é"}]


def test_ascii_output_unchanged_by_surrogate_check() -> None:
    assert encode_packet(Packet(type=T.EVENT, data=["a\\ud800"])) == ('2["a\\\\ud800"]', [])


def test_non_finite_floats_become_null_like_javascript() -> None:
    nan, inf = float("nan"), float("inf")
    packet = Packet(type=T.EVENT, data=["a", nan, inf, -inf, {"x": (nan,)}, 1.5])
    assert encode_packet(packet) == ('2["a",null,null,null,{"x":[null]},1.5]', [])
    # Also when the same data carries binary, whichever comes first.
    packet = Packet(type=T.ACK, data=[inf, b"z", nan], id=1)
    assert encode_packet(packet) == ('61-1[null,{"_placeholder":true,"num":0},null]', [b"z"])


def test_encode_connect_error_string_for_v4() -> None:
    packet = Packet(type=T.CONNECT_ERROR, namespace="/admin", data="Not authorized")
    assert encode_packet(packet) == ('4/admin,"Not authorized"', [])


def test_encode_accepts_plain_int_type_and_tuples() -> None:
    packet = Packet(type=2, data=("a", (1, 2)))  # type: ignore[arg-type]
    assert encode_packet(packet) == ('2["a",[1,2]]', [])


def test_injected_dumps_is_used_and_binary_still_found() -> None:
    calls: list[Any] = []

    def dumps(value: Any) -> str:
        calls.append(value)
        return json.dumps(value, separators=(",", ":"), default=lambda b: "BYTES")

    assert encode_packet(Packet(type=T.EVENT, data=["a", 1]), dumps=dumps) == ('2["a",1]', [])
    # A dumps that would happily serialise bytes must not see them.
    text, attachments = encode_packet(Packet(type=T.EVENT, data=["a", b"z"]), dumps=dumps)
    assert text == '51-["a",{"_placeholder":true,"num":0}]' and attachments == [b"z"]
    assert calls[-1] == ["a", PH0]


def test_injected_loads_is_used() -> None:
    seen: list[str] = []

    def loads(text: str) -> Any:
        seen.append(text)
        return json.loads(text)

    decoder = PacketDecoder(loads=loads)
    assert decode('2/a,1["x"]', decoder=decoder) == Packet(type=T.EVENT, namespace="/a", data=["x"], id=1)
    assert seen == ['["x"]']
    with pytest.raises(RemoteSocketIOError, match="invalid JSON"):
        decoder.receive_text("2[")


LOCAL_ERRORS: list[tuple[Packet, str]] = [
    (Packet(type=T.EVENT, data=[]), "non-empty list"),
    (Packet(type=T.EVENT, data="a"), "non-empty list"),
    (Packet(type=T.EVENT), "non-empty list"),
    (Packet(type=T.EVENT, data=[None]), "string or a number"),
    (Packet(type=T.EVENT, data=[True]), "string or a number"),
    (Packet(type=T.EVENT, data=[b"x"]), "string or a number"),
    (Packet(type=T.EVENT, data=["disconnect"]), "reserved"),
    (Packet(type=T.ACK, data=[]), "needs the id"),
    (Packet(type=T.ACK, data={}, id=1), "must be a list"),
    (Packet(type=T.CONNECT, data=[1]), "None or a dict"),
    (Packet(type=T.CONNECT, id=1), "ack id"),
    (Packet(type=T.DISCONNECT, data={}), "no data"),
    (Packet(type=T.CONNECT_ERROR), "dict"),
    (Packet(type=T.CONNECT_ERROR, data=1), "dict"),
    (Packet(type=T.CONNECT, data={"a": b"x"}), "binary"),
    (Packet(type=T.EVENT, data=["a"], id=-1), "ack id"),
    (Packet(type=T.EVENT, data=["a"], id=10**15), "ack id"),
    (Packet(type=T.EVENT, data=["a"], id=True), "ack id"),
    (Packet(type=T.EVENT, data=["a"], namespace="admin"), "namespace"),
    (Packet(type=T.EVENT, data=["a"], namespace="/a,b"), "namespace"),
    (Packet(type=T.EVENT, data=["a"], namespace=""), "namespace"),
    (Packet(type=T.EVENT, data=["a", {1j}]), "JSON"),
    (Packet(type=T.EVENT, data=["a", {(1, 2): 3}]), "JSON"),
    (Packet(type=9, data=["a"]), "unknown packet type"),  # type: ignore[arg-type]
]


@pytest.mark.parametrize(("packet", "fragment"), LOCAL_ERRORS, ids=[repr(p) for p, _ in LOCAL_ERRORS])
def test_encode_refuses(packet: Packet, fragment: str) -> None:
    with pytest.raises(LocalSocketIOError, match=fragment):
        encode_packet(packet)


def test_encode_circular_data_is_local_error() -> None:
    data: list[Any] = ["a"]
    data.append(data)
    with pytest.raises(LocalSocketIOError):
        encode_packet(Packet(type=T.EVENT, data=data))
    with pytest.raises(LocalSocketIOError):
        encode_packet(Packet(type=T.EVENT, data=data), dumps=json.dumps)


def test_reserved_events_match_the_reference() -> None:
    assert RESERVED_EVENTS == {
        "connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener",
    }


# ------------------------------------------------------------------ decoding errors

REMOTE_ERRORS: list[tuple[str, str]] = [
    ("", "empty"),
    ("7", "unknown packet type"),
    ("a", "unknown packet type"),
    ("٢[\"a\"]", "unknown packet type"),  # a Unicode digit is not a type
    ("4abc", "invalid JSON"),  # PROTOCOL.md 2.5
    ("2{}", "non-empty array"),
    ("2[]", "non-empty array"),
    ('2"a"', "non-empty array"),
    ("2abc[\"a\"]", "invalid JSON"),
    ('212abc["a"]', "invalid JSON"),
    ("2123", "without payload"),
    ("2", "without payload"),
    ("2/admin,", "without payload"),
    ("2/admin", "without payload"),
    ("2/admin,1", "without payload"),
    ("2[null]", "string or a number"),
    ("2[true]", "string or a number"),
    ("2[[1]]", "string or a number"),
    ('2[{"a":1}]', "string or a number"),
    *[(f'2["{name}"]', "reserved") for name in sorted(RESERVED_EVENTS)],
    ('5["a"]', "attachment count"),
    ('51["a"]', "attachment count"),
    ('5-["a"]', "attachment count"),
    ('5x-["a"]', "attachment count"),
    ('51.5-["a"]', "attachment count"),
    ("51", "attachment count"),
    ('50-["a"]', "at least 1"),
    ('511-["a"]', "too many attachments"),
    ('5' + "9" * 30 + '-["a"]', "too many attachments"),
    ('21-["a"]', "non-binary"),
    ('31-1["a"]', "non-binary"),
    ('51-["a",{"_placeholder":true,"num":1}]', "placeholder"),
    ('51-["a",{"_placeholder":true,"num":-1}]', "placeholder"),
    ('51-["a",{"_placeholder":true,"num":"0"}]', "placeholder"),
    ('51-["a",{"_placeholder":true,"num":0.0}]', "placeholder"),
    ('51-["a",{"_placeholder":true,"num":true}]', "placeholder"),
    ('51-["a",{"_placeholder":true}]', "placeholder"),
    ('51-["a",{"b":[{"_placeholder":true,"num":3}]}]', "placeholder"),
    ('51-{"_placeholder":true,"num":0}', "non-empty array"),
    ('61-{"_placeholder":true,"num":0}', "ack id"),
    ("61-1{}", "must be an array"),
    ("3[]", "without an ack id"),
    ('3/admin,["a"]', "without an ack id"),
    ("31", "without payload"),
    ("31{}", "must be an array"),
    ('31"a"', "must be an array"),
    ("0[]", "must be an object"),
    ('0"a"', "must be an object"),
    ("0null", "must be an object"),
    ("012", "ack id"),
    ("0/admin,1{}", "ack id"),
    ("1{}", "DISCONNECT packet with a payload"),
    ("1/admin,{}", "DISCONNECT packet with a payload"),
    ("11", "ack id"),
    ("4", "without payload"),
    ("4/admin,", "without payload"),
    ('4"Not authorized"', "must be an object"),  # v4 string form: not accepted from a v5 peer
    ("4[]", "must be an object"),
    ('2["a",NaN]', "invalid JSON"),
    ('2["a",Infinity]', "invalid JSON"),
    ('2["a",-Infinity]', "invalid JSON"),
    ('2["a"', "invalid JSON"),
    ('2["a"]]', "invalid JSON"),
    ('2["a"],', "invalid JSON"),
    ("2['a']", "invalid JSON"),
    ('2["a\x01"]', "invalid JSON"),  # raw control character in a string
    ('2["a",' + "1" * 5000 + "]", "invalid JSON"),  # int() digit limit
    ('2\ufeff["a"]', "invalid JSON"),
    ("2" + "1" * 16 + '["a"]', "ack id longer"),
    ("2" + "1" * 100_000 + '["a"]', "ack id longer"),
    ('2["a",' + "[" * 40 + "]" * 40 + "]", "nested deeper"),
    ("2" + "[" * 100_000, "nested deeper"),
    ('2["a",' + '{"a":' * 40 + "1" + "}" * 40 + "]", "nested deeper"),
]


@pytest.mark.parametrize(("text", "fragment"), REMOTE_ERRORS, ids=[t[:30] for t, _ in REMOTE_ERRORS])
def test_decode_refuses(text: str, fragment: str) -> None:
    decoder = PacketDecoder()
    with pytest.raises(RemoteSocketIOError, match=fragment) as info:
        decoder.receive_text(text)
    assert info.value.reason == str(info.value)
    assert "\n" not in info.value.reason and len(info.value.reason) < 120
    assert decoder.pending_attachments == 0
    # The decoder still works afterwards.
    assert decoder.receive_text('2["ok"]') == Packet(type=T.EVENT, data=["ok"])


def test_text_while_attachments_pending() -> None:
    decoder = PacketDecoder()
    assert decoder.receive_text('52-["a",{"_placeholder":true,"num":0}]') is None
    assert decoder.receive_binary(b"x") is None
    with pytest.raises(RemoteSocketIOError, match="pending"):
        decoder.receive_text('2["b"]')
    # The half-built packet is dropped.
    assert decoder.pending_attachments == 0
    with pytest.raises(RemoteSocketIOError, match="no attachment was expected"):
        decoder.receive_binary(b"y")


def test_binary_when_none_expected() -> None:
    decoder = PacketDecoder()
    with pytest.raises(RemoteSocketIOError, match="no attachment was expected"):
        decoder.receive_binary(b"\x01")
    decode('2["a"]', decoder=decoder)
    with pytest.raises(RemoteSocketIOError, match="no attachment was expected"):
        decoder.receive_binary(b"\x01")


def test_attachment_bytes_limit() -> None:
    decoder = PacketDecoder(max_attachment_bytes=5)
    decoder.receive_text('52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]')
    decoder.receive_binary(b"123")
    with pytest.raises(RemoteSocketIOError, match="exceed 5 bytes"):
        decoder.receive_binary(b"456")
    assert decoder.pending_attachments == 0
    # Exactly at the limit is fine.
    decoder.receive_text('52-["a",{"_placeholder":true,"num":0},{"_placeholder":true,"num":1}]')
    decoder.receive_binary(b"123")
    packet = decoder.receive_binary(b"45")
    assert packet is not None and packet.data == ["a", b"123", b"45"]


def test_default_limits() -> None:
    assert DEFAULT_MAX_ATTACHMENTS == 10
    assert DEFAULT_MAX_ATTACHMENT_BYTES == 10 * 1_000_000
    header = "510-[" + ",".join(f'{{"_placeholder":true,"num":{n}}}' for n in range(10)) + "]"
    with pytest.raises(RemoteSocketIOError, match="string or a number"):
        PacketDecoder().receive_text(header)  # 10 attachments pass the count check
    text = '510-["a",' + ",".join(f'{{"_placeholder":true,"num":{n}}}' for n in range(10)) + "]"
    packet = decode(text, *[bytes([n]) for n in range(10)])
    assert packet.data[1:] == [bytes([n]) for n in range(10)]


def test_configurable_attachment_count() -> None:
    decoder = PacketDecoder(max_attachments=2)
    with pytest.raises(RemoteSocketIOError, match=r"too many attachments \(3 > 2\)"):
        decoder.receive_text('53-["a"]')
    assert decoder.receive_text('52-["a"]') is None


def test_configurable_depth() -> None:
    shallow = PacketDecoder(max_depth=2)
    assert decode('2["a",[1]]', decoder=shallow).data == ["a", [1]]
    with pytest.raises(RemoteSocketIOError, match="nested deeper than 2"):
        shallow.receive_text('2["a",[[1]]]')
    # Brackets inside strings do not count.
    assert decode('2["[[[[[[{{{{", "\\"[[[[[", "\\\\"]', decoder=shallow).data == [
        "[[[[[[{{{{", '"[[[[[', "\\"
    ]
    deep = PacketDecoder(max_depth=200)
    nested = '2["a",' + "[" * 150 + "]" * 150 + "]"
    assert decode(nested, decoder=deep).type is T.EVENT


def test_depth_exactly_at_limit_is_accepted() -> None:
    # 1 (outer array) + 31 = 32 levels, the default limit.
    text = '2["a",' + "[" * 31 + "]" * 31 + "]"
    assert decode(text).type is T.EVENT
    with pytest.raises(RemoteSocketIOError, match="nested deeper"):
        PacketDecoder().receive_text('2["a",' + "[" * 32 + "]" * 32 + "]")


def test_wide_shallow_payload_is_not_mistaken_for_deep() -> None:
    text = '2["e",' + ",".join(['{"a":[1,{"b":"]]]["}]}'] * 500) + "]"
    assert len(decode(text).data) == 501


@pytest.mark.parametrize(
    "kwargs",
    [
        {"max_attachments": 0},
        {"max_depth": 0},
        {"max_attachment_bytes": 0},
        {"max_attachments": 1.5},
        {"max_attachments": 10**9},
    ],
)
def test_decoder_refuses_bad_limits(kwargs: dict[str, Any]) -> None:
    with pytest.raises(LocalSocketIOError):
        PacketDecoder(**kwargs)


# ------------------------------------------------------------------ plumbing


def test_error_hierarchy() -> None:
    assert issubclass(LocalSocketIOError, SocketIOError)
    assert issubclass(RemoteSocketIOError, SocketIOError)
    assert not issubclass(RemoteSocketIOError, LocalSocketIOError)
    assert RemoteSocketIOError("bad").reason == "bad"


def test_fast_packet_constructor_matches_dataclass() -> None:
    fast = _make_packet(T.ACK, "/a", [1], 3)
    slow = Packet(type=T.ACK, namespace="/a", data=[1], id=3)
    assert fast == slow and repr(fast) == repr(slow) and type(fast) is Packet
    with pytest.raises(AttributeError):
        fast.id = 4  # type: ignore[misc]


def test_packet_is_frozen_slotted_kw_only() -> None:
    packet = Packet(type=T.EVENT, data=["a"])
    assert not hasattr(packet, "__dict__")
    with pytest.raises(TypeError):
        Packet(T.EVENT)  # type: ignore[call-arg]
