"""``socketio.run(app)``: the Flask app and Socket.IO on our gevent server, with the reloader.

Strategy: one function with Flask-SocketIO's keywords. Those that mean
something here are used (``ssl_context=(cert, key)`` is the same TLS as
``certfile``/``keyfile``); the Werkzeug-only ones Flask-SocketIO passes
through (``allow_unsafe_werkzeug``, ``use_debugger`` ...) are accepted and
have no effect, since there is no Werkzeug server here; any other keyword
is a TypeError naming it, so that an option the app relies on (TLS above
all) is never silently dropped.
"""

from __future__ import annotations

import logging
import sys
from typing import TYPE_CHECKING, Any, Iterable

import flask

from transports.gevent import DEFAULT_MAX_BODY, WsgiGateway

from . import _reloader as reloader

if TYPE_CHECKING:
    from . import SocketIO

__all__ = ["run"]

#: Werkzeug's ``run_simple`` options Flask-SocketIO forwards: meaningless on gevent, accepted.
WERKZEUG_ONLY = frozenset({
    "allow_unsafe_werkzeug", "use_debugger", "use_evalex", "threaded", "processes",
    "passthrough_errors", "request_handler", "static_files", "exclude_patterns", "reloader_type",
    "reloader_interval",
})


def _tls(certfile: str | None, keyfile: str | None, ssl_context: Any) -> tuple[str | None, str | None]:
    if ssl_context is None:
        return certfile, keyfile
    if certfile or keyfile:
        raise TypeError("socketio.run(): pass ssl_context= or certfile=/keyfile=, not both")
    if isinstance(ssl_context, (tuple, list)) and len(ssl_context) == 2:
        return str(ssl_context[0]), str(ssl_context[1])
    raise TypeError(
        f"socketio.run(): ssl_context={ssl_context!r} is not supported: "
        "pass ssl_context=(certfile, keyfile) or certfile=/keyfile="
    )


def run(
    socketio: "SocketIO",
    app: flask.Flask | None = None,
    host: str | None = None,
    port: int | None = None,
    *,
    debug: bool | None = None,
    use_reloader: bool | None = None,
    reloader_options: dict[str, Any] | None = None,
    extra_files: Iterable[str] | None = None,
    log_output: bool | None = None,
    certfile: str | None = None,
    keyfile: str | None = None,
    ssl_context: Any = None,
    workers: int = 1,
    **kwargs: Any,
) -> None:
    """See :meth:`socketio_core.flask.SocketIO.run`; ``workers=N``: README "Workers"."""
    unknown = sorted(set(kwargs) - WERKZEUG_ONLY)
    if unknown:
        raise TypeError(
            f"socketio.run() got unexpected keyword argument(s) {', '.join(map(repr, unknown))}: "
            "it takes debug, use_reloader, reloader_options, extra_files, log_output, "
            "certfile, keyfile, ssl_context=(cert, key)"
        )
    certfile, keyfile = _tls(certfile, keyfile, ssl_context)
    app = app or socketio.app
    if app is None:
        raise RuntimeError("socketio.run() needs the Flask app")
    if socketio.app is not app or socketio.server is None:
        socketio.init_app(app)
    server = socketio._server()
    if host is None:
        host = "127.0.0.1"
    if port is None:
        server_name = app.config.get("SERVER_NAME")
        port = int(server_name.rsplit(":", 1)[1]) if server_name and ":" in server_name else 5000
    if debug is not None:
        app.debug = debug
    if use_reloader is None:
        use_reloader = app.debug
    if log_output is None:
        log_output = app.debug
    options = dict(reloader_options or {})
    watch = list(extra_files or ()) + list(options.get("extra_files") or ())
    if workers != 1 and use_reloader:
        raise ValueError("socketio.run(): workers=N does not combine with the reloader "
                         "(send SIGHUP to reload the workers)")
    if use_reloader and not reloader.is_child():
        sys.exit(reloader.run_supervisor())
    if app.debug:
        app.jinja_env.auto_reload = True
        logging.getLogger("socketio_core.flask").setLevel(logging.INFO)

    def max_body() -> int:
        configured = app.config.get("MAX_CONTENT_LENGTH")
        return int(configured) if configured else DEFAULT_MAX_BODY

    gateway = WsgiGateway(app, server_address=(host, port), max_body=max_body, access_log=log_output)
    server.http_server(gateway)
    if workers != 1:
        from ..cluster import run_workers

        def listening(address: tuple[str, int]) -> None:
            print(f" * Serving Flask app '{app.name}' with socketio-core (gevent, {workers} workers)",
                  file=sys.stderr)
            print(f" * Running on http://{address[0]}:{address[1]} (CTRL+C to quit)",
                  file=sys.stderr, flush=True)

        run_workers(server, host, port, workers, on_listening=listening,
                    certfile=certfile, keyfile=keyfile)
        return
    address = server.start(host, port, certfile=certfile, keyfile=keyfile)
    gateway.server_address = address
    scheme = "https" if certfile else "http"
    print(f" * Serving Flask app '{app.name}' with socketio-core (gevent)", file=sys.stderr)
    print(f" * Running on {scheme}://{address[0]}:{address[1]} (CTRL+C to quit)",
          file=sys.stderr, flush=True)
    if use_reloader:
        reloader.start_watcher(socketio._reload, extra_files=watch,
                               interval=float(options.get("interval", 1.0)))
    server.http_server().serve_forever()
    if socketio._reload_requested:
        sys.exit(reloader.RELOAD_EXIT_CODE)
