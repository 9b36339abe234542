"""A Socket.IO server with connection state recovery, for test_recovery.py.

``python _recovery_server.py PORT``. A client joins the room ``r`` on connect;
``start_ticks`` (n, interval, burst=1) makes the server emit ``tick`` 1..n to
that room, ``burst`` at a time in one loop turn (so they travel in one write),
every ``interval`` seconds, whether or not the client is connected.
"""

import sys

import gevent

from socketio_core import Server


def main() -> None:
    sio = Server(
        cors_allowed_origins="*",
        connection_state_recovery={"max_disconnection_duration": 30},
    )

    @sio.on("connect")
    def connect(sid, environ, auth):  # type: ignore[no-untyped-def]
        if sio.recovered(sid):
            sio.emit("recovered_server_side", sid, to=sid)
            return
        sio.enter_room(sid, "r")
        with sio.session(sid) as session:
            session["name"] = auth.get("name")

    @sio.on("start_ticks")
    def start_ticks(sid, n, interval, burst=1):  # type: ignore[no-untyped-def]
        def ticker() -> None:
            for i in range(1, n + 1):
                sio.emit("tick", i, to="r")
                if i % burst == 0:
                    gevent.sleep(interval)

        gevent.spawn(ticker)
        return "started"

    @sio.on("whoami")
    def whoami(sid):  # type: ignore[no-untyped-def]
        return {"name": sio.get_session(sid).get("name"), "rooms": sio.rooms(sid)}

    sio.start("127.0.0.1", int(sys.argv[1]))
    print(f"listening on http://127.0.0.1:{sys.argv[1]}", flush=True)
    gevent.wait()


if __name__ == "__main__":
    main()
