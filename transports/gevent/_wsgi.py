"""Serving Engine.IO from inside a WSGI server (gunicorn's gevent worker, gevent's pywsgi).

Strategy: a WSGI request is turned into the same :class:`HttpRequest` the
native server parses, and a small :class:`WsgiExchange` stands in for
:class:`HttpConnection`, so the Engine.IO code paths are exactly the native
ones. Long-polling works through plain WSGI (a waiting GET just blocks its
greenlet). A WebSocket takes over the connection's socket from the WSGI
server (``gunicorn.socket``, or the socket under pywsgi's input stream) and
returns without starting a response, so the server writes nothing more.
Requests outside the Engine.IO path go to the wrapped application.

A polling POST's body is read from ``wsgi.input`` under the same bounds as
the native server's: a declared length over ``max_payload`` is refused before
reading, the running size is checked while reading, and the whole body must
arrive within ``HttpLimits.request_timeout`` (408 otherwise): gevent's pywsgi
has no body timeout of its own.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Iterable

import gevent

from ._engine import EngineServer
from .._limits import HttpLimits
from .._request import BodyTooLarge, ClientGone, HttpRequest, status_phrase

__all__ = ["WsgiApp", "WsgiExchange", "request_from_environ"]

log = logging.getLogger(__name__)

_DEFAULT_LIMITS = HttpLimits()

StartResponse = Callable[..., Any]
WsgiCallable = Callable[[dict[str, Any], StartResponse], Iterable[bytes]]


def _handshake_done(environ: dict[str, Any]) -> bool:
    """gevent-websocket's WebSocketHandler already answered the upgrade (its 101 is sent).

    It does so for every upgrade request before calling the application, and
    negotiates no extension; the Engine.IO code then runs as usual on the
    socket, minus its own 101 (:meth:`WsgiExchange.write_raw`).
    """
    return environ.get("wsgi.websocket") is not None


def request_from_environ(environ: dict[str, Any]) -> HttpRequest:
    headers: list[tuple[bytes, bytes]] = []
    upgraded = _handshake_done(environ)
    for key, value in environ.items():
        if upgraded and key == "HTTP_SEC_WEBSOCKET_EXTENSIONS":
            continue  # the handler's 101 accepted none: no permessage-deflate
        if key.startswith("HTTP_"):
            name = key[5:].replace("_", "-").lower()
        elif key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            name = key.replace("_", "-").lower()
        else:
            continue
        if value:
            headers.append((name.encode("latin-1"), str(value).encode("latin-1")))
    path = environ.get("SCRIPT_NAME", "") + environ.get("PATH_INFO", "")
    query = environ.get("QUERY_STRING", "")
    port = environ.get("REMOTE_PORT")
    address = (environ.get("REMOTE_ADDR", ""), int(port) if port and str(port).isdigit() else 0)
    return HttpRequest(
        method=environ.get("REQUEST_METHOD", "GET"),
        target=path + ("?" + query if query else ""),
        path=path,
        query_string=query,
        headers=headers,
        remote_addr=address,
        secure=environ.get("wsgi.url_scheme") == "https",
    )


def _raw_socket(environ: dict[str, Any]) -> Any:
    sock = environ.get("gunicorn.socket")
    if sock is not None:
        return sock
    websocket = environ.get("wsgi.websocket")
    if websocket is not None:  # gevent-websocket's handler: the connection's socket is its own
        return getattr(getattr(websocket, "handler", None), "socket", None)
    stream = environ.get("wsgi.input")
    raw = getattr(stream, "raw", None)  # pywsgi hands the socket's reader on upgrades
    return getattr(raw, "_sock", None)


class WsgiExchange:
    """The subset of :class:`HttpConnection` the Engine.IO code uses, over WSGI."""

    def __init__(self, environ: dict[str, Any], limits: HttpLimits | None = None) -> None:
        self.environ = environ
        self.limits = limits or _DEFAULT_LIMITS
        self.status: int | None = None
        self.headers: list[tuple[str, str]] = []
        self.body = b""
        self.taken_over = False
        # No end-of-connection watching for a waiting poll: the WSGI server
        # owns the socket (and may have buffered from it).
        self.sock: Any = None
        self.h11: Any = None  # the WSGI server parses; nothing is fed back to us
        # The WSGI server closes the socket once we return: a WebSocket is
        # served to its end before that (never handed over to the hub alone).
        self.release: Any = None

    def respond(
        self, status: int, headers: list[tuple[str, str]], body: bytes = b"", *, close: bool = False
    ) -> None:
        self.status = status
        self.headers = list(headers) + [("Content-Length", str(len(body)))]
        self.body = body

    def read_body(self, request: HttpRequest, limit: int) -> bytes:
        """The body from ``wsgi.input``: BodyTooLarge past ``limit``, ClientGone (408) past the deadline."""
        declared = request.header("content-length")
        length = int(declared) if declared is not None and declared.isdigit() else None
        if length is not None and length > limit:
            raise BodyTooLarge()
        stream = self.environ["wsgi.input"]
        chunks: list[bytes] = []
        size = 0
        # Without a length, read one byte past the limit to see it is passed.
        wanted = length if length is not None else limit + 1
        too_slow = ClientGone("request body too slow (request_timeout)", 408)
        with gevent.Timeout(self.limits.request_timeout, too_slow):
            while size < wanted:
                chunk = stream.read(min(65536, wanted - size))
                if not chunk:
                    break
                size += len(chunk)
                if size > limit:
                    raise BodyTooLarge()
                chunks.append(chunk)
        return b"".join(chunks)

    def discard_body(self) -> None:
        pass

    def feed(self, data: bytes) -> None:
        pass  # never called: no end-of-connection watching under WSGI

    def reject_raw(self, status: int) -> None:
        self.respond(status, [("Content-Type", "text/plain")], status_phrase(status))

    def write_raw(self, data: bytes) -> None:
        sock = _raw_socket(self.environ)
        if sock is None:
            raise ClientGone("this WSGI server does not expose its socket")
        first = not self.taken_over
        self.taken_over = True
        self.sock = sock
        if first and _handshake_done(self.environ) and data.startswith(b"HTTP/1.1 101 "):
            return  # gevent-websocket's handler sent its 101 already
        try:
            sock.sendall(data)
        except OSError as exc:
            raise ClientGone(str(exc)) from None

    def take_over(self) -> bytes:
        return b""

    @property
    def keep_alive(self) -> bool:
        return True

    def close(self) -> None:
        pass


class WsgiApp:
    """A WSGI application serving Engine.IO at the engine's path and ``other_app`` elsewhere."""

    def __init__(
        self,
        engine: EngineServer,
        other_app: WsgiCallable | None = None,
        *,
        limits: HttpLimits | None = None,
    ) -> None:
        self.engine = engine
        self.other_app = other_app
        self.limits = limits or _DEFAULT_LIMITS

    def __call__(self, environ: dict[str, Any], start_response: StartResponse) -> Iterable[bytes]:
        request = request_from_environ(environ)
        if not self.engine.matches(request.path):
            if self.other_app is not None:
                return self.other_app(environ, start_response)
            start_response("404 Not Found", [("Content-Type", "text/plain")])
            return [b"Not Found"]
        exchange = WsgiExchange(environ, self.limits)
        if request.wants_websocket and _raw_socket(environ) is None:
            log.warning("WebSocket requested but this WSGI server hides its socket; "
                        "use gunicorn -k gevent or gevent.pywsgi")
            start_response("400 Bad Request", [("Content-Type", "text/plain")])
            return [b"WebSocket not supported by this server"]
        try:
            self.engine.handle(exchange, request)  # type: ignore[arg-type]
        except ClientGone as exc:
            if exc.status is not None and not exchange.taken_over:
                exchange.reject_raw(exc.status)  # a body slower than request_timeout: 408
        if exchange.taken_over or exchange.status is None:
            # The socket was taken over: the WSGI server must write nothing more.
            # gunicorn's worker writes a response unless told to just close,
            # which it is by StopIteration; gevent's pywsgi writes nothing when
            # start_response was never called.
            if "gunicorn.socket" in environ:
                raise StopIteration()
            if exchange.taken_over:
                # pywsgi would go on reading the connection for another request
                # and take what is left of the WebSocket (the client's close
                # frame) for one: a 400 to a closed peer, and a traceback.
                # Closing its reader ends its loop (it checks rfile.closed);
                # on an upgrade request, wsgi.input is that reader itself.
                stream = environ.get("wsgi.input")
                rfile = stream if hasattr(stream, "raw") else getattr(stream, "rfile", None)
                if rfile is not None:
                    rfile.close()
            return []
        start_response(
            f"{exchange.status} {status_phrase(exchange.status).decode()}", exchange.headers
        )
        return [exchange.body]
