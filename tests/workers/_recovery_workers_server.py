"""A workers=2 server with connection state recovery, for test_workers_kill_recovery.py.

usage: python _recovery_workers_server.py PORT [REDIS_URL|-]

Without a Redis URL the workers use the local adapter (the supervisor keeps
the recovery log); with one, the Redis adapter (``message_queue=``), Redis
keeping the recovery log. Handlers, in namespace ``/``:

- connect: a new socket's session data becomes ``{"value": "at-connect"}``
  (a recovered one keeps what it recovered), then ``auth`` is emitted to it
  (so the client has an offset), as the echo server does;
- ``join`` (room), ``leave`` (room), ``to_room`` (room, *args): the echo
  server's (``room_msg`` to the room);
- ``set_data`` (value): ``with sio.session(sid) as s: s["value"] = value``,
  acks true; ``get_data``: acks the session's ``value``.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from socketio_core import Server

PORT = int(sys.argv[1])
URL = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] != "-" else None


def build() -> Server:
    adapter = None
    if URL is not None:
        from socketio_core.redis import RedisAdapter

        adapter = RedisAdapter(URL, request_timeout=3.0)
    sio = Server(adapter=adapter, cors_allowed_origins="*", connection_state_recovery=True)

    @sio.on("connect")
    def connect(sid: str, environ: Any, auth: Any) -> None:
        if not sio.recovered(sid):
            sio.save_session(sid, {"value": "at-connect"})
        sio.emit("auth", auth, to=sid)

    @sio.on("join")
    def join(sid: str, room: str) -> str:
        sio.enter_room(sid, room)
        return room

    @sio.on("leave")
    def leave(sid: str, room: str) -> bool:
        sio.leave_room(sid, room)
        return True

    @sio.on("to_room")
    def to_room(sid: str, room: str, *args: Any) -> None:
        sio.emit("room_msg", *args, to=room)

    @sio.on("set_data")
    def set_data(sid: str, value: Any) -> bool:
        with sio.session(sid) as session:
            session["value"] = value
        return True

    @sio.on("get_data")
    def get_data(sid: str) -> Any:
        return sio.get_session(sid).get("value")

    return sio


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    build().run("127.0.0.1", PORT, workers=2,
                on_listening=lambda a: print(f"listening on http://{a[0]}:{a[1]}", flush=True))


if __name__ == "__main__":
    main()
