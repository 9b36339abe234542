"""The hand-written frame reader refuses exactly what wsproto refuses, and reads the same.

wsproto's server-side ``FrameProtocol`` (no extensions) is the reference: the
same byte stream goes to both, and both must produce the same messages,
pings, pongs and close (code and reason), and fail at the same point with the
same close code. Streams are arbitrary sequences of whole frames: fragmented
text split inside multi-byte characters, control frames between fragments,
masked and unmasked frames, reserved bits, unknown opcodes, non-minimal
length encodings, 16- and 64-bit lengths, close frames with every kind of
code and reason (valid UTF-8 or not). Our reader gets the stream in random
chunks. The tests count the streams where the reader produced a message, so
a strategy that only ever builds broken frames fails them.
"""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st
from wsproto.frame_protocol import FrameProtocol, Opcode, ParseFailed

from transports._frames import OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, FrameError, FrameReader, unmask

#: Larger than any frame here: the size limit is ours alone (wsproto has none).
_NO_LIMIT = 1 << 63

_Frame = tuple[int, bytes, "bytes | None", str]  # (first byte, payload, mask, length form)


def _encode(frame: _Frame) -> bytes:
    first, payload, mask, form = frame
    n = len(payload)
    mask_bit = 0x80 if mask is not None else 0
    if form == "minimal":
        form = "7" if n < 126 else "16" if n < 65536 else "64"
    if form == "7" and n < 126:
        head = bytes([first, mask_bit | n])
    elif form == "16" and n < 65536:
        head = bytes([first, mask_bit | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([first, mask_bit | 127]) + n.to_bytes(8, "big")
    if mask is None:
        return head + payload
    return head + mask + unmask(payload, mask)


_masks = st.binary(min_size=4, max_size=4) | st.just(b"\x00\x00\x00\x00")
_maybe_mask = st.sampled_from([True] * 24 + [False]).flatmap(lambda masked: _masks if masked else st.none())
_forms = st.sampled_from(["minimal"] * 40 + ["7", "16", "64"])
_rsv = st.sampled_from([0] * 60 + [0x10, 0x20, 0x40])
_text = st.text(max_size=40) | st.sampled_from(["é€😀", "\u2028", "a" * 130])
_bytes = st.binary(max_size=40) | st.sampled_from([b"\xff", b"\xc3", b"\xed\xa0\x80", b"\xf4\x90\x80\x80"])

_close_codes = st.sampled_from(
    [1000, 1001, 1002, 1003, 1004, 1005, 1006, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 1015,
     1016, 999, 0, 2999, 3000, 3999, 4000, 4999, 5000, 65535]
) | st.integers(0, 65535)
_close_payloads = (
    st.just(b"")
    | st.binary(min_size=1, max_size=1)
    | st.builds(lambda code, reason: code.to_bytes(2, "big") + reason, _close_codes, _text.map(str.encode) | _bytes)
)


@st.composite
def _message(draw: Any) -> list[_Frame]:
    """One data message, maybe fragmented (cut anywhere, even inside a character), maybe with control frames inside."""
    text = draw(st.booleans())
    payload = draw(_text).encode("utf-8") if text and draw(st.integers(0, 5)) else draw(_bytes)
    cuts = sorted(draw(st.lists(st.integers(0, len(payload)), max_size=3)))
    pieces = [payload[a:b] for a, b in zip([0, *cuts], [*cuts, len(payload)])]
    frames: list[_Frame] = []
    for index, piece in enumerate(pieces):
        opcode = (OP_TEXT if text else 0x2) if index == 0 else 0x0
        fin = 0x80 if index == len(pieces) - 1 else 0
        frames.append((fin | draw(_rsv) | opcode, piece, draw(_maybe_mask), draw(_forms)))
        if fin == 0 and draw(st.integers(0, 3)) == 0:
            frames.append(draw(_control))
    return frames


_control = st.builds(
    lambda opcode, payload, mask, form, rsv: (0x80 | rsv | opcode, payload, mask, form),
    st.sampled_from([OP_PING, OP_PONG]),
    st.binary(max_size=20) | st.binary(min_size=126, max_size=130),
    _maybe_mask,
    _forms,
    _rsv,
) | st.builds(lambda payload, mask: (0x88, payload, mask, "minimal"), _close_payloads, _maybe_mask)

_raw = st.builds(
    lambda first, payload, mask, form: (first, payload, mask, form),
    st.integers(0, 255),
    st.binary(max_size=20),
    _maybe_mask,
    _forms,
)

_streams = st.lists(
    st.one_of(_message(), _message(), _message(), _control.map(lambda f: [f]), _raw.map(lambda f: [f])),
    min_size=1,
    max_size=5,
).map(lambda groups: [frame for group in groups for frame in group])

#: One text frame as a client sends it (mostly), for the one-frame fast path.
_one_text_frame = st.builds(
    lambda rsv, fin, payload, mask, form: (0x01 | fin | rsv, payload, mask, form),
    _rsv,
    st.sampled_from([0x80] * 10 + [0]),
    st.one_of(_text.map(str.encode), _text.map(str.encode), _bytes, st.binary(min_size=126, max_size=300)),
    _maybe_mask,
    _forms,
)


def _close_of(payload: bytes) -> tuple[int, str]:
    if not payload:
        return 1005, ""
    return int.from_bytes(payload[:2], "big"), payload[2:].decode("utf-8")


def _wsproto_reads(data: bytes) -> list[Any]:
    protocol = FrameProtocol(client=False, extensions=[])
    protocol.receive_bytes(data)
    out: list[Any] = []
    parts: list[Any] = []
    try:
        for frame in protocol.received_frames():
            opcode = frame.opcode
            payload: Any = frame.payload
            if opcode is Opcode.CLOSE:
                code, reason = payload
                out.append(("close", (int(code), reason)))
                break
            if opcode is Opcode.PING or opcode is Opcode.PONG:
                out.append((int(opcode), bytes(payload)))
                continue
            parts.append(payload)
            if frame.message_finished:
                kind = "text" if isinstance(payload, str) else "binary"
                joined = "".join(parts) if kind == "text" else b"".join(bytes(p) for p in parts)
                out.append((kind, joined))
                parts = []
    except ParseFailed as exc:
        out.append(("error", int(exc.code)))
    return out


def _reader_reads(data: bytes, chunk_sizes: list[int]) -> list[Any]:
    reader = FrameReader(_NO_LIMIT)
    out: list[Any] = []
    chunks = []
    pos = 0
    for size in chunk_sizes:
        chunks.append(data[pos : pos + size])
        pos += size
    chunks.append(data[pos:])
    for chunk in chunks:
        reader.feed(chunk)
        while True:
            try:
                message = reader.next_message()
            except FrameError as exc:
                out.append(("error", exc.code))
                return out
            if message is None:
                break
            opcode, payload = message
            if opcode == OP_CLOSE:
                assert isinstance(payload, bytes)
                out.append(("close", _close_of(payload)))
                return out
            if opcode in (OP_PING, OP_PONG):
                out.append((opcode, payload))
            else:
                out.append(("text" if opcode == OP_TEXT else "binary", payload))
    return out


def test_the_reader_agrees_with_wsproto() -> None:
    streams = with_message = 0

    @settings(max_examples=1000, deadline=None)
    @given(frames=_streams, chunk_sizes=st.lists(st.integers(1, 30), max_size=8))
    def check(frames: list[_Frame], chunk_sizes: list[int]) -> None:
        nonlocal streams, with_message
        data = b"".join(_encode(frame) for frame in frames)
        expected = _wsproto_reads(data)
        assert _reader_reads(data, chunk_sizes) == expected
        streams += 1
        if any(kind in ("text", "binary") for kind, _ in expected):
            with_message += 1

    check()
    assert streams >= 600
    assert with_message >= streams // 5, f"the reader produced a message in {with_message} of {streams} streams"


def test_single_text_agrees_with_wsproto() -> None:
    """Whenever the one-frame fast path answers, wsproto reads that one text message."""
    frames_seen = answered = 0

    @settings(max_examples=800, deadline=None)
    @given(frame=st.sampled_from([_one_text_frame] * 4 + [_control, _raw]).flatmap(lambda kind: kind), extra=st.sampled_from([b""] * 4 + [b"\x81"]))
    def check(frame: _Frame, extra: bytes) -> None:
        nonlocal frames_seen, answered
        data = _encode(frame) + extra
        frames_seen += 1
        text = FrameReader(_NO_LIMIT).single_text(data)
        if text is None:
            return
        answered += 1
        assert _wsproto_reads(data) == [("text", text)]

    check()
    assert answered >= frames_seen // 8, f"single_text answered {answered} of {frames_seen}"


def _frame(first: int, payload: bytes, form: str = "minimal") -> bytes:
    return _encode((first, payload, b"\x11\x22\x33\x44", form))


def test_close_codes_a_peer_may_not_send_are_protocol_errors() -> None:
    for code in (0, 999, 1004, 1005, 1006, 1014, 1015, 1016, 2999, 5000, 65535):
        reader = FrameReader(1000)
        reader.feed(_frame(0x88, code.to_bytes(2, "big") + b"bye"))
        try:
            reader.next_message()
        except FrameError as exc:
            assert exc.code == 1002, code
        else:
            raise AssertionError(f"close code {code} was accepted")
    for code in (1000, 1001, 1011, 1013, 3000, 4999):
        reader = FrameReader(1000)
        reader.feed(_frame(0x88, code.to_bytes(2, "big") + "é".encode()))
        assert reader.next_message() == (OP_CLOSE, code.to_bytes(2, "big") + "é".encode())


def test_a_close_reason_that_is_not_utf8_is_invalid_data() -> None:
    reader = FrameReader(1000)
    reader.feed(_frame(0x88, (1000).to_bytes(2, "big") + b"\xff"))
    try:
        reader.next_message()
    except FrameError as exc:
        assert exc.code == 1007
    else:
        raise AssertionError("a non-UTF-8 close reason was accepted")


def test_a_length_not_minimally_encoded_is_refused_by_both_paths() -> None:
    data = _frame(0x81, b"hello", "16")
    assert FrameReader(1000).single_text(data) is None
    reader = FrameReader(1000)
    reader.feed(data)
    try:
        reader.next_message()
    except FrameError as exc:
        assert exc.code == 1002
    else:
        raise AssertionError("a 16-bit length for 5 bytes was accepted")
