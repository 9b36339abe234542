"""python-socketio's names and options, translated once at construction.

An application written for python-socketio's gevent mode runs here with
``import socketio`` changed to ``import socketio_core as socketio``. What its
``Server(...)`` call says is translated here, before anything is built:

- ``async_mode``: only gevent (this server's one driver); any other mode is
  refused with a message saying what to use instead (:func:`check_async_mode`);
- ``logger`` / ``engineio_logger``: True, False or a :class:`logging.Logger`
  (:func:`server_logger`, :func:`engineio_logger`);
- ``max_http_buffer_size`` is our ``max_payload``; ``ping_interval=(interval,
  grace)`` adds the grace to ``ping_timeout`` (:func:`ping_options`);
- ``client_manager`` is our ``adapter``: ``RedisManager`` and
  ``AsyncRedisManager`` are the one Redis adapter (it serves both drivers);
  Kombu, Kafka, ZeroMQ and AioPika managers are refused when constructed
  (:class:`Unsupported`). ``AsyncServer``, ``AsyncNamespace`` and ``ASGIApp``
  are real: :mod:`._async_server`.

The names that exist only for python-socketio code (``KombuManager``,
``RedisManager``...) are defined here and exported from the
package root; the README's "Coming from python-socketio" section lists them.
"""

from __future__ import annotations

import logging
from typing import Any

__all__ = [
    "check_async_mode",
    "ForwardRecords",
    "server_logger",
    "engineio_logger",
    "ping_options",
    "Unsupported",
    "UNSUPPORTED_NAMES",
    "CLIENT_NAMES",
    "CLIENT_ADVICE",
    "RedisManager",
    "AsyncRedisManager",
    "SERVER_LOGGER",
    "ENGINEIO_LOGGER",
]

#: Where the Socket.IO server logs by default (python-socketio: ``socketio.server``).
SERVER_LOGGER = "socketio_core.server"
#: Where the Engine.IO layer (HTTP, polling, WebSocket) logs (python-engineio: ``engineio.server``).
ENGINEIO_LOGGER = "transports"

_SERVE = (
    "serve with sio.run(host, port), or socketio_core.WSGIApp(sio, app) under "
    "gevent.pywsgi.WSGIServer or gunicorn -k gevent"
)

_MODES = {
    "threading": (
        "socketio-core runs on gevent only; leave async_mode out (or say 'gevent'): handlers run "
        "in greenlets, and emit/call from plain OS threads work without monkey-patching; " + _SERVE
    ),
    "eventlet": "socketio-core runs on gevent only; use async_mode='gevent' (pip install gevent); " + _SERVE,
}
_ASYNCIO_MODES = ("asgi", "aiohttp", "sanic", "tornado")


def check_async_mode(mode: str | None, driver: str = "gevent") -> None:
    """Accept ``None`` and the driver's own mode; refuse the rest.

    ``Server`` (``driver="gevent"``) takes ``"gevent"``; ``AsyncServer``
    (``"asyncio"``) takes ``"asgi"`` and ``"asyncio"``. Raises ValueError
    naming what to use instead.
    """
    if driver == "asyncio":
        if mode in (None, "asgi", "asyncio"):
            return
        raise ValueError(
            f"async_mode={mode!r} is not supported by AsyncServer: leave it out (or say 'asgi'); "
            "serve with sio.asgi_app() under any ASGI server, or await sio.serve(host, port)"
        )
    if mode in (None, "gevent"):
        return
    if mode in _MODES:
        raise ValueError(f"async_mode={mode!r} is not supported: {_MODES[mode]}")
    if mode in _ASYNCIO_MODES:
        raise ValueError(
            f"async_mode={mode!r} is not supported by Server (gevent): use socketio_core.AsyncServer "
            f"for asyncio, or socketio_core.Server(async_mode='gevent') and {_SERVE}"
        )
    raise ValueError(f"async_mode={mode!r} is not supported: use async_mode='gevent' (or AsyncServer)")


def _configure(option: bool | logging.Logger | None, name: str) -> logging.Logger:
    """python-socketio's rule: a Logger is used as given; True logs INFO to stderr.

    ``True`` sets the default logger's level to INFO when it has none, and
    adds a stderr handler when no handler would see its lines (the
    application configured no logging). ``False`` and ``None`` leave logging
    as the application set it (warnings still reach stderr through Python's
    last-resort handler, as before).
    """
    if isinstance(option, logging.Logger):
        return option
    logger = logging.getLogger(name)
    if option is True:
        if logger.level == logging.NOTSET:
            logger.setLevel(logging.INFO)
        if not logger.hasHandlers():
            logger.addHandler(logging.StreamHandler())
    return logger


def server_logger(option: bool | logging.Logger | None) -> logging.Logger:
    """The logger of a Server's own lines (connects, events, emits, handler errors)."""
    return _configure(option, SERVER_LOGGER)


