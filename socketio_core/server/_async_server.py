"""``AsyncServer``: the same server on the asyncio driver, with python-socketio's coroutine API.

Strategy: a facade, not a twin. :class:`AsyncServer` *is* a
:class:`~socketio_core.server.Server` (same options, same routing, rooms,
acks, recovery, adapters: every decision is the shared code's) whose
:class:`~transports._runtime.Runtime` is asyncio's. This module adds only
the shapes asyncio code expects:

- the calls python-socketio's ``AsyncServer`` makes coroutines (``emit``,
  ``send``, ``enter_room``, ``leave_room``, ``close_room``, ``disconnect``,
  ``get_session``, ``save_session``...), and the cluster-wide
  ``sockets_join``/``sockets_leave``/``disconnect_sockets``/``server_side_emit``,
  do their work at once, as the
  gevent server's do, and return an already-finished awaitable
  (:class:`Done`): ``await sio.emit(...)`` reads as in python-socketio, and a
  plain handler, or a plain OS thread, may call ``sio.emit(...)`` without
  ``await`` (another thread's call is handed to the loop with
  ``call_soon_threadsafe``, as ever);
- what must wait is a real coroutine: ``call``, ``call_all``,
  ``fetch_sockets`` (which may ask the other servers of a cluster), ``sleep``,
  ``serve``/``start``/``stop``/``shutdown``, and ``session`` is an async
  context manager. Each awaits a waitable that the shared code settles from
  a callback (``_begin_call``, ``Adapter.fetch_sockets_then``), where the
  gevent server blocks a greenlet on the same waitable: one decision, two
  ways of waiting;
- handlers may be ``async def`` or plain functions (the engine glue awaits a
  handler's coroutine in a task, :meth:`EngineGlue._finish_event`);
- serving: ``asgi_app(other_app)`` (or :class:`ASGIApp`), our own asyncio
  HTTP server (``await serve(host, port)``) and ``run(host, port)``, which
  uses uvloop when it is installed.
"""

from __future__ import annotations

import asyncio
import inspect
from contextlib import asynccontextmanager
from functools import partial
from typing import Any, AsyncIterator, Callable, Generator, Generic, TypeVar

from transports._runtime import Runtime

from ._acks import ack_value
from ._adapter import SocketInfo
from ._compat import check_async_mode
from ._delivery import _NO_DATA, Target
from ._server import Server

__all__ = ["AsyncServer", "ASGIApp", "Done"]

T = TypeVar("T")


class Done(Generic[T]):
    """An awaitable that is already finished: what the eager coroutine-style calls return."""

    __slots__ = ("value",)

    def __init__(self, value: T) -> None:
        self.value = value

    def __await__(self) -> Generator[Any, None, T]:
        return self.value
        yield  # a generator: awaiting it never suspends


_NONE: Done[None] = Done(None)


def _as_task(runtime: Runtime, callback: Callable[..., Any], *args: Any) -> None:
    runtime.run_coroutine(callback(*args))


def _asyncio_runtime() -> Runtime:
    from transports.asyncio._runtime import AsyncioRuntime

    return AsyncioRuntime()


