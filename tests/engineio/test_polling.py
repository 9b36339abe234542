"""Long-polling sessions and closing ([EIO4] "HTTP long-polling"; PROTOCOL.md 1.4, 1.8).

The session is driven as the I/O layer drives it: ``poll_started`` when a GET
arrives, ``drain_polling`` for its body, ``receive_payload`` for a POST body.
"""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from engineio import (
    CloseReason,
    Config,
    MessageReceived,
    RemoteProtocolError,
    Session,
    SessionClosed,
    State,
    decode_payload,
)

from ._support import (
    CONFIG,
    T0,
    TICK,
    FakeClock,
    closed_events,
    events,
    polling_session,
    run_until,
    websocket_session,
)

# ------------------------------------------------------------------ server -> client


def test_handshake_response_carries_the_open_packet_alone() -> None:
    session = Session("abc", "polling", CONFIG, T0)
    session.send_message("early")  # e.g. a Socket.IO CONNECT reply racing the handshake
    assert session.state is State.OPENING
    assert session.has_output
    assert session.drain_polling() == (
        b'0{"sid":"abc","upgrades":["websocket"],'
        b'"pingInterval":25000,"pingTimeout":20000,"maxPayload":1000000}'
    )
    assert session.state is State.OPEN
    assert session.drain_polling() == b"4early"
    assert session.drain_polling() is None
    assert not session.has_output


def test_spec_example_text_payload() -> None:
    clock = FakeClock()
    session = polling_session(clock)
    session.send_message("hello")
    run_until(session, clock, T0 + 25)  # the server's ping lands between the messages
    session.send_message("world")
    assert session.drain_polling() == b"4hello\x1e2\x1e4world"


def test_spec_example_binary_payload() -> None:
    clock = FakeClock()
    session = polling_session(clock)
    session.send_message("hello")
    session.send_message(b"\x01\x02\x03\x04")
    assert session.drain_polling() == b"4hello\x1ebAQIDBA=="


def test_non_ascii_text_goes_out_as_utf8() -> None:
    clock = FakeClock()
    session = polling_session(clock)
    session.send_message("héllo €😀")
    session.send_encoded('42["日本"]')
    assert session.drain_polling() == '4héllo €😀\x1e42["日本"]'.encode()


def test_websocket_frames_text_as_str_binary_as_raw_bytes() -> None:
    clock = FakeClock()
    session = websocket_session(clock)
    session.send_message("hello")
    session.send_message(b"\x01\x02\x03\x04")
    session.send_encoded(b"\xff")
    frames = session.drain_frames()
    assert frames == ["4hello", b"\x01\x02\x03\x04", b"\xff"]
    assert [type(f) for f in frames] == [str, bytes, bytes]
    assert session.drain_frames() == []
    assert session.drain_polling() == b"6"  # a stray poll never gets messages


def test_binary_frame_in_is_a_binary_message() -> None:
    clock = FakeClock()
    session = websocket_session(clock)
    session.receive_message(b"\x01\x02", clock.now)
    session.receive_message("4\x1e", clock.now)
    assert events(session) == [MessageReceived(data=b"\x01\x02"), MessageReceived(data="\x1e")]


#: (max_payload, data sent, bodies of successive drains)
SPLIT_CASES = [
    (10, ["aaaa", "bbbb"], [b"4aaaa", b"4bbbb"]),  # 5 + 1 + 5 = 11 > 10
    (11, ["aaaa", "bbbb"], [b"4aaaa\x1e4bbbb"]),  # exactly the limit fits
    (5, ["aaaaaaaaa"], [b"4aaaaaaaaa"]),  # one packet larger than the limit goes alone
    (5, ["a", "bbbbbbbbb", "c"], [b"4a", b"4bbbbbbbbb", b"4c"]),
    (7, ["a", "b", "c", "d"], [b"4a\x1e4b", b"4c\x1e4d"]),
    (8, ["a", "b", "c", "d"], [b"4a\x1e4b\x1e4c", b"4d"]),
    (1, ["", ""], [b"4", b"4"]),
    (10, ["éé", "éé"], ["4éé".encode(), "4éé".encode()]),  # bytes, not characters
    (11, ["éé", "éé"], ["4éé\x1e4éé".encode()]),
    (10, ["😀😀", "x"], ["4😀😀".encode(), b"4x"]),
    (10, [b"\x01\x02\x03\x04", "a"], [b"bAQIDBA==", b"4a"]),  # 9 + 1 + 2 = 12
    (12, [b"\x01\x02\x03\x04", "a"], [b"bAQIDBA==\x1e4a"]),
]


