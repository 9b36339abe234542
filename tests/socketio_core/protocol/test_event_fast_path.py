"""The packet codec's fast paths agree with their general paths, and answer often.

``encode_event_fast`` / ``encode_ack_fast`` against ``encode_packet``, and
``PacketDecoder.event_fast`` against ``receive_text``; each property counts
how often the fast path answered, so a run that only sees declines fails.
"""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import pytest

from socketio_core.protocol._errors import RemoteSocketIOError
from socketio_core.protocol._decoder import PacketDecoder
from socketio_core.protocol._encoder import encode_ack_fast, encode_event_fast, encode_packet
from socketio_core.protocol._packets import Packet, PacketType

wild_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=8) | st.binary(max_size=4),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=3),
    max_leaves=8,
)
#: What most applications send: ASCII text, numbers, flags, nesting.
_ascii = st.text(st.characters(max_codepoint=127), max_size=8)
plain_values = st.recursive(
    st.none() | st.booleans() | st.integers() | _ascii,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(_ascii, inner, max_size=3),
    max_leaves=8,
)
#: Mostly plain values (the fast paths' case), the rest anything.
json_values = st.sampled_from([True] * 3 + [False]).flatmap(lambda plain: plain_values if plain else wild_values)


def test_fast_path_matches_the_general_encoder() -> None:
    answered = total = 0

    @settings(max_examples=500, deadline=None)
    @given(
        name=st.sampled_from(["echo", "chat message", "connect", "disconnect", "", "-"]).flatmap(
            lambda n: st.text(max_size=8) if n == "-" else st.just(n)
        ),
        args=st.lists(json_values, max_size=3),
        namespace=st.sampled_from(["/", "/", "/chat", "/a,b", "bad"]),
        ack_id=st.none() | st.integers(min_value=-1, max_value=10**16),
    )
    def check(name: str, args: list[Any], namespace: str, ack_id: int | None) -> None:
        nonlocal answered, total
        total += 1
        data = [name, *args]
        fast = encode_event_fast(namespace, data, ack_id)
        if fast is None:
            return
        answered += 1
        text, attachments = encode_packet(
            Packet(type=PacketType.EVENT, namespace=namespace, data=data, id=ack_id)
        )
        assert attachments == []
        assert fast == "4" + text

    check()
    assert answered >= total // 6, f"encode_event_fast answered {answered} of {total}"


def test_fast_path_answers_the_plain_case() -> None:
    assert encode_event_fast("/", ["echo", {"a": 1}], None) == '42["echo",{"a":1}]'
    assert encode_event_fast("/chat", ["x"], 7) == '42/chat,7["x"]'
    assert encode_event_fast("/", ["echo", b"\x01"], None) is None  # binary: general path
    assert encode_event_fast("/", ["connect"], None) is None  # reserved: general path raises


def test_ack_fast_path_matches_the_general_encoder() -> None:
    answered = total = 0

    @settings(max_examples=500, deadline=None)
    @given(
        args=st.lists(json_values, max_size=3),
        namespace=st.sampled_from(["/", "/", "/chat", "/a,b", "bad"]),
        ack_id=st.integers(min_value=-1, max_value=10**16),
    )
    def check(args: list[Any], namespace: str, ack_id: int) -> None:
        nonlocal answered, total
        total += 1
        fast = encode_ack_fast(namespace, ack_id, args)
        if fast is None:
            return
        answered += 1
        text, attachments = encode_packet(
            Packet(type=PacketType.ACK, namespace=namespace, data=args, id=ack_id)
        )
        assert attachments == []
        assert fast == "4" + text

    check()
    assert answered >= total // 6, f"encode_ack_fast answered {answered} of {total}"


def test_ack_fast_path_answers_the_plain_case() -> None:
    assert encode_ack_fast("/", 3, [{"a": 1}]) == '433[{"a":1}]'
    assert encode_ack_fast("/chat", 0, []) == "43/chat,0[]"
    assert encode_ack_fast("/", 1, [b"\x01"]) is None  # binary: general path


_heads = st.sampled_from(
    ["2", "2", "2", "2/chat,", "2/chat,", "27", "2/chat,42", "2/,", "2/a", "3", "5", "21-", "2/a,b,", "", "21234567890123456"]
)
_payloads = st.sampled_from(
    ['["echo",{"a":1}]', '["echo"]', "[]", '["connect"]', "[1,2]", '{"a":1}', "[", ' ["x"]', '["x"] ',
     '["é"]', '["x",[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]]', "", "x"]
)

#: A JSON array as a client writes it (valid, mostly an event).
_arrays = st.tuples(
    st.sampled_from(["echo", "é", "connect", 1, None]) | st.text(max_size=4),
    st.lists(wild_values, max_size=2),
).map(lambda t: json.dumps([t[0], *t[1]], separators=(",", ":"), ensure_ascii=False, default=repr))


def test_event_fast_decoder_agrees_with_the_general_decoder() -> None:
    """Whenever the one-pass decoder answers, the general one gives the same event;
    when it raises, the general one raises too."""
    answered = total = 0

    @settings(max_examples=400, deadline=None)
    @given(
        head=_heads,
        payload=st.sampled_from(["sample", "sample", "json", "json", "text"]).flatmap(
            lambda kind: _payloads if kind == "sample" else st.text(max_size=12) if kind == "text" else _arrays
        ),
    )
    def check(head: str, payload: str) -> None:
        nonlocal answered, total
        total += 1
        text = head + payload
        try:
            fast = PacketDecoder(max_depth=32).event_fast(text)
        except RemoteSocketIOError:
            with pytest.raises(RemoteSocketIOError):
                PacketDecoder(max_depth=32).receive_text(text)
            return
        if fast is None:
            return
        answered += 1
        packet = PacketDecoder(max_depth=32).receive_text(text)
        assert packet is not None
        assert packet.type is PacketType.EVENT
        assert (packet.namespace, packet.data, packet.id) == fast

    check()
    assert answered >= total // 8, f"event_fast answered {answered} of {total}"


def test_event_fast_decoder_answers_the_plain_cases() -> None:
    decoder = PacketDecoder()
    assert decoder.event_fast('2["echo",{"a":1}]') == ("/", ["echo", {"a": 1}], None)
    assert decoder.event_fast('2/chat,7["x"]') == ("/chat", ["x"], 7)
    assert decoder.event_fast('21-["x",{"_placeholder":true,"num":0}]') is None  # binary
    assert decoder.event_fast("2[1]") is None  # numeric name: the general path
