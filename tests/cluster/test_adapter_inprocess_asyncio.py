"""The RedisAdapter under AsyncServer, in this process, against a real redis-server.

Two ``AsyncServer`` objects (their real asyncio runtime; in-memory Engine.IO
sessions, as in tests/socketio_core/server/test_async_server.py) share one
loop and one Redis channel. Every wait is on what a server sends or on a
future the code under test settles: the cluster requests (``fetch_sockets``,
``call``/``call_all`` to sockets of the other server, server-side events
with ``async def`` handlers and callbacks) are awaited and never block the
loop; the blocking forms refuse the loop and work from another thread; an
emit from a plain thread reaches both servers; and what Redis hands over
before a server's loop is bound is kept for that loop.
"""

from __future__ import annotations

import ast
import asyncio
import threading
import time
import uuid
from functools import partial
from pathlib import Path
from typing import Any, Awaitable, Callable

import pytest

import socketio_core.redis
from socketio_core import AsyncServer, Server
from socketio_core.redis_adapter import RedisAdapter
from tests.socketio_core.server.test_async_server import AioEngineSocket, Sio, connected

from .conftest import RedisServer

pytestmark = pytest.mark.timeout(60)


def _server(url: str, prefix: str, *, bind: bool = True, **options: Any) -> Sio:
    sio = Sio(adapter=RedisAdapter(url, channel_prefix=prefix, **options))
    if bind:
        sio.bind_hub()
    sio.on("connect", lambda sid: None)
    return sio


async def _answer(sio: AsyncServer, esock: AioEngineSocket, event: str, answer: str) -> None:
    """Wait for ``event`` with an ack request on ``esock`` and ack it with ``answer``."""
    asked = await esock.next_matching("42")
    assert f'["{event}"' in asked, asked
    ack_id = asked[2:asked.index("[")]
    sio.engineio_message(esock, f'3{ack_id}["{answer}"]')  # type: ignore[arg-type]


def run_pair(redis_server: RedisServer, test: Callable[[Sio, Sio], Awaitable[None]], **options: Any) -> None:
    async def main() -> None:
        prefix = f"aio-{uuid.uuid4().hex[:8]}"
        a = _server(redis_server.url, prefix, **options)
        b = _server(redis_server.url, prefix, **options)
        try:
            await test(a, b)
        finally:
            a.adapter.close()
            b.adapter.close()

    asyncio.run(main())


def test_fetch_sockets_call_and_call_all_are_awaited_across_servers(redis_server: RedisServer) -> None:
    async def test(a: Sio, b: Sio) -> None:
        here, sid_a = await connected(a, "here")
        there, sid_b = await connected(b, "there")
        await b.enter_room(sid_b, "r")
        async with b.session(sid_b) as session:
            session["n"] = 1
        [info] = await a.fetch_sockets(to="r")
        assert (info.sid, info.rooms, info.data) == (sid_b, frozenset({sid_b, "r"}), {"n": 1})
        assert sorted(i.sid for i in await b.fetch_sockets()) == sorted([sid_a, sid_b])

        call = asyncio.ensure_future(a.call("q", to=sid_b, timeout=5))  # a socket of the other server
        await _answer(b, there, "q", "from-b")
        assert await call == "from-b"

        gathered = asyncio.ensure_future(a.call_all("poll", timeout=5))
        await _answer(a, here, "poll", "A")
        await _answer(b, there, "poll", "B")
        assert await gathered == {sid_a: "A", sid_b: "B"}

    run_pair(redis_server, test)


def test_server_side_events_with_async_handlers_and_callbacks(redis_server: RedisServer) -> None:
    async def test(a: Sio, b: Sio) -> None:
        async def ping(x: Any) -> dict[str, Any]:
            await asyncio.sleep(0)  # suspends: the answer is awaited, not the coroutine sent
            return {"pong": x}

        b.on_server_event("ping", ping)
        a.on_server_event("ping", lambda x: pytest.fail("a server does not hear itself"))
        answers: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()

        async def gathered(got: list[Any]) -> None:
            answers.set_result(got)

        t0 = time.monotonic()
        await a.server_side_emit("ping", b"\x01", callback=gathered, timeout=5)
        assert await asyncio.wait_for(answers, 5) == [{"pong": b"\x01"}]
        assert time.monotonic() - t0 < 4  # all answered: no waiting for the timeout

    run_pair(redis_server, test)


