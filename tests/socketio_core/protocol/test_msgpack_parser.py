"""The msgpack parser (npm socket.io-msgpack-parser's format), sans-IO.

NODE_VECTORS / NODE_REFUSALS were captured by running the npm parser
(socket.io-msgpack-parser 3.0.2 on notepack.io 2.2.0) under Node:
``node tests/interop/msgpack_vectors.js``. ``client_*`` are packets built as
socket.io-client 4.x builds them; ``server_*`` use the key order our encoder
writes, so both encoders must agree byte for byte; ``big_*`` are
``length:sha256``. tests/integration/test_msgpack_interop.py reruns the
script and checks these constants still hold.
"""

from __future__ import annotations

import hashlib
import json
import math
from datetime import datetime, timedelta, timezone
from typing import Any, Final

import msgpack
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socketio_core import (
    Connection,
    JsonParser,
    LocalSocketIOError,
    MsgpackParser,
    Packet,
    PacketType,
    RemoteSocketIOError,
    Server,
)
from socketio_core.protocol._connection import ConnectRequested, EventReceived
from socketio_core.protocol._msgpack import _ExactUnpacker
from socketio_core.protocol._parser import make_parser

NODE_VECTORS: Final = {
    "client_connect_no_auth": "83a47479706500a464617461d40000a36e7370a12f",
    "client_connect_auth": (
        "83a47479706500a46461746182a5746f6b656ea3616263a2c3a9a4f09f9880a36e7370a72f637573746f"
        "6d"
    ),
    "client_event": (
        "84a47479706502a46461746192a46563686f82a16101a162a568656c6c6fa76f7074696f6e7381a8636f"
        "6d7072657373c3a36e7370a12f"
    ),
    "client_event_ack_binary": (
        "85a47479706502a46461746193a362696ec40301020381a66e657374656491c400a76f7074696f6e7381"
        "a8636f6d7072657373c3a2696407a36e7370a12f"
    ),
    "client_ack": (
        "84a47479706503a2696405a46461746195a26f6bcb3ff8000000000000c0c3c2a36e7370a72f63757374"
        "6f6d"
    ),
    "client_disconnect": "82a47479706501a36e7370a72f637573746f6d",
    "client_undefined_args": "83a47479706502a46461746193a175d4000081a16bd40000a36e7370a12f",
    "client_date": (
        "83a47479706502a46461746193a164d7000000018df4d808d2d700ffffffffffffffffa36e7370a12f"
    ),
    "client_arraybuffer": (
        "83a47479706502a46461746195a26162c7010000c708000908070605040302c70300010203c70500d400"
        "00d700a36e7370a12f"
    ),
    "server_connect": "83a47479706500a46461746181a3736964a6616263313233a36e7370a12f",
    "server_connect_error": (
        "83a47479706504a46461746181a76d657373616765b1496e76616c6964206e616d657370616365a36e73"
        "70a52f6e6f7065"
    ),
    "server_disconnect": "82a47479706501a36e7370a72f637573746f6d",
    "server_event": "83a47479706502a46461746192a46563686f82a16101a162a568656c6c6fa36e7370a12f",
    "server_event_id": (
        "84a47479706502a46461746192ab70696e675f636c69656e74c0a36e7370a72f637573746f6da269640c"
    ),
    "server_ack": "84a47479706503a46461746190a36e7370a12fa2696400",
    "server_ints": (
        "83a47479706502a464617461dc0015a4696e7473007fcc80ccffcd0100cdffffce00010000ceffffffff"
        "cf0000000100000000cf001fffffffffffffffe0d0dfd080d1ff7fd18000d2ffff7fffd280000000d3ff"
        "ffffff7fffffffd3ffe0000000000001a36e7370a12f"
    ),
    "server_floats": (
        "83a47479706502a46461746197a6666c6f617473cb3fe0000000000000cbbff4000000000000cb01a56e"
        "1fc2f8f359cb0000000000000001cb3fb999999999999acb3eef75104d551d69a36e7370a12f"
    ),
    "server_strings": (
        "83a47479706502a46461746199a7737472696e6773a0bf61616161616161616161616161616161616161"
        "616161616161616161616161d92061616161616161616161616161616161616161616161616161616161"
        "61616161d928c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9c3a9"
        "c3a9c3a9d9ff787878787878787878787878787878787878787878787878787878787878787878787878"
        "787878787878787878787878787878787878787878787878787878787878787878787878787878787878"
        "787878787878787878787878787878787878787878787878787878787878787878787878787878787878"
        "787878787878787878787878787878787878787878787878787878787878787878787878787878787878"
        "787878787878787878787878787878787878787878787878787878787878787878787878787878787878"
        "787878787878787878787878787878787878787878787878787878787878787878787878787878787878"
        "787878787878787878da0100797979797979797979797979797979797979797979797979797979797979"
        "797979797979797979797979797979797979797979797979797979797979797979797979797979797979"
        "797979797979797979797979797979797979797979797979797979797979797979797979797979797979"
        "797979797979797979797979797979797979797979797979797979797979797979797979797979797979"
        "797979797979797979797979797979797979797979797979797979797979797979797979797979797979"
        "797979797979797979797979797979797979797979797979797979797979797979797979797979797979"
        "79797979797979797979797979797979a4f09f9880a4e280a800a36e7370a12f"
    ),
    "server_containers": (
        "83a47479706502a46461746197aa636f6e7461696e6572739f000102030405060708090a0b0c0d0edc00"
        "10000102030405060708090a0b0c0d0e0f8fa26b3000a26b3101a26b3202a26b3303a26b3404a26b3505"
        "a26b3606a26b3707a26b3808a26b3909a36b31300aa36b31310ba36b31320ca36b31330da36b31340ede"
        "0010a26b3000a26b3101a26b3202a26b3303a26b3404a26b3505a26b3606a26b3707a26b3808a26b3909"
        "a36b31300aa36b31310ba36b31320ca36b31330da36b31340ea36b31350f91919080a36e7370a12f"
    ),
    "server_binary": (
        "84a47479706502a46461746194a662696e617279c400c4ff030a11181f262d343b424950575e656c737a"
        "81888f969da4abb2b9c0c7ced5dce3eaf1f8ff060d141b222930373e454c535a61686f767d848b9299a0"
        "a7aeb5bcc3cad1d8dfe6edf4fb020910171e252c333a41484f565d646b727980878e959ca3aab1b8bfc6"
        "cdd4dbe2e9f0f7fe050c131a21282f363d444b525960676e757c838a91989fa6adb4bbc2c9d0d7dee5ec"
        "f3fa01080f161d242b323940474e555c636a71787f868d949ba2a9b0b7bec5ccd3dae1e8eff6fd040b12"
        "1920272e353c434a51585f666d747b828990979ea5acb3bac1c8cfd6dde4ebf2f900070e151c232a3138"
        "3f464d545b626970777e858c939aa1a8afb6bdc4cbd2d9e0e7eef5c50100030a11181f262d343b424950"
        "575e656c737a81888f969da4abb2b9c0c7ced5dce3eaf1f8ff060d141b222930373e454c535a61686f76"
        "7d848b9299a0a7aeb5bcc3cad1d8dfe6edf4fb020910171e252c333a41484f565d646b727980878e959c"
        "a3aab1b8bfc6cdd4dbe2e9f0f7fe050c131a21282f363d444b525960676e757c838a91989fa6adb4bbc2"
        "c9d0d7dee5ecf3fa01080f161d242b323940474e555c636a71787f868d949ba2a9b0b7bec5ccd3dae1e8"
        "eff6fd040b121920272e353c434a51585f666d747b828990979ea5acb3bac1c8cfd6dde4ebf2f900070e"
        "151c232a31383f464d545b626970777e858c939aa1a8afb6bdc4cbd2d9e0e7eef5fca36e7370a12fa269"
        "6403"
    ),
    "big_binary": "70028:eaf5b697a4cac1de8f4939ff6560039926bd529d1bbe38509e59c11356680427",
    "big_string": "70028:7f282f38886a0c8fbd781416ccea7c5eb250d2ce5542dd61685f2acadf1d2cd6",
    "big_array": "218572:bcb515ba7ce6ac55e8c486d64105ab1b79fde5011933e62b89b98b14031ef3e2",
}
NODE_REFUSALS: Final = {
    "type_5": ("83a47479706505a46461746191a178a36e7370a12f", "invalid packet type"),
    "no_nsp": ("82a47479706502a46461746191a178", "invalid namespace"),
    "event_data_map": ("83a47479706502a46461746180a36e7370a12f", "invalid payload"),
    "disconnect_with_data": ("83a47479706501a46461746180a36e7370a12f", "invalid payload"),
    "id_string": ("84a47479706502a46461746191a178a36e7370a12fa26964a131", "invalid packet id"),
}

