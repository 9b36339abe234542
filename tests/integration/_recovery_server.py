"""A Socket.IO server with connection state recovery, for test_recovery.py.

``python _recovery_server.py PORT [gevent|asyncio]``. A client joins the room
``r`` on connect; ``start_ticks`` (n, interval, burst=1) makes the server emit
``tick`` 1..n to that room, ``burst`` at a time in one loop turn (so they
travel in one write), every ``interval`` seconds, whether or not the client is
connected. The handlers are the same for both drivers (the AsyncServer's calls
act at once); only the ticker waits the driver's way.
"""

import sys
from typing import Any

from socketio_core import AsyncServer, Server


def build(sio: Any) -> None:
    @sio.on("connect")
    def connect(sid, environ, auth):  # type: ignore[no-untyped-def]
        if sio.recovered(sid):
            sio.emit("recovered_server_side", sid, to=sid)
            return
        sio.enter_room(sid, "r")
        Server.save_session(sio, sid, {"name": auth.get("name")})

    @sio.on("whoami")
    def whoami(sid):  # type: ignore[no-untyped-def]
        return {"name": Server.get_session(sio, sid).get("name"), "rooms": sio.rooms(sid)}


def main() -> None:
    port = int(sys.argv[1])
    driver = sys.argv[2] if len(sys.argv) > 2 else "gevent"
    options: dict[str, Any] = {
        "cors_allowed_origins": "*", "connection_state_recovery": {"max_disconnection_duration": 30},
    }
    if driver == "asyncio":
        import asyncio

        sio: Any = AsyncServer(**options)
        build(sio)

        @sio.on("start_ticks")
        def start_ticks(sid, n, interval, burst=1):  # type: ignore[no-untyped-def]
            async def ticker() -> None:
                for i in range(1, n + 1):
                    await sio.emit("tick", i, to="r")
                    if i % burst == 0:
                        await asyncio.sleep(interval)

            sio.start_background_task(ticker)
            return "started"

        async def serve() -> None:
            await sio.start("127.0.0.1", port)
            print(f"listening on http://127.0.0.1:{port}", flush=True)
            await asyncio.Event().wait()

        asyncio.run(serve())
        return
    import gevent

    sio = Server(**options)
    build(sio)

    @sio.on("start_ticks")
    def start_ticks_gevent(sid, n, interval, burst=1):  # type: ignore[no-untyped-def]
        def ticker() -> None:
            for i in range(1, n + 1):
                sio.emit("tick", i, to="r")
                if i % burst == 0:
                    gevent.sleep(interval)

        gevent.spawn(ticker)
        return "started"

    sio.start("127.0.0.1", port)
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    gevent.wait()


if __name__ == "__main__":
    main()