class AsyncServer(Server):
    """A Socket.IO server for asyncio applications (python-socketio's ``AsyncServer``).

    Takes every option of :class:`~socketio_core.Server` (``async_mode`` may
    be None or ``"asgi"``). Mount ``sio.asgi_app(app)`` in an ASGI server
    (uvicorn, hypercorn; Starlette/FastAPI's ``mount``), or ``await
    sio.serve(host, port)``, or ``sio.run(host, port)``. The adapter must be
    one that runs on asyncio (``runs_on``): the MemoryAdapter, or the
    RedisAdapter, whose servers may mix both drivers on one channel.
    """

    _new_runtime = staticmethod(_asyncio_runtime)

    def __init__(self, **options: Any) -> None:
        check_async_mode(options.pop("async_mode", None), "asyncio")
        adapter = options.get("adapter") or options.get("client_manager")
        if adapter is not None and "asyncio" not in adapter.runs_on:
            raise ValueError(
                f"{type(adapter).__name__} runs on the {' and '.join(sorted(adapter.runs_on))} server "
                "only, not on AsyncServer"
            )
        super().__init__(**options)

    # ------------------------------------- done at once, awaitable for style

    def emit(  # type: ignore[override]
        self, event: str, *args: Any, callback: Callable[..., Any] | None = None, **kwargs: Any
    ) -> Done[None]:
        """``await sio.emit(event, *args, to=..., ...)``: as :meth:`Server.emit`.

        An ``async def`` callback runs as a task when the ack (or a broadcast's
        ``{sid: answer}``) comes.
        """
        if callback is not None and inspect.iscoroutinefunction(callback):
            callback = partial(_as_task, self.runtime, callback)
        Server.emit(self, event, *args, callback=callback, **kwargs)
        return _NONE

    def send(self, data: Any, **kwargs: Any) -> Done[None]:  # type: ignore[override]
        Server.emit(self, "message", data, **kwargs)
        return _NONE

    def enter_room(self, sid: str, room: str, namespace: str = "/") -> Done[None]:  # type: ignore[override]
        Server.enter_room(self, sid, room, namespace)
        return _NONE

    def leave_room(self, sid: str, room: str, namespace: str = "/") -> Done[None]:  # type: ignore[override]
        Server.leave_room(self, sid, room, namespace)
        return _NONE

    def close_room(self, room: str, namespace: str = "/") -> Done[None]:  # type: ignore[override]
        Server.close_room(self, room, namespace)
        return _NONE

    def disconnect(  # type: ignore[override]
        self, sid: str, namespace: str = "/", *, close: bool = False
    ) -> Done[None]:
        Server.disconnect(self, sid, namespace, close=close)
        return _NONE

    def get_session(self, sid: str, namespace: str = "/") -> Done[dict[str, Any]]:  # type: ignore[override]
        return Done(Server.get_session(self, sid, namespace))

    def save_session(  # type: ignore[override]
        self, sid: str, session: dict[str, Any], namespace: str = "/"
    ) -> Done[None]:
        Server.save_session(self, sid, session, namespace)
        return _NONE

    def sockets_join(  # type: ignore[override]
        self, rooms: str | list[str], to: Target = None, namespace: str = "/"
    ) -> Done[None]:
        Server.sockets_join(self, rooms, to, namespace)
        return _NONE

    def sockets_leave(  # type: ignore[override]
        self, rooms: str | list[str], to: Target = None, namespace: str = "/"
    ) -> Done[None]:
        Server.sockets_leave(self, rooms, to, namespace)
        return _NONE

    def disconnect_sockets(  # type: ignore[override]
        self, to: Target = None, namespace: str = "/", close: bool = False
    ) -> Done[None]:
        Server.disconnect_sockets(self, to, namespace, close)
        return _NONE

    def server_side_emit(  # type: ignore[override]
        self,
        event: str,
        *args: Any,
        callback: Callable[[list[Any]], Any] | None = None,
        timeout: float | None = 5.0,
    ) -> Done[None]:
        """``await sio.server_side_emit(event, *args, callback=...)``: as :meth:`Server.server_side_emit`;
        an ``async def`` callback runs as a task when the other servers' answers are in."""
        if callback is not None and inspect.iscoroutinefunction(callback):
            callback = partial(_as_task, self.runtime, callback)
        Server.server_side_emit(self, event, *args, callback=callback, timeout=timeout)
        return _NONE

    @asynccontextmanager
    async def session(  # type: ignore[override]
        self, sid: str, namespace: str = "/"
    ) -> AsyncIterator[dict[str, Any]]:
        """``async with sio.session(sid) as s: s["user"] = ...``."""
        data = Server.get_session(self, sid, namespace)
        yield data
        Server.save_session(self, sid, data, namespace)

    # ------------------------------------------------------ what must wait

    async def call(
        self,
        event: str,
        *args: Any,
        to: str | None = None,
        namespace: str | None = "/",
        timeout: float = 60.0,
        sid: str | None = None,
        data: Any = _NO_DATA,
    ) -> Any:
        """``await sio.call(event, *args, to=sid)``: the ack's value (see :meth:`Server.call`).

        Awaited on the server's loop; another thread with a loop of its own
        gets there through ``asyncio.run_coroutine_threadsafe(sio.call(...), sio.hub)``.
        """
        event, args, to, namespace = self._call_target(event, args, to, namespace, sid, data)
        self._on_loop()  # an answer from another server reaches the loop that awaits it
        result: Any = self.runtime.waitable()
        self._begin_call(to, namespace, event, args, timeout, result)
        return ack_value(await result or ())

    async def call_all(  # type: ignore[override]
        self,
        event: str,
        *args: Any,
        to: Target = None,
        skip: Target = None,
        namespace: str = "/",
        timeout: float = 10.0,
    ) -> dict[str, Any]:
        """``await sio.call_all(...)``: ``{sid: answer}`` of every recipient that answered in time."""
        self._on_loop()
        result: Any = self.runtime.waitable()
        self._begin_call_all(event, args, to, skip, namespace, timeout, result)
        return await result or {}

    async def fetch_sockets(  # type: ignore[override]
        self, to: Target = None, namespace: str = "/"
    ) -> list[SocketInfo]:
        """``await sio.fetch_sockets(to=room)``: every such socket of ``namespace``, on every
        server (one that does not answer in the adapter's time is left out)."""
        self._on_loop()
        result: Any = self.runtime.waitable()
        self.adapter.fetch_sockets_then(namespace, self._rooms_arg(to), result.set)
        return list(await result)

    async def sleep(self, seconds: float = 0) -> None:  # type: ignore[override]
        await asyncio.sleep(seconds)

    # ------------------------------------------------------------- serving

    def _on_loop(self) -> None:
        """Bind the running loop (once) and start the engine's deadlines on it."""
        if self.hub is None:
            self.bind_hub()
            self.engine.scheduler.start()

    def asgi_app(self, other_app: Any = None, socketio_path: str | None = None) -> Any:
        """An ASGI 3 application: Socket.IO at this server's path, the rest to ``other_app``."""
        return ASGIApp(self, other_app, socketio_path=socketio_path)

    async def start(  # type: ignore[override]
        self, host: str = "127.0.0.1", port: int = 5000, *, app: Any = None, **kwargs: Any
    ) -> tuple[str, int]:
        """Start serving on the running loop; returns the address (``serve`` also waits)."""
        self._on_loop()
        http: Any = self.http_server(app)  # the asyncio driver's HttpServer
        address: tuple[str, int] = await http.start(host, port, **kwargs)
        return address

    async def serve(self, host: str = "127.0.0.1", port: int = 5000, **kwargs: Any) -> None:
        """Serve on the running loop until cancelled (or :meth:`stop`)."""
        try:
            address = await self.start(host, port, **kwargs)
        except OSError as exc:
            raise self._cannot_listen(exc, host, port) from None
        self._announce(address, bool(kwargs.get("certfile")))
        http: Any = self._http
        await http.serve_forever()

    run_async = serve

    def run(self, host: str = "127.0.0.1", port: int = 5000, **kwargs: Any) -> None:
        """Serve until Ctrl+C, on a new loop (uvloop's when installed)."""
        from transports.asyncio._runtime import new_event_loop

        loop = new_event_loop()
        try:
            loop.run_until_complete(self.serve(host, port, **kwargs))
        except KeyboardInterrupt:
            pass
        finally:
            loop.run_until_complete(self.stop())
            loop.close()

    async def stop(self) -> None:  # type: ignore[override]
        """Stop serving: close every session properly, release the adapter."""
        http: Any = self._http
        if http is not None:
            await http.stop()
        self.adapter.close()

    async def shutdown(self) -> None:  # type: ignore[override]
        """python-socketio's ``shutdown``: every session closed properly, timers stopped."""
        if self._http is not None:
            await self.stop()
        else:
            self._close_sessions()


