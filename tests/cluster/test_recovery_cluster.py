"""Connection state recovery on the Redis adapter: any server recovers any client.

Two servers (tests/cluster/_recovery_cluster_server.py) share a Redis; the
official JS client (tests/interop/recovery_cluster_client.js) connects to A,
ticks are emitted to its room by A or B, its transport is dropped and it
reconnects to A or to B: it gets every missed tick exactly once, in order,
with the same socket id, ``recovered`` true, and its rooms and data back.
Over every pair of drivers (conftest.PAIRS).
"""

from __future__ import annotations

import json
import sys
import time
import uuid
from typing import Any, Iterator

import pytest
import redis

from socketio_core.protocol._recovery import SavedSession
from socketio_core.redis._recovery import RECORD_SCRIPT, RedisRecoveryLog, parse_offset
from tests.conftest import free_port, note_recovery_result

from .conftest import CLUSTER, PAIRS, RedisServer, ServerProcess, node, running_pair


def recovery_server(redis_url: str, driver: str) -> ServerProcess:
    port = free_port()
    return ServerProcess(
        [sys.executable, str(CLUSTER / "_recovery_cluster_server.py"), str(port), redis_url, driver], port
    )


@pytest.fixture(scope="module", params=list(PAIRS))
def pair(request: pytest.FixtureRequest, redis_server: RedisServer) -> Iterator[tuple[ServerProcess, ServerProcess]]:
    with running_pair(recovery_server, redis_server.url, request.param) as servers:
        yield servers


@pytest.mark.parametrize(
    "where,reconnect_to,mode,interval,n",
    [
        ("there", "b", "websocket", "0.05", 30),
        ("there", "b", "polling", "0.05", 30),
        ("here", "b", "upgrade", "0.05", 30),
        ("there", "a", "websocket", "0.05", 30),
        ("here", "a", "polling", "0.05", 30),
        # Ticks all through the reconnection: some are in flight on the channel
        # while the socket is restored (they must come once, not twice).
        ("there", "b", "websocket", "0.003", 200),
        ("here", "b", "websocket", "0.003", 200),
        ("there", "a", "polling", "0.003", 200),
    ],
)
def test_missed_ticks_arrive_once_in_order_on_any_server(
    pair: tuple[ServerProcess, ServerProcess], where: str, reconnect_to: str, mode: str, interval: str,
    n: int,
) -> None:
    a, b = pair
    target = b if reconnect_to == "b" else a
    result = node("recovery_cluster_client.js", a.url, b.url if reconnect_to == "b" else "-",
                  where, mode, interval, str(n)).result()
    note_recovery_result(f"cluster-{where}-{reconnect_to}-{mode}-{interval}", n, result)
    assert "error" not in result, result
    assert result["ticks"] == list(range(1, n + 1)), result
    assert len(result["connects"]) == 2
    assert result["connects"][0] == result["connects"][1], result  # the same socket id
    assert result["recoveredFlags"] == [False, True], result
    assert result["stale"] == [0, 0], result  # the client replayed nothing of its own
    assert result["serverSaid"] == [result["connects"][0]], result
    assert result["whoami"] == {
        "name": "alice", "rooms": sorted(["r", result["connects"][0]]), "port": target.port,
    }, result


def record(client: Any, message: bytes, max_packets: int, max_bytes: int,
           window_ms: int = 60_000) -> str:
    reply = client.eval(RECORD_SCRIPT, 2, "t#stream", "t#bytes", message, "t#channel",
                        max_packets, max_bytes, window_ms)
    return reply.decode() if isinstance(reply, bytes) else str(reply)


def test_the_stream_is_bounded_in_count_bytes_and_time(redis_server: RedisServer) -> None:
    client: Any = redis.Redis.from_url(redis_server.url)
    try:
        client.delete("t#stream", "t#bytes")
        message = b'{"type":"broadcast","uid":"x","data":["' + b"a" * 80 + b'"]}'
        ids = [record(client, message, 5, 10_000) for _ in range(12)]
        assert [e[0].decode() for e in client.xrange("t#stream")] == ids[-5:]  # count
        assert int(client.get("t#bytes")) == 5 * len(message)
        record(client, message, 100, 3 * len(message))  # bytes: the three newest stay
        assert client.xlen("t#stream") == 3
        assert int(client.get("t#bytes")) == 3 * len(message)
        client.delete("t#stream", "t#bytes")
        record(client, message, 100, 10_000)
        time.sleep(0.05)  # the first entry gets older than the 20 ms window below
        # Time: older ones go. Recorded and read back in one transaction, so a
        # stall of this process cannot let the 20 ms window expire the stream
        # before it is read.
        pipe = client.pipeline(transaction=True)
        pipe.eval(RECORD_SCRIPT, 2, "t#stream", "t#bytes", message, "t#channel", 100, 10_000, 20)
        pipe.xrange("t#stream")
        pipe.pttl("t#stream")
        last, entries, ttl = pipe.execute()
        assert [e[0] for e in entries] == [last]
        assert 0 < ttl <= 20
    finally:
        client.delete("t#stream", "t#bytes")
        client.close()