class ForwardRecords(logging.Handler):
    """Hands one logger's records to another logger's handlers (python-socketio's
    ``logger=``/``engineio_logger=`` given as a Logger object); the Flask
    integration forwards its loggers through it too."""

    def __init__(self, target: logging.Logger) -> None:
        super().__init__()
        self.target = target

    def emit(self, record: logging.LogRecord) -> None:
        if self.target.isEnabledFor(record.levelno):
            self.target.handle(record)


def engineio_logger(option: bool | logging.Logger | None) -> None:
    """Apply ``engineio_logger=``: the Engine.IO layer's lines (``transports.*`` loggers).

    A Logger given here receives those lines (they stop propagating to the
    root, so nothing is printed twice); True logs them at INFO to stderr.
    """
    if isinstance(option, logging.Logger):
        source = logging.getLogger(ENGINEIO_LOGGER)
        if not any(isinstance(h, ForwardRecords) and h.target is option for h in source.handlers):
            source.addHandler(ForwardRecords(option))
        source.setLevel(option.getEffectiveLevel())
        source.propagate = False
        return
    _configure(option, ENGINEIO_LOGGER)


def ping_options(ping_interval: Any, ping_timeout: float) -> tuple[float, float]:
    """``ping_interval`` may be python-engineio's ``(interval, grace)``: the grace goes to the timeout."""
    if isinstance(ping_interval, (tuple, list)):
        if len(ping_interval) != 2:
            raise ValueError("ping_interval is a number of seconds or (interval, grace period)")
        interval, grace = ping_interval
        return float(interval), float(ping_timeout) + float(grace)
    return float(ping_interval), float(ping_timeout)


class Unsupported:
    """A python-socketio class socketio-core does not provide: constructing it says what to use."""

    advice = ""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        raise NotImplementedError(f"{type(self).__name__} is not supported by socketio-core: {self.advice}")


_MANAGER_ADVICE = (
    "socketio-core's multi-process adapter is Redis: Server(client_manager="
    "socketio_core.RedisManager('redis://...')) or Server(adapter=socketio_core.redis_adapter."
    "RedisAdapter('redis://...')); external processes emit with socketio_core.emitter.Emitter(url)"
)
_ASYNC_ADVICE = (
    "socketio-core's multi-process adapter is Redis, on asyncio too: AsyncServer(client_manager="
    "socketio_core.AsyncRedisManager('redis://...')) or AsyncServer(adapter=socketio_core."
    "redis_adapter.RedisAdapter('redis://...'))"
)
_CLIENT_ADVICE = (
    "socketio-core is a server; run python-socketio's client from a virtualenv of its own "
    "(its engineio package and ours cannot share one)"
)


class KombuManager(Unsupported):
    advice = _MANAGER_ADVICE


class KafkaManager(Unsupported):
    advice = _MANAGER_ADVICE


class ZmqManager(Unsupported):
    advice = _MANAGER_ADVICE


class AsyncAioPikaManager(Unsupported):
    advice = _ASYNC_ADVICE


UNSUPPORTED_NAMES = {
    cls.__name__: cls
    for cls in (KombuManager, KafkaManager, ZmqManager, AsyncAioPikaManager)
}

#: python-socketio's clients: not provided, and not defined (``socketio_core.Client``
#: raises AttributeError with this advice; our ``Client`` is a server-side class).
CLIENT_NAMES = frozenset({"Client", "SimpleClient", "AsyncClient", "AsyncSimpleClient"})
CLIENT_ADVICE = _CLIENT_ADVICE


def RedisManager(  # noqa: N802 - python-socketio's class name, a factory here
    url: str = "redis://localhost:6379/0",
    channel: str = "socketio",
    write_only: bool = False,
    logger: Any = None,
    redis_options: dict[str, Any] | None = None,
) -> Any:
    """python-socketio's ``RedisManager(url)``: our :class:`RedisAdapter` on that Redis.

    Pass it as ``Server(client_manager=...)``. Servers join when they use the
    same Redis and ``channel``; the wire format is ours (python-socketio
    servers on the same Redis do not see these messages). ``write_only``
    (an emitter for external processes) is :class:`socketio_core.emitter.Emitter`.
    """
    if write_only:
        raise NotImplementedError(
            "RedisManager(write_only=True) is socketio_core.emitter.Emitter(url) in socketio-core: "
            "Emitter(url).to(room).emit(event, data)"
        )
    from ..redis_adapter import RedisAdapter

    return RedisAdapter(url, channel_prefix=channel, redis_options=redis_options)


def AsyncRedisManager(  # noqa: N802 - python-socketio's class name, a factory here
    url: str = "redis://localhost:6379/0",
    channel: str = "socketio",
    write_only: bool = False,
    logger: Any = None,
    redis_options: dict[str, Any] | None = None,
) -> Any:
    """python-socketio's ``AsyncRedisManager(url)`` for ``AsyncServer(client_manager=...)``:
    the same adapter as :func:`RedisManager` (its Redis I/O runs on threads of its own,
    under either driver), so gevent and asyncio servers may share one channel."""
    return RedisManager(url, channel, write_only, logger, redis_options)