UTC = timezone.utc
T = PacketType


def blob(size: int) -> bytes:
    """The byte pattern msgpack_vectors.js uses."""
    return bytes((i * 7 + 3) & 0xFF for i in range(size))


def decode(raw: bytes | str, parser: MsgpackParser | None = None) -> Packet | None:
    decoder = (parser or MsgpackParser()).new_decoder()
    if isinstance(raw, str):
        return decoder.receive_text(raw)
    return decoder.receive_binary(raw)


def encode(packet: Packet, parser: MsgpackParser | None = None) -> bytes:
    wires = (parser or MsgpackParser()).encode(packet)
    assert len(wires) == 1 and type(wires[0]) is bytes  # one binary message, always
    return wires[0]


def raw_packet(**fields: Any) -> bytes:
    """A packet map packed by msgpack-python, to craft what a peer might send."""
    return msgpack.packb(fields, use_bin_type=True)


def with_data_bytes(data_items: bytes, count: int, nsp: str = "/") -> bytes:
    """A packet map whose data is an array of ``count`` hand-packed items."""
    assert count < 16
    return (
        b"\x83\xa4type\x02\xa4data"
        + bytes((0x90 | count,))
        + data_items
        + b"\xa3nsp"
        + msgpack.packb(nsp)
    )


# ---------------------------------------------------------------- vectors