@pytest.mark.parametrize(("limit", "sent", "bodies"), SPLIT_CASES, ids=repr)
def test_payload_splitting_at_max_payload(
    limit: int, sent: list[str | bytes], bodies: list[bytes]
) -> None:
    clock = FakeClock()
    session = polling_session(clock, Config(max_payload=limit))
    for data in sent:
        session.send_message(data)
    got = []
    while (body := session.drain_polling()) is not None:
        got.append(body)
    assert got == bodies


_data = st.one_of(
    st.text(alphabet=st.characters(exclude_categories=("Cs",), exclude_characters="\x1e")),
    st.binary(),
)


@given(st.integers(min_value=1, max_value=64), st.lists(_data, max_size=20))
def test_drains_respect_max_payload_and_keep_order(limit: int, sent: list[str | bytes]) -> None:
    clock = FakeClock()
    session = polling_session(clock, Config(max_payload=limit))
    for data in sent:
        session.send_message(data)
    received: list[str | bytes] = []
    while (body := session.drain_polling()) is not None:
        packets = decode_payload(body)
        assert len(body) <= limit or len(packets) == 1
        received.extend(p.data for p in packets)
        # Greedy: the next packet would not have fitted (so nothing is held back).
    assert received == sent
    assert session.buffered == 0


# ------------------------------------------------------------------ client -> server


def test_post_delivers_messages_in_order() -> None:
    clock = FakeClock()
    session = polling_session(clock)
    session.post_started()
    session.receive_payload("4a\x1ebAQIDBA==\x1e4héllo\x1e6\x1e5\x1e4".encode(), clock.now)
    session.post_finished()
    assert events(session) == [
        MessageReceived(data="a"),
        MessageReceived(data=b"\x01\x02\x03\x04"),
        MessageReceived(data="héllo"),
        MessageReceived(data=""),  # noop and upgrade on the live transport are ignored
    ]
    assert session.state is State.OPEN


def test_overlapping_get_closes_the_session() -> None:
    clock = FakeClock()
    session = polling_session(clock)
    session.send_message("lost")
    session.poll_started()
    session.poll_finished()
    session.poll_started()  # sequential GETs are fine
    with pytest.raises(RemoteProtocolError) as info:
        session.poll_started()
    assert info.value.http_status == 400
    assert info.value.close_reason == "transport error"
    assert session.state is State.CLOSED
    assert events(session) == [
        SessionClosed(reason=CloseReason.TRANSPORT_ERROR, description="overlapping GET")
    ]
    assert session.drain_polling() == b"1"  # the pending GET
    assert session.drain_polling() is None
    assert session.next_deadline() is None


def test_overlapping_post_closes_the_session() -> None:
    clock = FakeClock()
    session = polling_session(clock)
    session.poll_started()
    session.post_started()
    with pytest.raises(RemoteProtocolError) as info:
        session.post_started()
    assert info.value.http_status == 400
    assert info.value.close_reason == "transport error"
    assert session.closed
    assert events(session) == [
        SessionClosed(reason=CloseReason.TRANSPORT_ERROR, description="overlapping POST")
    ]
    assert session.drain_polling() == b"1"


def test_client_close_packet_closes_and_releases_the_poll_with_noop() -> None:
    clock = FakeClock()
    session = polling_session(clock)
    session.poll_started()
    session.receive_payload(b"4a\x1e1\x1e4never", clock.now)
    assert events(session) == [
        MessageReceived(data="a"),
        SessionClosed(reason=CloseReason.TRANSPORT_CLOSE, description="client sent close"),
    ]
    assert session.closed
    assert session.drain_polling() == b"6"
    assert session.drain_polling() is None


def test_client_close_without_pending_poll() -> None:
    """A poll racing with the client's own close (sent before it saw the close) gets
    the noop once, as it would have had it arrived first; after that, nothing."""
    clock = FakeClock()
    session = polling_session(clock)
    session.receive_payload(b"1", clock.now)
    assert [e.reason for e in closed_events(events(session))] == ["transport close"]
    assert session.drain_polling() == b"6"
    assert session.drain_polling() is None


