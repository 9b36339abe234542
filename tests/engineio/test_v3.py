"""Engine.IO v3 on bytes and a fake clock ([EIO3]; PROTOCOL.md 3.1 and 4).

The codec rows are the spec's own examples (``6:4hello6:4world``, ``1:3``,
``10:b4AQIDBA==``, the XHR2 bytes the [EIO3] suite expects) plus the edges
the reference parser defines: lengths in UTF-16 code units, the empty
payload ``0:``, and the errors that close the session. Then the session:
handshake, the reversed heartbeat, upgrade and close in v3 framing, binary
in every form a v3 client may ask for, and the request checks.
"""

from __future__ import annotations

import json

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engineio import (
    CloseReason,
    Config,
    LocalProtocolError,
    MessageReceived,
    Packet,
    PacketType,
    RemoteProtocolError,
    Request,
    RequestRejected,
    Session,
    UPGRADE_NOOP_DELAY,
    SessionClosed,
    State,
    check_request,
    decode_frame_v3,
    decode_jsonp,
    decode_payload_v3,
    encode_frame_v3,
    encode_jsonp,
    encode_payload_v3,
    is_binary_payload,
    utf16_length,
)

from ._support import T0, TICK, FakeClock, events, run_until

V3 = Config(ping_interval=25.0, ping_timeout=20.0, allow_eio3=True)
SUITE = Config(ping_interval=0.3, ping_timeout=0.2, allow_eio3=True)

M = PacketType.MESSAGE


def msg(data: str | bytes) -> Packet:
    return Packet(type=M, data=data)


# ------------------------------------------------------------------ the codec

#: (wire items, supports_binary, expected body)
ENCODE_CASES = [
    # [EIO3] / PROTOCOL.md 3.1 examples
    (["4hello", "4world"], False, b"6:4hello6:4world"),
    (["3"], False, b"1:3"),
    (["6"], False, b"1:6"),
    (["1"], True, b"1:1"),
    (["4hello", b"\x01\x02\x03\x04"], False, b"6:4hello10:b4AQIDBA=="),
    ([], False, b"0:"),
    ([], True, b"0:"),
    # text only: the text format even when the client takes binary
    (["4hello"], True, b"6:4hello"),
    # lengths are UTF-16 code units (JavaScript string.length), bodies UTF-8
    (["4\u20ac"], False, "2:4\u20ac".encode()),
    (["4\U0001f600"], False, "3:4\U0001f600".encode()),
    (["4h\u00e9\U0001f600\u20ac"], False, "6:4h\u00e9\U0001f600\u20ac".encode()),
    (["4" + "x" * 99], False, b"100:4" + b"x" * 99),
    (["4"], False, b"1:4"),
    ([b""], False, b"2:b4"),
    # the XHR2 binary format: [EIO3] suite bytes
    (["4hello", b"\x01\x02\x03\x04"], True,
     bytes([0, 6, 255, 52, 104, 101, 108, 108, 111, 1, 5, 255, 4, 1, 2, 3, 4])),
    # ... where a string's length is its UTF-8 byte count
    ([b"\xff", "4\u20ac"], True, bytes([1, 2, 255, 4, 255, 0, 4, 255]) + "4\u20ac".encode()),
    # ... and lengths of several digits are one byte per digit
    ([b"\x00" * 11], True, bytes([1, 1, 2, 255, 4]) + b"\x00" * 11),
]


@pytest.mark.parametrize(("items", "supports_binary", "expected"), ENCODE_CASES)
def test_encode_payload(items: list[str | bytes], supports_binary: bool, expected: bytes) -> None:
    body = encode_payload_v3(items, supports_binary=supports_binary)
    assert body == expected
    assert is_binary_payload(body) == (supports_binary and any(isinstance(i, bytes) for i in items))


