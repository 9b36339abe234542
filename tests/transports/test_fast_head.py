"""The fast request-head parser agrees with h11 whenever it accepts a head.

The fast path may decline anything (h11 then judges), but a head it accepts
must be one h11 accepts too, with the same method, target, headers and body
framing: otherwise the two parsers could frame requests differently.
"""

from __future__ import annotations

import h11
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from transports._request import _parse_head_fast, conflicting_framing, head_problem

from .._weighted import weighted


def h11_parse(head: bytes) -> tuple[bytes, bytes, list[tuple[bytes, bytes]], int] | None:
    conn = h11.Connection(h11.SERVER)
    conn.receive_data(head + b"\r\n\r\n")
    try:
        event = conn.next_event()
    except h11.RemoteProtocolError:
        return None
    if not isinstance(event, h11.Request) or event.http_version != b"1.1":
        return None
    length = 0
    for name, value in event.headers:
        if name == b"content-length":
            length = int(value)
    return event.method, event.target, list(event.headers), length


PLAIN = (
    b"GET /socket.io/?EIO=4&transport=polling&sid=abc HTTP/1.1\r\n"
    b"Host: 127.0.0.1:3000\r\nConnection: keep-alive\r\nAccept: */*"
)

CASES = [
    PLAIN,
    b"POST /socket.io/?EIO=4 HTTP/1.1\r\nHost: a\r\nContent-Length: 12\r\nContent-Type: text/plain",
    b"GET / HTTP/1.1\r\nHost: a\r\nX-Empty:\r\nX-Spaces:   v  ",
    b"GET / HTTP/1.1\r\nHost: a\r\nUser-Agent: caf\xc3\xa9",
    b"OPTIONS /socket.io/ HTTP/1.1\r\nHost: a\r\nOrigin: http://x\r\nAccess-Control-Request-Method: POST",
]

DECLINED = [
    b"GET / HTTP/1.0\r\nHost: a",  # not 1.1
    b"GET / HTTP/1.1",  # no Host
    b"GET / HTTP/1.1\r\nHost: a\r\nHost: b",  # two Hosts
    b"POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked",  # chunked framing
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nContent-Length: 1",  # two lengths
    b"POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1",
    b"GET / HTTP/1.1\r\nHost: a\r\n Folded: continuation",  # obs-fold
    b"GET / HTTP/1.1\r\nHost: a\r\nBad Name: x",  # space in a field name
    b"GET / HTTP/1.1\r\nHost: a\r\nX: a\x00b",  # NUL in a value
    b"GET http://a/ HTTP/1.1\r\nHost: a",  # absolute-form target
    b"BREW / HTTP/1.1\r\nHost: a",  # unknown method
    b"GET  / HTTP/1.1\r\nHost: a",  # double space
    b"GET / HTTP/1.1\r\nHost: a\r\nX: a\rb",  # bare CR
    b"GET / HTTP/1.1\r\nHost: a\r\nX: a\nb",  # bare LF
]


@pytest.mark.parametrize("head", CASES)
def test_plain_heads_parse_like_h11(head: bytes) -> None:
    fast = _parse_head_fast(head)
    assert fast is not None
    assert fast == h11_parse(head)


@pytest.mark.parametrize("head", DECLINED)
def test_unusual_heads_are_left_to_h11(head: bytes) -> None:
    assert _parse_head_fast(head) is None


_line_bytes = st.binary(max_size=40)


@settings(max_examples=400, deadline=None)
@given(st.lists(_line_bytes, max_size=6), _line_bytes)
def test_whatever_the_fast_path_accepts_h11_accepts_identically(
    lines: list[bytes], target: bytes
) -> None:
    head = b"GET /" + target + b" HTTP/1.1\r\nHost: a"
    for line in lines:
        head += b"\r\n" + line
    fast = _parse_head_fast(head)
    if fast is not None:
        assert fast == h11_parse(head)


@settings(max_examples=400, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.text(alphabet="abcXYZ-_!#", min_size=1, max_size=8),
            st.text(alphabet="ab c\t:é/\x7f", max_size=10),
        ),
        max_size=6,
    )
)
def test_header_shaped_input_agrees_with_h11(fields: list[tuple[str, str]]) -> None:
    head = b"POST /x HTTP/1.1\r\nHost: a"
    for name, value in fields:
        head += b"\r\n" + name.encode() + b":" + value.encode("utf-8")
    fast = _parse_head_fast(head)
    if fast is not None:
        assert fast == h11_parse(head)


_STRICT_COUNTS = {"fast": 0, "refused": 0}


@settings(max_examples=600, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from(["X-A", "Content-Length", "Transfer-Encoding", "Origin"]),
            weighted(  # mostly plain values, so that the fast path answers often
                (3, st.text(alphabet="5a c", max_size=6)),
                (1, st.text(alphabet="5a c\t\x7f\x1b\x00\x9b", max_size=6)),
            ),
            st.sampled_from(["\r\n"] * 9 + ["\n", "\r\n ", "\r\n\t"]),
        ),
        max_size=4,
    )
)
def test_the_fast_path_accepts_nothing_the_strict_checks_refuse(
    fields: list[tuple[str, str, str]]
) -> None:
    """What h11 would take but we refuse (controls, DEL, bare LF, obs-fold, both
    framings) never gets past the fast path either: it declines, and the strict
    checks in front of h11 refuse. Counted, so a run where the fast path
    answered nothing (or nothing was refused) fails."""
    head = b"POST /x HTTP/1.1\r\nHost: a"
    for name, value, end in fields:
        head += end.encode() + name.encode() + b": " + value.encode("latin-1")
    fast = _parse_head_fast(head)
    problem = head_problem(head + b"\r\n\r\n")
    if fast is not None:
        _STRICT_COUNTS["fast"] += 1
        assert problem is None
        assert not conflicting_framing(fast[2])
    elif problem is not None:
        _STRICT_COUNTS["refused"] += 1


def test_the_strict_property_test_exercised_both_sides() -> None:
    _STRICT_COUNTS.update(fast=0, refused=0)
    test_the_fast_path_accepts_nothing_the_strict_checks_refuse()
    assert _STRICT_COUNTS["fast"] >= 30, _STRICT_COUNTS
    assert _STRICT_COUNTS["refused"] >= 100, _STRICT_COUNTS


def test_a_repeated_head_is_parsed_once_and_read_the_same() -> None:
    """A keep-alive client repeats its head: the connection reuses the parse, never a stale one."""
    import socket

    from transports.gevent._http import HttpConnection
    from transports._limits import HttpLimits

    a, b = socket.socketpair()
    try:
        http = HttpConnection(a, ("127.0.0.1", 1), HttpLimits())
        head = b"POST /x/?sid=1&t=a HTTP/1.1\r\nHost: h\r\nContent-Length: 2\r\n\r\n"
        http.feed(head + b"ok" + head + b"no")
        first = http.buffered_request()
        assert first is not None and http.read_body(first, 10) == b"ok"
        second = http.buffered_request()
        assert second is not None and http.read_body(second, 10) == b"no"
        assert second.query == first.query == {"sid": "1", "t": "a"}
        assert second.header("content-length") == "2"
        other = head.replace(b"sid=1", b"sid=2").replace(b"Length: 2", b"Length: 3")
        http.feed(other + b"abc")
        third = http.buffered_request()
        assert third is not None and third.query["sid"] == "2"
        assert http.read_body(third, 10) == b"abc"
    finally:
        a.close()
        b.close()
