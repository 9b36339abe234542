"""A server with connection state recovery on the Redis adapter, for test_recovery_cluster.py.

``python _recovery_cluster_server.py PORT REDIS_URL [gevent|asyncio]``. Like
tests/integration/_recovery_server.py, but clustered: a client joins the room
``r`` on connect; ``start_ticks`` (n, interval, where) makes *this* server
(``where == "here"``) or the other servers (``"there"``, through a server-side
event) emit ``tick`` 1..n to that room, one every ``interval`` seconds,
whether or not the client is connected. ``whoami`` acks the socket's name,
rooms and this server's port. ``asyncio`` is an ``AsyncServer`` with the same
handlers, its tickers tasks.
"""

import asyncio
import sys
from typing import Any, Callable

from socketio_core import AsyncServer, Server
from socketio_core.redis_adapter import RedisAdapter

PORT = int(sys.argv[1])
DRIVER = sys.argv[3] if len(sys.argv) > 3 else "gevent"


def build(spawn_ticker: Callable[[Server, int, float], None], cls: type[Server]) -> Server:
    sio = cls(
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
        Server.get_session(sio, sid)["name"] = auth.get("name")  # the same dict on both drivers

    @sio.on_server_event("start_ticks")
    def remote_ticks(n, interval):  # type: ignore[no-untyped-def]
        spawn_ticker(sio, n, interval)

    @sio.on("start_ticks")
    def start_ticks(sid, n, interval, where):  # type: ignore[no-untyped-def]
        if where == "here":
            spawn_ticker(sio, n, interval)
        else:
            sio.server_side_emit("start_ticks", n, interval)
        return "started"

    @sio.on("whoami")
    def whoami(sid):  # type: ignore[no-untyped-def]
        return {"name": Server.get_session(sio, sid).get("name"), "rooms": sio.rooms(sid), "port": PORT}

    return sio


def gevent_main() -> None:
    import gevent

    def ticker(sio: Server, n: int, interval: float) -> None:
        for i in range(1, n + 1):
            sio.emit("tick", i, to="r")
            gevent.sleep(interval)

    sio = build(lambda sio, n, interval: gevent.spawn(ticker, sio, n, interval) and None, Server)
    sio.start("127.0.0.1", PORT)
    print(f"listening on http://127.0.0.1:{PORT}", flush=True)
    gevent.wait()


def asyncio_main() -> None:
    tasks: set[Any] = set()

    async def ticker(sio: Server, n: int, interval: float) -> None:
        for i in range(1, n + 1):
            await sio.emit("tick", i, to="r")
            await asyncio.sleep(interval)

    def spawn(sio: Server, n: int, interval: float) -> None:
        task = asyncio.get_running_loop().create_task(ticker(sio, n, interval))
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    sio = build(spawn, AsyncServer)
    assert isinstance(sio, AsyncServer)

    async def serve() -> None:
        await sio.start("127.0.0.1", PORT)
        print(f"listening on http://127.0.0.1:{PORT}", flush=True)
        http: Any = sio.http_server()
        await http.serve_forever()
        sio.adapter.close()

    asyncio.run(serve())


if __name__ == "__main__":
    asyncio_main() if DRIVER == "asyncio" else gevent_main()