CLIENT_PACKETS: Final = {
    "client_connect_no_auth": Packet(type=T.CONNECT),
    "client_connect_auth": Packet(
        type=T.CONNECT, namespace="/custom", data={"token": "abc", "é": "😀"}
    ),
    "client_event": Packet(type=T.EVENT, data=["echo", {"a": 1, "b": "hello"}]),
    "client_event_ack_binary": Packet(
        type=T.EVENT, data=["bin", b"\x01\x02\x03", {"nested": [b""]}], id=7
    ),
    "client_ack": Packet(type=T.ACK, namespace="/custom", data=["ok", 1.5, None, True, False], id=5),
    "client_disconnect": Packet(type=T.DISCONNECT, namespace="/custom"),
    # undefined reads as None (JSON.stringify's null in arrays).
    "client_undefined_args": Packet(type=T.EVENT, data=["u", None, {"k": None}]),
    "client_date": Packet(
        type=T.EVENT,
        data=[
            "d",
            datetime(2024, 2, 29, 12, 30, 15, 250000, tzinfo=UTC),
            datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC),
        ],
    ),
    # A Node ArrayBuffer / typed array is ext type 0: bytes, even at 1 and 8
    # bytes (the sizes of undefined's and a Date's fixext).
    "client_arraybuffer": Packet(
        type=T.EVENT,
        data=["ab", b"\x00", bytes([9, 8, 7, 6, 5, 4, 3, 2]), b"\x01\x02\x03", b"\xd4\x00\x00\xd7\x00"],
    ),
}

SERVER_PACKETS: Final = {
    "server_connect": Packet(type=T.CONNECT, data={"sid": "abc123"}),
    "server_connect_error": Packet(
        type=T.CONNECT_ERROR, namespace="/nope", data={"message": "Invalid namespace"}
    ),
    "server_disconnect": Packet(type=T.DISCONNECT, namespace="/custom"),
    "server_event": Packet(type=T.EVENT, data=["echo", {"a": 1, "b": "hello"}]),
    "server_event_id": Packet(type=T.EVENT, namespace="/custom", data=["ping_client", None], id=12),
    "server_ack": Packet(type=T.ACK, data=[], id=0),
    "server_ints": Packet(
        type=T.EVENT,
        data=[
            "ints", 0, 127, 128, 255, 256, 65535, 65536, 4294967295, 4294967296, 9007199254740991,
            -1, -32, -33, -128, -129, -32768, -32769, -2147483648, -2147483649, -9007199254740991,
        ],
    ),
    "server_floats": Packet(type=T.EVENT, data=["floats", 0.5, -1.25, 1e-300, 5e-324, 0.1, 1.5e-5]),
    "server_strings": Packet(
        type=T.EVENT,
        data=["strings", "", "a" * 31, "a" * 32, "é" * 20, "x" * 255, "y" * 256, "😀", "\u2028\x00"],
    ),
    "server_containers": Packet(
        type=T.EVENT,
        data=[
            "containers",
            list(range(15)),
            list(range(16)),
            {f"k{i}": i for i in range(15)},
            {f"k{i}": i for i in range(16)},
            [[[]]],
            {},
        ],
    ),
    "server_binary": Packet(type=T.EVENT, data=["binary", blob(0), blob(255), blob(256)], id=3),
}

