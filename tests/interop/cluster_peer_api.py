"""The cluster API seen by python-socketio clients (tests/cluster/test_cluster_api.py).

usage: python cluster_peer_api.py URL_A URL_B TAG

Runs under .venv-peer against two tests/cluster/_cluster_server.py processes.
``pa`` (server A, WebSocket) and ``pb`` (server B, polling) join ``p-TAG``;
``pc`` (server B, WebSocket) stays out. Prints one JSON document with the
answers and what each client received.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

import socketio

URL_A, URL_B, TAG = sys.argv[1:4]
ROOM = "p-" + TAG


class Peer:
    def __init__(self, name: str, url: str, transport: str) -> None:
        self.name = name
        self.sio = socketio.Client(reconnection=False)
        self.lock = threading.Lock()
        self.room_msgs: list[Any] = []
        self.disconnected = threading.Event()
        self.sio.on("question", lambda q: f"{name}:{q}")
        self.sio.on("room_msg", self.on_room_msg)
        self.sio.on("disconnect", lambda *reason: self.disconnected.set())
        self.sio.connect(url, transports=[transport], wait_timeout=10)
        self.sid = self.sio.get_sid()

    def on_room_msg(self, *args: Any) -> None:
        with self.lock:
            self.room_msgs.append(args[0]["id"] if args and isinstance(args[0], dict) else args)

    def call(self, event: str, *args: Any) -> Any:
        return self.sio.call(event, args, timeout=10)


def main() -> None:
    pa = Peer("pa", URL_A, "websocket")
    pb = Peer("pb", URL_B, "polling")
    pc = Peer("pc", URL_B, "websocket")
    out: dict[str, Any] = {"sids": {p.name: p.sid for p in (pa, pb, pc)}}
    pa.call("join", ROOM)
    pb.call("join", ROOM)
    out["fetch"] = sorted(s["sid"] for s in pa.call("fetch", ROOM))
    out["gather"] = pc.call("gather", ROOM, "q")
    pc.sio.emit("to_room", (ROOM, {"id": "from-pc"}))
    pa.sio.emit("to_room", (ROOM, {"id": "from-pa"}))
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline and not all(len(p.room_msgs) >= 2 for p in (pa, pb)):
        time.sleep(0.02)
    time.sleep(0.3)  # duplicates, if any, arrive now
    out["room_msgs"] = {p.name: sorted(p.room_msgs) for p in (pa, pb, pc)}
    out["kick"] = pc.call("kick", ROOM)
    out["kicked"] = {p.name: p.disconnected.wait(8) for p in (pa, pb)}
    time.sleep(0.3)
    out["pc_connected"] = pc.sio.connected
    for p in (pa, pb, pc):
        if p.sio.connected:
            p.sio.disconnect()
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