@pytest.mark.parametrize("body", [b"2", b"2probe", b"4a\x1e2\x1e4b"], ids=repr)
def test_client_ping_is_a_transport_error(body: bytes) -> None:
    clock = FakeClock()
    session = polling_session(clock)
    session.poll_started()
    session.receive_payload(body, clock.now)  # the POST itself was well-formed
    evs = events(session)
    assert evs[-1] == SessionClosed(
        reason=CloseReason.TRANSPORT_ERROR, description="invalid heartbeat direction"
    )
    assert [e for e in evs[:-1]] == ([MessageReceived(data="a")] if b"4a" in body else [])
    assert session.drain_polling() == b"1"


@pytest.mark.parametrize("wire", ["2", "2probe"])
def test_client_ping_on_websocket_is_a_transport_error(wire: str) -> None:
    clock = FakeClock()
    session = websocket_session(clock)
    session.receive_message(wire, clock.now)
    assert [e.reason for e in closed_events(events(session))] == ["transport error"]


#: (body, messages delivered before the parse error closes the session)
MALFORMED_POSTS = [
    (b"4a\x1e4b\x1e9", ["a", "b"]),
    (b"4a\x1e\x1e4b", ["a"]),
    (b"4a\x1e", ["a"]),
    (b"4a\x1ebAQ", ["a"]),
    (b"x4a", []),
    (b"", []),
    (b"\xff4a", []),  # invalid UTF-8 anywhere refuses the whole body
    (b"4a\x1e4\xc3", []),
]


@pytest.mark.parametrize(("body", "delivered"), MALFORMED_POSTS, ids=repr)
def test_malformed_post_delivers_what_came_before_then_closes(
    body: bytes, delivered: list[str]
) -> None:
    clock = FakeClock()
    session = polling_session(clock)
    session.poll_started()
    with pytest.raises(RemoteProtocolError) as info:
        session.receive_payload(body, clock.now)
    assert info.value.http_status == 400
    assert info.value.close_reason == "parse error"
    evs = events(session)
    assert evs[:-1] == [MessageReceived(data=d) for d in delivered]
    assert isinstance(evs[-1], SessionClosed)
    assert evs[-1].reason is CloseReason.PARSE_ERROR
    assert session.drain_polling() == b"1"


def test_websocket_base64_text_message_is_binary() -> None:
    # engine.io-client with forceBase64 sends binary over WebSocket as text.
    clock = FakeClock()
    session = websocket_session(clock)
    session.receive_message("bAQIDBA==", clock.now)
    assert events(session) == [MessageReceived(data=b"\x01\x02\x03\x04")]
    assert session.state is State.OPEN


@pytest.mark.parametrize("wire", ["", "9", "x", "bAQ!D"], ids=repr)
def test_malformed_websocket_message_closes(wire: str) -> None:
    clock = FakeClock()
    session = websocket_session(clock)
    with pytest.raises(RemoteProtocolError) as info:
        session.receive_message(wire, clock.now)
    assert info.value.close_reason == "parse error"
    assert [e.reason for e in closed_events(events(session))] == ["parse error"]


def test_binary_content_type_is_refused() -> None:
    clock = FakeClock()
    session = polling_session(clock)
    with pytest.raises(RemoteProtocolError) as info:
        session.receive_payload(b"4a", clock.now, binary=True)
    assert info.value.http_status == 400
    assert info.value.close_reason == "transport error"
    evs = events(session)
    assert not any(isinstance(e, MessageReceived) for e in evs)
    assert [e.reason for e in closed_events(evs)] == ["transport error"]


def test_oversized_post_gets_413() -> None:
    clock = FakeClock()
    session = polling_session(clock, Config(max_payload=10))
    session.receive_payload(b"4123456789", clock.now)  # exactly the limit is fine
    assert events(session) == [MessageReceived(data="123456789")]
    with pytest.raises(RemoteProtocolError) as info:
        session.receive_payload(b"41234567890", clock.now)
    assert info.value.http_status == 413
    assert not any(isinstance(e, MessageReceived) for e in events(session))


def test_oversize_counts_bytes_not_characters() -> None:
    clock = FakeClock()
    session = polling_session(clock, Config(max_payload=10))
    with pytest.raises(RemoteProtocolError) as info:
        session.receive_payload("4éééééé".encode(), clock.now)  # 7 chars, 13 bytes
    assert info.value.http_status == 413