BIG_PACKETS: Final = {
    "big_binary": Packet(type=T.EVENT, data=["big", blob(70000)]),
    "big_string": Packet(type=T.EVENT, data=["big", "z" * 70000]),
    "big_array": Packet(type=T.EVENT, data=["big", list(range(70000))]),
}


def test_the_tables_cover_every_vector() -> None:
    assert set(NODE_VECTORS) == set(CLIENT_PACKETS) | set(SERVER_PACKETS) | set(BIG_PACKETS)


@pytest.mark.parametrize("name", sorted(CLIENT_PACKETS))
def test_decodes_what_the_js_client_sends(name: str) -> None:
    assert decode(bytes.fromhex(NODE_VECTORS[name])) == CLIENT_PACKETS[name]


@pytest.mark.parametrize("name", sorted(SERVER_PACKETS))
def test_encodes_byte_for_byte_what_the_npm_parser_encodes(name: str) -> None:
    packet = SERVER_PACKETS[name]
    assert encode(packet).hex() == NODE_VECTORS[name]
    assert decode(encode(packet)) == packet


@pytest.mark.parametrize("name", sorted(BIG_PACKETS))
def test_big_headers_match_the_npm_parser(name: str) -> None:
    # str 32, bin 32, array 32 (70000 > 0xffff), and every int size in big_array.
    raw = encode(BIG_PACKETS[name])
    assert f"{len(raw)}:{hashlib.sha256(raw).hexdigest()}" == NODE_VECTORS[name]
    assert decode(raw) == BIG_PACKETS[name]


@pytest.mark.parametrize("name", sorted(NODE_VECTORS))
def test_the_exact_decoder_reads_every_vector_as_msgpack_does(name: str) -> None:
    if name.startswith("big_"):
        raw = encode(BIG_PACKETS[name])
    else:
        raw = bytes.fromhex(NODE_VECTORS[name])
    expected = msgpack.unpackb(raw, raw=False, ext_hook=lambda code, data: data)
    exact = _ExactUnpacker(raw, msgpack).run()
    if name not in ("client_undefined_args", "client_date", "client_connect_no_auth"):
        assert exact == expected
    packet = decode(raw)
    assert packet is not None and packet.data == exact.get("data")


@pytest.mark.parametrize("name", sorted(NODE_REFUSALS))
def test_refuses_what_the_npm_decoder_refuses(name: str) -> None:
    raw, js_error = NODE_REFUSALS[name]
    assert js_error != "accepted"
    with pytest.raises(RemoteSocketIOError):
        decode(bytes.fromhex(raw))


# ---------------------------------------------------------- round trips


def test_extra_keys_are_ignored_as_the_npm_decoder_ignores_them() -> None:
    # socket.io-client adds {"options": {"compress": true}} to its EVENTs.
    raw = raw_packet(type=2, data=["e"], options={"compress": True}, nsp="/", extra=[1])
    assert decode(raw) == Packet(type=T.EVENT, data=["e"])


def test_binary_types_are_sent_as_plain_event_and_ack() -> None:
    for ptype, wire_type in ((T.BINARY_EVENT, 2), (T.BINARY_ACK, 3)):
        raw = encode(Packet(type=ptype, data=["x", b"\x01"], id=1))
        assert msgpack.unpackb(raw) == {"type": wire_type, "data": ["x", b"\x01"], "nsp": "/", "id": 1}


def test_data_and_id_keys_appear_only_when_set() -> None:
    assert msgpack.unpackb(encode(Packet(type=T.DISCONNECT, namespace="/a"))) == {"type": 1, "nsp": "/a"}
    assert list(msgpack.unpackb(encode(Packet(type=T.ACK, data=[1], id=9)))) == ["type", "data", "nsp", "id"]


