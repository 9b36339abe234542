"""A server instrumented for the Admin UI, for the tests of tests/socketio_core/admin.

usage: python _admin_server.py PORT MODE ACCESS AUTH
  MODE    development | production
  ACCESS  readwrite | readonly
  AUTH    bcrypt (admin / secret, as a bcrypt hash) | plain (admin / secret) | none

Namespaces ``/`` and ``/chat``. On ``/`` the connect handler stores
``{"user": <auth.name>}`` in the session; ``join(room)`` enters a room and
acks ``"joined"``; ``hello(x)`` emits ``reply(x)`` back and acks ``"hi"``;
``rooms()`` acks the socket's rooms (for the client to check what the admin did).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from socketio_core import Server
from socketio_core.admin import instrument

PASSWORD = "secret"


def main() -> None:
    port, mode, access, auth_kind = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    sio = Server(ping_interval=60, ping_timeout=60, cors_allowed_origins="*")

    @sio.on("connect")
    def connect(sid: str, environ: Any, auth: dict[str, Any]) -> None:
        sio.save_session(sid, {"user": auth.get("name", "anonymous")})

    @sio.on("join")
    def join(sid: str, room: str) -> str:
        sio.enter_room(sid, room)
        return "joined"

    @sio.on("hello")
    def hello(sid: str, value: Any) -> str:
        sio.emit("reply", value, to=sid)
        return "hi"

    @sio.on("rooms")
    def rooms(sid: str) -> list[str]:
        return sio.rooms(sid)

    sio.on("connect", lambda sid: None, namespace="/chat")

    auth: Any
    if auth_kind == "bcrypt":
        import bcrypt

        hashed = bcrypt.hashpw(PASSWORD.encode(), bcrypt.gensalt(rounds=4)).decode()
        auth = {"type": "basic", "username": "admin", "password": hashed}
    elif auth_kind == "plain":
        auth = {"type": "basic", "username": "admin", "password": PASSWORD, "hashed": False}
    else:
        auth = False
    instrument(
        sio,
        auth=auth,
        readonly=access == "readonly",
        mode=mode,  # type: ignore[arg-type]
        server_id="test-server",
        stats_interval=0.5,
    )
    host, bound = sio.start("127.0.0.1", port)
    print(f"listening on http://{host}:{bound}", flush=True)
    sio.http_server().serve_forever()


if __name__ == "__main__":
    main()
