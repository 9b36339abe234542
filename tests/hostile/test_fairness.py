"""One connection must not hold the loop: pipelined requests and one huge POST of tiny packets.

Issue 14, items 2 and 3. Each attack runs against a server of its own (long
heartbeats, ``max_payload`` 1 MB) while the server's hub is watched: a
prepare watcher closes each loop turn, and a ``flood`` handler counts the
attacker's events per turn. The checks are counts, not clocks, so they
cannot flake: before the budgets,

- a connection pipelining polling POSTs had ~400 of them answered in one
  turn (a 64 KB read), and one pipelining 404s was served by its greenlet
  without ever yielding (thousands per turn);
- a 1 MB POST of tiny packets was handed up in one turn: 500,000 noops
  between two events, or ~80,000 events, all before anyone else was polled.

Beside the counts, a normal client's WebSocket connect + echo during the
attack must complete, with a generous bound.
"""

from __future__ import annotations

import socket
import threading
import time
from typing import Any, Callable, Iterator

import pytest

from transports.gevent._turns import TURN_PACKETS, TURN_REQUESTS

from ._harness import PATH, ServerThread, SioWs, raw_connect, sio_polling_echo

pytestmark = pytest.mark.timeout(120)

#: Generous: a normal client's connect + echo takes milliseconds when it gets turns.
SERVED_WITHIN = 3.0
#: How long a pipelining attacker keeps writing at most.
ATTACK_SECONDS = 8.0
FLOOD = '42["flood"]'
#: Budgets a window between two prepare watchers may hold: the share run from
#: the callback queue before the poll, the one after it (a zero-delay timer
#: started before the poll fires after it), and a hub read between. Before
#: the budgets these windows held hundreds to tens of thousands.
SLACK = 4


class TurnProbe:
    """Counts loop turns of the server's hub and the ``flood`` events handled in each."""

    def __init__(self, server: ServerThread) -> None:
        self.turn = 0
        self.count = 0
        self.worst = 0
        self.events = 0
        #: The turn of the first and of the last flood event.
        self.first: int | None = None
        self.last: int | None = None
        self.turns_with_events = 0
        assert server.sio is not None
        server.sio.on("flood")(self._flood)
        self._watcher: Any = server.call(self._install(server))

    def _install(self, server: ServerThread) -> Callable[[], Any]:
        def install() -> Any:
            watcher = server._hub.loop.prepare()
            watcher.start(self._next_turn)
            return watcher

        return install

    def _flood(self, sid: str, *args: Any) -> None:
        if self.count == 0:
            self.turns_with_events += 1
        self.count += 1
        self.events += 1
        if self.first is None:
            self.first = self.turn
        self.last = self.turn

    def _next_turn(self) -> None:
        self.worst = max(self.worst, self.count)
        self.count = 0
        self.turn += 1

    def stop(self, server: ServerThread) -> None:
        server.call(self._watcher.stop)
        self.worst = max(self.worst, self.count)


@pytest.fixture(scope="module")
def server() -> Iterator[ServerThread]:
    # Long heartbeats: the attackers write without answering pings.
    server = ServerThread(ping_interval=25, ping_timeout=20, max_payload=1_000_000).start()
    yield server
    server.stop()


def _normal_client_served(server: ServerThread) -> float:
    started = time.monotonic()
    with SioWs(server.port) as normal:
        normal.connect()
        normal.echo("served meanwhile")
    return time.monotonic() - started


def _session(server: ServerThread) -> str:
    """A polling session joined to ``/``."""
    eio = server.eio()
    sid, _ = eio.handshake()
    assert eio.post(sid, "40").body == b"ok"
    return sid


def _post_head(sid: str, length: int) -> bytes:
    return (
        f"POST {PATH}?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: x\r\n"
        f"Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {length}\r\n\r\n"
    ).encode()


def _drain(sock: socket.socket, stop: threading.Event, seen: list[int]) -> None:
    """Read and count answers (``HTTP/1.1`` lines) until the connection ends or ``stop``."""
    sock.settimeout(0.2)
    while not stop.is_set():
        try:
            data = sock.recv(1 << 16)
        except socket.timeout:
            continue
        except OSError:
            return
        if not data:
            return
        seen[0] += data.count(b"HTTP/1.1 ")