def test_every_buffer_type_goes_as_bin() -> None:
    data = ["b", b"\x01", bytearray(b"\x02\x03"), memoryview(b"\x04"), {"k": (b"\x05", bytearray())}]
    raw = encode(Packet(type=T.EVENT, data=data))
    assert b"\xc4\x01\x01" in raw and b"\xc4\x02\x02\x03" in raw and b"\xc4\x00" in raw
    packet = decode(raw)
    assert packet is not None
    assert packet.data == ["b", b"\x01", b"\x02\x03", b"\x04", {"k": [b"\x05", b""]}]
    assert all(type(x) is bytes for x in packet.data[1:4])


def test_non_json_values_round_trip() -> None:
    when = datetime(2001, 2, 3, 4, 5, 6, 789000, tzinfo=timezone(timedelta(hours=2)))
    data = ["v", when, float("inf"), -0.0, 2**64 - 1, -(2**63), True, None]
    packet = decode(encode(Packet(type=T.EVENT, data=data)))
    assert packet is not None
    assert packet.data[1] == when and packet.data[1].tzinfo is UTC  # a JS Date has no zone
    assert packet.data[2:] == data[2:]
    assert math.copysign(1.0, packet.data[3]) == -1.0
    nan = decode(encode(Packet(type=T.EVENT, data=["n", float("nan")])))
    assert nan is not None and math.isnan(nan.data[1])


def test_datetimes_are_written_as_notepack_dates() -> None:
    # fixext 8, type 0, milliseconds (sub-millisecond truncated, as Date has none).
    when = datetime(2024, 2, 29, 12, 30, 15, 250999, tzinfo=UTC)
    raw = encode(Packet(type=T.EVENT, data=["d", when]))
    assert "d7000000018df4d808d2" in raw.hex()  # the bytes notepack wrote in client_date
    before = datetime(1969, 12, 31, 23, 59, 59, 999000, tzinfo=UTC)
    assert "d700ffffffffffffffff" in encode(Packet(type=T.EVENT, data=["d", before])).hex()


def test_lone_surrogates_become_replacement_characters() -> None:
    raw = encode(Packet(type=T.EVENT, data=["s\ud800", {"k\udfff": "\ud83d\ude00 ok"}]))
    packet = decode(raw)
    assert packet is not None
    assert packet.data == ["s\ufffd", {"k\ufffd": "\ufffd\ufffd ok"}]


@pytest.mark.parametrize(
    "packet",
    [
        Packet(type=T.EVENT, data=[]),
        Packet(type=T.EVENT, data=["connect"]),
        Packet(type=T.EVENT, data=[True]),
        Packet(type=T.EVENT, data="x"),
        Packet(type=T.ACK, data=[1]),
        Packet(type=T.ACK, data={}, id=1),
        Packet(type=T.CONNECT, data=[1]),
        Packet(type=T.CONNECT, data={}, id=1),
        Packet(type=T.DISCONNECT, data={}),
        Packet(type=T.CONNECT_ERROR, data=1),
        Packet(type=T.EVENT, data=["x"], id=-1),
        Packet(type=T.EVENT, data=["x"], id=10**15),
        Packet(type=T.EVENT, data=["x"], id=True),
        Packet(type=T.EVENT, namespace="nope", data=["x"]),
        Packet(type=T.EVENT, data=["x", {1, 2}]),
        Packet(type=T.EVENT, data=["x", 2**64]),
        Packet(type=T.EVENT, data=["x", -(2**63) - 1]),
        Packet(type=T.EVENT, data=["x", datetime(2020, 1, 1)]),  # naive: which zone?
        Packet(type=T.EVENT, data=["x", object()]),
        Packet(type=7, data=["x"]),  # type: ignore[arg-type]
    ],
)
def test_encoder_refuses_what_cannot_be_sent(packet: Packet) -> None:
    with pytest.raises(LocalSocketIOError):
        MsgpackParser().encode(packet)


def test_encoder_refuses_cycles() -> None:
    data: list[Any] = ["x"]
    data.append(data)
    with pytest.raises(LocalSocketIOError):
        MsgpackParser().encode(Packet(type=T.EVENT, data=data))


