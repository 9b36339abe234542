"""A WSGI gateway on our HTTP server: how ``SocketIO.run`` serves the Flask routes.

The converse of :mod:`._wsgi` (Engine.IO inside someone else's WSGI server):
here a WSGI application runs inside ours, and this module writes its raw
HTTP/1.1 answers, so it lives with the driver that owns the connection.

Strategy: the native :class:`transports.Server` keeps the Engine.IO path for
itself (h11, our WebSocket, the HTTP limits); every other request is handed
to :class:`WsgiGateway`, which builds a PEP 3333 environ from the parsed
request, calls the WSGI application and writes its answer. The request body
is read whole before the call (bounded by ``max_body``, Flask's
``MAX_CONTENT_LENGTH`` when set). The answer is written in one piece when the
application declared its ``Content-Length`` and the body is small; a larger
declared body is streamed as it comes, and a body of unknown length (a
generator: server-sent events, ``stream_with_context``) goes out with chunked
transfer encoding, each chunk as soon as it is produced.
"""

from __future__ import annotations

import io
import logging
import sys
from datetime import datetime
from typing import Any, Callable, Iterable
from urllib.parse import unquote_to_bytes

from .._request import BodyTooLarge, ClientGone, HttpRequest
from ._http import HttpConnection
from .._logtext import peer_text

__all__ = ["DEFAULT_MAX_BODY", "WsgiGateway", "environ_for"]

log = logging.getLogger(__name__)

#: Request bodies above this are answered 413 unless the app sets MAX_CONTENT_LENGTH.
DEFAULT_MAX_BODY = 100 * 1024 * 1024
#: A declared body up to this size is sent with its head in one write.
_BUFFER_LIMIT = 1024 * 1024
#: Hop-by-hop headers are ours to write, never the application's.
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}

WsgiApp = Callable[[dict[str, Any], Callable[..., Any]], Iterable[bytes]]


def environ_for(
    request: HttpRequest,
    *,
    server_address: tuple[str, int],
    body: bytes = b"",
    method: str | None = None,
) -> dict[str, Any]:
    """A PEP 3333 environ for ``request`` (header names with ``_`` are dropped, as gunicorn does)."""
    host, port = server_address
    remote = request.remote_addr or ("", 0)
    environ: dict[str, Any] = {
        "REQUEST_METHOD": method or request.method,
        "SCRIPT_NAME": "",
        # PEP 3333: the URL-decoded path, its bytes seen as latin-1.
        "PATH_INFO": unquote_to_bytes(request.path).decode("latin-1"),
        "QUERY_STRING": request.query_string,
        "RAW_URI": request.target,
        "REQUEST_URI": request.target,
        "SERVER_NAME": host,
        "SERVER_PORT": str(port),
        "SERVER_PROTOCOL": "HTTP/1.1",
        "SERVER_SOFTWARE": "socketio-core",
        "REMOTE_ADDR": remote[0],
        "REMOTE_PORT": str(remote[1]),
        "wsgi.version": (1, 0),
        "wsgi.url_scheme": "https" if request.secure else "http",
        "wsgi.input": io.BytesIO(body),
        "wsgi.input_terminated": True,
        "wsgi.errors": sys.stderr,
        "wsgi.multithread": True,  # greenlets: requests run concurrently
        "wsgi.multiprocess": False,
        "wsgi.run_once": False,
    }
    for name, value in request.header_map.items():
        if "_" in name:
            continue  # HTTP_X_FOO would be ambiguous between x-foo and x_foo
        key = name.upper().replace("-", "_")
        if key in ("CONTENT_TYPE", "CONTENT_LENGTH"):
            environ[key] = value
        else:
            environ["HTTP_" + key] = value
    return environ


class _Response:
    """What ``start_response`` was told, and whether the head is on the wire."""

    __slots__ = ("status", "headers", "head_sent", "pending")

    def __init__(self) -> None:
        self.status: str | None = None
        self.headers: list[tuple[str, str]] = []
        self.head_sent = False
        #: Bytes given to the legacy ``write()`` callable before the head went out.
        self.pending: list[bytes] = []


