"""AsyncServer: python-socketio's coroutine API over the shared server code.

The server runs on a real asyncio loop with its real asyncio runtime; only
the Engine.IO sessions are in-memory stand-ins (:class:`AioEngineSocket`),
driven through the engine glue's own methods, so everything above the
transport (routing, acks, rooms, connect, handlers as tasks) runs for real.
Every wait is on an asyncio.Event set by what the server sends.
"""

from __future__ import annotations

import asyncio
import json
import threading
from typing import Any, Awaitable, Callable

import pytest

from socketio_core import AsyncNamespace, AsyncServer, ConnectionRefusedError, Server
from socketio_core.server._adapter import MemoryAdapter
from transports.asyncio._runtime import AsyncioRuntime

from ._fakes import FakeEngineSocket


class FakeScheduler:
    active = 0

    def schedule(self, target: Any, due: Any) -> None: ...
    def cancel(self, target: Any) -> None: ...
    def start(self) -> None: ...
    def stop(self) -> None: ...


class FakeEngine:
    path = "/socket.io/"

    def __init__(self, handler: Any, config: Any, **options: Any) -> None:
        self.scheduler = FakeScheduler()
        self.sessions: dict[str, Any] = {}
        self.config = config

    def close_all(self) -> None: ...

    def claim_frame_turn(self) -> bool:
        return False

    def queue_frames_this_turn(self) -> None: ...


class _Runtime(AsyncioRuntime):
    engine_server = FakeEngine  # type: ignore[assignment]


class Sio(AsyncServer):
    _new_runtime = staticmethod(_Runtime)


class AioEngineSocket(FakeEngineSocket):
    """Records what is sent and wakes the test (on the loop) each time."""

    def __init__(self, sid: str) -> None:
        super().__init__(sid)
        self.changed = asyncio.Event()

    def send_encoded(self, wire: str | bytes) -> None:
        super().send_encoded(wire)
        self.changed.set()

    def send_many(self, wires: list[Any]) -> None:
        super().send_many(wires)
        self.changed.set()

    async def next_matching(self, prefix: str) -> str:
        """The first message sent that starts with ``prefix`` (removed from ``sent``)."""
        while True:
            for wire in self.sent:
                if isinstance(wire, str) and wire.startswith(prefix):
                    self.sent.remove(wire)
                    return wire
            self.changed.clear()
            await asyncio.wait_for(self.changed.wait(), 5)


async def connected(sio: AsyncServer, name: str = "e0", namespace: str = "/") -> tuple[AioEngineSocket, str]:
    esock = AioEngineSocket(name)
    sio.engineio_session_opened(esock)  # type: ignore[arg-type]
    sio.engineio_message(esock, "0" if namespace == "/" else f"0{namespace},")  # type: ignore[arg-type]
    reply = await esock.next_matching("40")
    return esock, json.loads(reply[reply.index("{"):])["sid"]


def run(test: Callable[[], Awaitable[None]]) -> None:
    asyncio.run(test())


async def bound() -> Sio:
    sio = Sio()
    sio.bind_hub()
    sio.on("connect", lambda sid: None)  # "/" is served
    return sio


def test_async_and_plain_handlers_answer_acks() -> None:
    async def main() -> None:
        sio = await bound()

        @sio.on("double")
        async def double(sid: str, x: int) -> int:
            await asyncio.sleep(0)
            return x * 2

        @sio.on("triple")
        def triple(sid: str, x: int) -> int:
            return x * 3

        esock, _ = await connected(sio)
        sio.engineio_message(esock, '21["double",4]')  # type: ignore[arg-type]
        sio.engineio_message(esock, '22["triple",4]')  # type: ignore[arg-type]
        assert await esock.next_matching("431") == "431[8]"
        assert await esock.next_matching("432") == "432[12]"

    run(main)


def test_await_emit_to_rooms_and_sessions() -> None:
    async def main() -> None:
        sio = await bound()
        a, sid_a = await connected(sio, "a")
        b, sid_b = await connected(sio, "b")
        await sio.enter_room(sid_a, "r")
        await sio.emit("hi", {"x": 1}, to="r")
        assert await a.next_matching("42") == '42["hi",{"x":1}]'
        await sio.leave_room(sid_a, "r")
        await sio.enter_room(sid_b, "r")
        await sio.send("m", to="r")
        assert await b.next_matching("42") == '42["message","m"]'
        assert not [w for w in a.sent if isinstance(w, str) and w.startswith("42")]
        async with sio.session(sid_a) as session:
            session["user"] = "ann"
        assert await sio.get_session(sid_a) == {"user": "ann"}
        await sio.save_session(sid_a, {"user": "bob"})
        assert sio.get_session(sid_a).value == {"user": "bob"}  # done at once, awaitable for style
        await sio.close_room("r")
        assert sio.rooms(sid_b) == [sid_b]
        await sio.disconnect(sid_b)
        assert await b.next_matching("41") == "41"

    run(main)


