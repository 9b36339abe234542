"""Invalid and oversized WebSocket frames (RFC 6455 section 5) on a joined Socket.IO client.

Each test joins ``/`` over a real WebSocket, then writes hand-built frames.
The server must close that connection with the right close code, drop the
session and the socket, and serve everybody else as before.
"""

from __future__ import annotations

import socket
import time

import pytest

from tests.integration._wsclient import WsClosed

from ._harness import MAX_PAYLOAD, ServerThread, SioWs, frame, reset

pytestmark = pytest.mark.timeout(30)

TEXT, BINARY, CLOSE, PING, PONG, CONT = 0x1, 0x2, 0x8, 0x9, 0xA, 0x0
PROTOCOL_ERROR, INVALID_DATA, TOO_BIG = 1002, 1007, 1009


def joined(server: ServerThread) -> SioWs:
    client = SioWs(server.port)
    client.connect()
    return client


def expect_close(client: SioWs, codes: set[int | None], timeout: float = 5.0) -> None:
    closed = client.ws.wait_closed(timeout)
    assert isinstance(closed, WsClosed)
    assert closed.code in codes, closed


def wait_reason(server: ServerThread, timeout: float = 5.0) -> str:
    deadline = time.monotonic() + timeout
    while not server.disconnects:
        assert time.monotonic() < deadline, "no disconnect reported"
        time.sleep(0.01)
    return server.disconnects[-1][2]


