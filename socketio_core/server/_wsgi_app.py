"""python-socketio's ``socketio.WSGIApp(sio, app, static_files=..., socketio_path=...)``.

The same WSGI application as :meth:`Server.wsgi_app` (Socket.IO at its path,
``wsgi_app`` elsewhere), spelled the way python-socketio applications build
it, plus python-socketio's ``static_files`` (a small static file map for the
page that loads the client).

It serves under ``gevent.pywsgi.WSGIServer(address, app)`` and under
``WSGIServer(..., handler_class=geventwebsocket.handler.WebSocketHandler)``:
that handler answers every WebSocket upgrade itself before calling the
application, so the driver is told the handshake is done (it takes over the
socket and skips its own 101; see :mod:`transports.gevent._wsgi`). Either
way the WebSocket is read and written by this project's WebSocket code.
"""

from __future__ import annotations

import mimetypes
import os
from typing import TYPE_CHECKING, Any, Callable, Iterable

if TYPE_CHECKING:
    from ._server import Server

__all__ = ["WSGIApp"]

StartResponse = Callable[..., Any]
WsgiCallable = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


class WSGIApp:
    """Socket.IO at ``/<socketio_path>/``, ``static_files`` and ``wsgi_app`` elsewhere.

    ``static_files`` maps URL paths to files or folders, as python-socketio's:
    ``{"/": "index.html", "/static": "./public", "/x": {"filename": "x.txt",
    "content_type": "text/plain"}}``. A path ending in ``/`` also matches its
    ``index.html`` (python-socketio's default). Unmatched requests go to
    ``wsgi_app`` (404 without one).
    """

    def __init__(
        self,
        socketio_app: "Server",
        wsgi_app: WsgiCallable | None = None,
        static_files: dict[str, Any] | None = None,
        socketio_path: str = "socket.io",
    ) -> None:
        self.server = socketio_app
        self.wsgi_app = wsgi_app
        self.static_files = dict(static_files or {})
        socketio_app.engine.path = "/" + socketio_path.strip("/") + "/"
        self._app = socketio_app.wsgi_app(self._other)

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        return self._app(environ, start_response)  # type: ignore[no-any-return]

    def _other(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        if self.static_files:
            found = self._static(environ.get("PATH_INFO", "/") or "/")
            if found is not None:
                filename, content_type = found
                try:
                    with open(filename, "rb") as f:
                        body = f.read()
                except OSError:
                    pass
                else:
                    start_response("200 OK", [("Content-Type", content_type),
                                              ("Content-Length", str(len(body)))])
                    return [body]
        if self.wsgi_app is not None:
            return self.wsgi_app(environ, start_response)
        start_response("404 Not Found", [("Content-Type", "text/plain")])
        return [b"Not Found"]

    def _static(self, path: str) -> tuple[str, str] | None:
        """The file and content type ``static_files`` gives ``path`` (longest prefix wins)."""
        if path.endswith("/"):
            path += "index.html"
        for prefix in sorted(self.static_files, key=len, reverse=True):
            spec = self.static_files[prefix]
            options = spec if isinstance(spec, dict) else {"filename": spec}
            filename = str(options["filename"])
            if path == prefix or (prefix == "/" and path == "/index.html"):
                pass
            elif path.startswith(prefix.rstrip("/") + "/") and os.path.isdir(filename):
                rest = path[len(prefix.rstrip("/")) + 1:]
                if ".." in rest.split("/"):
                    return None
                filename = os.path.join(filename, rest)
            else:
                continue
            if os.path.isdir(filename):
                filename = os.path.join(filename, "index.html")
            content_type = options.get("content_type") or mimetypes.guess_type(filename)[0]
            return filename, content_type or "application/octet-stream"
        return None