class _Timer:
    cancelled = False

    def __init__(self, fn: Any) -> None:
        self.fire = fn

    def cancel(self) -> None:
        self.cancelled = True


class _FakeRuntime:
    """Timers that fire only when the test says (``timers[i].fire()``)."""

    def __init__(self) -> None:
        self.timers: list[_Timer] = []

    def call_later(self, delay: float, fn: Any, *args: Any) -> _Timer:
        self.timers.append(_Timer(lambda: fn(*args)))
        return self.timers[-1]


class _FakeServer:
    def __init__(self) -> None:
        self.local: list[list[Any]] = []
        self.runtime = _FakeRuntime()

    def deliver_local(self, namespace: str, data: list[Any], rooms: Any, skip: Any, volatile: bool) -> int:
        self.local.append(data)
        return 1


class _InlineAdapter:
    """Just what RedisRecoveryLog uses of a RedisAdapter, running commands inline."""

    def __init__(self, url: str) -> None:
        self.client: Any = redis.Redis.from_url(url)
        self.channel_prefix = f"t{uuid.uuid4().hex[:8]}"
        self.channel = f"{self.channel_prefix}#py1"
        self.uid = "me"
        self.stream = ""
        self.request_timeout = 2.0
        self.last_offset: tuple[int, int] | None = None
        self.server = _FakeServer()

        #: Runs between Redis's answer and its delivery (what the channel brings meanwhile).
        self.meanwhile: Any = None
        self.restore_taps: list[Any] = []

    def _run(self, command: Any, done: Any) -> None:
        result = command(self.client)
        if self.meanwhile is not None:
            meanwhile, self.meanwhile = self.meanwhile, None
            meanwhile()
        if done is not None:
            done(result)

    def dispatch(self, entry_id: str) -> None:
        """What RedisAdapter._dispatch does with a recorded broadcast from the channel."""
        raw = self.client.xrange(self.stream, min=entry_id, max=entry_id)[0][1][b"m"]
        message = {**json.loads(raw), "offset": entry_id}
        position = parse_offset(entry_id)
        self.note_offset(position)
        for tap in self.restore_taps:
            tap.append((position, entry_id, message))
        self.server.deliver_local(message["nsp"], [*message["data"], entry_id], message["rooms"],
                                  message["skip"], False)

    def note_offset(self, position: tuple[int, int] | None) -> None:
        self.last_offset = position


def restore(log: RedisRecoveryLog, pid: str, offset: str) -> Any:
    """``restore_then``'s answer (inline here: the adapter runs Redis commands inline)."""
    answers: list[Any] = []
    log.restore_then(pid, offset, 0.0, answers.append)
    assert len(answers) == 1
    server: Any = log.adapter.server
    assert all(t.cancelled for t in server.runtime.timers)  # answered: no timeout left armed
    return answers[0]


def test_restore_picks_what_the_socket_missed_and_leaves_what_is_on_its_way(
    redis_server: RedisServer,
) -> None:
    adapter = _InlineAdapter(redis_server.url)
    log = RedisRecoveryLog(adapter, max_disconnection_duration=30)  # type: ignore[arg-type]
    try:
        log.broadcast(adapter, "/", ["first"], None, [], 0.0)  # type: ignore[arg-type]
        first = adapter.client.xrange(log.stream)[-1][0].decode()
        log.save(SavedSession(sid="s1", pid="p1", namespace="/", rooms={"r"}, data={"k": 1}, saved_at=0))
        for data, rooms, skip, nsp in [
            (["to_room"], ["r"], [], "/"), (["other_room"], ["x"], [], "/"),
            (["other_nsp"], None, [], "/x"), (["skipped"], None, ["r"], "/"),
            (["to_sid"], ["s1"], [], "/"), (["on_its_way"], None, [], "/"),
        ]:
            log.broadcast(adapter, nsp, data, rooms, skip, 0.0)  # type: ignore[arg-type]
        ids = [e[0].decode() for e in adapter.client.xrange(log.stream)]
        assert adapter.server.local == []  # delivered when it comes back on the channel
        assert 0 < adapter.client.pttl(log.session_prefix + "p1") <= 30_000
        # This server delivered up to "to_sid"; "on_its_way" is still on the channel.
        adapter.last_offset = parse_offset(ids[-2])
        restored = restore(log, "p1", first)
        assert restored is not None
        session, missed = restored
        assert (session.sid, session.rooms, session.data) == ("s1", {"r"}, {"k": 1})
        assert missed == [["to_room", ids[1]], ["to_sid", ids[5]]]
        assert restore(log, "p1", first) is None  # claimed once
        log.save(session)
        assert restore(log, "p1", "not-an-offset") is None
        log.save(session)
        assert restore(log, "p1", "1-0") is None  # an offset that left the stream
    finally:
        adapter.client.delete(log.stream, log.counter)
        adapter.client.close()