#: (body, binary content type, expected packets)
DECODE_CASES = [
    (b"6:4hello6:4world", False, [msg("hello"), msg("world")]),
    (b"1:2", False, [Packet(type=PacketType.PING)]),
    (b"6:2probe", False, [Packet(type=PacketType.PING, data="probe")]),
    (b"1:1", False, [Packet(type=PacketType.CLOSE)]),
    (b"6:4hello10:b4AQIDBA==", False, [msg("hello"), msg(b"\x01\x02\x03\x04")]),
    (b"0:", False, []),
    (b"0:1:3", False, [Packet(type=PacketType.PONG)]),
    (b"2:b4", False, [msg(b"")]),
    ("3:4\U0001f600".encode(), False, [msg("\U0001f600")]),
    ("2:4\u20ac1:5".encode(), False, [msg("\u20ac"), Packet(type=PacketType.UPGRADE)]),
    ("5:4\U0001f600\U0001f6001:4".encode(), False, [msg("\U0001f600\U0001f600"), msg("")]),
    (b"06:4hello", False, [msg("hello")]),  # the reference's Number("06") is 6
    # the XHR2 binary format, as the [EIO3] suite's server writes it and the client posts it
    (bytes([0, 6, 255, 52, 104, 101, 108, 108, 111, 1, 5, 255, 4, 1, 2, 3, 4]), True,
     [msg("hello"), msg(b"\x01\x02\x03\x04")]),
    (bytes([0, 4, 255]) + "4\u20ac".encode(), True, [msg("\u20ac")]),
    (bytes([1, 1, 255, 4]), True, [msg(b"")]),
    (bytes([0, 1, 0, 255]) + b"4" + b"a" * 9, True, [msg("a" * 9)]),
    (bytes([0, 1, 255, 50]), True, [Packet(type=PacketType.PING)]),
    # a text record inside the binary format may itself be base64 (REF decodePacket)
    (bytes([0, 6, 255]) + b"b4AQ==", True, [msg(b"\x01")]),
]


@pytest.mark.parametrize(("body", "binary", "expected"), DECODE_CASES)
def test_decode_payload(body: bytes, binary: bool, expected: list[Packet]) -> None:
    assert decode_payload_v3(body, binary=binary) == expected


#: Bodies the reference parser refuses ("parser error"): the session closes.
BAD_PAYLOADS = [
    (b"", False),
    (b"abc", False),  # the [EIO3] suite's "invalid packet format"
    (b"6:4hello6", False),  # a trailing length without its record
    (b"7:4hello", False),  # longer than what is left
    (b"6:4hello5", False),
    (b":4", False),
    (b"-1:4", False),
    (b"1:9", False),  # unknown packet type
    (b"1:b", False),  # base64 record without a type
    (b"4:b2AQ", False),  # only messages can be binary
    (b"5:b4A!Q", False),  # not base64
    (b"\xff\xfe", False),  # not UTF-8
    ("1:\U0001f600".encode(), False),  # a length that splits a surrogate pair
    (b"12345678901:4", False),  # more digits than any body can need
    (b"", True),
    (bytes([2, 1, 255, 52]), True),  # neither 0x00 nor 0x01
    (bytes([0, 1, 52]), True),  # no 0xFF after the length
    (bytes([0, 255, 52]), True),  # no length digits
    (bytes([0, 10, 255, 52]), True),  # a "digit" above 9
    (bytes([0, 5, 255, 52]), True),  # shorter than its length
    (bytes([1, 2, 255, 2, 1]), True),  # binary packet that is not a message
    (bytes([1, 0, 255]), True),  # binary packet without its type byte
    (bytes([0, 2, 255, 52, 0xC3]), True),  # text that is not UTF-8
    (bytes([0, 0, 255]), True),  # empty text packet
]


@pytest.mark.parametrize(("body", "binary"), BAD_PAYLOADS)
def test_bad_payloads_are_parse_errors(body: bytes, binary: bool) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        decode_payload_v3(body, binary=binary)
    assert info.value.close_reason == "parse error"


WIRE_ITEMS = st.lists(
    st.one_of(
        st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=20).map(lambda t: "4" + t),
        st.binary(max_size=20),
        st.sampled_from(["2", "3", "2probe", "6", "1"]),
    ),
    max_size=8,
)


@given(items=WIRE_ITEMS, supports_binary=st.booleans())
def test_payload_round_trip(items: list[str | bytes], supports_binary: bool) -> None:
    body = encode_payload_v3(items, supports_binary=supports_binary)
    decoded = decode_payload_v3(body, binary=is_binary_payload(body))
    expected = [
        msg(i) if isinstance(i, bytes) else Packet(type=PacketType(int(i[0])), data=i[1:])
        for i in items
    ]
    assert decoded == expected


@pytest.mark.parametrize(
    ("text", "units"),
    [("", 0), ("abc", 3), ("\u00e9", 1), ("\u20ac", 1), ("\U0001f600", 2), ("a\U0001f600\u20ac", 4)],
)
def test_utf16_length_is_javascripts(text: str, units: int) -> None:
    assert utf16_length(text) == units


#: (item, supports_binary, frame): PROTOCOL.md 3.1 "Binary over WebSocket"
FRAME_CASES = [
    ("4hello", True, "4hello"),
    (b"\x01\x02\x03\x04", True, b"\x04\x01\x02\x03\x04"),
    (b"", True, b"\x04"),
    (b"\x01\x02\x03\x04", False, "b4AQIDBA=="),
]


