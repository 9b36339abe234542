"""The hub-driven polling paths give the same answers as the greenlet loop.

Our own server serves a kept-alive long-polling connection from the hub: no
greenlet waits for its next request (``_Watched``), a request whole in the
buffer is answered there, and a GET with nothing to send is parked and
answered from the hub when output appears (``_ParkedPoll``). The general path
keeps a greenlet per connection, reading and waiting on an Event. Both run
here over :class:`MemorySocket` (``hub=True`` gives the hub what it needs;
``watcher=True`` alone keeps the greenlet loop), driven by the same
hypothesis-made sequence of client requests and server pushes on two
connections (a client's GET and POST connections), and must write the same
bytes on each. The run also counts how many of the answers the hub wrote:
a run in which the hub never answered would prove nothing.
"""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from engineio import Config
from transports import EngineServer, Server

from .._memsock import MemorySocket, request
from ._hub_harness import Echo, server_op, serving, settle

pytestmark = pytest.mark.timeout(120)

SID = "hub-test-sid"
PATH = "/engine.io/"
POLL = f"{PATH}?EIO=4&transport=polling&sid={SID}"
EXAMPLES = 150


CONNS = st.sampled_from(["a", "b"])
OP = st.one_of(
    st.tuples(st.just("get"), CONNS),
    st.tuples(st.just("post"), CONNS, st.sampled_from(["4hello", "4a\x1e4b", "4" + "y" * 1500, "zzz", "1"])),
    st.tuples(st.just("push"), st.sampled_from([1, 2000])),
    st.tuples(st.just("close")),
    st.tuples(st.just("unknown"), CONNS),
    st.tuples(st.just("no_eio"), CONNS),
    st.tuples(st.just("options"), CONNS),
    st.tuples(st.just("other"), CONNS),
)


def _wire(op: tuple[Any, ...]) -> tuple[str, bytes] | None:
    """The bytes a client op sends, and on which connection (None: a server-side op)."""
    kind = op[0]
    if kind == "get":
        return op[1], request("GET", POLL, headers=[("Accept-Encoding", "deflate")])
    if kind == "post":
        return op[1], request("POST", POLL, op[2].encode(), headers=[("Content-Type", "text/plain")])
    if kind == "unknown":
        return op[1], request("GET", f"{PATH}?EIO=4&transport=polling&sid=nope")
    if kind == "no_eio":
        return op[1], request("GET", f"{PATH}?transport=polling&sid={SID}")
    if kind == "options":
        return op[1], request("OPTIONS", POLL)
    if kind == "other":
        return op[1], request("GET", "/elsewhere")
    return None


def _run(
    ops: list[tuple[Any, ...]], *, hub: bool, send_limit: int | None
) -> tuple[dict[str, bytes], int, int]:
    """Bytes written on each connection, the answers the hub wrote, and the connections still open
    once the client has closed both."""
    engine = EngineServer(
        Echo(), Config(ping_interval=600, ping_timeout=600, max_payload=100_000), path=PATH,
        sid_factory=lambda: SID,
    )
    server = Server(engine)
    socks = {
        name: MemorySocket(eof=False, hub=hub, watcher=not hub, send_limit=send_limit if hub else None)
        for name in ("a", "b")
    }
    with serving(engine, server, socks) as served:
        socks["a"].feed(request("GET", f"{PATH}?EIO=4&transport=polling"))  # the handshake
        settle(socks)
        for op in ops:
            wire = _wire(op)
            if wire is not None:
                socks[wire[0]].feed(wire[1])
            else:
                server_op(engine, SID, op)
            settle(socks)
        written = {name: bytes(sock.sent) for name, sock in socks.items()}
        hub_answers = sum(sock.hub_answers for sock in socks.values())
        # The client leaves when serving() ends. (What is written after that
        # is not compared: a poll waiting when its client half-closes is
        # answered "Session ID unknown" by the greenlet loop and abandoned
        # silently by the hub.)
    return written, hub_answers, served.open_connections


def test_hub_paths_answer_as_the_greenlet_loop_does() -> None:
    counts = [0, 0]  # [answers written from the hub, answers]

    @settings(max_examples=EXAMPLES, deadline=None, database=None,
              suppress_health_check=[HealthCheck.too_slow])
    @given(ops=st.lists(OP, min_size=1, max_size=12), send_limit=st.sampled_from([None, None, 64]))
    def check(ops: list[tuple[Any, ...]], send_limit: int | None) -> None:
        by_greenlet, hub_answers_there, open_there = _run(ops, hub=False, send_limit=None)
        by_hub, hub_answers, open_here = _run(ops, hub=True, send_limit=send_limit)
        assert hub_answers_there == 0  # the general path never answers from the hub
        assert by_hub == by_greenlet
        # Every connection the client closed was ended and counted out (one
        # whose poll waits with a request pipelined behind it stays, in both).
        assert open_here == open_there
        counts[0] += hub_answers
        counts[1] += sum(written.count(b"HTTP/1.1 ") for written in by_hub.values())

    check()
    hub_answers, answers = counts
    # The hub wrote a substantial share of the answers (the handshake, the
    # requests it hands over and the answers a greenlet finishes are the rest).
    assert hub_answers * 4 >= answers, f"the hub wrote only {hub_answers} of {answers} answers"


def test_a_parked_poll_is_answered_from_the_hub() -> None:
    """The plainest round trip: the GET parks, a POST's echo answers it, both from the hub."""
    ops: list[tuple[Any, ...]] = [("get", "a"), ("post", "b", "4hello")]
    by_greenlet, _, _ = _run(ops, hub=False, send_limit=None)
    by_hub, hub_answers, _ = _run(ops, hub=True, send_limit=None)
    assert by_hub == by_greenlet
    assert by_hub["a"].endswith(b"4hello") and by_hub["b"].endswith(b"ok")
    assert hub_answers == 2  # the parked GET's answer and the POST's "ok"


@pytest.mark.parametrize(
    ("method", "target", "in_hub"),
    [
        ("GET", POLL, True),
        ("POST", POLL, True),
        ("GET", f"{PATH}?transport=polling&sid={SID}", True),  # the general check judges it there
        ("GET", f"{PATH}?EIO=4&transport=polling", False),  # a handshake runs the connect handler
        ("GET", f"{PATH}?EIO=4&transport=websocket&sid={SID}", False),  # an upgrade waits
        ("OPTIONS", POLL, False),
        ("PUT", POLL, False),
        ("GET", f"/elsewhere?transport=polling&sid={SID}", False),
    ],
)
def test_the_engine_tells_the_server_what_it_answers_in_the_hub(
    method: str, target: str, in_hub: bool
) -> None:
    """The HTTP server parses no Engine.IO query: it asks the engine (Endpoint.answers_in_hub)."""
    from transports import HttpRequest

    path, _, query = target.partition("?")
    req = HttpRequest(method, target, path, query, None, ("127.0.0.1", 1),
                      header_map={"host": "t"}, fields=[("Host", "t")])
    engine = EngineServer(Echo(), Config(), path=PATH)
    assert engine.answers_in_hub(req) is in_hub