def test_websocket_session_refuses_polling_input() -> None:
    clock = FakeClock()
    session = websocket_session(clock)
    with pytest.raises(RemoteProtocolError) as info:
        session.receive_payload(b"4a", clock.now)
    assert info.value.close_reason is None
    assert session.state is State.OPEN and events(session) == []


def test_input_after_close_is_ignored() -> None:
    clock = FakeClock()
    session = polling_session(clock)
    session.transport_closed()
    events(session)
    session.receive_payload(b"4late\x1e3", clock.now)
    assert events(session) == []


# ------------------------------------------------------------------ server close


def test_close_flushes_buffered_messages_then_close_packet() -> None:
    clock = FakeClock()
    session = polling_session(clock)
    session.send_message("a")
    session.send_message(b"\x01")
    session.poll_started()
    session.close(clock.now)
    assert session.state is State.CLOSING
    assert events(session) == []  # not closed until the close packet has left
    assert session.next_deadline() == T0 + 30
    assert session.drain_polling() == b"4a\x1ebAQ==\x1e1"
    assert session.state is State.CLOSED
    assert events(session) == [
        SessionClosed(reason=CloseReason.FORCED_CLOSE, description="closed by the server")
    ]
    assert session.next_deadline() is None
    assert session.drain_polling() is None


def test_close_across_several_drains() -> None:
    clock = FakeClock()
    session = polling_session(clock, Config(max_payload=6))
    for data in ("aaa", "bbb", "ccc"):
        session.send_message(data)
    session.close(clock.now, CloseReason.SERVER_SHUTDOWN)
    bodies = []
    while session.state is State.CLOSING:
        assert events(session) == []
        body = session.drain_polling()
        assert body is not None
        bodies.append(body)
    assert bodies == [b"4aaa", b"4bbb", b"4ccc\x1e1"]
    assert events(session) == [
        SessionClosed(reason=CloseReason.SERVER_SHUTDOWN, description="closed by the server")
    ]


def test_close_on_websocket() -> None:
    clock = FakeClock()
    session = websocket_session(clock)
    session.send_message("a")
    session.close(clock.now)
    session.close(clock.now)  # idempotent: one close packet
    assert session.drain_frames() == ["4a", "1"]
    assert session.closed
    assert [e.reason for e in events(session)] == ["forced close"]
    assert session.drain_frames() == []


@pytest.mark.parametrize("transport", ["polling", "websocket"])
def test_close_before_the_handshake_left(transport: str) -> None:
    session = Session("s", transport, CONFIG, T0)
    session.close(T0)
    if transport == "polling":
        body = session.drain_polling()
        assert body is not None and body.startswith(b"0{") and body.endswith(b"\x1e1")
    else:
        frames = session.drain_frames()
        assert len(frames) == 2 and frames[1] == "1"
        assert isinstance(frames[0], str) and frames[0].startswith("0{")
    assert session.closed
    assert [e.reason for e in events(session)] == ["forced close"]


def test_close_never_collected_times_out() -> None:
    clock = FakeClock()
    session = polling_session(clock)
    clock.advance(5)
    session.send_message("a")
    session.close(clock.now)
    assert session.next_deadline() == T0 + 5 + 30
    run_until(session, clock, T0 + 35 - TICK)
    assert session.state is State.CLOSING and events(session) == []
    run_until(session, clock, T0 + 35)
    assert session.state is State.CLOSED
    assert events(session) == [
        SessionClosed(reason=CloseReason.FORCED_CLOSE,
                      description="close packet never collected")
    ]
    assert session.drain_polling() is None
    assert session.next_deadline() is None


def test_client_messages_while_closing_still_arrive() -> None:
    clock = FakeClock()
    session = polling_session(clock)
    session.close(clock.now)
    session.receive_payload(b"4late", clock.now)
    assert events(session) == [MessageReceived(data="late")]
    session.receive_payload(b"1", clock.now)  # the client closes first
    assert [e.reason for e in events(session)] == ["transport close"]


def test_a_poll_carries_at_most_max_packets_per_poll() -> None:
    clock = FakeClock()
    session = polling_session(clock)
    for i in range(40):
        session.send_message(str(i))
    bodies = [session.drain_polling() for _ in range(3)]
    counts = [len(body.split(b"\x1e")) for body in bodies if body is not None]
    assert counts == [16, 16, 8]
    assert b"\x1e".join(bodies[0:3]).split(b"\x1e") == [f"4{i}".encode() for i in range(40)]  # type: ignore[arg-type]
    assert session.drain_polling() is None