json_like = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**63), max_value=2**64 - 1)
    | st.floats(allow_nan=False)
    | st.text()
    | st.binary(max_size=40),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=8), inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(
    args=st.lists(json_like, max_size=5),
    namespace=st.sampled_from(["/", "/custom", "/a,b", "/é"]),
    ack_id=st.none() | st.integers(min_value=0, max_value=10**15 - 1),
)
def test_round_trip(args: list[Any], namespace: str, ack_id: int | None) -> None:
    packet = Packet(type=T.EVENT, namespace=namespace, data=["ev", *args], id=ack_id)
    parser = MsgpackParser(max_depth=64)
    assert decode(encode(packet, parser), parser) == packet


@settings(max_examples=300, deadline=None)
@given(value=json_like)
def test_exact_decoder_agrees_with_msgpack(value: Any) -> None:
    raw = msgpack.packb(value, use_bin_type=True)
    assert _ExactUnpacker(raw, msgpack).run() == msgpack.unpackb(raw, raw=False)


# ------------------------------------------- undefined / Date vs ArrayBuffer

UNDEFINED: Final = b"\xd4\x00\x00"  # notepack: fixext 1, type 0
AB_ZERO: Final = b"\xc7\x01\x00\x00"  # notepack: ext 8, 1 byte, type 0 (a Node ArrayBuffer [0])
DATE_2024: Final = bytes.fromhex("d7000000018df4d808d2")
AB_EIGHT: Final = b"\xc7\x08\x00" + bytes(range(1, 9))


@pytest.mark.parametrize(
    ("items", "count", "expected"),
    [
        (UNDEFINED + AB_ZERO, 2, [None, b"\x00"]),
        (AB_ZERO + UNDEFINED, 2, [b"\x00", None]),
        (b"\xc7\x01\x00\x07" + UNDEFINED, 2, [b"\x07", None]),
        (DATE_2024 + AB_EIGHT, 2, [datetime(2024, 2, 29, 12, 30, 15, 250000, tzinfo=UTC), bytes(range(1, 9))]),
        (AB_EIGHT + DATE_2024, 2, [bytes(range(1, 9)), datetime(2024, 2, 29, 12, 30, 15, 250000, tzinfo=UTC)]),
        # 8 bytes that are no Date datetime can hold: an ArrayBuffer for sure.
        (b"\xc7\x08\x00" + b"\x7f" * 8, 1, [b"\x7f" * 8]),
        # The byte pattern of an ext 8 head inside a bin: still an undefined.
        (b"\xc4\x03\xc7\x01\x00" + UNDEFINED, 2, [b"\xc7\x01\x00", None]),
        (
            b"\xc4\x03\xc7\x08\x00" + DATE_2024,
            2,
            [b"\xc7\x08\x00", datetime(2024, 2, 29, 12, 30, 15, 250000, tzinfo=UTC)],
        ),
    ],
)
def test_undefined_and_dates_are_told_from_array_buffers(items: bytes, count: int, expected: list[Any]) -> None:
    packet = decode(with_data_bytes(b"\xa1x" + items, count + 1))
    assert packet is not None and packet.data == ["x", *expected]


def test_a_date_beyond_datetime_is_refused() -> None:
    with pytest.raises(RemoteSocketIOError):
        decode(with_data_bytes(b"\xa1x\xd7\x00" + b"\x7f" * 8, 2))


