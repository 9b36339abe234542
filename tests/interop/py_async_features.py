"""The echo server's Socket.IO features, driven by python-socketio's AsyncClient.

usage: python py_async_features.py URL polling|websocket|default

Runs under .venv-peer (python-socketio 5.x with aiohttp); never imports our
package. The scenarios run one after another on one asyncio loop; the last
stdout line is one JSON document ``{scenario: observations}`` (``{"error":
...}`` for a scenario that failed).
tests/integration/test_socketio_python_async_client.py holds the expectations.
"""

from __future__ import annotations

import asyncio
import json
import sys
import uuid
from typing import Any, Awaitable, Callable

import socketio
from _peer_common import WAIT, enc, run_in_turn, transports

URL, MODE = sys.argv[1], sys.argv[2]
TRANSPORTS = transports(MODE)
TAG = uuid.uuid4().hex[:8]


class Client:
    """An AsyncClient plus one asyncio.Queue per (event, namespace)."""

    def __init__(self) -> None:
        self.sio = socketio.AsyncClient(reconnection=False)
        self.queues: dict[tuple[str, str], asyncio.Queue[list[Any]]] = {}

    def listen(self, event: str, namespace: str = "/") -> asyncio.Queue[list[Any]]:
        q: asyncio.Queue[list[Any]] = asyncio.Queue()
        self.queues[(event, namespace)] = q

        async def handler(*args: Any) -> None:
            await q.put(list(args))

        self.sio.on(event, handler, namespace=namespace)
        return q

    async def connect(self, namespaces: list[str] | None = None, auth: Any = None) -> None:
        await self.sio.connect(URL, transports=TRANSPORTS, namespaces=namespaces or ["/"], auth=auth,
                               wait_timeout=WAIT)


async def get(q: asyncio.Queue[list[Any]]) -> list[Any]:
    return await asyncio.wait_for(q.get(), WAIT)


async def scenario_auth_and_echo() -> dict[str, Any]:
    c = Client()
    auth = c.listen("auth")
    echo = c.listen("echo")
    await c.connect(auth={"token": TAG})
    got_auth = await get(auth)
    await c.sio.emit("echo", ["a", 1, {"b": [None, True]}, b"\x00\xff"])
    got_echo = await get(echo)
    ack = await c.sio.call("echo_ack", ("x", 2), timeout=WAIT)
    empty = await c.sio.call("echo_ack", timeout=WAIT)
    transport = c.sio.transport()
    await c.sio.disconnect()
    return {"auth": got_auth, "echo": enc(got_echo), "ack": enc(ack), "empty_ack": enc(empty),
            "transport": transport}


async def scenario_server_calls_client() -> dict[str, Any]:
    c = Client()
    asked: list[Any] = []

    async def ping_client(x: Any) -> Any:
        asked.append(x)
        return {"pong": x}

    c.sio.on("ping_client", ping_client)
    await c.connect()
    answer = await c.sio.call("call_me", 42, timeout=WAIT)
    await c.sio.disconnect()
    return {"asked": asked, "answer": answer}


async def scenario_rooms_and_namespaces() -> dict[str, Any]:
    a, b = Client(), Client()
    room = f"room-{TAG}"
    got_a = a.listen("room_msg", "/custom")
    got_b = b.listen("room_msg", "/custom")
    for c in (a, b):
        await c.connect(namespaces=["/", "/custom"])
    joined = await a.sio.call("join", room, namespace="/custom", timeout=WAIT)
    await b.sio.emit("to_room", (room, "hello"), namespace="/custom")
    first = await get(got_a)
    await a.sio.call("leave", room, namespace="/custom", timeout=WAIT)
    await b.sio.call("join", room, namespace="/custom", timeout=WAIT)
    await a.sio.emit("to_room", (room, "second"), namespace="/custom")
    second_b = await get(got_b)
    a_extra = got_a.qsize()
    for c in (a, b):
        await c.sio.disconnect()
    return {"joined": joined, "first": first, "second_b": second_b, "a_extra": a_extra}


async def scenario_server_disconnects() -> dict[str, Any]:
    c = Client()
    gone = asyncio.Event()
    reasons: list[Any] = []

    async def disconnect(*args: Any) -> None:
        reasons.append(list(args))
        gone.set()

    c.sio.on("disconnect", disconnect)
    await c.connect()
    await c.sio.emit("disconnect_me")
    await asyncio.wait_for(gone.wait(), WAIT)
    return {"reasons": reasons}


SCENARIOS: dict[str, Callable[[], Awaitable[dict[str, Any]]]] = {
    "auth_and_echo": scenario_auth_and_echo,
    "server_calls_client": scenario_server_calls_client,
    "rooms_and_namespaces": scenario_rooms_and_namespaces,
    "server_disconnects": scenario_server_disconnects,
}


async def main() -> None:
    print(json.dumps(await run_in_turn(SCENARIOS)))


if __name__ == "__main__":
    asyncio.run(main())