def test_restore_takes_once_what_the_channel_brings_while_redis_answers(
    redis_server: RedisServer,
) -> None:
    # The order of events is driven, not timed: "first" and "a" were delivered
    # here before the client came back; "b" is in the stream when it is read but
    # reaches this server only while Redis answers, and "c" is recorded and
    # delivered only after the read. The socket joins its rooms only after the
    # restore (its deliveries of b and c meanwhile reach no one), so the
    # restore must hand over a, b and c, each once and in order.
    adapter = _InlineAdapter(redis_server.url)
    log = RedisRecoveryLog(adapter, max_disconnection_duration=30)  # type: ignore[arg-type]
    adapter.stream = log.stream
    try:
        ids = []
        for data in (["first"], ["a"], ["b"]):
            log.broadcast(adapter, "/", data, ["r"], [], 0.0)  # type: ignore[arg-type]
            ids.append(adapter.client.xrange(log.stream)[-1][0].decode())
        adapter.dispatch(ids[0])
        adapter.dispatch(ids[1])
        log.save(SavedSession(sid="s1", pid="p1", namespace="/", rooms={"r"}, data={}, saved_at=0))

        def channel_meanwhile() -> None:
            adapter.dispatch(ids[2])
            log.broadcast(adapter, "/", ["c"], ["r"], [], 0.0)  # type: ignore[arg-type]
            ids.append(adapter.client.xrange(log.stream)[-1][0].decode())
            adapter.dispatch(ids[3])

        adapter.meanwhile = channel_meanwhile
        restored = restore(log, "p1", ids[0])
        assert restored is not None
        assert restored[1] == [["a", ids[1]], ["b", ids[2]], ["c", ids[3]]]
        assert adapter.restore_taps == []  # the tap is gone with the restore
    finally:
        adapter.client.delete(log.stream, log.counter)
        adapter.client.close()


class _SlowAdapter(_InlineAdapter):
    """Redis answers only when the test says (``answer()``): after the restore's timeout."""

    def __init__(self, url: str) -> None:
        super().__init__(url)
        self.held: list[tuple[Any, Any]] = []

    def _run(self, command: Any, done: Any) -> None:
        self.held.append((command, done))

    def answer(self) -> None:
        while self.held:
            super()._run(*self.held.pop(0))


def test_a_claim_redis_answers_too_late_gives_up_and_puts_the_session_back(
    redis_server: RedisServer,
) -> None:
    adapter = _SlowAdapter(redis_server.url)
    log = RedisRecoveryLog(adapter, max_disconnection_duration=30)  # type: ignore[arg-type]
    try:
        log.broadcast(adapter, "/", ["first"], None, [], 0.0)  # type: ignore[arg-type]
        log.save(SavedSession(sid="s1", pid="p1", namespace="/", rooms={"r"}, data={}, saved_at=0))
        adapter.answer()
        first = adapter.client.xrange(log.stream)[-1][0].decode()
        answers: list[Any] = []
        log.restore_then("p1", first, 0.0, answers.append)
        assert answers == [] and adapter.restore_taps != []  # waiting for Redis
        [timer] = adapter.server.runtime.timers
        timer.fire()  # request_timeout passed
        assert answers == [None] and adapter.restore_taps == []
        key = log.session_prefix + "p1"
        assert adapter.client.exists(key) == 1
        adapter.answer()  # the claim, answered late, took the session and put it back
        assert answers == [None]  # nobody heard of it twice
        assert adapter.client.exists(key) == 1
        again: list[Any] = []
        log.restore_then("p1", first, 0.0, again.append)
        adapter.answer()  # in time: the client's next try is recovered
        assert again[0] is not None and again[0][0].sid == "s1"
    finally:
        adapter.client.delete(log.stream, log.counter)
        adapter.client.close()
