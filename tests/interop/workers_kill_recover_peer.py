"""python-socketio clients of a workers=2 server with recovery, across a SIGKILLed worker.

usage: .venv-peer/bin/python workers_kill_recover_peer.py URL

python-socketio's client does not implement connection state recovery, so
this one adds what the official JS client does: it keeps the ``pid`` of the
CONNECT reply and the last string argument of each event (the offset), and
sends both in its CONNECT auth when it connects again. Six clients
(WebSocket, WebSocket, polling, polling, and two with the default transports,
polling then the upgrade; connected one after the other so each worker gets
one of each) join rooms "r" and "own-<name>", join and
leave "tmp", then set their session data to "d-<name>" (``set_data``).
Prints READY, then {"sids", "pids"}; then the commands of
tests/interop/workers_kill_recover.js: ``arm NAMES_JSON`` (-> ARMED: those
clients reconnect by themselves at once when their connection drops,
python-socketio's reconnection with a 1 ms delay), ``killed NAMES_JSON``
(-> DOWN), ``reconnect`` (-> BACK), ``after`` (-> a JSON report once every
client got "after" in room "r", with the session data the server has for it).
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

import socketio

URL = sys.argv[1]


class RecoveringClient(socketio.Client):  # type: ignore[misc]
    """Keeps the CONNECT reply's pid (python-socketio ignores it)."""

    pid: str | None = None

    def _handle_connect(self, namespace: str, data: Any) -> None:
        if isinstance(data, dict) and isinstance(data.get("pid"), str):
            self.pid = data["pid"]
        super()._handle_connect(namespace, data)


class Peer:
    def __init__(self, name: str, transport: str | None) -> None:
        self.name = name
        self.transport = transport
        self.sio = RecoveringClient(reconnection=False)
        self.offset: str | None = None
        self.room: list[Any] = []
        self.ids: list[str] = []
        self.pids: list[str | None] = []
        self.disconnects = 0
        self.data: Any = None
        self.changed = threading.Condition()
        self.sio.on("*", self.on_any)
        self.sio.on("connect", self.on_connect)
        self.sio.on("disconnect", self.on_disconnect)

    def auth(self) -> dict[str, Any]:
        return {"pid": self.sio.pid, "offset": self.offset} if self.sio.pid and self.offset else {}

    def connect(self) -> None:
        transports = [self.transport] if self.transport else None
        self.sio.connect(URL, transports=transports, auth=self.auth, wait_timeout=10)

    def on_any(self, event: str, *args: Any) -> None:
        with self.changed:
            if args and isinstance(args[-1], str):
                self.offset = args[-1]
            if event == "room_msg":
                self.room.append(args[0])
            self.changed.notify_all()

    def on_connect(self) -> None:
        with self.changed:
            self.ids.append(self.sio.get_sid())
            self.pids.append(self.sio.pid)
            self.changed.notify_all()

    def on_disconnect(self, reason: Any = None) -> None:
        with self.changed:
            self.disconnects += 1
            self.changed.notify_all()

    def wait(self, predicate: Any, what: str, timeout: float = 10) -> None:
        with self.changed:
            if not self.changed.wait_for(predicate, timeout):
                raise AssertionError(f"{self.name}: timed out waiting for {what}")

    def report(self, first_sid: str) -> dict[str, Any]:
        # As the JS client's ``recovered``: a later connect that kept the sid and the pid.
        recovered = [i > 0 and self.ids[i] == first_sid and self.pids[i] == self.pids[0]
                     for i in range(len(self.ids))]
        return {"ids": self.ids, "pids": self.pids, "recovered": recovered,
                "disconnects": self.disconnects, "room": self.room, "transport": self.sio.transport(),
                "data": self.data}

    def arm(self) -> None:
        """Reconnect by itself, at once, when the connection drops."""
        self.sio.reconnection = True
        self.sio.reconnection_delay = 0.001
        self.sio.reconnection_delay_max = 0.001
        self.sio.randomization_factor = 0


def main() -> None:
    kinds = ["websocket", "websocket", "polling", "polling", None, None]
    peers = [Peer(f"p{i}", t) for i, t in enumerate(kinds)]
    for p in peers:
        p.connect()  # one after the other: the workers take turns
    for p in peers:
        for room in ("r", f"own-{p.name}", "tmp"):
            assert p.sio.call("join", room, timeout=10) == room
        assert p.sio.call("leave", "tmp", timeout=10) is True
        p.wait(lambda p=p: p.offset is not None, "an offset")  # the echo server's "auth" emit
        assert p.sio.call("set_data", f"d-{p.name}", timeout=10) is True
    first = {p.name: p.sio.get_sid() for p in peers}
    print("READY", flush=True)
    print(json.dumps({"sids": first, "pids": {p.name: p.sio.pid for p in peers}}), flush=True)
    command, names = sys.stdin.readline().split(" ", 1)
    armed = command == "arm"
    if armed:
        for p in peers:
            if p.name in json.loads(names):
                p.arm()
        print("ARMED", flush=True)
        command, names = sys.stdin.readline().split(" ", 1)
    killed = [p for p in peers if p.name in json.loads(names)]
    for p in killed:
        p.wait(lambda p=p: p.disconnects > 0, "the disconnect")
        if not armed:
            p.wait(lambda p=p: not p.sio.connected, "the end of the connection")
    print("DOWN", flush=True)
    sys.stdin.readline()
    for p in killed:
        if not armed:
            p.connect()
        p.wait(lambda p=p: len(p.ids) > 1, "the reconnect")
    print("BACK", flush=True)
    sys.stdin.readline()
    for p in peers:
        p.wait(lambda p=p: "after" in p.room, "after")
    for p in peers:
        p.data = p.sio.call("get_data", timeout=10)
    time.sleep(0.3)  # duplicates, if any, arrive now
    print(json.dumps({p.name: p.report(first[p.name]) for p in peers}), flush=True)
    for p in peers:
        p.sio.disconnect()


if __name__ == "__main__":
    main()
