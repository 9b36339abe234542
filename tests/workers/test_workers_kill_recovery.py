"""A worker killed with SIGKILL: its clients recover all the same (workers=2, recovery on).

tests/workers/_recovery_workers_server.py (two workers, connection state
recovery), between the workers either the local adapter (the supervisor's
hub keeps the recovery log) or Redis (``message_queue=``: a real
redis-server keeps it); six official JS clients and six python-socketio
clients (tests/interop/workers_kill_recover*), WebSocket, polling and
polling upgraded to WebSocket on each worker, in rooms "r" and
"own-<name>" (and out of "tmp", joined and left), each with its session
data changed after it connected (``set_data``: "d-<name>"). The test
SIGKILLs the worker of slot 0 (a killed process saves nothing: the
supervisor's hub had a live copy of each session, kept up to date by
one-way bus frames, data saves included, and keeps it when the worker's bus
ends). While its clients are down, a client of the other worker sends room
"r" m1, m2, room "tmp" x, room "own-<k>" o-<k> for each killed client, room
"r" m3, m4, m5. Then the killed clients connect again, to whichever worker
the supervisor picks (the restarted one or the other):

- each comes back with ``recovered`` (same sid, same pid), its rooms kept
  (it gets "after", sent to "r" once all are back; not "x": it had left
  "tmp"), its changed data (not the connect handler's), and gets what it
  missed exactly once, in order;
- the other worker's clients never disconnect and get m1..m5 and "after" once;
- slot 0 is restarted exactly once; no request is answered 400 except
  "Session ID unknown" for requests of the dead worker's sessions already in
  flight (at most one per client of the killed worker that polled, counted).

"at once": the killed clients reconnect by themselves the moment their
connection drops (1 ms reconnection delay), racing the supervisor's notice
of the death, and the messages are sent while they come back (received
missed or live, the same list). A claim that reaches the hub before the
dead worker's end was noticed waits for it; the test prints how many did
(README "Workers" says what was measured).

A reload (SIGHUP) drains the workers instead: they save their sessions
themselves (in the hub, or in Redis), and the hub, told of each departure,
keeps no copy of its own: every client comes back recovered and no worker
is reported as ended without saving its sessions.
"""

from __future__ import annotations

import json
import os
import re
import signal
from typing import Any

import sys
from pathlib import Path

import pytest

from tests.cluster.conftest import node, peer_python, redis_server  # noqa: F401
from tests.conftest import ServerProcess, free_port

from .conftest import START_TIMEOUT, echo_workers, slot_of_socket, unknown_sid_answers, worker_pids

KILLED = 0
SERVER = Path(__file__).resolve().parent / "_recovery_workers_server.py"
WAITED = r"a client reconnected before its session left worker=0"


def recovery_workers(redis_url: str | None) -> ServerProcess:
    port = free_port()
    return ServerProcess([sys.executable, str(SERVER), str(port), redis_url or "-"], port,
                         start_timeout=START_TIMEOUT)


def _refusals(log: str) -> list[str]:
    """Why each refused request was refused (the engine logs every 400 and 403 once)."""
    return re.findall(r"refused \S+ \S+ from \S+: (.*)", log)