@pytest.mark.parametrize(("item", "supports_binary", "frame"), FRAME_CASES)
def test_websocket_frames(item: str | bytes, supports_binary: bool, frame: str | bytes) -> None:
    assert encode_frame_v3(item, supports_binary=supports_binary) == frame
    assert decode_frame_v3(frame) == (msg(item) if isinstance(item, bytes) else msg(item[1:]))


@pytest.mark.parametrize("frame", [b"", b"\x02\x01", b"\x00", "", "abc", "b4!!", "b2AQ"])
def test_bad_websocket_frames_are_parse_errors(frame: str | bytes) -> None:
    with pytest.raises(RemoteProtocolError) as info:
        decode_frame_v3(frame)
    assert info.value.close_reason == "parse error"


# ----------------------------------------------------------------------- JSONP

#: (payload, j, response body)
JSONP_ENCODE_CASES = [
    (b"6:4hello", "0", b'___eio[0]("6:4hello");'),
    (b'7:4"a\\b"', "12", b'___eio[12]("7:4\\"a\\\\b\\"");'),
    # line terminators: escaped for JSON (\n) and for JavaScript (U+2028/2029)
    ("5:4\n\u2028\u2029".encode(), "3", b'___eio[3]("5:4\\n\\u2028\\u2029");'),
    ("3:4\u00e9\U0001f600".encode(), "1", '___eio[1]("3:4\u00e9\U0001f600");'.encode()),
    (b"1:\x01", "1", b'___eio[1]("1:\\u0001");'),
    # the index is digits only, so it cannot inject script
    (b"1:6", "4);alert(1", b'___eio[41]("1:6");'),
]


@pytest.mark.parametrize(("payload", "j", "expected"), JSONP_ENCODE_CASES)
def test_jsonp_response(payload: bytes, j: str, expected: bytes) -> None:
    assert encode_jsonp(payload, j) == expected


#: (form-encoded POST body, payload)
JSONP_DECODE_CASES = [
    (b"d=6%3A4hello", b"6:4hello"),
    (b"d=6:4hello", b"6:4hello"),
    (b"d=6%3A4a+b%C3%A9", "6:4a b\u00e9".encode()),  # form encoding: + is a space
    # the client writes a newline as \n and an escaped newline as \\n (REF)
    (b"d=4%3A4a%5Cnb", b"4:4a\nb"),
    (b"d=5%3A4a%5C%5Cnb", b"5:4a\\nb"),
    (b"d=", b""),
    (b"x=1", b""),
    (b"", b""),
    (b"\xff", b""),
]


@pytest.mark.parametrize(("body", "payload"), JSONP_DECODE_CASES)
def test_jsonp_post_body(body: bytes, payload: bytes) -> None:
    assert decode_jsonp(body) == payload


# --------------------------------------------------------------------- session


def v3_session(clock: FakeClock, transport: str = "polling", config: Config = V3,
               supports_binary: bool = True) -> Session:
    session = Session("sid3", transport, config, clock.now, protocol=3,
                      supports_binary=supports_binary)
    if transport == "polling":
        body = session.drain_polling()
        assert body is not None
        length, _, packet = body.decode().partition(":")
        assert int(length) == len(packet) and packet.startswith("0{")
    else:
        frames = session.drain_frames()
        assert len(frames) == 1 and isinstance(frames[0], str) and frames[0].startswith("0{")
    return session


def test_handshake_is_length_prefixed_with_the_five_keys() -> None:
    session = Session("abc", "polling", SUITE, T0, protocol=3)
    body = session.drain_polling()
    packet = ('0{"sid":"abc","upgrades":["websocket"],"pingInterval":300,'
              '"pingTimeout":200,"maxPayload":1000000}')
    assert body == f"{len(packet)}:{packet}".encode()
    assert session.state is State.OPEN
    json.loads(packet[1:])  # what the [EIO3] suite parses


def test_messages_and_binary_over_polling() -> None:
    clock = FakeClock()
    session = v3_session(clock)
    session.receive_payload(b"6:4hello10:b4AQIDBA==", clock.now)
    assert events(session) == [MessageReceived(data="hello"), MessageReceived(data=b"\x01\x02\x03\x04")]
    session.send_message("hello")
    session.send_message(b"\x01\x02\x03\x04")
    # An XHR2 client gets the binary format as soon as the response holds binary.
    assert session.drain_polling() == bytes(
        [0, 6, 255, 52, 104, 101, 108, 108, 111, 1, 5, 255, 4, 1, 2, 3, 4])
    session.send_message("hello")
    assert session.drain_polling() == b"6:4hello"