def _pipeline(server: ServerThread, request: bytes, wait_until: Callable[[], bool]) -> tuple[float, bool, int]:
    """Pipeline ``request`` back to back while a normal client connects and echoes.

    Returns how long the normal client took (from the attack's start), whether
    the attack was still going then, and how many answers the attacker read.
    """
    attacker = raw_connect(server.port)
    stop = threading.Event()
    answers = [0]
    reader = threading.Thread(target=_drain, args=(attacker, stop, answers), daemon=True)
    reader.start()
    chunk = request * 500

    def write() -> None:
        deadline = time.monotonic() + ATTACK_SECONDS
        try:
            while not stop.is_set() and time.monotonic() < deadline:
                attacker.sendall(chunk)
        except OSError:
            pass

    writer = threading.Thread(target=write, daemon=True)
    started = time.monotonic()
    writer.start()
    try:
        deadline = started + ATTACK_SECONDS
        while not wait_until() and time.monotonic() < deadline:
            time.sleep(0.01)
        _normal_client_served(server)
        took = time.monotonic() - started
        attacking = writer.is_alive()
    finally:
        stop.set()
        writer.join(10)
        attacker.close()
        reader.join(10)
    return took, attacking, answers[0]


def _checked(server: ServerThread) -> None:
    server.wait_idle(10)
    assert not server.greenlet_errors, server.greenlet_errors
    assert not server.log.records, "\n\n".join(server.log.records)


def test_pipelined_polling_posts_get_a_budget_per_turn(server: ServerThread) -> None:
    """Answered from the hub: at most TURN_REQUESTS of them per loop turn."""
    sid = _session(server)
    probe = TurnProbe(server)
    request = _post_head(sid, len(FLOOD)) + FLOOD.encode()
    try:
        took, attacking, answers = _pipeline(
            server, request, lambda: probe.events > 20 * TURN_REQUESTS
        )
    finally:
        probe.stop(server)
    assert attacking, "the attack ended before the normal client was served: the check proves nothing"
    assert took < SERVED_WITHIN, f"a normal client waited {took:.2f} s behind pipelined POSTs"
    assert answers > 20 * TURN_REQUESTS
    # Counted, not timed: each POST carries one event, handled in its POST's turn.
    assert probe.worst <= SLACK * TURN_REQUESTS, (probe.worst, probe.turn, probe.events)
    assert server.eio().post(sid, "1").body == b"ok"
    _checked(server)


def test_pipelined_404s_get_a_budget_per_turn(server: ServerThread) -> None:
    """Served by the connection's greenlet: it yields a loop turn every TURN_REQUESTS requests."""
    http = server.sio._http  # type: ignore[union-attr]
    assert http is not None
    original = http.app
    count = {"now": 0, "worst": 0, "all": 0}

    def counted(conn: Any, request: Any) -> bool:
        count["now"] += 1
        count["all"] += 1
        return bool(original(conn, request))

    def next_turn() -> None:
        count["worst"] = max(count["worst"], count["now"])
        count["now"] = 0

    def install() -> Any:
        http.app = counted
        watcher = server._hub.loop.prepare()
        watcher.start(next_turn)
        return watcher

    watcher = server.call(install)
    try:
        took, attacking, answers = _pipeline(
            server, b"GET /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n",
            lambda: count["all"] > 20 * TURN_REQUESTS,
        )
    finally:
        def uninstall() -> None:
            watcher.stop()
            http.app = original

        server.call(uninstall)
    worst = max(count["worst"], count["now"])
    assert attacking, "the attack ended before the normal client was served: the check proves nothing"
    assert took < SERVED_WITHIN, f"a normal client waited {took:.2f} s behind pipelined 404s"
    assert answers > 20 * TURN_REQUESTS
    assert worst <= SLACK * TURN_REQUESTS, (worst, count)
    _checked(server)


def _big_post(server: ServerThread, sid: str, payload: bytes, answered: list[bytes]) -> None:
    sock = raw_connect(server.port, timeout=60)
    try:
        sock.sendall(_post_head(sid, len(payload)) + payload)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                break
            data += chunk
        answered.append(data)
    finally:
        sock.close()


def _one_big_post(server: ServerThread, payload: bytes, probe: TurnProbe) -> float:
    """Send ``payload`` in one POST while a normal client connects and echoes; how long it took."""
    sid = _session(server)
    answered: list[bytes] = []
    thread = threading.Thread(target=_big_post, args=(server, sid, payload, answered), daemon=True)
    started = time.monotonic()
    thread.start()
    deadline = started + 10
    while probe.events == 0 and time.monotonic() < deadline:
        time.sleep(0.001)
    took = _normal_client_served(server)
    thread.join(30)
    assert answered and answered[0].startswith(b"HTTP/1.1 200 "), answered
    # The session is still fine: it gets its echo.
    eio = server.eio()
    assert eio.post(sid, "1").body == b"ok"
    return took