def test_call_waits_for_the_ack_and_times_out() -> None:
    async def main() -> None:
        sio = await bound()
        esock, sid = await connected(sio)
        call = asyncio.ensure_future(sio.call("q", 1, to=sid, timeout=5))
        asked = await esock.next_matching("42")
        ack_id = asked[2:asked.index("[")]
        sio.engineio_message(esock, f'3{ack_id}["a","b"]')  # type: ignore[arg-type]
        assert await call == ("a", "b")
        with pytest.raises(TimeoutError, match="within 0.05 s"):
            await sio.call("q", to=sid, timeout=0.05)
        await esock.next_matching("42")  # the unanswered one
        late = asyncio.ensure_future(sio.call("q", to=sid, timeout=30))
        await esock.next_matching("42")
        sio.engineio_session_closed(esock, "transport close")  # type: ignore[arg-type]
        with pytest.raises(TimeoutError, match="disconnected"):
            await late

    run(main)


def test_broadcast_acks_gather_every_answer() -> None:
    async def main() -> None:
        sio = await bound()
        a, sid_a = await connected(sio, "a")
        b, sid_b = await connected(sio, "b")
        gathered = asyncio.ensure_future(sio.call_all("poll", timeout=5))
        got: list[dict[str, Any]] = []
        answered = asyncio.Event()

        async def callback(answers: dict[str, Any]) -> None:  # an async callback runs as a task
            got.append(answers)
            answered.set()

        await sio.emit("poll2", callback=callback, timeout=5)
        for esock, answer in ((a, "A"), (b, "B")):
            for _ in range(2):
                asked = await esock.next_matching("42")
                ack_id = asked[2:asked.index("[")]
                sio.engineio_message(esock, f'3{ack_id}["{answer}"]')  # type: ignore[arg-type]
        assert await gathered == {sid_a: "A", sid_b: "B"}
        await asyncio.wait_for(answered.wait(), 5)
        assert got == [{sid_a: "A", sid_b: "B"}]

    run(main)


def test_async_connect_handler_and_middleware_refuse() -> None:
    async def main() -> None:
        sio = await bound()
        seen: list[str] = []

        async def middleware(sid: str, handshake: Any) -> None:
            await asyncio.sleep(0)
            seen.append("middleware")

        sio.use(middleware, namespace="/private")

        @sio.on("connect", namespace="/private")
        async def connect(sid: str, environ: Any, auth: dict[str, Any]) -> bool:
            await asyncio.sleep(0)
            if auth.get("token") != "ok":
                raise ConnectionRefusedError("bad token", {"retry": False})
            return True

        esock = AioEngineSocket("e0")
        sio.engineio_session_opened(esock)  # type: ignore[arg-type]
        sio.engineio_message(esock, '0/private,{"token":"no"}')  # type: ignore[arg-type]
        refusal = await esock.next_matching("44/private")
        assert json.loads(refusal[refusal.index("{"):]) == {"message": "bad token", "data": {"retry": False}}
        sio.engineio_message(esock, '0/private,{"token":"ok"}')  # type: ignore[arg-type]
        assert (await esock.next_matching("40/private")).startswith("40/private,{")
        assert seen == ["middleware", "middleware"]

    run(main)


def test_a_failing_async_handler_is_logged_and_sends_no_ack(caplog: pytest.LogCaptureFixture) -> None:
    async def main() -> None:
        sio = await bound()
        done = asyncio.Event()

        @sio.on("boom")
        async def boom(sid: str) -> None:
            done.set()
            raise ValueError("nope")

        @sio.on("fine")
        async def fine(sid: str) -> str:
            return "ok"

        esock, _ = await connected(sio)
        sio.engineio_message(esock, '21["boom"]')  # type: ignore[arg-type]
        sio.engineio_message(esock, '22["fine"]')  # type: ignore[arg-type]
        assert await esock.next_matching("432") == '432["ok"]'
        assert not [w for w in esock.sent if isinstance(w, str) and w.startswith("431")]

    run(main)
    assert any("handler" in r.getMessage() and "boom" in r.getMessage() for r in caplog.records)


def test_emit_from_another_thread_is_delivered_on_the_loop() -> None:
    async def main() -> None:
        sio = await bound()
        esock, sid = await connected(sio)
        thread = threading.Thread(target=lambda: sio.emit("from-thread", 42, to=sid))
        thread.start()
        assert await esock.next_matching("42") == '42["from-thread",42]'
        thread.join()

    run(main)