class ASGIApp:
    """python-socketio's ``socketio.ASGIApp(sio, other_asgi_app, socketio_path=...)``.

    The asyncio driver's ASGI application bound to ``server``; the first
    call (the lifespan startup, or a request) binds the server to the loop
    serving it, and the lifespan shutdown closes every session properly before
    the other app hears of it.
    """

    def __init__(
        self, server: AsyncServer, other_asgi_app: Any = None, socketio_path: str | None = None
    ) -> None:
        if socketio_path is not None:
            path = "/" + socketio_path.strip("/") + "/"
            if path != server.engine.path:
                raise ValueError(
                    f"socketio_path={socketio_path!r} differs from the server's path "
                    f"{server.engine.path!r}: say AsyncServer(path={path!r})"
                )
        self.server = server
        runtime: Any = server.runtime
        self.app = runtime.asgi_app(server.engine, other_asgi_app, server.http_limits)

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if self.server.hub is None:
            self.server._on_loop()
        if scope["type"] == "lifespan":
            await self.app(scope, self._closing_at_shutdown(receive), send)
            return
        await self.app(scope, receive, send)

    def _closing_at_shutdown(self, receive: Any) -> Any:
        """``receive`` for the lifespan scope (passed through to the other app): at
        ``lifespan.shutdown`` every session is closed properly first, timers stop."""

        async def receive_closing() -> Any:
            message = await receive()
            if message.get("type") == "lifespan.shutdown":
                self.server._close_sessions()
            return message

        return receive_closing
