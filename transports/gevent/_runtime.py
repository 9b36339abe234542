"""The gevent :class:`~transports._runtime.Runtime`: the hub, its timers, the worker pool.

Everything the Socket.IO server used to ask of gevent directly, in one place:
the hub bound to a thread (``bind``), callbacks handed to it from other OS
threads (``loop.run_callback_threadsafe``), libev timers for ack timeouts (no
greenlet waits for them), handlers in pooled greenlets (:class:`WorkerPool`)
and :class:`gevent.event.AsyncResult` for ``call()``. Before ``bind``,
callbacks from other threads (an adapter's Redis thread: the server is built,
not yet served) go to the hub of the thread that built the runtime, which is
the one that serves it when ``run``/``start`` follow on that thread.

``run_coroutine`` drives a coroutine of the server's own (the connect steps
are written once as a coroutine, see ``socketio_core.server._engine_glue``)
in a worker greenlet: under gevent it never suspends, since blocking is a
greenlet switch inside it, so it runs to its end in one ``send``. One that
does suspend awaited an asyncio object: it is closed and the mistake logged.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable, Coroutine

import gevent
from gevent import monkey
from gevent.event import AsyncResult

from ._workers import WorkerPool

if TYPE_CHECKING:
    from engineio import Config

    from .._limits import HttpLimits

__all__ = ["GeventRuntime"]

log = logging.getLogger(__name__)

_real_get_ident: Callable[[], int] = monkey.get_original("_thread", "get_ident")


class _Timer:
    """A libev timer of the hub's loop, with the :class:`~transports._runtime.Timer` verb."""

    __slots__ = ("_watcher",)

    def __init__(self, watcher: Any) -> None:
        self._watcher = watcher

    def cancel(self) -> None:
        self._watcher.close()


def _drive(coro: Coroutine[Any, Any, Any]) -> None:
    try:
        coro.send(None)
    except StopIteration:
        return
    coro.close()
    log.error("%r awaited an asyncio object on the gevent server: use socketio_core.AsyncServer", coro)


class GeventRuntime:
    """See the module docstring."""

    name = "gevent"

    def __init__(self) -> None:
        #: Handlers run here: each in a greenlet of its own, reused across calls.
        self.workers = WorkerPool()
        self._hub: Any = None
        self._thread: int | None = None
        self.get_ident = _real_get_ident
        #: Until bound: the building thread's hub (see the module docstring).
        self._home: Any = gevent.get_hub()

    def bind(self) -> None:
        self._hub = gevent.get_hub()
        self._thread = _real_get_ident()

    @property
    def loop(self) -> Any:
        return self._hub

    @property
    def thread(self) -> int | None:
        return self._thread

    def call_soon_threadsafe(self, fn: Callable[..., Any], *args: Any) -> None:
        (self._hub or self._home).loop.run_callback_threadsafe(fn, *args)

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> _Timer:
        watcher = gevent.get_hub().loop.timer(max(0.0, delay))
        watcher.start(fn, *args)
        return _Timer(watcher)

    def run_coroutine(self, coro: Coroutine[Any, Any, Any]) -> None:
        self.workers.submit(_drive, coro)

    def waitable(self) -> AsyncResult[Any]:
        return AsyncResult()

    @staticmethod
    def sleep(seconds: float = 0) -> None:
        gevent.sleep(seconds)

    @staticmethod
    def start_background_task(
        target: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], failed: Callable[[], None]
    ) -> Any:
        def run() -> Any:
            try:
                return target(*args, **kwargs)
            except Exception:
                failed()
                return None

        return gevent.spawn(run)

    @staticmethod
    def engine_server(handler: Any, config: Config, **options: Any) -> Any:
        from ._engine import EngineServer

        return EngineServer(handler, config, **options)

    @staticmethod
    def http_server(engine: Any, app: Any, limits: HttpLimits | None) -> Any:
        from ._server import Server

        return Server(engine, app, limits=limits)
