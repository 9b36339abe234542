"""python-socketio clients that upgrade (polling, then WebSocket) on a workers=N server.

usage: .venv-peer/bin/python workers_peer_upgrade.py URL TAG

Four clients connect with the default transports (a polling handshake, then
the upgrade), so each session's requests and its upgrade must all reach its
worker. Each asks ``echo_ack`` (an ack), then one broadcasts ``bcast``; every
client must get it once. Prints one JSON line: per client its sid, final
transport, ack answer and the broadcast ids it received.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from typing import Any

import socketio

URL, TAG = sys.argv[1], sys.argv[2]


class Peer:
    def __init__(self, name: str) -> None:
        self.name = name
        self.sio = socketio.Client(reconnection=False)
        self.got: list[Any] = []
        self.lock = threading.Lock()
        self.sio.on("bcast", self.on_bcast)
        self.sio.connect(URL, wait_timeout=10)

    def on_bcast(self, data: Any) -> None:
        with self.lock:
            self.got.append(data.get("id") if isinstance(data, dict) else data)


def main() -> None:
    peers = [Peer(f"p{i}") for i in range(4)]
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and not all(p.sio.transport() == "websocket" for p in peers):
        time.sleep(0.02)
    out: dict[str, Any] = {}
    for p in peers:
        out[p.name] = {"sid": p.sio.get_sid(), "ack": p.sio.call("echo_ack", f"{p.name}-{TAG}", timeout=10)}
    peers[0].sio.emit("bcast", {"id": TAG})
    deadline = time.monotonic() + 8
    while time.monotonic() < deadline and not all(p.got for p in peers):
        time.sleep(0.02)
    time.sleep(0.3)  # duplicates, if any, arrive now
    for p in peers:
        out[p.name].update(transport=p.sio.transport(), got=list(p.got))
        p.sio.disconnect()
    print(json.dumps(out))


if __name__ == "__main__":
    main()
