"""A WebSocket client that stops reading while the server writes to it.

It asks for many large echoes and never reads one. The server must drop it
with reason "slow consumer" once its outgoing buffer passes
``max_buffer_bytes``, keep that buffer bounded meanwhile, and keep serving
another client without delay.
"""

from __future__ import annotations

import json
import socket
import threading
import time

import pytest

from ._harness import MAX_BUFFER_BYTES, MAX_PAYLOAD, ServerThread, SioWs

pytestmark = pytest.mark.timeout(60)


def _flood(client: SioWs, count: int, size: int, stop: threading.Event) -> int:
    """Send ``count`` large echo requests (with unsolicited pongs); returns how many went."""
    packet = "42" + json.dumps(["echo", "s" * size])
    sent = 0
    try:
        for i in range(count):
            if stop.is_set():
                break
            client.send(packet)
            if i % 8 == 0:
                client.send("3")  # keep the heartbeat alive without reading the pings
            sent += 1
    except OSError:
        pass  # the server dropped us: that is the point
    return sent


@pytest.mark.parametrize("rounds", [1, 2])
def test_slow_consumer_is_dropped_and_others_are_not_delayed(server: ServerThread, rounds: int) -> None:
    bystander = SioWs(server.port)
    bystander.connect()
    for _ in range(rounds):
        hog = SioWs(server.port, rcvbuf=16 * 1024)
        hog.connect()
        stop = threading.Event()
        flooder = threading.Thread(
            target=_flood, args=(hog, 400, MAX_PAYLOAD - 100, stop), daemon=True
        )
        flooder.start()
        # The bystander keeps getting prompt echoes, and the hog's buffer stays bounded.
        peak = 0
        worst = 0.0
        deadline = time.monotonic() + 20
        while "slow consumer" not in server.reasons():
            assert time.monotonic() < deadline, (server.stats(), server.reasons())
            start = time.monotonic()
            bystander.echo("ping", timeout=5)
            worst = max(worst, time.monotonic() - start)
            peak = max(peak, server.stats()["buffered_bytes"])
        stop.set()
        flooder.join(10)
        assert server.reasons().count("slow consumer") == 1
        # One message may land on top of a buffer just under the bound.
        assert peak <= MAX_BUFFER_BYTES + MAX_PAYLOAD, peak
        assert worst < 1.0, f"a bystander echo took {worst:.3f} s"
        # The hog's connection is closed by the server.
        hog.ws.sock.settimeout(10)
        try:
            while hog.ws.sock.recv(1 << 20):
                pass
        except (ConnectionResetError, socket.timeout):
            pass
        hog.close()
        server.disconnects.clear()
    bystander.echo("after the hog", timeout=5)
    bystander.close()


def test_slow_polling_consumer_is_dropped(server: ServerThread) -> None:
    # A long-polling client that asks for echoes and never polls: the replies
    # pile up in its buffer until the bound drops it.
    eio = server.eio()
    sid, _ = eio.handshake()
    assert eio.post(sid, "40").body == b"ok"
    packet = "42" + json.dumps(["echo", "p" * 20_000])
    body = "\x1e".join([packet] * 4)  # 80 KB per POST, under max_payload
    deadline = time.monotonic() + 10
    while "slow consumer" not in server.reasons():
        assert time.monotonic() < deadline, server.stats()
        resp = eio.post(sid, body + "\x1e3")
        if resp.status != 200:
            break
    assert server.reasons() == ["slow consumer"] or eio.poll(sid).status == 400
    assert eio.poll(sid).status in (200, 400)


def _fill_until_backlogged(server: ServerThread, client: SioWs, size: int = 20_000) -> None:
    """Ask for echoes until the server holds a backlog for ``client`` (its socket is full).

    One small echo at a time, so that what is still in flight when the
    backlog shows stays far below max_buffer_bytes (no slow-consumer drop).
    """
    packet = "42" + json.dumps(["echo", "f" * size])
    deadline = time.monotonic() + 20
    while server.stats()["buffered_bytes"] == 0:
        assert time.monotonic() < deadline, "the server never had to queue anything"
        client.send(packet)
        client.send("3")
        time.sleep(0.003)


