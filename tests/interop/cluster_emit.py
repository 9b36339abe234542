"""An emitter process: no server, no gevent hub, plain redis-py (tests/cluster/test_echo_cluster.py).

usage: python cluster_emit.py REDIS_URL TAG

Runs with this package's interpreter (.venv). Publishes a fixed sequence with
``socketio_core.emitter.Emitter`` and prints one JSON document: how many
servers received each step (``PUBLISH``'s count). cluster_emitter.js holds
the clients that receive it.
"""

from __future__ import annotations

import json
import sys

from socketio_core.emitter import Emitter

URL, TAG = sys.argv[1], sys.argv[2]
ROOM, JOINED = "room-e-" + TAG, "joined-" + TAG


def main() -> None:
    counts: dict[str, int] = {}
    with Emitter(URL) as emitter:
        counts["all"] = emitter.emit("news", {"id": "all"}, b"\x00\x01\xfe")
        counts["room"] = emitter.to(ROOM).emit("news", {"id": "room"})
        counts["except"] = emitter.except_(ROOM).emit("news", {"id": "except"})
        counts["custom"] = emitter.of("/custom").emit("news", {"id": "custom"})
        counts["join"] = emitter.in_(ROOM).sockets_join(JOINED)
        counts["joined"] = emitter.to(JOINED).emit("news", {"id": "joined"})
        counts["leave"] = emitter.in_(ROOM).sockets_leave(JOINED)
        counts["left"] = emitter.to(JOINED).emit("news", {"id": "left"})
        counts["end"] = emitter.emit("news", {"id": "end"})
        counts["end_custom"] = emitter.of("custom").emit("news", {"id": "end"})
    print(json.dumps(counts), flush=True)


if __name__ == "__main__":
    main()
