"""An echo server plus events that expose the cluster API, across servers or across workers.

usage: python _cluster_server.py PORT [REDIS_URL|-] [WORKERS]

Without WORKERS: one server process on the Redis adapter at REDIS_URL (tests/cluster/, several
of them side by side). With WORKERS: ``sio.run(..., workers=WORKERS)`` (tests/workers/); without
a Redis URL (``-``) the workers use the local adapter over the supervisor's bus. One module for
both, so the cluster API is exercised by the same handlers whichever way the servers are joined.

The echo handlers of shared/ECHO_SERVER.md, and, in namespace ``/``:

| event (args, ack)                 | what the server does, acking with the result        |
| --- | --- |
| ``fetch`` (room or null)          | ``fetch_sockets(to=room)``: ``[{sid, rooms, data}]`` sorted by sid |
| ``kick`` (room)                   | ``disconnect_sockets(to=room)``; acks true          |
| ``gather`` (room, question)       | ``call_all("question", question, to=room)``: ``{sid: answer}`` |
| ``call_sid`` (sid, question)      | ``call("question", question, to=sid)``: the answer  |
| ``join_sid`` (sid, room)          | ``enter_room(sid, room)`` (sid may be on another server); acks true |
| ``move`` (from_room, to_room)     | ``sockets_join(to_room, to=from_room)``; acks true  |
| ``ask_servers`` (question)        | ``server_side_emit("whoami", question, callback)``: ``{asker, answers}`` |
| ``server_count``                  | ``adapter.server_count()``                          |
| ``set_data`` (value)              | stores ``value`` in this socket's session data     |

Every server answers the server event ``whoami`` with its identity and the question:
``{"port": PORT, "q": question}`` for a server of its own, ``{"pid": <worker pid>, "q": question}``
for a worker (the workers share the port). ``ask_servers`` acks ``{"asker": <identity>,
"answers": [...]}``, the answers sorted.
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
WORKERS = int(sys.argv[3]) if len(sys.argv) > 3 else None

if URL is not None:
    from socketio_core.redis_adapter import RedisAdapter

    sio = Server(adapter=RedisAdapter(URL, request_timeout=3.0))
else:
    sio = Server()
register_echo_handlers(sio)


def identity() -> dict[str, int]:
    """Who this server is: its port, or its pid when it is one of several workers on one port."""
    return {"port": PORT} if WORKERS is None else {"pid": os.getpid()}


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
    return {"asker": identity(), "answers": sorted(result.get() or [], key=repr)}


@sio.on("server_count")
def server_count(sid: str) -> int:
    return sio.adapter.server_count()


@sio.on("set_data")
def set_data(sid: str, value: Any) -> bool:
    with sio.session(sid) as session:
        session["value"] = value
    return True


sio.on_server_event("whoami", lambda question: {**identity(), "q": question})


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if WORKERS is not None:
        sio.run("127.0.0.1", PORT, workers=WORKERS,
                on_listening=lambda a: print(f"listening on http://{a[0]}:{a[1]}", flush=True))
        return
    host, port = sio.start("127.0.0.1", PORT)
    print(f"listening on http://{host}:{port}", flush=True)
    sio.http_server().serve_forever()
    sio.adapter.close()


if __name__ == "__main__":
    main()
