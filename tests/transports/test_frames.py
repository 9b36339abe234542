"""The one-frame fast path of the WebSocket reader agrees with the general reader."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from transports._frames import OP_TEXT, FrameError, FrameReader, unmask


def _frame(first: int, payload: bytes, mask: bytes | None, length_form: str) -> bytes:
    n = len(payload)
    mask_bit = 0x80 if mask is not None else 0
    if length_form == "7" and n < 126:
        head = bytes([first, mask_bit | n])
    elif length_form == "16" and n < 65536:
        head = bytes([first, mask_bit | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([first, mask_bit | 127]) + n.to_bytes(8, "big")
    if mask is None:
        return head + payload
    return head + mask + unmask(payload, mask)


def test_single_text_agrees_with_the_general_reader() -> None:
    seen = answered = 0

    # 1000 examples: the fast path answers 15-18% of them, and the floor below
    # (10%) then holds with room; at 600 hypothesis's exploration brought it
    # within a few dozen.
    @settings(max_examples=1000, deadline=None)
    @given(
        first=st.sampled_from([0x81] * 14 + [0x82, 0x01, 0x80, 0x89, 0x88, 0xC1, 0x91, -1]).flatmap(
            lambda b: st.integers(0, 255) if b < 0 else st.just(b)
        ),
        payload=st.sampled_from([True] * 3 + [False]).flatmap(
            lambda text: st.text(max_size=150).map(str.encode) if text else st.binary(max_size=300)
        ),
        mask=st.sampled_from([True] * 8 + [False]).flatmap(
            lambda masked: st.binary(min_size=4, max_size=4) if masked else st.none()
        ),
        length_form=st.sampled_from(["7"] * 6 + ["16", "64"]),
        cut=st.sampled_from([0] * 6 + [-3, -2, -1, 1, 2, 3]),
        limit=st.sampled_from([1_000_000] * 4 + [10]),
        deflate=st.booleans(),
    )
    def check(
        first: int, payload: bytes, mask: bytes | None, length_form: str, cut: int, limit: int,
        deflate: bool,
    ) -> None:
        nonlocal seen, answered
        data = _frame(first, payload, mask, length_form)
        if cut < 0:
            data = data[:cut]
        elif cut > 0:
            data = data + b"\x81" * cut
        seen += 1
        fast = FrameReader(limit, deflate=deflate).single_text(data)
        if fast is None:
            return
        answered += 1
        general = FrameReader(limit, deflate=deflate)
        general.feed(data)
        try:
            message = general.next_message()
        except FrameError as exc:  # pragma: no cover - would be the bug this test looks for
            raise AssertionError(f"fast path accepted what the reader refuses: {exc.reason}") from None
        assert message == (OP_TEXT, fast)
        assert general.next_message() is None  # the whole read was that one frame

    check()
    assert answered >= seen // 10, f"single_text answered {answered} of {seen}"


def test_single_text_takes_the_plain_frame_and_declines_the_rest() -> None:
    mask = b"\x01\x02\x03\x04"
    frame = _frame(0x81, b'42["echo"]', mask, "7")
    assert FrameReader(100).single_text(frame) == '42["echo"]'
    assert FrameReader(1000).single_text(_frame(0x81, b"x" * 200, mask, "16")) == "x" * 200
    assert FrameReader(100).single_text(_frame(0x81, b"ab", None, "7")) is None  # unmasked
    assert FrameReader(100).single_text(frame + frame) is None  # two frames: general path
    assert FrameReader(100).single_text(_frame(0x81, b"\xff", mask, "7")) is None  # bad UTF-8
    assert FrameReader(5).single_text(frame) is None  # over the limit
    # A compressed frame (RSV1) is the general path's, with or without permessage-deflate.
    assert FrameReader(100, deflate=True).single_text(_frame(0xC1, b"x", mask, "7")) is None
    reader = FrameReader(100)
    reader.feed(frame[:3])
    assert reader.single_text(frame[3:]) is None  # bytes already buffered