@pytest.mark.parametrize("reconnect", ["manual", "at once"])
@pytest.mark.parametrize("between", ["local", "redis"])
def test_a_sigkilled_workers_clients_recover(servers: Any, request: Any, between: str, reconnect: str) -> None:
    url = request.getfixturevalue("redis_server").url if between == "redis" else None
    server = servers(recovery_workers(url), unknown_sids_allowed=True)
    py = peer_python("workers_kill_recover_peer.py", server.url)
    js = None
    try:
        py.wait_for("READY")
        py_first = py.wait_json()
        js = node("workers_kill_recover.js", server.url)
        js.wait_for("READY")
        js_first = js.wait_json()
        sids = {**py_first["sids"], **js_first["sids"]}
        pids = {**py_first["pids"], **js_first["pids"]}
        slots = {name: slot_of_socket(server, sid) for name, sid in sids.items()}
        killed = sorted(name for name, slot in slots.items() if slot == KILLED)
        # Each worker holds WebSocket and polling clients of both kinds.
        kinds = ["ws", "ws", "polling", "polling", "upgrade", "upgrade"]
        transports = {f"{who}{i}": kind for who in "cp" for i, kind in enumerate(kinds)}
        for slot in (0, 1):
            on_slot = sorted((n[0], transports[n]) for n, s in slots.items() if s == slot)
            assert on_slot == sorted((who, kind) for who in "cp" for kind in set(kinds)), slots
        names = json.dumps(killed, separators=(",", ":"))
        old = worker_pids(server)[KILLED]
        refused_before = len(_refusals(server.log()))
        if reconnect == "at once":
            js.send("arm " + names)
            py.send("arm " + names)
            js.wait_for("ARMED")
            py.wait_for("ARMED")
        os.kill(old, signal.SIGKILL)
        js.send("killed " + names)
        py.send("killed " + names)
        js.wait_for("DOWN")
        py.wait_for("DOWN")
        if reconnect == "manual":
            server.wait_for_output(rf"worker={KILLED} \(pid {old}\) ended without saving its sessions: "
                                   rf"{len(killed)} kept for recovery")
        js.send("send " + names)
        js.wait_for("SENT")
        js.send("reconnect")
        py.send("reconnect")
        js.wait_for("BACK")
        py.wait_for("BACK")
        server.wait_for_output(rf"worker={KILLED} ready \(pid (?!{old}\))\d+\)", timeout=20)
        js.send("after")
        py.send("after")
        report = {**js.result(), **py.result()}
    finally:
        py.kill()
        if js is not None:
            js.kill()
    assert "error" not in report, report["error"]
    for name, client in report.items():
        if name in killed:
            assert client["ids"] == [sids[name]] * 2, (name, client)
            assert client["pids"] == [pids[name]] * 2, (name, client)
            assert client["recovered"] == [False, True], (name, client)
            assert client["room"] == ["m1", "m2", f"o-{name}", "m3", "m4", "m5", "after"], (name, client)
        else:
            assert client["ids"] == [sids[name]] and not client["disconnects"], (name, client)
            assert client["room"] == ["m1", "m2", "m3", "m4", "m5", "after"], (name, client)
        assert client["data"] == f"d-{name}", (name, client)  # the data saved after connecting
    log = server.log()
    assert re.search(rf"worker={KILLED} \(pid {old}\) ended without saving its sessions: "
                     rf"{len(killed)} kept for recovery", log), log[-3000:]
    waited = len(re.findall(WAITED, log))
    assert reconnect == "at once" or waited == 0, log[-3000:]
    assert len(re.findall(rf"worker={KILLED} \(pid \d+\) exited with signal SIGKILL; restarting it", log)) == 1
    assert len(re.findall(r"exited with signal", log)) == 1, log[-3000:]
    # The only 400s: "Session ID unknown" for requests of the dead worker's
    # sessions that were in flight when it died (its polling clients).
    unknown = unknown_sid_answers(log)
    polling_killed = sum(1 for name in killed if transports[name] != "ws")
    assert unknown <= polling_killed, log[-4000:]
    refused = _refusals(log)
    assert refused_before == 0 and refused == ["Session ID unknown"] * unknown, refused
    print(f"\n[{between}, {reconnect}] 'Session ID unknown' answers after the kill: {unknown} (clients of "
          f"the killed worker that polled: {polling_killed}); claims that reached the hub before the "
          f"worker's end was noticed, and waited for it: {waited} of {len(killed)}")


@pytest.mark.parametrize("between", ["local", "redis"])
def test_a_reload_drains_every_worker_and_the_hub_keeps_no_copy(servers: Any, request: Any, between: str) -> None:
    flags = ["--connection-state-recovery"]
    if between == "redis":
        flags += ["--message-queue", request.getfixturevalue("redis_server").url]
    server = servers(echo_workers(*flags))
    js = node("workers_restart.js", server.url)
    try:
        js.wait_for("READY")
        sids = js.wait_json()["sids"]
        old = worker_pids(server)
        os.kill(server.proc.pid, signal.SIGHUP)
        for slot in (0, 1):
            server.wait_for_output(rf"worker={slot} ready \(pid (?!{old[slot]}\))\d+\)", timeout=20)
            server.wait_for_output(rf"worker={slot} \(pid {old[slot]}\) exited with code 0")
        js.send("go")
        report = js.result()
    finally:
        js.kill()
    assert "error" not in report, report["error"]
    for name, client in report.items():
        assert client["ids"] == [sids[name]] * len(client["ids"]) and len(client["ids"]) >= 2, (name, client)
        assert client["recovered"] == [False] + [True] * (len(client["ids"]) - 1), (name, client)
        assert client["room"] == ["in-room"], (name, client)
    assert "kept for recovery" not in server.log(), server.log()[-4000:]