def test_b64_client_gets_base64_records() -> None:
    clock = FakeClock()
    session = v3_session(clock, supports_binary=False)
    session.send_message("hello")
    session.send_message(b"\x01\x02\x03\x04")
    assert session.drain_polling() == b"6:4hello10:b4AQIDBA=="


def test_binary_post_body_is_the_xhr2_format() -> None:
    clock = FakeClock()
    session = v3_session(clock)
    body = bytes([0, 6, 255, 52, 104, 101, 108, 108, 111, 1, 5, 255, 4, 1, 2, 3, 4])
    session.receive_payload(body, clock.now, binary=True)
    assert events(session) == [MessageReceived(data="hello"), MessageReceived(data=b"\x01\x02\x03\x04")]


def test_invalid_payload_closes_the_session() -> None:
    clock = FakeClock()
    session = v3_session(clock)
    with pytest.raises(RemoteProtocolError):
        session.receive_payload(b"6:4hello" + b"abc", clock.now)
    evs = events(session)
    # The good packet before the bad record is delivered first, as REF does.
    assert evs[0] == MessageReceived(data="hello")
    assert isinstance(evs[-1], SessionClosed) and evs[-1].reason is CloseReason.PARSE_ERROR
    assert session.closed


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_client_pings_and_server_answers_with_the_same_data(transport: str) -> None:
    clock = FakeClock()
    session = v3_session(clock, transport)
    for data in ("", "", "x\u20ac"):
        clock.advance(10)
        if transport == "polling":
            session.receive_payload(f"{utf16_length(data) + 1}:2{data}".encode(), clock.now)
            assert session.drain_polling() == f"{utf16_length(data) + 1}:3{data}".encode()
        else:
            session.receive_message("2" + data, clock.now)
            assert session.drain_frames() == ["3" + data]
        # The next ping is due ping_interval + ping_timeout after this one.
        assert session.next_deadline() == clock.now + 45
    assert events(session) == []


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_server_never_pings_and_closes_a_silent_client(transport: str) -> None:
    clock = FakeClock()
    session = v3_session(clock, transport, SUITE)
    assert session.next_deadline() == pytest.approx(T0 + 0.5)
    run_until(session, clock, T0 + 0.5 - TICK)
    assert not session.has_output  # no ping of ours, ever
    assert session.state is State.OPEN
    run_until(session, clock, T0 + 0.5)
    evs = events(session)
    assert len(evs) == 1 and isinstance(evs[0], SessionClosed)
    assert evs[0].reason is CloseReason.PING_TIMEOUT
    assert session.closed


def test_each_ping_pushes_the_deadline() -> None:
    clock = FakeClock()
    session = v3_session(clock, "websocket", SUITE)
    for _ in range(5):
        run_until(session, clock, clock.now + 0.4)
        session.receive_message("2", clock.now)
        assert session.drain_frames() == ["3"]
    assert not session.closed
    run_until(session, clock, clock.now + 0.5)
    assert session.closed


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_pong_from_a_v3_client_is_an_error(transport: str) -> None:
    clock = FakeClock()
    session = v3_session(clock, transport)
    if transport == "polling":
        session.receive_payload(b"1:3", clock.now)
    else:
        session.receive_message("3", clock.now)
    evs = events(session)
    assert isinstance(evs[-1], SessionClosed) and evs[-1].reason is CloseReason.TRANSPORT_ERROR
    assert "heartbeat" in evs[-1].description


def test_v4_session_still_refuses_a_ping_and_a_binary_post() -> None:
    clock = FakeClock()
    session = Session("s", "polling", V3, clock.now)
    session.drain_polling()
    with pytest.raises(RemoteProtocolError):
        session.receive_payload(b"4a", clock.now, binary=True)
    assert session.closed


def test_upgrade_ends_the_poll_with_a_v3_noop_and_binary_frames_carry_the_type_byte() -> None:
    clock = FakeClock()
    session = v3_session(clock)
    session.poll_started()
    session.begin_upgrade(clock.now)
    session.receive_probe("2probe", clock.now)
    assert session.drain_probe() == ["3probe"]
    assert session.drain_polling() is None  # the noop is due 100 ms after the probe
    run_until(session, clock, clock.now + UPGRADE_NOOP_DELAY)
    assert session.drain_polling() == b"1:6"
    session.poll_finished()
    session.send_message(b"\x01\x02")
    session.receive_probe("5", clock.now)
    assert session.transport == "websocket"
    assert session.drain_frames() == [b"\x04\x01\x02"]
    session.receive_message(b"\x04\x05", clock.now)
    session.receive_message("b4Bg==", clock.now)
    assert [e for e in events(session) if isinstance(e, MessageReceived)] == [
        MessageReceived(data=b"\x05"), MessageReceived(data=b"\x06")]


