"""The emit fast path encodes exactly like the general encoder whenever it answers."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import pytest

from socketio_core.protocol._errors import RemoteSocketIOError
from socketio_core.protocol._decoder import PacketDecoder
from socketio_core.protocol._encoder import encode_ack_fast, encode_event_fast, encode_packet
from socketio_core.protocol._packets import Packet, PacketType

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8) | st.binary(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=500, deadline=None)
@given(
    name=st.text(max_size=8) | st.sampled_from(["connect", "disconnect", "echo"]),
    args=st.lists(json_values, max_size=3),
    namespace=st.sampled_from(["/", "/chat", "/a,b", "bad"]),
    ack_id=st.none() | st.integers(min_value=-1, max_value=10**16),
)
def test_fast_path_matches_the_general_encoder(
    name: str, args: list[Any], namespace: str, ack_id: int | None
) -> None:
    data = [name, *args]
    fast = encode_event_fast(namespace, data, ack_id)
    if fast is None:
        return
    text, attachments = encode_packet(
        Packet(type=PacketType.EVENT, namespace=namespace, data=data, id=ack_id)
    )
    assert attachments == []
    assert fast == "4" + text


def test_fast_path_answers_the_plain_case() -> None:
    assert encode_event_fast("/", ["echo", {"a": 1}], None) == '42["echo",{"a":1}]'
    assert encode_event_fast("/chat", ["x"], 7) == '42/chat,7["x"]'
    assert encode_event_fast("/", ["echo", b"\x01"], None) is None  # binary: general path
    assert encode_event_fast("/", ["connect"], None) is None  # reserved: general path raises


@settings(max_examples=500, deadline=None)
@given(
    args=st.lists(json_values, max_size=3),
    namespace=st.sampled_from(["/", "/chat", "/a,b", "bad"]),
    ack_id=st.integers(min_value=-1, max_value=10**16),
)
def test_ack_fast_path_matches_the_general_encoder(
    args: list[Any], namespace: str, ack_id: int
) -> None:
    fast = encode_ack_fast(namespace, ack_id, args)
    if fast is None:
        return
    text, attachments = encode_packet(
        Packet(type=PacketType.ACK, namespace=namespace, data=args, id=ack_id)
    )
    assert attachments == []
    assert fast == "4" + text


def test_ack_fast_path_answers_the_plain_case() -> None:
    assert encode_ack_fast("/", 3, [{"a": 1}]) == '433[{"a":1}]'
    assert encode_ack_fast("/chat", 0, []) == "43/chat,0[]"
    assert encode_ack_fast("/", 1, [b"\x01"]) is None  # binary: general path


_heads = st.sampled_from(["2", "2/chat,", "2/,", "27", "2/chat,42", "2/a", "3", "5", "21-", "2/a,b,", ""])
_payloads = st.sampled_from(
    ['["echo",{"a":1}]', '["echo"]', "[]", '["connect"]', "[1,2]", '{"a":1}', "[", ' ["x"]', '["x"] ',
     '["é"]', '["x",[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]', "", "x"]
)


@settings(max_examples=400, deadline=None)
@given(head=_heads, payload=_payloads | st.text(max_size=12))
def test_event_fast_decoder_agrees_with_the_general_decoder(head: str, payload: str) -> None:
    """Whenever the one-pass decoder answers, the general one gives the same event;
    when it raises, the general one raises too."""
    text = head + payload
    try:
        fast = PacketDecoder(max_depth=32).event_fast(text)
    except RemoteSocketIOError:
        with pytest.raises(RemoteSocketIOError):
            PacketDecoder(max_depth=32).receive_text(text)
        return
    if fast is None:
        return
    packet = PacketDecoder(max_depth=32).receive_text(text)
    assert packet is not None
    assert packet.type is PacketType.EVENT
    assert (packet.namespace, packet.data, packet.id) == fast


def test_event_fast_decoder_answers_the_plain_cases() -> None:
    decoder = PacketDecoder()
    assert decoder.event_fast('2["echo",{"a":1}]') == ("/", ["echo", {"a": 1}], None)
    assert decoder.event_fast('2/chat,7["x"]') == ("/chat", ["x"], 7)
    assert decoder.event_fast('21-["x",{"_placeholder":true,"num":0}]') is None  # binary
    assert decoder.event_fast("2[1]") is None  # numeric name: the general path
