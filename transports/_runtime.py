"""What the Socket.IO server needs of a driver besides its engine: the Runtime seam.

The server's routing code (:mod:`socketio_core.server`) decides everything
once; what differs between gevent and asyncio is only *how* code runs: on
which thread the loop lives, how a callback is handed to it from another
thread, how a timer is armed, how an application handler runs (a worker
greenlet; a task or a plain call on the loop) and what a caller waits on.
That is this Protocol, implemented by ``transports.gevent._runtime`` and
``transports.asyncio._runtime``; the server binds the callables it uses on
hot paths once (``in_loop_thread``, ``call_soon_threadsafe``,
``workers.submit``), so choosing a driver adds no per-message indirection.

This module is socket-free and loop-free (it imports neither gevent nor
asyncio): it only names the shapes.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Coroutine, Protocol

if TYPE_CHECKING:
    from engineio import Config

    from ._limits import HttpLimits

__all__ = ["Runtime", "Timer", "Waitable", "Workers"]


class Timer(Protocol):
    """A callback armed by :meth:`Runtime.call_later`."""

    def cancel(self) -> None:
        """Disarm it (harmless once it ran)."""


class Waitable(Protocol):
    """What a caller waits on for a result another piece of code settles (``call()``).

    The gevent one is waited with ``get()`` in a greenlet, the asyncio one with
    ``await``; both are settled on the loop's thread, at most once (later
    settlements are ignored).
    """

    def set(self, value: Any = None) -> None: ...

    def set_exception(self, exc: BaseException) -> None: ...

    def get(self) -> Any:
        """Block the calling greenlet until settled (gevent; the asyncio one is awaited)."""


class Workers(Protocol):
    """Where application code runs: ``submit(fn, *args)`` runs ``fn`` soon, off the
    caller's stack (gevent: a pooled greenlet; asyncio: on the loop, and a
    coroutine it returns becomes a task). Exceptions are logged, never raised."""

    #: Workers alive (greenlets, or running tasks); ``workers - idle_count`` are busy.
    workers: int

    def submit(self, fn: Callable[..., Any], *args: Any) -> None: ...

    @property
    def idle_count(self) -> int: ...

    @property
    def pending(self) -> int: ...


class Runtime(Protocol):
    """How the server's code runs on one driver; see the module docstring."""

    #: ``"gevent"`` or ``"asyncio"`` (what ``async_mode`` would say).
    name: str

    @property
    def workers(self) -> Workers:
        """Where handlers run (one pool per runtime, per server)."""

    def bind(self) -> None:
        """The calling OS thread's loop (hub) runs the server from now on."""

    @property
    def loop(self) -> Any:
        """The gevent hub or the asyncio loop (None until bound)."""

    @property
    def thread(self) -> int | None:
        """The bound loop's OS thread id (None until bound)."""

    def get_ident(self) -> int:
        """The calling OS thread's id (the real one, under gevent's monkey-patching too)."""

    def call_soon_threadsafe(self, fn: Callable[..., Any], *args: Any) -> None:
        """From any thread: run ``fn(*args)`` soon on the bound loop's thread.

        Before :meth:`bind` (a server built, not yet serving, whose adapter's
        threads already have results): gevent hands it to the hub of the thread
        that built the runtime; asyncio keeps it, in order, for the loop bound next.
        """

    def call_later(self, delay: float, fn: Callable[..., Any], *args: Any) -> Timer:
        """On the loop's thread: run ``fn(*args)`` there after ``delay`` seconds (it must not block)."""

    def run_coroutine(self, coro: Coroutine[Any, Any, Any]) -> None:
        """Run a coroutine of the server's own (a connect, an async handler's end) to its end."""

    def waitable(self) -> Waitable:
        """A fresh :class:`Waitable` for a caller on the loop's thread."""

    def sleep(self, seconds: float) -> Any:
        """python-socketio's ``sio.sleep`` (asyncio: an awaitable)."""

    def start_background_task(
        self, target: Callable[..., Any], args: tuple[Any, ...], kwargs: dict[str, Any], failed: Callable[[], None]
    ) -> Any:
        """Run ``target(*args, **kwargs)`` beside the server; returns its greenlet or task.

        ``failed()`` is called, with the exception being handled, if it raises."""

    def engine_server(self, handler: Any, config: Config, **options: Any) -> Any:
        """This driver's Engine.IO server calling ``handler`` (the Socket.IO server)."""

    def http_server(self, engine: Any, app: Any, limits: HttpLimits | None) -> Any:
        """This driver's HTTP server for ``engine`` (and ``app`` on other paths)."""
