"""An asyncio Engine.IO echo served in-process from its own thread, for the driver's tests.

The handler records, for every message, the loop turn it was handled in: a
callback that queues itself again with ``call_soon`` runs exactly once per
iteration of the loop, so its count numbers the turns. Fairness checks are
then counts, not clocks.
"""

from __future__ import annotations

import asyncio
import http.client
import json
import threading
from collections import Counter
from concurrent.futures import Future
from typing import Any, Callable

from engineio import Config
from transports import HttpLimits
from transports.asyncio import EngineServer, EngineSocket, HttpServer


class TurnCountingEcho:
    """Echoes every message and notes the loop turn each was handled in."""

    def __init__(self) -> None:
        self.turn = 0
        self.per_turn: Counter[int] = Counter()
        self.opened: list[str] = []
        self.closed: list[tuple[str, str]] = []
        self.messages = 0

    def tick(self, loop: asyncio.AbstractEventLoop) -> None:
        self.turn += 1
        loop.call_soon(self.tick, loop)

    def engineio_session_opened(self, socket: EngineSocket) -> None:
        self.opened.append(socket.sid)

    def engineio_message(self, socket: EngineSocket, data: str | bytes) -> None:
        self.messages += 1
        self.per_turn[self.turn] += 1
        socket.send(data)

    def engineio_session_closed(self, socket: EngineSocket, reason: str) -> None:
        self.closed.append((socket.sid, reason))


class AioServer:
    """:class:`HttpServer` + :class:`EngineServer` on a loop of its own thread."""

    def __init__(
        self,
        config: Config | None = None,
        *,
        limits: HttpLimits | None = None,
        certfile: str | None = None,
        keyfile: str | None = None,
        count_turns: bool = False,
        **engine_options: Any,
    ) -> None:
        self.handler = TurnCountingEcho()
        self.config = config or Config(ping_interval=20, ping_timeout=20)
        self.limits = limits
        self.tls = (certfile, keyfile)
        self.count_turns = count_turns
        self.engine_options = engine_options
        self.port = 0
        self.loop: asyncio.AbstractEventLoop | None = None
        self._ready = threading.Event()
        self._stop: asyncio.Event | None = None
        self._failed: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="aio-server", daemon=True)

    def __enter__(self) -> "AioServer":
        self._thread.start()
        if not self._ready.wait(10):
            raise RuntimeError("asyncio server did not start")
        if self._failed is not None:
            raise RuntimeError("asyncio server failed") from self._failed
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.loop is not None and self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(10)

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except BaseException as exc:  # handed to __enter__
            self._failed = exc
            self._ready.set()

    async def _main(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self.engine = EngineServer(self.handler, self.config, **self.engine_options)
        self.http = HttpServer(self.engine, limits=self.limits)
        _, self.port = await self.http.start("127.0.0.1", 0, *self.tls)
        if self.count_turns:
            self.handler.tick(self.loop)
        self._ready.set()
        await self._stop.wait()
        await self.http.stop()

    def call(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` on the server's loop and return its result."""
        assert self.loop is not None
        done: Future[Any] = Future()

        def run() -> None:
            try:
                done.set_result(fn())
            except BaseException as exc:
                done.set_exception(exc)

        self.loop.call_soon_threadsafe(run)
        return done.result(10)


def polling_handshake(port: int, path: str = "/engine.io/") -> str:
    """Opens an Engine.IO session over long-polling on 127.0.0.1:``port``; its sid."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    conn.request("GET", f"{path}?EIO=4&transport=polling")
    body = conn.getresponse().read()
    conn.close()
    return str(json.loads(body[1:])["sid"])
