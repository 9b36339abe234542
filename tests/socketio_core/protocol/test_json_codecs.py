"""JSON codecs of the default parser: the built-in encoder and OrjsonCodec.

The built-in encoder is JSON.stringify-compatible (compact, non-ASCII as is,
key order kept, NaN/Infinity as null, lone surrogates escaped); orjson must
write the same text, except for float exponents where neither matches
JavaScript exactly and the value read back is the same.
"""

from __future__ import annotations

import json
import math
from typing import Any

import orjson
import pytest

from socketio_core import (
    BinaryFound,
    JsonParser,
    LocalSocketIOError,
    OrjsonCodec,
    Packet,
    PacketType,
    RemoteSocketIOError,
    Server,
    encode_packet,
)
from socketio_core.protocol import _encoder, _json
from socketio_core.protocol._json import _default_dumps

T = PacketType
codec = OrjsonCodec()

# Values both encoders must write identically.
SAME_TEXT: list[Any] = [
    None,
    True,
    False,
    0,
    -1,
    2**53 + 1,
    2**63 - 1,
    -(2**63),
    2**64 - 1,
    "",
    "plain",
    "é à ü ß ñ 中文 日本語 한국어 😀 \U0010ffff",
    "\u2028\u2029 \x7f \x00\x01\x1f \" \\ / \t\n\r\b\f",
    "\ufeff\ufffe",
    [],
    {},
    [1, [2, [3, [4, []]]]],
    {"b": 1, "a": 2, "c": {"z": [], "y": {}}},  # insertion order, never sorted
    {"é": {"ü": ["😀", {"": None}]}},
    (1, "two", (3.5,)),
    [0.0, 0.5, -1.25, 0.1, 1.7976931348623157e308, 5e-324, 123456789.123, 2.5e-3, 3.0, 100.0],
    [1e16, 1e20, 1e21, 1.5e300, -0.0, 1e15],
    ["echo", {"a": 1, "b": "hello"}],
    {"nested": [{"deep": [{"deeper": [1, 2.5, "x", None, True]}]}]},
]

# Floats whose exponent both write differently (orjson: 1e-7 like JavaScript;
# the built-in encoder: 1e-07): same value, different text.
FLOAT_EXPONENTS: list[float] = [1e-7, 1e-5, 1.5e-6, 2.5e-10, -3e-300, 1e-05]


@pytest.mark.parametrize("value", SAME_TEXT, ids=repr)
def test_orjson_writes_what_the_builtin_encoder_writes(value: Any) -> None:
    assert codec.dumps(value) == _default_dumps(value)
    assert json.loads(codec.dumps(value)) == json.loads(_default_dumps(value))


@pytest.mark.parametrize("value", FLOAT_EXPONENTS)
def test_float_exponents_differ_in_text_only(value: float) -> None:
    ours, builtin = codec.dumps([value]), _default_dumps([value])
    assert json.loads(ours) == json.loads(builtin) == [value]
    assert "e-0" not in ours  # JavaScript's form: 1e-7, not 1e-07


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (2**64, "[18446744073709551616]"),  # past orjson's 64 bits: built-in fallback
        (-(2**63) - 1, "[-9223372036854775809]"),
        ({1: "a", False: "b", None: "c", 2.5: "d"}, '[{"1":"a","false":"b","null":"c","2.5":"d"}]'),
    ],
)
def test_what_orjson_refuses_falls_back_to_the_builtin_encoder(value: Any, text: str) -> None:
    assert codec.dumps([value]) == _default_dumps([value]) == text


def test_lone_surrogates_fall_back_and_get_escaped_like_json_stringify() -> None:
    packet = Packet(type=T.EVENT, data=["s", "a\ud800b", {"\udfff": 1}])
    assert JsonParser("orjson").encode(packet) == JsonParser().encode(packet)
    assert JsonParser("orjson").encode(packet) == ['42["s","a\\ud800b",{"\\udfff":1}]']


