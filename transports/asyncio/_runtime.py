"""The asyncio :class:`~transports._runtime.Runtime`: one event loop, its timers, tasks.

How the server's shared code runs under asyncio, as python-socketio's
``AsyncServer`` runs it: a handler submitted by the engine glue is called on
the loop in a callback of its own (``loop.call_soon``, so it runs after the
engine's read that delivered it, like a gevent worker); a plain function
simply runs there, and a coroutine it returns (an ``async def`` handler)
becomes a task. Timers are ``loop.call_later`` handles (no task waits for an
ack's timeout), other threads reach the loop with ``call_soon_threadsafe``
and a ``call()`` waits on a future.

An ``AsyncServer`` is often built before its loop runs (at import, then
served by uvicorn), while an adapter's thread may already have results for
it (the Redis subscriber): until :meth:`AsyncioRuntime.bind`, what other
threads hand over is kept, in order, and handed to the loop it binds.

Never imports gevent; uvloop is the caller's choice (:func:`new_event_loop`).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
import threading
from importlib import import_module
from types import CoroutineType
from typing import TYPE_CHECKING, Any, Callable, Coroutine, Generator

if TYPE_CHECKING:
    from engineio import Config

    from .._limits import HttpLimits

__all__ = ["AsyncioRuntime", "AsyncioWorkers", "new_event_loop"]

log = logging.getLogger(__name__)


def new_event_loop() -> asyncio.AbstractEventLoop:
    """A uvloop loop when uvloop is installed (the ``uvloop`` extra), else asyncio's own."""
    try:
        uvloop = import_module("uvloop")
    except ImportError:
        return asyncio.new_event_loop()
    loop: asyncio.AbstractEventLoop = uvloop.new_event_loop()
    return loop


class AsyncioWorkers:
    """The :class:`~transports._runtime.Workers` of asyncio: calls on the loop, tasks for coroutines."""

    def __init__(self) -> None:
        self._loop: asyncio.AbstractEventLoop | None = None
        self._tasks: set[asyncio.Task[Any]] = set()
        #: Tasks running (what gevent's pool calls busy workers).
        self.workers = 0
        self.pending = 0

    @property
    def idle_count(self) -> int:
        return 0

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """On the loop's thread: run ``fn(*args)`` in a loop callback of its own."""
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        self.pending += 1
        loop.call_soon(self._run, fn, args)

    def _run(self, fn: Callable[..., Any], args: tuple[Any, ...]) -> None:
        self.pending -= 1
        try:
            result = fn(*args)
        except Exception:
            log.exception("handler %r failed", fn)
            return
        if type(result) is CoroutineType:
            self.spawn(result)

    def spawn(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        """``coro`` as a task that is kept until it ends; its exception is logged."""
        loop = self._loop
        if loop is None:
            loop = self._loop = asyncio.get_running_loop()
        task = loop.create_task(coro)
        self._tasks.add(task)
        self.workers += 1
        task.add_done_callback(self._ended)
        return task

    def _ended(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        self.workers -= 1
        if not task.cancelled() and task.exception() is not None:
            log.error("handler task %r failed", task, exc_info=task.exception())


class _Waitable:
    """A future settled at most once (later settlements are ignored), awaited by the caller."""

    __slots__ = ("future",)

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self.future: asyncio.Future[Any] = loop.create_future()

    def set(self, value: Any = None) -> None:
        if not self.future.done():
            self.future.set_result(value)

    def set_exception(self, exc: BaseException) -> None:
        if not self.future.done():
            self.future.set_exception(exc)

    def get(self) -> Any:
        raise RuntimeError("an asyncio result is awaited, not waited for: use the AsyncServer's coroutines")

    def __await__(self) -> Generator[Any, None, Any]:
        return self.future.__await__()


class AsyncioRuntime:
    """See the module docstring."""

    name = "asyncio"

    def __init__(self) -> None:
        self.workers = AsyncioWorkers()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: int | None = None
        self.get_ident = threading.get_ident
        #: Callbacks handed over before any loop was bound (see the module docstring).
        self._early: list[tuple[Callable[..., Any], tuple[Any, ...]]] = []
        self._early_lock = threading.Lock()

    def bind(self) -> None:
        """Bind the running loop (or, outside one, this thread's current loop);
        callbacks handed over before are queued on it, in order."""
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            loop = asyncio.get_event_loop_policy().get_event_loop()
        with self._early_lock:
            self._loop = self.workers._loop = loop
            self._thread = threading.get_ident()
            early, self._early = self._early, []
        for fn, args in early:
            loop.call_soon(fn, *args)

    @property
    def loop(self) -> asyncio.AbstractEventLoop | None:
        return self._loop

    @property
    def thread(self) -> int | None:
        return self._thread

    def _current(self) -> asyncio.AbstractEventLoop:
        return self._loop if self._loop is not None else asyncio.get_running_loop()

    def call_soon_threadsafe(self, fn: Callable[..., Any], *args: Any) -> None:
        loop = self._loop
        if loop is None:
            with self._early_lock:
                loop = self._loop
                if loop is None:
                    self._early.append((fn, args))  # handed to the loop bind() binds
                    return
        loop.call_soon_threadsafe(fn, *args)

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> asyncio.TimerHandle:
        return self._current().call_later(delay, fn, *args)

    def run_coroutine(self, coro: Coroutine[Any, Any, Any]) -> None:
        self.workers.spawn(coro)

    def waitable(self) -> _Waitable:
        return _Waitable(self._current())

    @staticmethod
    def sleep(seconds: float = 0) -> Coroutine[Any, Any, None]:
        return asyncio.sleep(seconds)

    def start_background_task(
        self, target: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], failed: Callable[[], None]
    ) -> asyncio.Task[Any]:
        """``target(*args, **kwargs)`` as a task (a plain function runs on the loop)."""

        async def run() -> Any:
            try:
                result = target(*args, **kwargs)
                if inspect.isawaitable(result):
                    result = await result
                return result
            except Exception:
                failed()
                return None

        return self._current().create_task(run())

    @staticmethod
    def engine_server(handler: Any, config: Config, **options: Any) -> Any:
        return _driver("EngineServer")(handler, config, **options)

    @staticmethod
    def http_server(engine: Any, app: Any, limits: HttpLimits | None) -> Any:
        return _driver("HttpServer")(engine, app, limits=limits)

    @staticmethod
    def asgi_app(engine: Any, other_app: Any, limits: HttpLimits | None) -> Any:
        return _driver("AsgiApp")(engine, other_app, limits=limits)


def _driver(name: str) -> Any:
    """A class of the asyncio driver's package (imported when first needed)."""
    return getattr(import_module("transports.asyncio"), name)
