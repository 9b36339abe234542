"""The fast path of a repeated polling head answers as the general path does.

A kept-alive long-polling client sends the same GET head over and over and
POSTs that differ only in their Content-Length. Once the engine has routed a
head to a poll or a send of a live session, the connection recognises it
again from the raw bytes (``HttpConnection.repeated_request``) and the
engine routes it without parsing (``EngineServer.repeat_route``); anything
else declines to the general path (fast-parser or h11 head, ``route``).

Both run here over :class:`MemorySocket` in the hub, driven by the same
hypothesis-made byte streams on a client's two connections: repeated GETs and
POSTs of every size, heads with odd headers (an Origin, ``Connection: close``,
chunked bodies, ``Expect``, a Content-Length spelled unusually, lower-case
names), pipelined requests, bodies over the limit, an unknown sid, garbage,
the session closing, each stream cut at random points. The engine that never
repeats (its ``repeat_route`` always declines) is the reference: both must
write the same bytes on each connection and end the same connections. The
run counts how many requests the fast path answered: a run in which it only
declined would prove nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engineio import Config
from transports import EngineServer, HttpLimits, Server
from transports.gevent._http import HttpConnection

from .._memsock import MemorySocket, request
from ._hub_harness import Echo, server_op, serving, settle

pytestmark = pytest.mark.timeout(180)

SID = "repeat-test-sid"
PATH = "/engine.io/"
POLL = f"{PATH}?EIO=4&transport=polling&sid={SID}"
EXAMPLES = 400
MAX_PAYLOAD = 2000


class _Counting(EngineServer):
    """The engine under test: counts the requests its fast path took."""

    taken = 0

    def repeat_route(self, http: HttpConnection) -> Any:
        routed = super().repeat_route(http)
        if routed is not None:
            self.taken += 1
        return routed


class _General(EngineServer):
    """The reference: the fast path always declines."""

    def repeat_route(self, http: HttpConnection) -> Any:
        return None


#: Header sets a client may send; most are plain, some odd.
HEADERS = st.sampled_from([
    [],
    [],
    [("Accept", "*/*")],
    [("Origin", "http://ok.example")],
    [("Origin", "http://evil.example")],
    [("Connection", "close")],
    [("Connection", "keep-alive")],
    [("X-Odd", " spaced value ")],
])
#: Payloads: most are messages of varied sizes; the last three end the session
#: (over max_payload, malformed, a close packet), and they come rarely.
_OK_BODIES = ["4hello", "4a\x1e4b", "4" + "y" * 300, "4", "4" + "w" * 1999]
BODIES = st.integers(0, 19).flatmap(
    lambda i: st.sampled_from(_OK_BODIES) if i else st.sampled_from(["4" + "z" * (MAX_PAYLOAD + 10), "zzz", "1"])
)
CONNS = st.sampled_from(["a", "b"])
_ROUND_POST_HEAD = (
    b"POST " + POLL.encode() + b" HTTP/1.1\r\nHost: test\r\nContent-Type: text/plain;charset=UTF-8\r\n"
    b"Content-Length: "
)
#: A browser's round trip: a POST on one connection, its echo answering the GET
#: waiting on the other, and the next GET (a client that polls again as soon
#: as its GET is answered; a GET sent while one waits ends the session).
ROUND = st.tuples(st.just("round"), BODIES, st.sampled_from([[], [], [("Connection", "keep-alive")]]))
#: POSTs that a round trip's repeat must not be taken for: the same bytes up to
#: the Content-Length (and sometimes past it), then different ones.
MIMICS = [
    _ROUND_POST_HEAD + b"6\r\nConnection: close, abc\r\n\r\n4hello",  # as long as keep-alive
    _ROUND_POST_HEAD + b"6\r\nConnection: close\r\n\r\n4hello",
    _ROUND_POST_HEAD + b"6\r\nX-Later: 1\r\n\r\n4hello",
    _ROUND_POST_HEAD + b"6 \r\n\r\n4hello",
    _ROUND_POST_HEAD + b"+6\r\n\r\n4hello",
    _ROUND_POST_HEAD + b"6\r\n\r\n4hello" + _ROUND_POST_HEAD + b"3\r\n\r\n4ab",  # pipelined
    _ROUND_POST_HEAD + b"7\r\n\r\n4hello",  # the body is one byte short: it waits for it
    _ROUND_POST_HEAD + b"99999999999999999999\r\n\r\n4hello",
    _ROUND_POST_HEAD + b"4000\r\n\r\n4" + b"q" * 3999,  # over max_payload, whole in the buffer
]
MIMIC = st.tuples(st.just("raw"), st.just("b"), st.sampled_from(MIMICS))
ODD = st.one_of(
    st.tuples(st.just("get"), CONNS, HEADERS),
    st.tuples(st.just("post"), CONNS, BODIES, HEADERS),
    st.tuples(st.just("raw"), CONNS, st.sampled_from([
        # A POST whose Content-Length is spelled unusually (no space, two spaces, leading zeros).
        b"POST " + POLL.encode() + b" HTTP/1.1\r\nHost: t\r\nContent-Length:6\r\n\r\n4hello",
        b"POST " + POLL.encode() + b" HTTP/1.1\r\nHost: t\r\nContent-Length:  6\r\n\r\n4hello",
        b"POST " + POLL.encode() + b" HTTP/1.1\r\nHost: t\r\nContent-Length: 006\r\n\r\n4hello",
        b"POST " + POLL.encode() + b" HTTP/1.1\r\nHost: t\r\ncontent-length: 6\r\n\r\n4hello",
        # Chunked, Expect, a repeated Content-Length, a bare-LF line, garbage.
        b"POST " + POLL.encode() + b" HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n6\r\n4hello\r\n0\r\n\r\n",
        b"POST " + POLL.encode() + b" HTTP/1.1\r\nHost: t\r\nExpect: 100-continue\r\nContent-Length: 6\r\n\r\n4hello",
        b"POST " + POLL.encode() + b" HTTP/1.1\r\nHost: t\r\nContent-Length: 6\r\nContent-Length: 6\r\n\r\n4hello",
        b"GET " + POLL.encode() + b" HTTP/1.1\r\nHost: t\n\r\n",
        b"GET " + POLL.encode() + b" HTTP/1.0\r\nHost: t\r\n\r\n",
        b"\x00\x01garbage\r\n\r\n",
        # A head the fast path knows, then a body whose length disagrees (a pipelined byte).
        b"POST " + POLL.encode() + b" HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n4hello",
        # Two requests in one write (pipelining), a GET whose sid is unknown.
        request("GET", POLL) + request("POST", POLL, b"4x"),
        request("GET", f"{PATH}?EIO=4&transport=polling&sid=nope"),
        request("GET", POLL, b"hello"),  # a GET with a body nobody reads
        # A round trip's POST head with a field after its Content-Length: the
        # same bytes up to the length, then different ones.

        request("OPTIONS", POLL, headers=[("Origin", "http://ok.example")]),
    ])),
    st.tuples(st.just("push"), st.sampled_from([1, 1500])),
    st.tuples(st.just("close")),
)
#: Mostly round trips; an odd request, a push or a close now and then (many
#: of those end the session: the rest of the stream is then refusals).
OP = st.integers(0, 9).flatmap(lambda i: ROUND if i < 7 else MIMIC if i < 8 else ODD)


def _wire(op: tuple[Any, ...]) -> list[tuple[str, bytes]]:
    """What a client op writes, in order, on which connection ([]: a server-side op)."""
    kind = op[0]
    if kind == "round":
        post = request("POST", POLL, op[1].encode(), headers=[("Content-Type", "text/plain;charset=UTF-8")])
        if op[2]:  # a field after the Content-Length
            end = post.index(b"\r\n\r\n")
            post = post[:end] + b"".join(b"\r\n%s: %s" % (k.encode(), v.encode()) for k, v in op[2]) + post[end:]
        return [("b", post), ("a", request("GET", POLL))]
    if kind == "get":
        return [(op[1], request("GET", POLL, headers=op[2]))]
    if kind == "post":
        return [(op[1], request("POST", POLL, op[2].encode(), headers=[("Content-Type", "text/plain"), *op[3]]))]
    if kind == "raw":
        return [(op[1], op[2])]
    return []


def _run(
    engine_class: type[EngineServer], ops: list[tuple[Any, ...]], cuts: list[int]
) -> tuple[dict[str, bytes], int, int]:
    """Bytes written on each connection, the requests the fast path took, the connections left open."""
    engine = engine_class(
        Echo(), Config(ping_interval=600, ping_timeout=600, max_payload=MAX_PAYLOAD), path=PATH,
        sid_factory=lambda: SID, cors_allowed_origins=["http://ok.example"],
    )
    server = Server(engine, limits=HttpLimits(max_header_bytes=4096))
    socks = {name: MemorySocket(eof=False, hub=True) for name in ("a", "b")}
    with serving(engine, server, socks) as served:
        socks["a"].feed(request("GET", f"{PATH}?EIO=4&transport=polling"))  # the handshake
        settle(socks)
        socks["a"].feed(request("GET", POLL))  # the first poll waits
        settle(socks)
        for i, op in enumerate(ops):
            wire = _wire(op)
            for name, data in wire:
                cut = cuts[i % len(cuts)] % (len(data) + 1)
                for piece in (data[:cut], data[cut:]):  # the bytes arrive in two reads
                    if piece:
                        socks[name].feed(piece)
                        settle(socks)
            if not wire:
                server_op(engine, SID, op)
                settle(socks)
        written = {name: bytes(sock.sent) for name, sock in socks.items()}
    return written, getattr(engine, "taken", 0), served.open_connections


def test_repeated_heads_are_answered_as_the_general_path_answers_them() -> None:
    counts = [0, 0]  # [requests the fast path took, requests sent]

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(ops=st.lists(OP, min_size=6, max_size=20),
           # 0 sends a request whole; any other cut splits it in two reads (the
           # hub then hands a partial head to a greenlet, which reads the rest).
           cuts=st.lists(st.integers(0, 3).flatmap(lambda i: st.just(0) if i else st.integers(0, 400)),
                         min_size=1, max_size=6))
    def check(ops: list[tuple[Any, ...]], cuts: list[int]) -> None:
        general, _, open_general = _run(_General, ops, cuts)
        fast, taken, open_fast = _run(_Counting, ops, cuts)
        assert fast == general
        assert open_fast == open_general
        counts[0] += taken
        counts[1] += sum(len(_wire(op)) for op in ops)

    check()
    taken, sent = counts
    # The fast path answered a good share (measured: 15-25% of all requests;
    # the first of each kind per session, split heads, odd requests and the
    # refusals after a session ends are the general path's).
    assert taken >= 200 and taken * 10 >= sent, f"the fast path answered only {taken} of {sent} requests"


def test_a_polling_round_trip_takes_the_fast_path_after_the_first() -> None:
    """The plainest client: after one GET and one POST routed the usual way, every request repeats."""
    ops: list[tuple[Any, ...]] = [("round", "4hello", [])] * 4
    general, _, _ = _run(_General, ops, [0])
    fast, taken, _ = _run(_Counting, ops, [0])
    assert fast == general
    assert fast["a"].count(b"4hello") == 4 and fast["b"].count(b"\r\n\r\nok") == 4
    assert taken == 7  # every GET and POST but the first of each


def test_a_post_of_another_size_repeats_its_head() -> None:
    """Only the Content-Length differs: the same head, recognised with the new length."""
    ops: list[tuple[Any, ...]] = [("post", "b", body, []) for body in ("4a", "4hello", "4" + "y" * 300, "4")]
    fast, taken, _ = _run(_Counting, ops, [0])
    assert taken == 3
    assert fast["b"].count(b"\r\n\r\nok") == 4


def test_an_unusual_head_is_never_repeated() -> None:
    """A Content-Length spelled without its space is routed, but left to the general path every time."""
    raw = b"POST " + POLL.encode() + b" HTTP/1.1\r\nHost: t\r\nContent-Length:6\r\n\r\n4hello"
    ops: list[tuple[Any, ...]] = [("raw", "b", raw)] * 3
    fast, taken, _ = _run(_Counting, ops, [0])
    assert taken == 0
    assert fast["b"].count(b"\r\n\r\nok") == 3


@pytest.mark.parametrize("fields", [[], [("Connection", "keep-alive")]])
@pytest.mark.parametrize("mimic", MIMICS)
def test_a_head_like_a_repeat_is_answered_as_the_general_path_answers_it(
    fields: list[tuple[str, str]], mimic: bytes
) -> None:
    """Two round trips make the POST's head a repeat; then one that differs in or after its length."""
    ops: list[tuple[Any, ...]] = [("round", "4hello", fields)] * 2 + [("raw", "b", mimic), ("round", "4x", fields)]
    general, _, open_general = _run(_General, ops, [0])
    fast, taken, open_fast = _run(_Counting, ops, [0])
    assert fast == general
    assert open_fast == open_general
    assert taken >= 2  # the second round trip's POST and GET at least


def test_a_get_with_a_body_is_left_to_the_general_path() -> None:
    """Nobody reads a GET's body: the general path settles it, each time (never a repeat)."""
    get = request("GET", POLL, b"hello")
    ops: list[tuple[Any, ...]] = [("raw", "b", request("POST", POLL, b"4x")), ("raw", "a", get)] * 3
    general, _, open_general = _run(_General, ops, [0])
    fast, taken, open_fast = _run(_Counting, ops, [0])
    assert fast == general
    assert open_fast == open_general