def test_b64_websocket_gets_base64_text_frames() -> None:
    clock = FakeClock()
    session = v3_session(clock)
    session.begin_upgrade(clock.now, supports_binary=False)
    session.receive_probe("2probe", clock.now)
    session.receive_probe("5", clock.now)
    session.send_message(b"\x01\x02\x03\x04")
    assert session.drain_frames() == ["b4AQIDBA=="]


def test_websocket_binary_frame_without_message_type_closes() -> None:
    clock = FakeClock()
    session = v3_session(clock, "websocket")
    with pytest.raises(RemoteProtocolError):
        session.receive_message(b"\x02\x01", clock.now)
    assert session.closed


@pytest.mark.parametrize(("body", "final"), [(b"1:1", b"1:6")])
def test_client_close_releases_the_pending_poll_with_a_v3_noop(body: bytes, final: bytes) -> None:
    clock = FakeClock()
    session = v3_session(clock)
    session.poll_started()
    assert session.drain_polling() is None
    session.receive_payload(body, clock.now)
    assert session.drain_polling() == final
    assert session.closed


def test_overlapping_polls_close_with_a_v3_close_packet() -> None:
    clock = FakeClock()
    session = v3_session(clock)
    session.poll_started()
    with pytest.raises(RemoteProtocolError):
        session.poll_started()
    assert session.drain_polling() == b"1:1"


def test_server_close_flushes_then_sends_the_close_packet() -> None:
    clock = FakeClock()
    session = v3_session(clock)
    session.send_message("bye")
    session.close(clock.now)
    assert session.drain_polling() == b"4:4bye1:1"
    assert session.closed


# --------------------------------------------------------------- the requests

SESSIONS = {"v4sid": "polling", "v3sid": "polling"}
PROTOCOLS = {"v4sid": 4, "v3sid": 3}


def check(method: str, query: dict[str, str], config: Config, *, is_websocket: bool = False) -> Request:
    return check_request(method, query, is_websocket=is_websocket, config=config,
                         session_transport=SESSIONS.get, session_protocol=PROTOCOLS.get)


#: (method, query, is_websocket, config, expected request or error code)
REQUEST_CASES = [
    ("GET", {"EIO": "3", "transport": "polling"}, False, V3, Request(transport="polling", sid=None, protocol=3)),
    ("GET", {"EIO": "3", "transport": "websocket"}, True, V3,
     Request(transport="websocket", sid=None, protocol=3)),
    ("GET", {"EIO": "4", "transport": "polling"}, False, V3, Request(transport="polling", sid=None)),
    ("GET", {"EIO": "3", "transport": "polling"}, False, Config(), 5),
    # PROTOCOL.md 4: a missing EIO stays an error even with v3 enabled
    ("GET", {"transport": "polling"}, False, V3, 5),
    ("GET", {"EIO": "2", "transport": "polling"}, False, V3, 5),
    ("GET", {"EIO": "abc", "transport": "websocket"}, True, V3, 5),
    ("POST", {"EIO": "3", "transport": "polling", "sid": "v3sid"}, False, V3,
     Request(transport="polling", sid="v3sid", protocol=3)),
    ("GET", {"EIO": "3", "transport": "websocket", "sid": "v3sid"}, True, V3,
     Request(transport="websocket", sid="v3sid", is_upgrade=True, protocol=3)),
    # the other revision on an existing session: REF's protocol mismatch
    ("GET", {"EIO": "4", "transport": "polling", "sid": "v3sid"}, False, V3, 3),
    ("GET", {"EIO": "3", "transport": "polling", "sid": "v4sid"}, False, V3, 3),
    ("GET", {"EIO": "3", "transport": "websocket", "sid": "v4sid"}, True, V3, 3),
]


@pytest.mark.parametrize(("method", "query", "is_websocket", "config", "expected"), REQUEST_CASES)
def test_requests(method: str, query: dict[str, str], is_websocket: bool, config: Config,
                  expected: Request | int) -> None:
    if isinstance(expected, Request):
        assert check(method, query, config, is_websocket=is_websocket) == expected
    else:
        with pytest.raises(RequestRejected) as info:
            check(method, query, config, is_websocket=is_websocket)
        assert info.value.code == expected


def test_session_refuses_an_unknown_revision() -> None:
    with pytest.raises(LocalProtocolError):
        Session("s", "polling", V3, T0, protocol=5)
