"""A server with connection state recovery on the Redis adapter, for test_recovery_cluster.py.

``python _recovery_cluster_server.py PORT REDIS_URL``. Like
tests/integration/_recovery_server.py, but clustered: a client joins the room
``r`` on connect; ``start_ticks`` (n, interval, where) makes *this* server
(``where == "here"``) or the other servers (``"there"``, through a server-side
event) emit ``tick`` 1..n to that room, one every ``interval`` seconds,
whether or not the client is connected. ``whoami`` acks the socket's name,
rooms and this server's port.
"""

import sys

import gevent

from socketio_core import Server
from socketio_core.redis_adapter import RedisAdapter

PORT = int(sys.argv[1])


def main() -> None:
    sio = Server(
        cors_allowed_origins="*",
        adapter=RedisAdapter(sys.argv[2], request_timeout=3.0),
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

    def ticker(n: int, interval: float) -> None:
        for i in range(1, n + 1):
            sio.emit("tick", i, to="r")
            gevent.sleep(interval)

    @sio.on_server_event("start_ticks")
    def remote_ticks(n, interval):  # type: ignore[no-untyped-def]
        gevent.spawn(ticker, n, interval)

    @sio.on("start_ticks")
    def start_ticks(sid, n, interval, where):  # type: ignore[no-untyped-def]
        if where == "here":
            gevent.spawn(ticker, n, interval)
        else:
            sio.server_side_emit("start_ticks", n, interval)
        return "started"

    @sio.on("whoami")
    def whoami(sid):  # type: ignore[no-untyped-def]
        return {"name": sio.get_session(sid).get("name"), "rooms": sio.rooms(sid), "port": PORT}

    sio.start("127.0.0.1", PORT)
    print(f"listening on http://127.0.0.1:{PORT}", flush=True)
    gevent.wait()


if __name__ == "__main__":
    main()