# ------------------------------------------------------------ malformed


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"\xc1",  # never used
        b"\x83\xa4type",  # truncated
        raw_packet(type=2, data=["x"], nsp="/") + b"\x00",  # trailing bytes
        msgpack.packb([2, ["x"], "/"]),  # not a map
        msgpack.packb("42[\"x\"]"),
        b"\x83\xa4type\x02\xa4data\x91\xa2\xff\xfe\xa3nsp\xa1/",  # invalid UTF-8
        b"\xdd\xff\xff\xff\xff",  # an array longer than the message
        b"\xdf\xff\xff\xff\xff",
        b"\x81\x91\x01\x02",  # array as a map key
        raw_packet(type=True, data=["x"], nsp="/"),
        raw_packet(type=2.0, data=["x"], nsp="/"),
        raw_packet(type=5, data=["x"], nsp="/"),
        raw_packet(type=6, data=["x"], nsp="/", id=1),
        raw_packet(type=-1, data=["x"], nsp="/"),
        raw_packet(type="2", data=["x"], nsp="/"),
        raw_packet(data=["x"], nsp="/"),
        raw_packet(type=2, data=["x"]),
        raw_packet(type=2, data=["x"], nsp=None),
        raw_packet(type=2, data=["x"], nsp=b"/"),
        raw_packet(type=2, data=["x"], nsp="custom"),
        raw_packet(type=2, data=["x"], nsp=""),
        raw_packet(type=2, data=[], nsp="/"),
        raw_packet(type=2, nsp="/"),
        raw_packet(type=2, data={"0": "x"}, nsp="/"),
        raw_packet(type=2, data=["disconnecting"], nsp="/"),
        raw_packet(type=2, data=[None], nsp="/"),
        raw_packet(type=2, data=[False], nsp="/"),
        raw_packet(type=2, data=[["x"]], nsp="/"),
        raw_packet(type=2, data=["x"], nsp="/", id=-1),
        raw_packet(type=2, data=["x"], nsp="/", id=10**15),
        raw_packet(type=2, data=["x"], nsp="/", id=1.0),
        raw_packet(type=2, data=["x"], nsp="/", id=True),
        raw_packet(type=2, data=["x"], nsp="/", id="1"),
        raw_packet(type=3, data=["x"], nsp="/"),
        raw_packet(type=3, data="x", nsp="/", id=1),
        raw_packet(type=0, data=["x"], nsp="/"),
        raw_packet(type=0, data="x", nsp="/"),
        raw_packet(type=0, nsp="/", id=1),
        raw_packet(type=1, data={}, nsp="/"),
        raw_packet(type=1, data=[], nsp="/"),
        raw_packet(type=4, data=1, nsp="/"),
        raw_packet(type=4, data=["x"], nsp="/"),
        msgpack.packb({"type": 2, "data": ["x", msgpack.ExtType(5, b"\x00")], "nsp": "/"}),
        with_data_bytes(b"\xa1x\xd4\xfe\x00", 2),  # ext type -2
        with_data_bytes(b"\xa1x\xc7\x01\x05\x00", 2),  # exact path, unknown ext type
    ],
)
def test_malformed_input_is_a_remote_protocol_error(raw: bytes) -> None:
    with pytest.raises(RemoteSocketIOError):
        decode(raw)


def test_text_messages_are_refused() -> None:
    with pytest.raises(RemoteSocketIOError):
        decode('2["x"]')


def test_nesting_is_bounded_like_the_default_parser() -> None:
    def nested(lists: int) -> Any:
        value: Any = "leaf"
        for _ in range(lists):
            value = [value]
        return value

    json_decoder = JsonParser().new_decoder()
    # data = ["x", nested]: the data array is level 1, as in the JSON parser.
    for lists, allowed in ((31, True), (32, False)):
        data = ["x", nested(lists)]
        text = "2" + json.dumps(data)
        raw = raw_packet(type=2, data=data, nsp="/")
        if allowed:
            assert json_decoder.receive_text(text) == decode(raw) == Packet(type=T.EVENT, data=data)
        else:
            for attempt in (lambda: json_decoder.receive_text(text), lambda: decode(raw)):
                with pytest.raises(RemoteSocketIOError):
                    attempt()
    deep_maps: Any = {}
    for _ in range(40):
        deep_maps = {"k": deep_maps}
    with pytest.raises(RemoteSocketIOError):
        decode(raw_packet(type=0, data=deep_maps, nsp="/"))
    assert decode(raw_packet(type=2, data=["x", nested(39)], nsp="/"), MsgpackParser(max_depth=40))
    # Far past msgpack's own stack: refused, no RecursionError.
    with pytest.raises(RemoteSocketIOError):
        decode(with_data_bytes(b"\xa1x" + b"\x91" * 5000 + b"\xc0", 2))


def test_wide_shallow_data_passes_the_depth_check() -> None:
    wide = ["x", *([[1, [2]], {"a": [3]}] * 2000)]
    packet = decode(raw_packet(type=2, data=wide, nsp="/"))
    assert packet is not None and packet.data == wide


