"""Properties of the Socket.IO packet codec, checked with Hypothesis.

1. Round trip: every packet we can encode decodes back to an equal packet
   (with the wire type: BINARY_* exactly when buffers were present), also when
   many packets share one decoder.
2. Robustness: whatever text and binary messages a peer sends, in whatever
   order, the decoder either returns packets or raises RemoteSocketIOError,
   never anything else, and what it returns is a packet we could send back.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from socketio_core.protocol._errors import RemoteSocketIOError
from socketio_core.protocol._decoder import PacketDecoder
from socketio_core.protocol._encoder import encode_packet
from socketio_core.protocol._packets import RESERVED_EVENTS, Packet, PacketType

T = PacketType
MAX_ID = 10**15 - 1

# Surrogates cannot be sent as UTF-8, and an escaped surrogate pair decodes to
# one code point, so they are covered by example tests instead.
text = st.text(st.characters(codec="utf-8"), max_size=12)
keys = text.filter(lambda key: key != "_placeholder")
scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=False, allow_infinity=False),
    text,
)


def json_values(leaves: st.SearchStrategy[Any]) -> st.SearchStrategy[Any]:
    return st.recursive(
        leaves,
        lambda children: st.lists(children, max_size=4)
        | st.dictionaries(keys, children, max_size=4),
        max_leaves=12,
    )


plain_values = json_values(scalars)
binary_values = json_values(scalars | st.binary(max_size=16))
namespaces = st.just("/") | st.builds(
    lambda rest: "/" + rest, st.text(st.characters(codec="utf-8", exclude_characters=","), max_size=10)
)
ack_ids = st.integers(min_value=0, max_value=MAX_ID)
event_names = st.one_of(
    text.filter(lambda name: name not in RESERVED_EVENTS),
    st.integers(min_value=-(2**53), max_value=2**53),
    st.floats(allow_nan=False, allow_infinity=False),
)


def events(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Packet]:
    return st.builds(
        lambda name, args, namespace, ack_id: Packet(
            type=T.EVENT, namespace=namespace, data=[name, *args], id=ack_id
        ),
        event_names,
        st.lists(values, max_size=4),
        namespaces,
        st.none() | ack_ids,
    )


def acks(values: st.SearchStrategy[Any]) -> st.SearchStrategy[Packet]:
    return st.builds(
        lambda args, namespace, ack_id: Packet(type=T.ACK, namespace=namespace, data=args, id=ack_id),
        st.lists(values, max_size=4),
        namespaces,
        ack_ids,
    )


objects = st.dictionaries(keys, plain_values, max_size=4)
packets = st.one_of(
    st.builds(lambda ns, data: Packet(type=T.CONNECT, namespace=ns, data=data), namespaces, st.none() | objects),
    st.builds(lambda ns: Packet(type=T.DISCONNECT, namespace=ns), namespaces),
    st.builds(lambda ns, data: Packet(type=T.CONNECT_ERROR, namespace=ns, data=data), namespaces, objects),
    events(binary_values),
    acks(binary_values),
)

# Enough room for anything the strategies above build.
def roomy_decoder() -> PacketDecoder:
    return PacketDecoder(max_attachments=10_000, max_depth=64)


def expected(packet: Packet, attachments: list[bytes]) -> Packet:
    wire_type = packet.type
    if attachments:
        wire_type = T.BINARY_EVENT if packet.type is T.EVENT else T.BINARY_ACK
    return Packet(type=wire_type, namespace=packet.namespace, data=packet.data, id=packet.id)


def feed(decoder: PacketDecoder, text_: str, attachments: list[bytes]) -> Packet | None:
    result = decoder.receive_text(text_)
    for attachment in attachments:
        assert result is None
        result = decoder.receive_binary(attachment)
    return result


@given(packets)
def test_round_trip(packet: Packet) -> None:
    text_, attachments = encode_packet(packet)
    assert feed(roomy_decoder(), text_, attachments) == expected(packet, attachments)
    # The wire text is valid UTF-8 and its JSON part is what json reads back.
    text_.encode("utf-8")


@given(packets)
def test_reencoding_a_decoded_packet_is_identical(packet: Packet) -> None:
    text_, attachments = encode_packet(packet)
    decoded = feed(roomy_decoder(), text_, attachments)
    assert decoded is not None
    assert encode_packet(decoded) == (text_, attachments)


@given(st.lists(packets, max_size=8))
def test_round_trip_stream_on_one_decoder(batch: list[Packet]) -> None:
    decoder = roomy_decoder()
    for packet in batch:
        text_, attachments = encode_packet(packet)
        assert feed(decoder, text_, attachments) == expected(packet, attachments)
        assert decoder.pending_attachments == 0


@given(st.one_of(events(plain_values), acks(plain_values)), st.sampled_from([None, "json"]))
def test_injected_json_functions_round_trip(packet: Packet, which: str | None) -> None:
    def dumps(value: Any) -> str:
        return json.dumps(value, separators=(",", ":"), ensure_ascii=False)

    text_, attachments = encode_packet(packet, dumps=dumps if which else None)
    decoder = PacketDecoder(loads=json.loads if which else None, max_depth=64)
    assert feed(decoder, text_, attachments) == packet


# ---------------------------------------------------------------- robustness

# Text built from the grammar's pieces reaches deep into the decoder; plain
# random text mostly tests the first branch.
type_chars = st.sampled_from("0123456789a/-[{ ")
counts = st.sampled_from(["", "1-", "2-", "0-", "11-", "-", "1", "x-", "01-"])
ns_parts = st.sampled_from(["", "/", "/admin,", "/admin", "/,", "/a,b,"])
id_parts = st.sampled_from(["", "0", "12", "9" * 15, "9" * 16, "-1"])
placeholder = st.builds(
    lambda num: {"_placeholder": True, "num": num},
    st.one_of(st.integers(-2, 3), st.just("0"), st.just(0.0), st.none(), st.booleans()),
)
fuzz_json = st.one_of(
    st.builds(json.dumps, json_values(scalars | placeholder)),
    st.builds(
        lambda name, rest: json.dumps([name, *rest]),
        st.sampled_from(["a", "connect", 1, None, [], {}]) | text,
        st.lists(json_values(scalars | placeholder), max_size=3),
    ),
    st.sampled_from(["", "[", "]", "{}", "[]", "null", "NaN", "[1e400]", '["a",Infinity]', "[" * 50]),
    text,
)
grammar_text = st.builds(
    lambda *parts: "".join(parts), type_chars, counts, ns_parts, id_parts, fuzz_json
)
# Nearly valid packets (right shapes, maybe wrong counts or placeholders) and
# the binary messages after them, so that reassembly gets exercised too.
plausible = st.builds(
    lambda ptype, count, ns, ack_id, args, buffers: [
        f"{ptype}{count}{ns}{ack_id}{json.dumps(args)}",
        *buffers,
    ],
    st.sampled_from("0123456"),
    st.sampled_from(["", "1-", "2-", "3-"]),
    st.sampled_from(["", "/admin,", "/x"]),
    st.sampled_from(["", "7"]),
    st.lists(json_values(scalars | placeholder), max_size=3).map(lambda rest: ["ev", *rest])
    | st.dictionaries(keys, placeholder | scalars, max_size=2),
    st.lists(st.binary(max_size=8), max_size=4),
)
single = st.one_of(grammar_text, st.text(max_size=30), st.binary(max_size=8)).map(lambda m: [m])
messages = st.lists(st.one_of(single, plausible), max_size=8).map(
    lambda groups: [message for group in groups for message in group]
)


def check_sendable(packet: Packet) -> None:
    """A decoded packet satisfies the rules and can be encoded back."""
    assert isinstance(packet.type, PacketType)
    assert packet.namespace.startswith("/") and "," not in packet.namespace
    assert packet.id is None or 0 <= packet.id <= MAX_ID
    if packet.type in (T.EVENT, T.BINARY_EVENT):
        assert isinstance(packet.data, list) and packet.data
    encode_packet(packet)  # must not raise LocalSocketIOError


@settings(max_examples=500)
@given(messages, st.integers(min_value=1, max_value=12), st.integers(min_value=1, max_value=40))
def test_decoder_raises_only_remote_errors(
    stream: list[str | bytes], max_attachments: int, max_depth: int
) -> None:
    decoder = PacketDecoder(
        max_attachments=max_attachments, max_depth=max_depth, max_attachment_bytes=16
    )
    for message in stream:
        try:
            if isinstance(message, str):
                result = decoder.receive_text(message)
            else:
                result = decoder.receive_binary(message)
        except RemoteSocketIOError as exc:
            assert exc.reason
            assert decoder.pending_attachments == 0
            continue
        if result is not None:
            check_sendable(result)


@given(st.text())
def test_arbitrary_text_raises_only_remote_errors(message: str) -> None:
    try:
        result = PacketDecoder().receive_text(message)
    except RemoteSocketIOError:
        return
    if result is not None:
        check_sendable(result)