class WsgiGateway:
    """An :data:`transports.HttpApp` that serves a WSGI application.

    ``server_address`` is what ``SERVER_NAME``/``SERVER_PORT`` say; ``max_body``
    bounds a request body (413 above it); ``access_log`` prints a line per
    request, the way Werkzeug's server does.
    """

    def __init__(
        self,
        app: WsgiApp,
        *,
        server_address: tuple[str, int] = ("127.0.0.1", 5000),
        max_body: int | Callable[[], int] = DEFAULT_MAX_BODY,
        access_log: bool = False,
    ) -> None:
        self.app = app
        self.server_address = server_address
        self.max_body = max_body
        self.access_log = access_log

    def __call__(self, http: HttpConnection, request: HttpRequest) -> bool:
        limit = self.max_body() if callable(self.max_body) else self.max_body
        declared = request.header("content-length") or ""
        if (request.header("expect") or "").lower() == "100-continue" and not (
            declared.isdigit() and int(declared) > limit
        ):
            http.write_raw(b"HTTP/1.1 100 Continue\r\n\r\n")  # the client waits for it to send the body
        try:
            body = http.read_body(request, limit)
        except BodyTooLarge:
            http.respond(413, [("Content-Type", "text/plain")], b"Payload Too Large", close=True)
            self._log(request, 413)
            return False
        environ = environ_for(request, server_address=self.server_address, body=body)
        # Only HTTP/1.1 heads skip h11 (the fast path); h11 knows the others' version.
        version = getattr(getattr(http, "h11", None), "their_http_version", None) or b"1.1"
        keep_alive = http.keep_alive
        response = _Response()

        def write(data: bytes) -> None:
            if response.head_sent:
                http.write_raw(data)
            else:
                response.pending.append(bytes(data))

        def start_response(
            status: str, headers: list[tuple[str, str]], exc_info: Any = None
        ) -> Callable[[bytes], None]:
            if exc_info is not None:
                try:
                    if response.head_sent:
                        raise exc_info[1].with_traceback(exc_info[2])
                finally:
                    exc_info = None
            elif response.status is not None:
                raise AssertionError("start_response called twice without exc_info")
            response.status = status
            response.headers = list(headers)
            return write

        result = self.app(environ, start_response)
        try:
            keep = self._send(http, request, response, result, keep_alive, version)
        except ClientGone:
            raise
        except Exception:
            if not response.head_sent:
                raise  # the server answers 500
            # The head is out: a 500 can no longer be sent, only the connection cut.
            log.exception("error while sending %s %s", peer_text(request.method), peer_text(request.target))
            keep = False
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        self._log(request, int((response.status or "500").split(" ", 1)[0]))
        return keep

    def _send(
        self,
        http: HttpConnection,
        request: HttpRequest,
        response: _Response,
        result: Iterable[bytes],
        keep_alive: bool,
        version: bytes,
    ) -> bool:
        chunks = iter(result)
        # The application may call start_response lazily, with its first chunk.
        first = b""
        for first in chunks:
            if first:
                break
        if response.status is None:
            raise RuntimeError("the WSGI application did not call start_response")
        declared: int | None = None
        headers: list[tuple[str, str]] = []
        for name, value in response.headers:
            lower = name.lower()
            if lower == "content-length" and value.strip().isdigit():
                declared = int(value)
            if lower not in _HOP_BY_HOP:
                headers.append((name, value))
        prefix = b"".join(response.pending) + first
        status = response.status
        code = int(status.split(" ", 1)[0])
        bodyless = request.method == "HEAD" or code in (204, 304) or code < 200

        if bodyless:
            length = declared if declared is not None else (None if code in (204, 304) else 0)
            http.write_raw(_head(status, headers, length, keep_alive))
            response.head_sent = True
            return keep_alive

        if declared is not None:
            body = bytearray(prefix)
            for chunk in chunks:
                body += chunk
                if len(body) > _BUFFER_LIMIT:
                    # Large: the head and what we have, then the rest as it comes.
                    http.write_raw(_head(status, headers, declared, keep_alive) + bytes(body))
                    response.head_sent = True
                    for rest in chunks:
                        if rest:
                            http.write_raw(rest)
                    return keep_alive
            http.write_raw(_head(status, headers, declared, keep_alive) + bytes(body))
            response.head_sent = True
            return keep_alive

        if version != b"1.1":
            # HTTP/1.0 knows no chunked encoding: the body ends with the connection.
            http.write_raw(_head(status, headers, None, False) + prefix)
            response.head_sent = True
            for chunk in chunks:
                if chunk:
                    http.write_raw(chunk)
            return False
        headers.append(("Transfer-Encoding", "chunked"))
        http.write_raw(_head(status, headers, None, keep_alive) + _chunk(prefix))
        response.head_sent = True
        for chunk in chunks:
            if chunk:
                http.write_raw(_chunk(chunk))
        http.write_raw(b"0\r\n\r\n")
        return keep_alive

    def _log(self, request: HttpRequest, status: int) -> None:
        if self.access_log:
            address = request.remote_addr[0] if request.remote_addr else "-"
            stamp = datetime.now().strftime("%d/%b/%Y %H:%M:%S")
            print(f'{address} - - [{stamp}] "{request.method} {request.target} HTTP/1.1" {status} -',
                  file=sys.stderr, flush=True)


def _head(status: str, headers: list[tuple[str, str]], length: int | None, keep_alive: bool) -> bytes:
    lines = [f"HTTP/1.1 {status}\r\n"]
    lines.extend(f"{name}: {value}\r\n" for name, value in headers)
    if length is not None:
        lines.append(f"Content-Length: {length}\r\n")
    if not keep_alive:
        lines.append("Connection: close\r\n")
    lines.append("\r\n")
    return "".join(lines).encode("latin-1")


def _chunk(data: bytes) -> bytes:
    return b"%x\r\n%s\r\n" % (len(data), data) if data else b""
