"""Flask-SocketIO's constructor options, translated to :class:`socketio_core.Server`'s.

Strategy: ``SocketIO(**options)`` takes what Flask-SocketIO (and under it
python-socketio and python-engineio) take, so an app switching over keeps
its call. This module splits them into the Flask layer's own
(:data:`FLASK_OPTIONS`), the server's (renamed where the names differ:
``max_http_buffer_size`` is ``max_payload``; ``ping_interval=(interval,
grace)`` adds the grace to ``ping_timeout``, the time the server waits for
an answer) and those accepted for compatibility that change nothing here
(said in one log line when they ask for what we do not do). Loggers given
as objects receive our packages' records.
"""

from __future__ import annotations

import logging
from typing import Any

from ..server import Adapter, ForwardRecords

__all__ = ["FLASK_OPTIONS", "split_options", "use_loggers"]

log = logging.getLogger(__name__)

#: Flask-SocketIO options that are not ``Server`` options.
FLASK_OPTIONS = (
    "manage_session", "client_script_url", "async_mode", "message_queue", "channel",
    "write_only", "logger", "engineio_logger", "always_connect", "namespaces", "async_handlers",
    "client_manager",
)

#: The loggers of this library a ``logger=`` / ``engineio_logger=`` object receives.
SOCKETIO_LOGGERS = ("socketio_core",)
ENGINEIO_LOGGERS = ("engineio", "transports")


def split_options(options: dict[str, Any]) -> tuple[dict[str, Any], dict[str, Any]]:
    """``(server options, flask options)`` from ``SocketIO(**options)``; ``options`` is not changed."""
    server = dict(options)
    flask_options = {name: server.pop(name) for name in FLASK_OPTIONS if name in server}
    if "max_http_buffer_size" in server:
        if "max_payload" in server:
            raise ValueError("pass either max_http_buffer_size= or max_payload=, not both")
        server["max_payload"] = server.pop("max_http_buffer_size")
    interval = server.get("ping_interval")
    if isinstance(interval, (tuple, list)):
        # python-engineio's (interval, grace period): the grace lengthens the wait for the pong.
        if len(interval) != 2:
            raise ValueError("ping_interval must be a number or (interval, grace period)")
        server["ping_interval"] = float(interval[0])
        server["ping_timeout"] = float(server.get("ping_timeout", 20.0)) + float(interval[1])
    if "path" in server:
        server["path"] = "/" + str(server["path"]).strip("/") + "/"
    manager = flask_options.get("client_manager")
    if isinstance(manager, Adapter):
        server.setdefault("adapter", manager)
    return server, flask_options


def _forward(names: tuple[str, ...], target: logging.Logger) -> None:
    """Send the records of the loggers ``names`` to ``target`` (once per pair)."""
    for name in names:
        source = logging.getLogger(name)
        if any(isinstance(h, ForwardRecords) and h.target is target for h in source.handlers):
            continue
        source.addHandler(ForwardRecords(target))
        if source.level == logging.NOTSET or source.level > target.getEffectiveLevel():
            source.setLevel(target.getEffectiveLevel())
        source.propagate = False  # the target's own handlers (and parents) show it once


def use_loggers(logger: Any, engineio_logger: Any) -> None:
    """``logger=`` / ``engineio_logger=``: True for INFO logging, or a Logger to log to."""
    if logger is True or engineio_logger is True:
        logging.basicConfig(level=logging.INFO)
        if logger is True:
            logging.getLogger("socketio_core").setLevel(logging.INFO)
        if engineio_logger is True:
            for name in ENGINEIO_LOGGERS:
                logging.getLogger(name).setLevel(logging.INFO)
    if isinstance(logger, logging.Logger):
        _forward(SOCKETIO_LOGGERS, logger)
    if isinstance(engineio_logger, logging.Logger):
        _forward(ENGINEIO_LOGGERS, engineio_logger)