@pytest.mark.parametrize(("raw", "codes"), [
    (frame(TEXT, b'42["echo","x"]', masked=False), {PROTOCOL_ERROR}),
    (frame(TEXT, b'42["echo","x"]', rsv=0b100), {PROTOCOL_ERROR}),
    (frame(TEXT, b'42["echo","x"]', rsv=0b010), {PROTOCOL_ERROR}),
    (frame(TEXT, b'42["echo","x"]', rsv=0b001), {PROTOCOL_ERROR}),
    (frame(0x3, b"reserved"), {PROTOCOL_ERROR}),
    (frame(0x7, b"reserved"), {PROTOCOL_ERROR}),
    (frame(0xB, b"reserved control"), {PROTOCOL_ERROR}),
    (frame(0xF, b""), {PROTOCOL_ERROR}),
    (frame(PING, b"fragmented ping", fin=False), {PROTOCOL_ERROR}),
    (frame(CLOSE, b"\x03\xe8", fin=False), {PROTOCOL_ERROR}),
    (frame(PONG, b"fragmented pong", fin=False), {PROTOCOL_ERROR}),
    (frame(PING, b"p" * 126), {PROTOCOL_ERROR}),
    (frame(CONT, b"orphan continuation"), {PROTOCOL_ERROR}),
    (frame(CONT, b"orphan", fin=False), {PROTOCOL_ERROR}),
    (frame(TEXT, b'42["echo","\xff\xfe"]'), {INVALID_DATA}),
    (frame(TEXT, b'42["echo","\xed\xa0\x80"]'), {INVALID_DATA}),  # an encoded surrogate
    (frame(TEXT, b'42["echo","\xc0\xaf"]'), {INVALID_DATA}),  # overlong encoding
    (frame(TEXT, b'42["echo","x') + frame(TEXT, b'"]'), None),  # placeholder, see below
    (frame(TEXT, b"4", fin=False) + frame(TEXT, b"2"), {PROTOCOL_ERROR}),  # new message mid-fragment
    (frame(TEXT, b"4", fin=False) + frame(BINARY, b"2"), {PROTOCOL_ERROR}),
    (frame(TEXT, b"", length=2**63), {PROTOCOL_ERROR, TOO_BIG}),  # MSB of the 64-bit length set
    (frame(CLOSE, b"\x03"), {PROTOCOL_ERROR}),  # a one-byte close payload
    (b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", {PROTOCOL_ERROR}),  # HTTP after the 101
], ids=[
    "unmasked", "rsv1", "rsv2", "rsv3", "opcode-3", "opcode-7", "opcode-B", "opcode-F",
    "fragmented-ping", "fragmented-close", "fragmented-pong", "ping-over-125", "continuation-alone",
    "continuation-alone-nofin", "utf8-invalid", "utf8-surrogate", "utf8-overlong",
    "two-complete-frames", "text-inside-fragmented", "binary-inside-fragmented",
    "length-msb", "close-one-byte", "http-after-101",
])
def test_invalid_frames_close_the_connection(
    server: ServerThread, raw: bytes, codes: set[int | None] | None
) -> None:
    bystander = joined(server)
    with joined(server) as client:
        client.ws.send_raw(raw)
        if codes is None:
            # Two complete, valid text frames that are each a broken Socket.IO
            # packet: the first closes the session ("parse error").
            expect_close(client, {1000, 1005, None})
        else:
            expect_close(client, codes)
    with bystander:
        bystander.echo("unaffected")


def test_invalid_utf8_split_across_fragments(server: ServerThread) -> None:
    with joined(server) as client:
        client.ws.send_raw(frame(TEXT, b'42["echo","\xe2\x82', fin=False) + frame(CONT, b'"]'))
        expect_close(client, {INVALID_DATA})


def test_valid_utf8_split_across_fragments_is_reassembled(server: ServerThread) -> None:
    with joined(server) as client:
        client.ws.send_raw(
            frame(TEXT, b'42["echo","\xe2\x82', fin=False)
            + frame(PING, b"mid-message ping")
            + frame(CONT, b'\xac"]')
        )
        assert client.recv() == '42["echo","\u20ac"]'


def test_frame_over_max_payload_is_refused_from_its_header(server: ServerThread) -> None:
    with joined(server) as client:
        # Only the header of a frame announcing 100x max_payload: the server must
        # refuse before waiting for (or buffering) the payload.
        client.ws.send_raw(frame(TEXT, b"", length=MAX_PAYLOAD * 100))
        expect_close(client, {TOO_BIG})


def test_huge_declared_length_without_payload(server: ServerThread) -> None:
    with joined(server) as client:
        client.ws.send_raw(frame(BINARY, b"", length=2**62))
        expect_close(client, {TOO_BIG})


def test_fragments_adding_up_past_max_payload(server: ServerThread) -> None:
    with joined(server) as client:
        piece = b"x" * (MAX_PAYLOAD // 4)
        data = frame(TEXT, b'42["echo","' + piece, fin=False)
        for _ in range(6):
            data += frame(CONT, piece, fin=False)
        try:
            client.ws.send_raw(data)
        except OSError:
            pass
        expect_close(client, {TOO_BIG})


def test_message_of_exactly_max_payload_is_accepted(server: ServerThread) -> None:
    with joined(server) as client:
        head, tail = '42["echo","', '"]'
        text = "y" * (MAX_PAYLOAD - len(head) - len(tail))
        client.send(head + text + tail)
        assert client.recv() == head + text + tail


def test_many_tiny_fragments(server: ServerThread) -> None:
    with joined(server) as client:
        message = b'42["echo","' + b"f" * 2000 + b'"]'
        data = frame(TEXT, message[:1], fin=False)
        data += b"".join(frame(CONT, message[i : i + 1], fin=False) for i in range(1, len(message) - 1))
        data += frame(CONT, message[-1:])
        client.ws.send_raw(data)
        assert client.recv() == message.decode()


def test_ping_flood_is_answered_and_harmless(server: ServerThread) -> None:
    with joined(server) as client:
        client.ws.send_raw(frame(PING, b"p" * 125) * 2000)
        client.echo("after the flood")


def test_unsolicited_pongs_and_empty_frames_are_ignored(server: ServerThread) -> None:
    with joined(server) as client:
        client.ws.send_raw(frame(PONG, b"unsolicited") * 10 + frame(PONG, b""))
        client.echo("after pongs")


def test_close_frame_with_reason_gets_a_close_back(server: ServerThread) -> None:
    with joined(server) as client:
        client.ws.send_raw(frame(CLOSE, (4000).to_bytes(2, "big") + b"bye"))
        client.ws.sock.settimeout(5)
        reply = client.ws.sock.recv(100)
        assert reply[:1] == b"\x88"
    assert wait_reason(server) == "transport close"


@pytest.mark.parametrize(("payload", "code"), [
    ((1005).to_bytes(2, "big"), PROTOCOL_ERROR),  # "no status": never on the wire
    ((999).to_bytes(2, "big") + b"bye", PROTOCOL_ERROR),
    ((1015).to_bytes(2, "big"), PROTOCOL_ERROR),  # "TLS failure": local only
    ((2999).to_bytes(2, "big"), PROTOCOL_ERROR),  # reserved for the protocol
    ((5000).to_bytes(2, "big"), PROTOCOL_ERROR),
    ((1000).to_bytes(2, "big") + b"\xff", INVALID_DATA),  # a reason that is not UTF-8
], ids=["1005", "999", "1015", "2999", "5000", "reason-not-utf8"])
def test_a_close_frame_wsproto_refuses_is_answered_as_an_error_not_echoed(
    server: ServerThread, payload: bytes, code: int
) -> None:
    with joined(server) as client:
        client.ws.send_raw(frame(CLOSE, payload))
        client.ws.sock.settimeout(5)
        reply = client.ws.sock.recv(100)
        assert reply[:1] == b"\x88"
        assert int.from_bytes(reply[2:4], "big") == code, reply


def test_frame_header_then_reset(server: ServerThread) -> None:
    client = joined(server)
    client.ws.send_raw(frame(TEXT, b'42["echo","' + b"z" * 5000 + b'"]')[:100])
    reset(client.ws.sock)
    assert wait_reason(server) in ("transport close", "transport error")


def test_half_a_fragmented_message_then_fin(server: ServerThread) -> None:
    client = joined(server)
    client.ws.send_raw(frame(TEXT, b'42["echo","', fin=False) + frame(CONT, b"abc", fin=False))
    client.ws.sock.shutdown(socket.SHUT_WR)
    assert wait_reason(server) in ("transport close", "transport error")
    client.ws.sock.close()