def test_a_1mb_post_of_noops_is_handed_up_over_many_turns(server: ServerThread) -> None:
    """500,000 noops between two events: the events arrive thousands of turns apart."""
    noops = 499_000
    payload = "\x1e".join([FLOOD] + ["6"] * noops + [FLOOD]).encode()
    assert len(payload) <= 1_000_000
    probe = TurnProbe(server)
    try:
        took = _one_big_post(server, payload, probe)
    finally:
        probe.stop(server)
    assert probe.events == 2
    assert probe.first is not None and probe.last is not None
    # Counted, not timed: TURN_PACKETS packets per turn at most (before: all in one turn).
    assert probe.last - probe.first >= noops // TURN_PACKETS // 2, (probe.first, probe.last)
    assert took < SERVED_WITHIN, f"a normal client waited {took:.2f} s behind one POST of noops"
    _checked(server)


def test_a_1mb_post_of_events_gets_a_budget_per_turn(server: ServerThread) -> None:
    """~83,000 events in one POST: at most about TURN_PACKETS handled per loop turn."""
    count = 1_000_000 // (len(FLOOD) + 1)
    payload = "\x1e".join([FLOOD] * count).encode()
    probe = TurnProbe(server)
    try:
        took = _one_big_post(server, payload, probe)
    finally:
        probe.stop(server)
    assert probe.events == count
    assert probe.worst <= SLACK * TURN_PACKETS, (probe.worst, probe.turns_with_events)
    assert probe.turns_with_events >= count // TURN_PACKETS // 2
    assert took < SERVED_WITHIN, f"a normal client waited {took:.2f} s behind one POST of events"
    _checked(server)


def test_a_chunked_1mb_post_of_events_gets_a_budget_per_turn(server: ServerThread) -> None:
    """A chunked body goes through h11 and cannot be parked: its greenlet yields a turn per budget."""
    count = 900_000 // (len(FLOOD) + 1)
    payload = "\x1e".join([FLOOD] * count).encode()
    probe = TurnProbe(server)
    sid = _session(server)
    try:
        with raw_connect(server.port, timeout=60) as sock:
            head = _post_head(sid, 0).replace(b"Content-Length: 0", b"Transfer-Encoding: chunked")
            chunks = b"".join(
                b"%x\r\n%s\r\n" % (len(payload[i:i + 65536]), payload[i:i + 65536])
                for i in range(0, len(payload), 65536)
            )
            sock.sendall(head + chunks + b"0\r\n\r\n")
            answer = sock.recv(65536)
        assert answer.startswith(b"HTTP/1.1 200 "), answer
    finally:
        probe.stop(server)
    assert probe.events == count
    assert probe.worst <= SLACK * TURN_PACKETS, (probe.worst, probe.turns_with_events)
    assert server.eio().post(sid, "1").body == b"ok"
    _checked(server)


def test_a_request_pipelined_behind_a_long_post_comes_after_it(server: ServerThread) -> None:
    count = 10 * TURN_PACKETS
    payload = "\x1e".join([FLOOD] * count).encode()
    probe = TurnProbe(server)
    after: list[int] = []
    assert server.sio is not None
    server.sio.on("after")(lambda sid, *args: after.append(probe.events))
    sid = _session(server)
    last = b'42["after"]'
    try:
        with raw_connect(server.port, timeout=30) as sock:
            sock.sendall(_post_head(sid, len(payload)) + payload + _post_head(sid, len(last)) + last)
            data = b""
            while data.count(b"\r\n\r\nok") < 2:
                chunk = sock.recv(65536)
                assert chunk, data
                data += chunk
    finally:
        probe.stop(server)
    assert data.count(b"HTTP/1.1 200 OK") == 2, data
    assert after == [count], (after, probe.events)  # every event of the first POST came before
    assert probe.turns_with_events >= count // TURN_PACKETS // 2
    assert server.eio().post(sid, "1").body == b"ok"
    _checked(server)


def test_a_normal_polling_client_still_works(server: ServerThread) -> None:
    sio_polling_echo(server.port)
    _checked(server)
