"""``app.wsgi_app`` after ``SocketIO(app)``: Socket.IO requests, the client script, then the app.

Strategy: one WSGI wrapper in front of the Flask app, so whatever serves the
app (our gevent server, gunicorn's gevent worker, gevent's pywsgi, ``flask
run``) also serves Socket.IO at the server's path and the official client
script at ``client_script_url``.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Callable, Iterable

from transports import WsgiApp

from ..echo._app import client_script_path
from ..server import Server

if TYPE_CHECKING:
    from . import SocketIO

__all__ = ["SocketIOMiddleware"]

log = logging.getLogger(__name__)

StartResponse = Callable[..., Any]


class SocketIOMiddleware:
    """``app.wsgi_app`` after ``SocketIO(app)``: Socket.IO, the client script, then the app."""

    def __init__(self, socketio: "SocketIO", server: Server, wsgi_app: Any) -> None:
        self.socketio = socketio
        self.server = server
        self.wsgi_app = wsgi_app
        self.engine_app = WsgiApp(server.engine, limits=server.http_limits)
        self._script: bytes | None = None

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
        server = self.server
        if server.engine.matches(path):
            server.bind_hub()  # the thread serving this request runs the server
            started: list[bool] = []

            def tracking_start_response(*args: Any) -> Any:
                started.append(True)
                return start_response(*args)

            result = self.engine_app(environ, tracking_start_response)
            if not started and "gunicorn.socket" in environ:
                # A WebSocket took the connection over and has ended: gunicorn
                # must not write a response; StopIteration is how its workers
                # are told to just close the connection.
                raise StopIteration()
            return result
        script_url = self.socketio.client_script_url
        if script_url and path == script_url and environ.get("REQUEST_METHOD") in ("GET", "HEAD"):
            script = self._client_script()
            if script is not None:
                start_response("200 OK", [
                    ("Content-Type", "application/javascript; charset=utf-8"),
                    ("Content-Length", str(len(script))),
                    ("Cache-Control", "max-age=3600"),
                ])
                return [] if environ["REQUEST_METHOD"] == "HEAD" else [script]
        return self.wsgi_app(environ, start_response)  # type: ignore[no-any-return]

    def _client_script(self) -> bytes | None:
        if self._script is None:
            path = client_script_path()
            if path is None:
                log.warning("socket.io.min.js not found: run `make npm` to install the client")
                return None
            self._script = path.read_bytes()
        return self._script
