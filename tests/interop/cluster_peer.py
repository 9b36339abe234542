"""python-socketio clients on two servers of one cluster (tests/cluster/test_echo_cluster.py).

usage: python cluster_peer.py URL_A URL_B TAG

Runs under .venv-peer. Connects ``pa`` to server A (WebSocket) and ``pb`` to
server B (polling), both in ``room-TAG``, then prints ``READY``. When ``pa``
receives the broadcast ``{"id": "go"}`` (sent by cluster_echo.js), ``pa``
broadcasts ``py-a``, ``pb`` broadcasts ``py-b`` and sends ``room-py`` to the
room. Once both received ``{"id": "end"}`` it waits a moment for duplicates
and prints one JSON document: the ids each client received, per event.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

import socketio

URL_A, URL_B, TAG = sys.argv[1:4]
ROOM = "room-" + TAG


def enc(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray)):
        return {"$bin": bytes(value).hex()}
    return value


class Peer:
    def __init__(self, name: str) -> None:
        self.name = name
        self.sio = socketio.Client(reconnection=False)
        self.lock = threading.Lock()
        self.events: dict[str, list[Any]] = {}
        self.binary: Any = None
        self.ended = threading.Event()
        self.sio.on("*", self.record)

    def record(self, event: str, *args: Any) -> None:
        first = args[0] if args else None
        if not isinstance(first, dict) or "id" not in first:
            return
        with self.lock:
            self.events.setdefault(event, []).append(first["id"])
            if first["id"] == "from-b" and len(args) > 1:
                self.binary = enc(args[1])
        if event == "bcast" and first["id"] == "go" and self.name == "pa":
            threading.Thread(target=go, daemon=True).start()
        if event == "bcast" and first["id"] == "end":
            self.ended.set()


pa, pb = Peer("pa"), Peer("pb")


def go() -> None:
    pa.sio.emit("bcast", {"id": "py-a", "tag": TAG})
    pb.sio.emit("bcast", {"id": "py-b", "tag": TAG})
    pb.sio.emit("to_room", (ROOM, {"id": "room-py"}))


def main() -> None:
    pa.sio.connect(URL_A, transports=["websocket"], wait_timeout=10)
    pb.sio.connect(URL_B, transports=["polling"], wait_timeout=10)
    assert pa.sio.call("join", ROOM, timeout=10) == ROOM
    assert pb.sio.call("join", ROOM, timeout=10) == ROOM
    print("READY", flush=True)
    ended = pa.ended.wait(30) and pb.ended.wait(10)
    time.sleep(0.3)  # duplicates, if any, arrive now
    report = {p.name: {"sid": p.sio.get_sid(), "events": p.events, "binary": p.binary}
              for p in (pa, pb)}
    report["ended"] = ended
    for p in (pa, pb):
        p.sio.disconnect()
    print(json.dumps(report), flush=True)


if __name__ == "__main__":
    main()
