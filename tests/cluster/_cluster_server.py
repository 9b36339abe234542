"""An echo server plus events that expose the cluster API, across servers or across workers.

usage: python _cluster_server.py PORT [REDIS_URL|-] [WORKERS|-] [gevent|asyncio]

Without WORKERS: one server process on the Redis adapter at REDIS_URL (tests/cluster/, several
of them side by side). With WORKERS: ``sio.run(..., workers=WORKERS)`` (tests/workers/); without
a Redis URL (``-``) the workers use the local adapter over the supervisor's bus. One module for
both, so the cluster API is exercised by the same handlers whichever way the servers are joined.

``gevent`` (the default) is a ``Server`` with plain handlers that wait in
their greenlets; ``asyncio`` is an ``AsyncServer`` whose handlers are
``async def`` and await (``fetch_sockets``, ``call``, ``call_all``, the
answers of ``server_side_emit``). Servers of both kinds share one channel.

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
| ``server_count``                  | ``adapter.server_count()`` (asyncio: from a plain thread) |
| ``set_data`` (value)              | stores ``value`` in this socket's session data     |
| ``thread_emit`` (room, data)      | a plain OS thread emits ``room_msg`` ``data`` to ``room``; acks true at once |

Every server answers the server event ``whoami`` with its identity and the question
(an ``async def`` handler on asyncio): ``{"port": PORT, "q": question}`` for a server of its
own, ``{"pid": <worker pid>, "q": question}`` for a worker (the workers share the port).
``ask_servers`` acks ``{"asker": <identity>, "answers": [...]}``, the answers sorted.
"""

from __future__ import annotations

import asyncio
import logging
import os
import sys
import threading
from typing import Any

from socketio_core import AsyncServer, Server
from socketio_core.echo._app import register_echo_handlers
from socketio_core.server import Adapter

PORT = int(sys.argv[1])
URL = sys.argv[2] if len(sys.argv) > 2 and sys.argv[2] != "-" else None
WORKERS = int(sys.argv[3]) if len(sys.argv) > 3 and sys.argv[3] != "-" else None
DRIVER = sys.argv[4] if len(sys.argv) > 4 else "gevent"


def adapter() -> Adapter | None:
    if URL is None:
        return None
    from socketio_core.redis_adapter import RedisAdapter

    return RedisAdapter(URL, request_timeout=3.0)


def identity() -> dict[str, int]:
    """Who this server is: its port, or its pid when it is one of several workers on one port."""
    return {"port": PORT} if WORKERS is None else {"pid": os.getpid()}


def listing(found: list[Any]) -> list[dict[str, Any]]:
    return sorted(
        ({"sid": s.sid, "rooms": sorted(s.rooms), "data": s.data} for s in found),
        key=lambda s: s["sid"],
    )


def asked(answers: list[Any]) -> dict[str, Any]:
    return {"asker": identity(), "answers": sorted(answers, key=repr)}


def register_shared(sio: Server) -> None:
    """The handlers that only act (they wait for nothing): the same on both drivers."""
    register_echo_handlers(sio)

    @sio.on("join_sid")
    def join_sid(sid: str, target: str, room: str) -> bool:
        sio.enter_room(target, room)
        return True

    @sio.on("move")
    def move(sid: str, from_room: str, to_room: str) -> bool:
        sio.sockets_join(to_room, to=from_room)
        return True

    @sio.on("kick")
    def kick(sid: str, room: str) -> bool:
        sio.disconnect_sockets(to=room)
        return True

    @sio.on("thread_emit")
    def thread_emit(sid: str, room: str, data: Any) -> bool:
        threading.Thread(target=lambda: sio.emit("room_msg", data, to=room), daemon=True).start()
        return True


def gevent_server() -> Server:
    from gevent.event import AsyncResult

    sio = Server(adapter=adapter())
    register_shared(sio)

    @sio.on("fetch")
    def fetch(sid: str, room: str | None = None) -> list[dict[str, Any]]:
        return listing(sio.fetch_sockets(to=room))

    @sio.on("gather")
    def gather(sid: str, room: str, question: Any) -> dict[str, Any]:
        return sio.call_all("question", question, to=room, timeout=5)

    @sio.on("call_sid")
    def call_sid(sid: str, target: str, question: Any) -> Any:
        try:
            return sio.call("question", question, to=target, timeout=5)
        except TimeoutError:
            return "timed out"

    @sio.on("ask_servers")
    def ask_servers(sid: str, question: Any) -> dict[str, Any]:
        result: AsyncResult[list[Any]] = AsyncResult()
        sio.server_side_emit("whoami", question, callback=result.set, timeout=3)
        return asked(result.get() or [])

    @sio.on("server_count")
    def server_count(sid: str) -> int:
        return sio.adapter.server_count()

    @sio.on("set_data")
    def set_data(sid: str, value: Any) -> bool:
        with sio.session(sid) as session:
            session["value"] = value
        return True

    sio.on_server_event("whoami", lambda question: {**identity(), "q": question})
    return sio


def asyncio_server() -> AsyncServer:
    sio = AsyncServer(adapter=adapter())
    register_shared(sio)

    @sio.on("fetch")
    async def fetch(sid: str, room: str | None = None) -> list[dict[str, Any]]:
        return listing(await sio.fetch_sockets(to=room))

    @sio.on("gather")
    async def gather(sid: str, room: str, question: Any) -> dict[str, Any]:
        return await sio.call_all("question", question, to=room, timeout=5)

    @sio.on("call_sid")
    async def call_sid(sid: str, target: str, question: Any) -> Any:
        try:
            return await sio.call("question", question, to=target, timeout=5)
        except TimeoutError:
            return "timed out"

    @sio.on("ask_servers")
    async def ask_servers(sid: str, question: Any) -> dict[str, Any]:
        answers: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()

        async def gathered(got: list[Any]) -> None:  # an async callback: run as a task
            answers.set_result(got)

        await sio.server_side_emit("whoami", question, callback=gathered, timeout=3)
        return asked(await answers)

    @sio.on("server_count")
    async def server_count(sid: str) -> int:
        # It waits for Redis: from a plain thread, never on the loop.
        return await asyncio.get_running_loop().run_in_executor(None, sio.adapter.server_count)

    @sio.on("set_data")
    async def set_data(sid: str, value: Any) -> bool:
        async with sio.session(sid) as session:
            session["value"] = value
        return True

    async def whoami(question: Any) -> dict[str, Any]:
        await asyncio.sleep(0)  # a real suspension: the answer is awaited
        return {**identity(), "q": question}

    sio.on_server_event("whoami", whoami)
    return sio


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    if DRIVER == "asyncio":
        sio = asyncio_server()

        async def serve() -> None:
            host, port = await sio.start("127.0.0.1", PORT)
            print(f"listening on http://{host}:{port}", flush=True)
            http: Any = sio.http_server()
            await http.serve_forever()
            sio.adapter.close()

        asyncio.run(serve())
        return
    server = gevent_server()
    if WORKERS is not None:
        server.run("127.0.0.1", PORT, workers=WORKERS,
                   on_listening=lambda a: print(f"listening on http://{a[0]}:{a[1]}", flush=True))
        return
    host, port = server.start("127.0.0.1", PORT)
    print(f"listening on http://{host}:{port}", flush=True)
    server.http_server().serve_forever()
    server.adapter.close()


if __name__ == "__main__":
    main()
