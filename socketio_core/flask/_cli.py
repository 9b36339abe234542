"""``flask run`` for apps using :class:`socketio_core.flask.SocketIO` (Flask-SocketIO 4's way).

Strategy: Werkzeug's development server, which Flask's own ``run`` command
starts, serves each request in a plain thread: our server lives on one
gevent hub, so polling fails there (``LoopExit``) and a WebSocket cannot
take the connection over. This package therefore registers a ``run``
command under Flask's ``flask.commands`` entry points (Flask loads those
after its built-in commands, so it takes the name ``run``). It has the
very same options as Flask's: for an app whose ``extensions["socketio"]``
is one of ours, it calls :meth:`SocketIO.run` (our gevent server, the
reloader with ``--reload``/``--debug``, TLS from ``--cert``/``--key``);
for any other app it runs Flask's own command unchanged, so installing
this package changes nothing for them.
"""

from __future__ import annotations

import os
from typing import Any

import click
from flask.cli import ScriptInfo, pass_script_info
from flask.helpers import get_debug_flag
from flask.cli import run_command as flask_run_command

__all__ = ["run"]


@pass_script_info
def _run(info: ScriptInfo, /, **options: Any) -> None:
    from . import SocketIO

    app = info.load_app()
    socketio = app.extensions.get("socketio") if hasattr(app, "extensions") else None
    if not isinstance(socketio, SocketIO):
        # Not a socketio_core app: Flask's command, as if this one did not exist.
        click.get_current_context().invoke(flask_run_command, **options)
        return
    debug = get_debug_flag()
    reload = options.get("reload")
    cert = options.get("cert")
    # Flask's own server says it runs from the CLI this way; app.run() then returns.
    os.environ["FLASK_RUN_FROM_CLI"] = "true"
    socketio.run(
        app,
        host=options.get("host") or "127.0.0.1",
        port=int(options.get("port") or 5000),
        debug=debug,
        use_reloader=debug if reload is None else bool(reload),
        extra_files=options.get("extra_files") or None,
        ssl_context=cert,
    )


#: The ``run`` command: Flask's options and help, our server for Socket.IO apps.
run = click.Command(
    "run",
    callback=_run,
    params=list(flask_run_command.params),
    help=(flask_run_command.help or "Run a development server.")
    + "\n\nApps using socketio_core.flask.SocketIO are served by its gevent server "
    "(Socket.IO over polling and WebSocket), with the reloader when asked.",
    short_help=flask_run_command.short_help,
)