def test_namespaces_background_tasks_and_sleep() -> None:
    async def main() -> None:
        sio = await bound()
        greeted = asyncio.Event()

        class Chat(AsyncNamespace):
            async def on_hello(self, sid: str, name: str) -> str:
                await self.emit("welcome", name, to=sid)
                async with self.session(sid) as session:
                    session["name"] = name
                return f"hi {name}"

        sio.register_namespace(Chat("/chat"))
        esock, sid = await connected(sio, namespace="/chat")
        sio.engineio_message(esock, '2/chat,5["hello","ann"]')  # type: ignore[arg-type]
        assert await esock.next_matching("42/chat,") == '42/chat,["welcome","ann"]'
        assert await esock.next_matching("43/chat,") == '43/chat,5["hi ann"]'
        assert await sio.get_session(sid, namespace="/chat") == {"name": "ann"}

        async def task(x: int) -> int:
            await sio.sleep(0)
            greeted.set()
            return x + 1

        background = sio.start_background_task(task, 1)
        assert isinstance(background, asyncio.Task)
        assert await background == 2
        assert greeted.is_set()

    run(main)


def test_async_mode_and_adapters_are_checked() -> None:
    Sio(async_mode="asgi")
    with pytest.raises(ValueError, match="AsyncServer"):
        Sio(async_mode="eventlet")
    with pytest.raises(ValueError, match="AsyncServer"):
        Server(async_mode="asgi")

    class GeventOnly(MemoryAdapter):
        runs_on = frozenset({"gevent"})

    with pytest.raises(ValueError, match="gevent server only"):
        Sio(adapter=GeventOnly())
    # The workers' adapter inherits from the Redis one (which serves both drivers),
    # but its link to the supervisor is gevent's.
    from socketio_core.cluster import WorkersAdapter

    with pytest.raises(ValueError, match="gevent server only"):
        Sio(adapter=WorkersAdapter(connection=None))  # type: ignore[arg-type]


def test_async_server_is_a_facade_over_server() -> None:
    """Every routing decision is Server's: AsyncServer defines no private method of its own
    but the loop binding, and overrides only the public coroutine-shaped calls."""
    own = {n for n in vars(AsyncServer) if not n.startswith("__")}
    assert own - set(dir(Server)) <= {"_new_runtime", "_on_loop", "asgi_app", "serve", "run_async"}
    assert isinstance(Sio().runtime, AsyncioRuntime)


def test_the_asgi_lifespan_reaches_the_other_app_and_shutdown_closes_every_session() -> None:
    async def main() -> None:
        sio = Sio()
        closed: list[bool] = []
        sio.engine.close_all = lambda: closed.append(True)  # type: ignore[method-assign]
        seen: list[tuple[str, bool]] = []

        async def other(scope: dict[str, Any], receive: Any, send: Any) -> None:
            assert scope["type"] == "lifespan"
            while True:
                message = await receive()
                seen.append((message["type"], bool(closed)))
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return

        messages = iter([{"type": "lifespan.startup"}, {"type": "lifespan.shutdown"}])
        sent: list[str] = []

        async def receive() -> dict[str, Any]:
            return next(messages)

        async def send(message: dict[str, Any]) -> None:
            sent.append(message["type"])

        await sio.asgi_app(other)({"type": "lifespan"}, receive, send)
        assert seen == [("lifespan.startup", False), ("lifespan.shutdown", True)]
        assert sent == ["lifespan.startup.complete", "lifespan.shutdown.complete"]
        assert sio.hub is asyncio.get_running_loop()  # bound by the first call

    run(main)


@pytest.mark.parametrize("async_handlers", [False, True])
def test_async_handlers_false_runs_one_clients_async_handlers_one_at_a_time(async_handlers: bool) -> None:
    async def main() -> None:
        sio = Sio(async_handlers=async_handlers)
        sio.bind_hub()
        sio.on("connect", lambda sid: None)
        order: list[str] = []
        release, started = asyncio.Event(), asyncio.Event()

        @sio.on("slow")
        async def slow(sid: str) -> str:
            order.append("slow:start")
            started.set()
            await release.wait()
            order.append("slow:end")
            return "slow"

        @sio.on("fast")
        async def fast(sid: str) -> str:
            order.append("fast")
            return "fast"

        esock, _ = await connected(sio)
        sio.engineio_message(esock, '21["slow"]')  # type: ignore[arg-type]
        sio.engineio_message(esock, '22["fast"]')  # type: ignore[arg-type]
        if async_handlers:
            assert await esock.next_matching("432") == '432["fast"]'  # not held back
            assert order == ["slow:start", "fast"]
        else:
            await asyncio.wait_for(started.wait(), 5)
        release.set()
        assert await esock.next_matching("431") == '431["slow"]'
        if not async_handlers:
            assert await esock.next_matching("432") == '432["fast"]'
            assert order == ["slow:start", "slow:end", "fast"]  # "fast" waited for "slow"

    run(main)