def test_buffer_types_are_accepted_as_input() -> None:
    raw = bytes.fromhex(NODE_VECTORS["client_event"])
    for view in (bytearray(raw), memoryview(raw)):
        assert decode(view) == CLIENT_PACKETS["client_event"]  # type: ignore[arg-type]


def test_bad_limits_are_refused() -> None:
    with pytest.raises(LocalSocketIOError):
        MsgpackParser(max_depth=0)


# ------------------------------------------------- the seam, with Connection


def test_connection_speaks_msgpack_end_to_end() -> None:
    parser = MsgpackParser()
    conn = Connection(0.0, parser=parser)
    conn.receive(bytes.fromhex(NODE_VECTORS["client_connect_no_auth"]))
    assert conn.next_event() == ConnectRequested(namespace="/", auth={})
    [wire] = conn.accept("/", "sid1")
    assert msgpack.unpackb(wire) == {"type": 0, "data": {"sid": "sid1"}, "nsp": "/"}

    conn.receive(bytes.fromhex(NODE_VECTORS["client_event_ack_binary"]))
    assert conn.next_event() == EventReceived(
        namespace="/", data=["bin", b"\x01\x02\x03", {"nested": [b""]}], ack_id=7
    )
    [wire] = conn.ack("/", 7, ["ok", b"\xff"])
    assert msgpack.unpackb(wire) == {"type": 3, "data": ["ok", b"\xff"], "nsp": "/", "id": 7}
    [wire] = conn.event("/", ["x", {"b": bytearray(b"\x00")}], ack_id=conn.new_ack_id())
    assert msgpack.unpackb(wire) == {"type": 2, "data": ["x", {"b": b"\x00"}], "nsp": "/", "id": 0}
    [wire] = conn.refuse("/nope", "Invalid namespace")
    assert msgpack.unpackb(wire) == {"type": 4, "data": {"message": "Invalid namespace"}, "nsp": "/nope"}
    [wire] = conn.disconnect("/")
    assert msgpack.unpackb(wire) == {"type": 1, "nsp": "/"}

    with pytest.raises(RemoteSocketIOError):
        conn.receive("40")


def test_each_connection_gets_its_own_decoder() -> None:
    parser = MsgpackParser()
    assert parser.new_decoder() is not parser.new_decoder()
    assert Connection(0.0, parser=parser).decoder is not Connection(0.0, parser=parser).decoder


def test_server_picks_the_parser_per_instance() -> None:
    by_name = Server(parser="msgpack")
    assert isinstance(by_name.parser, MsgpackParser)
    mine = MsgpackParser()
    assert Server(parser=mine).parser is mine
    assert isinstance(Server().parser, JsonParser)
    assert isinstance(make_parser("json"), JsonParser)
    with pytest.raises(ValueError):
        Server(parser="msgpack", json="orjson")
    with pytest.raises(ValueError):
        make_parser("yaml")
    with pytest.raises(TypeError):
        make_parser(object())


def test_many_namespaces_encode_correctly_past_the_namespace_cache() -> None:
    parser = MsgpackParser()
    for i in range(2500):
        namespace = f"/dyn-{i}"
        packet = Packet(type=T.EVENT, namespace=namespace, data=["e", i], id=i)
        assert decode(encode(packet, parser), parser) == packet


@settings(max_examples=500, deadline=None)
@given(
    name=st.sampled_from(sorted(CLIENT_PACKETS) + sorted(SERVER_PACKETS)),
    edits=st.lists(st.tuples(st.integers(min_value=0), st.integers(0, 255)), min_size=1, max_size=4),
    cut=st.integers(min_value=0),
)
def test_corrupted_input_is_a_packet_or_a_remote_protocol_error(
    name: str, edits: list[tuple[int, int]], cut: int
) -> None:
    raw = bytearray.fromhex(NODE_VECTORS[name])
    for position, value in edits:
        raw[position % len(raw)] = value
    for candidate in (bytes(raw), bytes(raw[: cut % (len(raw) + 1)])):
        try:
            packet = decode(candidate)
        except RemoteSocketIOError:
            continue
        assert isinstance(packet, Packet) and packet.namespace.startswith("/")


@settings(max_examples=300, deadline=None)
@given(raw=st.binary(max_size=64))
def test_random_bytes_are_a_packet_or_a_remote_protocol_error(raw: bytes) -> None:
    try:
        decode(raw)
    except RemoteSocketIOError:
        pass
