"""An echo server on the Redis adapter, plus events that expose the cluster API.

usage: python _cluster_server.py PORT REDIS_URL

The echo handlers of shared/ECHO_SERVER.md, and, in namespace ``/``:

| event (args, ack)                 | what the server does, acking with the result        |
| --- | --- |
| ``fetch`` (room or null)          | ``fetch_sockets(to=room)``: ``[{sid, rooms, data}]`` sorted by sid |
| ``kick`` (room)                   | ``disconnect_sockets(to=room)``; acks true          |
| ``gather`` (room, question)       | ``call_all("question", question, to=room)``: ``{sid: answer}`` |
| ``call_sid`` (sid, question)      | ``call("question", question, to=sid)``: the answer  |
| ``join_sid`` (sid, room)          | ``enter_room(sid, room)`` (sid may be on another server); acks true |
| ``move`` (from_room, to_room)     | ``sockets_join(to_room, to=from_room)``; acks true  |
| ``ask_servers`` (question)        | ``server_side_emit("whoami", question, callback)``: the answers |
| ``server_count``                  | ``adapter.server_count()``                          |
| ``set_data`` (value)              | stores ``value`` in this socket's session data     |

Every server answers the server event ``whoami`` with ``{"port": PORT, "q": question}``.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from gevent.event import AsyncResult

from socketio_core import Server
from socketio_core.echo._app import register_echo_handlers
from socketio_core.redis_adapter import RedisAdapter

PORT = int(sys.argv[1])
URL = sys.argv[2]

sio = Server(ping_interval=25, ping_timeout=20, adapter=RedisAdapter(URL, request_timeout=3.0))
register_echo_handlers(sio)


@sio.on("fetch")
def fetch(sid: str, room: str | None = None) -> list[dict[str, Any]]:
    found = sio.fetch_sockets(to=room)
    return sorted(
        ({"sid": s.sid, "rooms": sorted(s.rooms), "data": s.data} for s in found),
        key=lambda s: s["sid"],
    )


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
def ask_servers(sid: str, question: Any) -> list[Any]:
    result: AsyncResult[list[Any]] = AsyncResult()
    sio.server_side_emit("whoami", question, callback=result.set, timeout=3)
    return sorted(result.get() or [], key=lambda a: a["port"] if isinstance(a, dict) else 0)


@sio.on("server_count")
def server_count(sid: str) -> int:
    return sio.adapter.server_count()


@sio.on("set_data")
def set_data(sid: str, value: Any) -> bool:
    with sio.session(sid) as session:
        session["value"] = value
    return True


def whoami(question: Any) -> dict[str, Any]:
    return {"port": PORT, "q": question}


sio.on_server_event("whoami", whoami)


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    host, port = sio.start("127.0.0.1", PORT)
    print(f"listening on http://{host}:{port}", flush=True)
    sio.http_server().serve_forever()
    sio.adapter.close()


if __name__ == "__main__":
    main()
