"""The pure parts of workers=N: reading the owner from a request head, and the bus hub.

No sockets: heads are bytes, the hub's peers collect the frames sent to them,
the clock is a variable.
"""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from transports.gevent._cluster import _bus as bus
from transports.gevent._cluster._routing import head_end, owner_of_head, owner_of_sid, sid_factory
from transports.gevent._cluster._handoff import pack_handoff, unpack_handoff

from ._bus_frames import FrameCollector


@pytest.mark.parametrize(
    ("head", "owner"),
    [
        (b"GET /socket.io/?EIO=4&transport=polling&sid=12.abcDEF_- HTTP/1.1\r\nHost: x\r\n\r\n", 12),
        (b"POST /socket.io/?sid=3.x&EIO=4 HTTP/1.1\r\n\r\n", 3),
        (b"GET /socket.io/?EIO=4&transport=websocket&sid=7.q HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", 7),
        (b"GET /socket.io/?EIO=4&sid=2%2Ex HTTP/1.1\r\n\r\n", 2),  # percent-encoded dot
        (b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\n\r\n", None),  # a handshake
        (b"GET / HTTP/1.1\r\n\r\n", None),
        (b"GET /socket.io/?sid=abc HTTP/1.1\r\n\r\n", None),  # not a worker's sid
        (b"GET /socket.io/?sid=12345678.x HTTP/1.1\r\n\r\n", None),  # prefix too long
        (b"GET /socket.io/?sid=-1.x HTTP/1.1\r\n\r\n", None),
        (b"garbage\r\n\r\n", None),
    ],
)
def test_owner_of_head(head: bytes, owner: int | None) -> None:
    assert owner_of_head(head) == owner


@given(st.integers(min_value=1, max_value=10**6))
def test_every_sid_names_its_worker(wid: int) -> None:
    sid = sid_factory(wid)()
    assert owner_of_sid(sid) == wid
    assert owner_of_head(f"GET /socket.io/?EIO=4&sid={sid} HTTP/1.1\r\n\r\n".encode()) == wid


def test_head_end() -> None:
    assert head_end(b"GET / HTTP/1.1\r\nA: b\r\n") == -1
    assert head_end(b"GET / HTTP/1.1\r\n\r\nbody") == 18
    assert head_end(b"GET / HTTP/1.1\n\nbody") == 16


@given(st.binary(max_size=300), st.text(max_size=40), st.integers(0, 65535))
def test_handoff_message_round_trip(data: bytes, host: str, port: int) -> None:
    assert unpack_handoff(pack_handoff((host, port), data)) == ((host, port), data)


def _peer(hub: bus.Hub, name: str) -> tuple[bus.Peer, FrameCollector]:
    got = FrameCollector()
    peer = bus.Peer(send=got, name=name)
    hub.connect(peer)
    return peer, got


def test_publish_reaches_every_subscriber_sender_included_and_counts_them() -> None:
    hub = bus.Hub(lambda: 1000.0)
    a, got_a = _peer(hub, "a")
    b, got_b = _peer(hub, "b")
    hub.handle(a, bus.SUBSCRIBE, {"chs": ["all", "a"]}, b"")
    hub.handle(b, bus.SUBSCRIBE, {"chs": ["all", "b"]}, b"")
    hub.handle(a, bus.PUBLISH, {"ch": "all", "q": 7}, b"hello")
    assert got_a.frames[-2:] == [(bus.MESSAGE, {"ch": "all"}, b"hello"), (bus.REPLY, {"q": 7, "v": 2}, b"")]
    assert got_b.frames[-1] == (bus.MESSAGE, {"ch": "all"}, b"hello")
    hub.handle(b, bus.PUBLISH, {"ch": "a"}, b"reply")  # no reply asked: none sent
    assert got_b.frames[-1] == (bus.MESSAGE, {"ch": "all"}, b"hello")
    assert got_a.frames[-1] == (bus.MESSAGE, {"ch": "a"}, b"reply")
    hub.disconnect(b)
    hub.handle(a, bus.NUMSUB, {"ch": "all", "q": 8}, b"")
    assert got_a.frames[-1] == (bus.REPLY, {"q": 8, "v": 1}, b"")


def test_record_publishes_with_its_offset_and_claim_reads_from_it() -> None:
    now = [1000.0]
    hub = bus.Hub(lambda: now[0])
    a, got = _peer(hub, "a")
    hub.handle(a, bus.SUBSCRIBE, {"chs": ["all"]}, b"")
    offsets = []
    for i in range(3):
        hub.handle(a, bus.RECORD, {"ch": "all", "mp": 10, "mb": 10_000, "w": 60_000}, b'{"n":%d}' % i)
        offsets.append(got.frames[-1][1]["v"])
        assert got.frames[-2] == (bus.MESSAGE, {"ch": "all"}, b'{"n":%d,"offset":"%s"}' % (i, offsets[-1].encode()))
    assert offsets == ["1000000-0", "1000000-1", "1000000-2"]  # same ms: the sequence grows
    hub.handle(a, bus.SAVE, {"k": "s1", "w": 60_000}, b'{"sid":"x"}')
    hub.handle(a, bus.CLAIM, {"k": "s1", "o": offsets[1]}, b"")
    session, entries = got.frames[-1][1]["v"]
    assert session == '{"sid":"x"}'
    assert entries == [[offsets[1], '{"n":1}'], [offsets[2], '{"n":2}']]
    hub.handle(a, bus.CLAIM, {"k": "s1", "o": offsets[1]}, b"")  # one claim wins
    assert got.frames[-1][1]["v"] == [None, []]
    hub.handle(a, bus.LAST, {}, b"")
    assert got.frames[-1][1]["v"] == [[offsets[2]]]


def test_the_stream_is_bounded_by_count_bytes_and_age_and_sessions_expire() -> None:
    now = [1000.0]
    hub = bus.Hub(lambda: now[0])
    a, got = _peer(hub, "a")
    for i in range(5):
        hub.record("all", b'{"n":%d}' % i, 3, 10_000, 60_000)
    assert [json.loads(e.message)["n"] for e in hub._stream] == [2, 3, 4]
    hub.record("all", b'{"n":"%s"}' % (b"x" * 50), 3, 60, 60_000)
    assert len(hub._stream) == 1
    now[0] += 61
    hub.record("all", b'{"n":9}', 3, 10_000, 60_000)
    assert [json.loads(e.message)["n"] for e in hub._stream] == [9]
    hub.handle(a, bus.SAVE, {"k": "s", "w": 1000}, b"{}")
    now[0] += 2
    hub.handle(a, bus.CLAIM, {"k": "s", "o": "1-0"}, b"")
    assert got.frames[-1][1]["v"] == [None, []]
    hub.handle(a, bus.SAVE, {"k": "t", "w": 1000}, b"{}")
    now[0] += 2
    hub.sweep()
    assert hub._sessions == {}


@given(st.lists(st.tuples(st.sampled_from([bus.PUBLISH, bus.REPLY, bus.MESSAGE]),
                          st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
                          st.binary(max_size=40)), max_size=5),
       st.integers(1, 7))
def test_frames_survive_any_split(frames: list[tuple[bytes, dict[str, Any], bytes]], step: int) -> None:
    data = b"".join(bus.encode(op, header, body) for op, header, body in frames)
    reader = bus.BusReader()
    out = []
    for i in range(0, len(data), step):
        out.extend(reader.feed(data[i : i + step]))
    assert out == frames


def test_a_bad_frame_is_refused() -> None:
    with pytest.raises(bus.BusFrameError):
        list(bus.BusReader().feed(b"\x00\x00\x00\x01x"))


def test_a_claim_waits_for_a_draining_worker_to_save_the_session() -> None:
    now = [1000.0]
    hub = bus.Hub(lambda: now[0])
    drained, _ = _peer(hub, "old")
    b, got = _peer(hub, "new")
    offset = hub.record("all", b'{"n":1}', 10, 10_000, 60_000)
    hub.drain_started(drained)
    hub.handle(b, bus.CLAIM, {"k": "s", "o": offset, "q": 1}, b"")
    assert got.frames == []  # parked: the draining worker may still save it
    hub.handle(drained, bus.SAVE, {"k": "s", "w": 60_000}, b'{"sid":"x"}')
    assert got.frames[-1] == (bus.REPLY, {"q": 1, "v": ['{"sid":"x"}', [[offset, '{"n":1}']]]}, b"")
    # Nothing saved: answered when the drained worker is gone, or when the wait is over.
    hub.handle(b, bus.CLAIM, {"k": "t", "o": offset, "q": 2}, b"")
    hub.disconnect(drained)
    assert got.frames[-1] == (bus.REPLY, {"q": 2, "v": [None, []]}, b"")
    hub.drain_started(drained)
    hub.handle(b, bus.CLAIM, {"k": "u", "o": offset, "q": 3}, b"")
    assert hub.answer_late_claims() == 1000.0 + bus.PARK_SECONDS
    now[0] += bus.PARK_SECONDS
    assert hub.answer_late_claims() is None
    assert got.frames[-1] == (bus.REPLY, {"q": 3, "v": [None, []]}, b"")


def _live(hub: bus.Hub, peer: bus.Peer, sid: str, rooms: list[str], window_ms: int = 60_000) -> None:
    value = json.dumps({"type": "session", "sid": sid, "pid": "p-" + sid, "nsp": "/", "rooms": rooms,
                        "data": {"n": 1}}).encode()
    hub.handle(peer, bus.LIVE, {"s": sid, "k": "k-" + sid, "w": window_ms, "r": rooms}, value)


def test_a_dead_workers_live_sessions_become_saved_sessions_with_their_rooms() -> None:
    now = [1000.0]
    hub = bus.Hub(lambda: now[0])
    dead, _ = _peer(hub, "dead")
    other, got = _peer(hub, "other")
    offset = hub.record("all", b'{"n":1}', 10, 10_000, 60_000)
    _live(hub, dead, "a", ["r"])
    _live(hub, dead, "b", [], window_ms=1000)
    _live(hub, dead, "gone", ["r"])
    hub.handle(dead, bus.ROOM, {"s": "a", "r": "s", "j": 1}, b"")
    hub.handle(dead, bus.ROOM, {"s": "a", "r": "r", "j": 0}, b"")
    hub.handle(dead, bus.ROOM, {"s": "unknown", "r": "r", "j": 1}, b"")  # not live: ignored
    hub.handle(dead, bus.GONE, {"s": "gone"}, b"")  # left (deliberately, or saved by the worker)
    now[0] += 10  # the windows start when the worker dies
    assert hub.disconnect(dead) == 2
    assert hub.disconnect(dead) == 0 and hub.kept == 2
    hub.handle(other, bus.CLAIM, {"k": "k-a", "o": offset, "q": 1}, b"")
    session, entries = got.frames[-1][1]["v"]
    assert json.loads(session) == {"type": "session", "sid": "a", "pid": "p-a", "nsp": "/", "rooms": ["s"],
                                   "data": {"n": 1}}
    assert entries == [[offset, '{"n":1}']]
    hub.handle(other, bus.CLAIM, {"k": "k-gone", "o": offset, "q": 2}, b"")
    assert got.frames[-1][1]["v"] == [None, []]
    now[0] += 1  # b's window (1 s) is over
    hub.handle(other, bus.CLAIM, {"k": "k-b", "o": offset, "q": 3}, b"")
    assert got.frames[-1][1]["v"] == [None, []]


def test_a_session_the_worker_saved_wins_and_parked_claims_get_the_kept_ones() -> None:
    hub = bus.Hub(lambda: 1000.0)
    dying, _ = _peer(hub, "dying")
    other, got = _peer(hub, "other")
    offset = hub.record("all", b'{"n":1}', 10, 10_000, 60_000)
    _live(hub, dying, "a", ["r"])
    _live(hub, dying, "b", ["r"])
    hub.drain_started(dying)  # killed while draining: a saved a, b not yet
    hub.handle(dying, bus.SAVE, {"k": "k-a", "w": 60_000}, b'{"sid":"a","saved":"by the worker"}')
    hub.handle(other, bus.CLAIM, {"k": "k-b", "o": offset, "q": 1}, b"")
    assert got.frames == []  # parked
    assert hub.disconnect(dying) == 1
    session, _ = got.frames[-1][1]["v"]
    assert json.loads(session)["sid"] == "b"
    hub.handle(other, bus.CLAIM, {"k": "k-a", "o": offset, "q": 2}, b"")
    assert json.loads(got.frames[-1][1]["v"][0]) == {"sid": "a", "saved": "by the worker"}


def test_a_claim_waits_while_its_session_is_live_on_a_worker() -> None:
    """The client may reconnect before its worker noticed the old connection's end (or
    before the supervisor noticed the worker's): the claim waits for the save, the
    departure or the end, and for LIVE_PARK_SECONDS at most."""
    now = [1000.0]
    hub = bus.Hub(lambda: now[0])
    owner, _ = _peer(hub, "owner")
    other, got = _peer(hub, "other")
    offset = hub.record("all", b'{"n":1}', 10, 10_000, 60_000)
    for sid in ("a", "b", "c"):
        _live(hub, owner, sid, ["r"])
    hub.handle(other, bus.CLAIM, {"k": "k-a", "o": offset, "q": 1}, b"")
    hub.handle(other, bus.CLAIM, {"k": "k-b", "o": offset, "q": 2}, b"")
    hub.handle(other, bus.CLAIM, {"k": "k-c", "o": offset, "q": 3}, b"")
    hub.handle(other, bus.CLAIM, {"k": "k-nobody", "o": offset, "q": 4}, b"")
    assert got.frames == [(bus.REPLY, {"q": 4, "v": [None, []]}, b"")]  # live nowhere: at once
    hub.handle(owner, bus.SAVE, {"k": "k-a", "w": 60_000}, b'{"sid":"a"}')  # the owner saves a
    assert got.frames[-1] == (bus.REPLY, {"q": 1, "v": ['{"sid":"a"}', [[offset, '{"n":1}']]]}, b"")
    hub.handle(owner, bus.GONE, {"s": "a"}, b"")
    hub.handle(owner, bus.GONE, {"s": "b"}, b"")  # b left without a save (deliberately)
    assert got.frames[-1] == (bus.REPLY, {"q": 2, "v": [None, []]}, b"")
    assert hub.disconnect(owner) == 1  # the owner died: c is kept, and its claim gets it
    assert got.frames[-1][1]["q"] == 3 and json.loads(got.frames[-1][1]["v"][0])["sid"] == "c"
    assert hub.waited == 2 and hub._parked == [] and hub._live_keys == {}
    # Live on a worker that never lets go: the claim is answered when its wait is over.
    _live(hub, other, "d", [])
    hub.handle(other, bus.CLAIM, {"k": "k-d", "o": offset, "q": 5}, b"")
    assert hub.answer_late_claims() == 1000.0 + bus.LIVE_PARK_SECONDS
    now[0] += bus.LIVE_PARK_SECONDS
    assert hub.answer_late_claims() is None
    assert got.frames[-1] == (bus.REPLY, {"q": 5, "v": [None, []]}, b"")


def test_a_kept_claim_gets_a_dead_workers_session_once_and_does_not_wait_for_drains() -> None:
    """KEPT (workers on Redis): the session the hub kept of a dead worker, or None."""
    hub = bus.Hub(lambda: 1000.0)
    dying, _ = _peer(hub, "dying")
    draining, _ = _peer(hub, "draining")
    other, got = _peer(hub, "other")
    _live(hub, dying, "a", ["r"])
    _live(hub, dying, "a", ["r", "s"])  # sent again (its data was saved): replaces the copy
    hub.drain_started(draining)
    hub.handle(other, bus.KEPT, {"k": "k-x", "q": 1}, b"")
    assert got.frames == [(bus.REPLY, {"q": 1, "v": None}, b"")]  # not live: at once, drains or not
    hub.handle(other, bus.KEPT, {"k": "k-a", "q": 2}, b"")
    assert len(got.frames) == 1  # live on a worker: waits
    assert hub.disconnect(dying) == 1
    assert got.frames[-1][1]["q"] == 2 and json.loads(got.frames[-1][1]["v"])["rooms"] == ["r", "s"]
    hub.handle(other, bus.KEPT, {"k": "k-a", "q": 3}, b"")
    assert got.frames[-1] == (bus.REPLY, {"q": 3, "v": None}, b"")  # one claim wins
