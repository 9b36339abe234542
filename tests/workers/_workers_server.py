"""The cluster-API server of tests/cluster/_cluster_server.py, from two worker processes.

usage: python _workers_server.py PORT [REDIS_URL|-] [WORKERS]

The same events (``fetch``, ``kick``, ``gather``, ``call_sid``, ``join_sid``,
``move``, ``ask_servers``, ``server_count``, ``set_data``) and the echo
handlers, served by ``sio.run(..., workers=N)`` (default 2): without a Redis
URL the workers use the local adapter over the supervisor's bus. The server
event ``whoami`` answers ``{"pid": <worker pid>, "q": question}``.
"""

from __future__ import annotations

import logging
import os
import sys
from typing import Any

from gevent.event import AsyncResult

from socketio_core import Server
from socketio_core.echo._app import register_echo_handlers

PORT = int(sys.argv[1])
URL = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] != "-" else None
WORKERS = int(sys.argv[3]) if len(sys.argv) > 3 else 2

if URL is not None:
    from socketio_core.redis_adapter import RedisAdapter

    sio = Server(adapter=RedisAdapter(URL, request_timeout=3.0))
else:
    sio = Server()
register_echo_handlers(sio)


@sio.on("fetch")
def fetch(sid: str, room: str | None = None) -> list[dict[str, Any]]:
    found = sio.fetch_sockets(to=room)
    return sorted(({"sid": s.sid, "rooms": sorted(s.rooms), "data": s.data} for s in found),
                  key=lambda s: s["sid"])


@sio.on("kick")
def kick(sid: str, room: str) -> bool:
    sio.disconnect_sockets(to=room)
    return True


@sio.on("gather")
def gather(sid: str, room: str, question: Any) -> dict[str, Any]:
    return sio.call_all("question", question, to=room, timeout=5)


@sio.on("call_sid")
def call_sid(sid: str, target: str, question: Any) -> Any:
    try:
        return sio.call("question", question, to=target, timeout=5)
    except TimeoutError:
        return "timed out"


@sio.on("join_sid")
def join_sid(sid: str, target: str, room: str) -> bool:
    sio.enter_room(target, room)
    return True


@sio.on("move")
def move(sid: str, from_room: str, to_room: str) -> bool:
    sio.sockets_join(to_room, to=from_room)
    return True


@sio.on("ask_servers")
def ask_servers(sid: str, question: Any) -> dict[str, Any]:
    result: AsyncResult[list[Any]] = AsyncResult()
    sio.server_side_emit("whoami", question, callback=result.set, timeout=3)
    return {"asker": os.getpid(), "answers": result.get() or []}


@sio.on("server_count")
def server_count(sid: str) -> int:
    return sio.adapter.server_count()


@sio.on("set_data")
def set_data(sid: str, value: Any) -> bool:
    with sio.session(sid) as session:
        session["value"] = value
    return True


sio.on_server_event("whoami", lambda question: {"pid": os.getpid(), "q": question})


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    sio.run("127.0.0.1", PORT, workers=WORKERS,
            on_listening=lambda a: print(f"listening on http://{a[0]}:{a[1]}", flush=True))


if __name__ == "__main__":
    main()