def test_room_operations_and_disconnects_reach_the_other_server(redis_server: RedisServer) -> None:
    async def test(a: Sio, b: Sio) -> None:
        there, sid_b = await connected(b, "there")
        await a.enter_room(sid_b, "r1")  # a socket of the other server
        await a.sockets_join("r2", to="r1")
        await a.emit("news", "x", to="r2")
        assert await there.next_matching('42["news"') == '42["news","x"]'
        assert set(b.rooms(sid_b)) == {sid_b, "r1", "r2"}
        await a.sockets_leave("r2", to="r1")
        await a.emit("news", "y", to="r1")
        assert await there.next_matching('42["news"') == '42["news","y"]'
        assert set(b.rooms(sid_b)) == {sid_b, "r1"}
        await a.disconnect_sockets(to="r1")
        assert await there.next_matching("41") == "41"
        assert await a.fetch_sockets() == []

    run_pair(redis_server, test)


def test_an_emit_from_a_plain_thread_reaches_the_sockets_of_both_servers(redis_server: RedisServer) -> None:
    async def test(a: Sio, b: Sio) -> None:
        here, _ = await connected(a, "here")
        there, _ = await connected(b, "there")
        thread = threading.Thread(target=lambda: a.emit("from-thread", 42))
        thread.start()
        for esock in (here, there):
            assert await esock.next_matching('42["from-thread"') == '42["from-thread",42]'
        thread.join()
        await a.emit("after", 1)  # one message each: nothing came twice
        for esock in (here, there):
            assert await esock.next_matching("42") == '42["after",1]'

    run_pair(redis_server, test)


def test_the_waiting_forms_refuse_the_loop_and_work_from_another_thread(redis_server: RedisServer) -> None:
    async def test(a: Sio, b: Sio) -> None:
        _, sid_b = await connected(b, "there")
        with pytest.raises(RuntimeError, match="awaited"):
            a.adapter.fetch_sockets("/", None)  # would stall every client of this loop
        loop = asyncio.get_running_loop()
        infos = await loop.run_in_executor(None, partial(Server.fetch_sockets, a))  # the blocking form
        assert [i.sid for i in infos] == [sid_b]
        assert await loop.run_in_executor(None, a.adapter.server_count) == 2

    run_pair(redis_server, test)


def test_what_redis_hands_over_before_the_loop_is_bound_waits_for_it(redis_server: RedisServer) -> None:
    """An AsyncServer built before its loop serves it (uvicorn binds it at startup): a
    request from another server reaches its runtime first and is answered once it binds."""

    async def main() -> None:
        prefix = f"aio-{uuid.uuid4().hex[:8]}"
        asking = _server(redis_server.url, prefix)
        late = _server(redis_server.url, prefix, bind=False)
        try:
            late.on_server_event("ping", lambda x: {"late": x})
            answers: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()
            await asking.server_side_emit("ping", 7, callback=answers.set_result, timeout=10)
            early: list[Any] = late.runtime._early  # type: ignore[attr-defined]
            deadline = time.monotonic() + 5
            while not early:  # the request reached the unbound server's runtime
                assert time.monotonic() < deadline, "nothing handed over before the bind"
                await asyncio.sleep(0.01)
            assert not answers.done()
            late.bind_hub()
            assert await asyncio.wait_for(answers, 5) == [{"late": 7}]
        finally:
            asking.adapter.close()
            late.adapter.close()

    asyncio.run(main())


def test_the_redis_package_imports_neither_driver() -> None:
    """One adapter for both drivers: what differs is the server's Runtime, never an import here."""
    package = Path(socketio_core.redis.__file__).parent
    for path in sorted(package.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                names = [node.module]
            else:
                continue
            for name in names:
                assert name.split(".")[0] not in ("gevent", "asyncio", "greenlet"), f"{path.name}: {name}"
