"""Workers die, drain and reload; the port stays, the clients come back.

- SIGKILL to a worker: the supervisor forks a new one for its slot; that
  worker's clients (WebSocket, polling, upgraded) reconnect as new sessions
  (a killed process saves nothing to recover), the other worker's clients
  are untouched, and a broadcast afterwards reaches everyone exactly once.
- SIGHUP to the supervisor: every worker is replaced, one at a time, while
  the listening socket stays open (handshakes succeed throughout); with
  connection state recovery each client comes back *recovered* (same id),
  the drained workers having saved their sessions in the supervisor's log.
- SIGTERM to the supervisor: every worker closes its sessions and exits 0.
"""

from __future__ import annotations

import http.client
import os
import re
import signal
import threading
from typing import Any

from tests.cluster.conftest import counts, node

from .conftest import echo_workers, slot_of_socket, worker_pids


def _ready_again(server: Any, slot: int, old_pid: int) -> None:
    server.wait_for_output(rf"worker={slot} ready \(pid (?!{old_pid}\))\d+\)", timeout=20)


def _after_broadcast_exact(report: dict[str, Any]) -> None:
    for name, client in report.items():
        assert counts(client["bcast"]) == {"after": 1}, (name, client)
        assert client["room"] == ["in-room"], (name, client)


def test_a_killed_worker_is_restarted_and_its_clients_reconnect(servers: Any) -> None:
    server = servers(echo_workers(), unknown_sids_allowed=True)
    js = node("workers_restart.js", server.url)
    try:
        js.wait_for("READY")
        sids = js.wait_json()["sids"]
        slots = {name: slot_of_socket(server, sid) for name, sid in sids.items()}
        assert set(slots.values()) == {0, 1}, slots
        old = worker_pids(server)[0]
        os.kill(old, signal.SIGKILL)
        _ready_again(server, 0, old)
        js.send("go")
        report = js.result()
    finally:
        js.kill()
    assert "error" not in report, report["error"]
    _after_broadcast_exact(report)
    for name, client in report.items():
        if slots[name] == 0:  # on the killed worker: back as a new session
            assert client["disconnects"] and len(client["ids"]) == 2, (name, client)
            assert client["recovered"] == [False, False], (name, client)
        else:
            assert client["disconnects"] == [] and client["ids"] == [sids[name]], (name, client)
    assert re.search(r"worker=0 \(pid %d\) exited with signal SIGKILL; restarting it" % old, server.log())


def test_sighup_replaces_every_worker_keeping_the_port_and_clients_recover(servers: Any) -> None:
    server = servers(echo_workers("--connection-state-recovery"))
    js = node("workers_restart.js", server.url)
    failures: list[str] = []
    handshakes = [0]
    reloaded = threading.Event()

    def probe() -> None:  # new connections all along the reload
        while not reloaded.is_set():
            try:
                conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=10)
                conn.request("GET", "/socket.io/?EIO=4&transport=polling")
                response = conn.getresponse()
                response.read()
                conn.close()
                if response.status != 200:
                    failures.append(str(response.status))
                handshakes[0] += 1
            except OSError as exc:
                failures.append(repr(exc))

    try:
        js.wait_for("READY")
        sids = js.wait_json()["sids"]
        old = worker_pids(server)
        prober = threading.Thread(target=probe)
        prober.start()
        os.kill(server.proc.pid, signal.SIGHUP)
        for slot in (0, 1):
            _ready_again(server, slot, old[slot])
            server.wait_for_output(rf"worker={slot} \(pid {old[slot]}\) exited with code 0")
        reloaded.set()
        prober.join()
        js.send("go")
        report = js.result()
    finally:
        reloaded.set()
        js.kill()
    assert failures == [] and handshakes[0] > 0, failures
    assert "error" not in report, report["error"]
    _after_broadcast_exact(report)
    for name, client in report.items():
        # Drained once or twice (a client may first land on the worker replaced
        # next; the official client also reports a "disconnect" for a
        # reconnection attempt that fails before it connects), and back every
        # time with the same id, recovered.
        assert client["disconnects"], (name, client)
        assert 2 <= len(client["ids"]) <= 3, (name, client)
        assert client["ids"] == [sids[name]] * len(client["ids"]), (name, client)
        assert client["recovered"] == [False] + [True] * (len(client["ids"]) - 1), (name, client)
    assert set(worker_pids(server).values()).isdisjoint(old.values())


def test_sigterm_drains_every_worker() -> None:
    server = echo_workers()
    pids = worker_pids(server)
    output = server.stop()
    assert server.proc.returncode == 0, output[-3000:]
    for slot, pid in pids.items():
        assert f"worker={slot} (pid {pid}) exited with code 0" in output, output[-3000:]
    assert "supervisor: stopped" in output