def test_nan_and_infinity_are_null_with_both() -> None:
    packet = Packet(type=T.EVENT, data=["n", math.nan, math.inf, -math.inf, [math.nan]])
    assert JsonParser("orjson").encode(packet) == JsonParser().encode(packet)
    assert JsonParser().encode(packet) == ['42["n",null,null,null,[null]]']


@pytest.mark.parametrize("value", [{1, 2}, object(), b"x", 1j])
def test_unserialisable_values_are_refused_by_both(value: Any) -> None:
    with pytest.raises((TypeError, BinaryFound)):
        codec.dumps(["x", value])
    with pytest.raises((TypeError, BinaryFound)):
        _default_dumps(["x", value])


def test_datetimes_and_dataclasses_are_refused_as_the_builtin_encoder_refuses_them() -> None:
    import dataclasses
    import datetime

    @dataclasses.dataclass
    class Point:
        x: int

    for value in (datetime.datetime(2020, 1, 1), datetime.date(2020, 1, 1), Point(1)):
        with pytest.raises(LocalSocketIOError):
            JsonParser("orjson").encode(Packet(type=T.EVENT, data=["x", value]))
        with pytest.raises(LocalSocketIOError):
            JsonParser().encode(Packet(type=T.EVENT, data=["x", value]))


def test_dumps_returns_str() -> None:
    assert type(codec.dumps({"a": "é"})) is str


# -------------------------------------------------------- binary detection


BINARY_PACKETS = [
    Packet(type=T.EVENT, data=["b", b"\x01\x02"]),
    Packet(type=T.EVENT, data=["b", bytearray(b"\x03"), memoryview(b"\x04")]),
    Packet(type=T.EVENT, data=["b", {"k": [b"", {"deep": b"\xff"}]}, "text", math.nan]),
    Packet(type=T.BINARY_EVENT, data=["b", "no buffer after all"]),
    Packet(type=T.ACK, namespace="/custom", data=[b"\x00", (b"\x01",)], id=7),
    Packet(type=T.EVENT, data=["b", 2**64, b"\x05"]),  # big int and binary: both fallbacks
]


@pytest.mark.parametrize("packet", BINARY_PACKETS, ids=repr)
def test_orjson_finds_binary_like_the_default_encoder(packet: Packet) -> None:
    assert JsonParser("orjson").encode(packet) == JsonParser().encode(packet)