def test_client_with_a_full_socket_that_goes_silent_times_out(server: ServerThread) -> None:
    # Its close happens in the scheduler greenlet while a writer greenlet is
    # blocked on the same socket: the close must not wait for (or collide
    # with) that writer, or every other session's timers would stall.
    hog = SioWs(server.port, rcvbuf=16 * 1024)
    hog.connect()
    _fill_until_backlogged(server, hog)
    eio = server.eio()
    bystander_sid, _ = eio.handshake()  # abandoned: must still time out on schedule
    start = time.monotonic()
    deadline = start + 5
    while "ping timeout" not in server.reasons():
        assert time.monotonic() < deadline, (server.stats(), server.reasons())
        time.sleep(0.02)
    while eio.poll(bystander_sid, timeout=3).status != 400:
        assert time.monotonic() < deadline, server.stats()
    hog.ws.sock.close()


def test_client_pinging_while_not_reading(server: ServerThread) -> None:
    # WebSocket pings from a client whose socket is full: the pongs cannot be
    # written while the backlog writer owns the socket; they must be dropped
    # (or the client dropped), never written from a second greenlet.
    from ._harness import frame

    hog = SioWs(server.port, rcvbuf=16 * 1024)
    hog.connect()
    _fill_until_backlogged(server, hog)
    packet = "42" + json.dumps(["echo", "g" * 20_000])
    try:
        for _ in range(200):
            hog.ws.send_raw(frame(0x9, b"are you there"))
            hog.send(packet)
            hog.send("3")
    except OSError:
        pass
    deadline = time.monotonic() + 5
    while not server.disconnects:
        assert time.monotonic() < deadline, server.stats()
        time.sleep(0.02)
    hog.ws.sock.close()


def test_slow_consumer_in_a_room_does_not_hold_up_a_broadcast(server: ServerThread) -> None:
    # A broadcast reaches a member whose buffer overflows: that member is
    # dropped, and everybody else in the room still gets every message.
    hog = SioWs(server.port, rcvbuf=16 * 1024)
    hog.connect()
    members = []
    for _ in range(3):
        member = SioWs(server.port)
        member.connect()
        members.append(member)
    for i, client in enumerate([hog, *members]):
        client.send(f'42{i}["join","big-room"]')
        assert client.recv() == f'43{i}["big-room"]'
    stop = threading.Event()

    def keep_hog_alive() -> None:  # pongs without reading: only the buffer bound may drop it
        while not stop.wait(0.1):
            try:
                hog.send("3")
            except OSError:
                return

    count = 150  # 9 MB to every member: far past the hog's 1 MB bound plus socket buffers
    received: dict[int, list[int]] = {}

    def read_all(index: int, member: SioWs) -> None:
        got = received.setdefault(index, [])
        while len(got) < count:
            message = member.recv(timeout=10)
            assert isinstance(message, str) and message.startswith('42["bcast"'), message[:50]
            got.append(json.loads(message[2:])[1]["i"])

    threads = [threading.Thread(target=keep_hog_alive, daemon=True)]
    threads += [threading.Thread(target=read_all, args=(i, m), daemon=True) for i, m in enumerate(members)]
    for t in threads:
        t.start()
    try:
        payload = "b" * 60_000
        for i in range(count):
            members[0].send("42" + json.dumps(
                ["bcast", {"room": "big-room", "i": i, "pad": payload}], separators=(",", ":")))
        for t in threads[1:]:
            t.join(30)
        assert [received.get(i) for i in range(len(members))] == [list(range(count))] * len(members)
        deadline = time.monotonic() + 5
        while "slow consumer" not in server.reasons():
            assert time.monotonic() < deadline, (server.stats(), server.reasons())
            time.sleep(0.02)
        assert server.reasons() == ["slow consumer"]
    finally:
        stop.set()
        threads[0].join(5)
        for client in [hog, *members]:
            client.close()