def test_orjson_needs_no_walk_for_binary(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_walk(obj: Any) -> bool:
        raise AssertionError("walked the data for buffers")

    monkeypatch.setattr(_encoder, "_has_binary", no_walk)
    parser = JsonParser("orjson")
    assert parser.encode(Packet(type=T.EVENT, data=["b", b"\x01"])) == ['451-["b",{"_placeholder":true,"num":0}]', b"\x01"]
    assert parser.encode(Packet(type=T.EVENT, data=["plain", 1])) == ['42["plain",1]']


def test_an_injected_dumps_without_finds_binary_still_gets_the_walk() -> None:
    # ujson-style: an encoder that would accept bytes silently.
    def lenient(obj: Any) -> str:
        return json.dumps(obj, separators=(",", ":"), default=lambda o: "BYTES")

    text, buffers = encode_packet(Packet(type=T.EVENT, data=["b", b"\x01"]), dumps=lenient)
    assert (text, buffers) == ('51-["b",{"_placeholder":true,"num":0}]', [b"\x01"])


def test_binary_outside_event_and_ack_is_refused_with_orjson() -> None:
    with pytest.raises(LocalSocketIOError):
        JsonParser("orjson").encode(Packet(type=T.CONNECT, data={"k": b"\x01"}))


# ------------------------------------------------------------------ loads


LOADS_CASES = [
    '["echo",{"a":1,"b":"hello"}]',
    ' [1, 2.5, -0, -0.0, 1e2, 1E-2, true, false, null] ',
    '{"é":"😀","\\u00e9":"\\ud83d\\ude00","esc":"\\n\\t\\"\\\\\\/"}',
    '{"dup":1,"dup":2}',
    '"\\ud800"',  # lone surrogate escape: orjson refuses it, JSON.parse takes it
    "1e400",  # beyond float: orjson refuses it, JSON.parse says Infinity
    "[[[[[[[[]]]]]]]]",
]


@pytest.mark.parametrize("text", LOADS_CASES)
def test_orjson_loads_like_the_builtin_parser(text: str) -> None:
    assert repr(codec.loads(text)) == repr(_json._DEFAULT_DECODER.decode(text))


def test_big_integers_read_as_json_parse_reads_them() -> None:
    # orjson: a float, as JSON.parse; the built-in parser keeps the int.
    assert codec.loads("[18446744073709551616]") == [float(2**64)]


@pytest.mark.parametrize("text", ["", "[1,]", "NaN", "[Infinity]", "{'a':1}", "[1] x", "\ud800"])
def test_invalid_json_raises_value_error(text: str) -> None:
    with pytest.raises(ValueError):
        codec.loads(text)


@pytest.mark.parametrize(
    "message",
    [
        '2["echo",{"a":1,"b":"hello"}]',
        '2/custom,12["é",[1,2.5,null],{"k":true}]',
        '3/custom,5[]',
        '0{"token":"abc"}',
        '51-["b",{"_placeholder":true,"num":0}]',
    ],
)
def test_orjson_decoder_gives_the_same_packets(message: str) -> None:
    ours, builtin = JsonParser("orjson").new_decoder(), JsonParser().new_decoder()
    assert ours.receive_text(message) == builtin.receive_text(message)
    if ours.pending_attachments:
        assert ours.receive_binary(b"\x01") == builtin.receive_binary(b"\x01")


@pytest.mark.parametrize("message", ['2["x",]', "2NaN", '2["x"', '2{"a":1}', "4[]", "2" + "[" * 40 + "]" * 40])
def test_orjson_decoder_refuses_what_the_builtin_refuses(message: str) -> None:
    for decoder in (JsonParser("orjson").new_decoder(), JsonParser().new_decoder()):
        with pytest.raises(RemoteSocketIOError):
            decoder.receive_text(message)


# -------------------------------------------------------- per-server choice


def test_the_codec_is_chosen_per_server_never_process_wide() -> None:
    fast, default = Server(json="orjson"), Server()
    assert isinstance(fast.parser, JsonParser) and isinstance(fast.parser.codec, OrjsonCodec)
    assert isinstance(default.parser, JsonParser) and default.parser.codec is None
    # The default server's encoder is the built-in one, untouched by the other.
    packet = Packet(type=T.EVENT, data=["f", 1e-7])
    assert default.parser.encode(packet) == ['42["f",1e-07]']
    assert fast.parser.encode(packet) == ['42["f",1e-7]']
    assert JsonParser(OrjsonCodec()).encode(packet) == fast.parser.encode(packet)


def test_any_object_with_dumps_and_loads_is_a_codec() -> None:
    class Pretty:
        def dumps(self, obj: Any) -> str:
            return json.dumps(obj, separators=(", ", ": "))

        def loads(self, text: str) -> Any:
            return json.loads(text)

    parser = JsonParser(Pretty())
    assert parser.encode(Packet(type=T.EVENT, data=["e", 1])) == ['42["e", 1]']
    assert parser.new_decoder().receive_text('2["e", 1]') == Packet(type=T.EVENT, data=["e", 1])
    with pytest.raises(TypeError):
        JsonParser(object())
    with pytest.raises(ValueError):
        JsonParser("ujson")


def test_orjson_is_the_real_thing() -> None:
    # The codec wraps orjson itself, not a stand-in.
    assert codec.dumps({"a": [1]}) == orjson.dumps({"a": [1]}).decode()
