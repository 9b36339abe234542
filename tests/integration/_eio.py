"""Raw Engine.IO-over-HTTP helpers for the integration tests.

Every request goes out on its own ``http.client`` connection (or a raw socket
where the test needs bytes http.client would not send), so the tests see the
status, headers and body exactly as the server wrote them. The servers are the
real echo server (``python -m socketio_core.echo --engineio-only``) on 127.0.0.1.
"""

from __future__ import annotations

import http.client
import json
import socket
import sys
import threading
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any, Iterator

import pytest

from tests.conftest import ROOT, EchoServer, ServerProcess, free_port

from . import _wsclient

__all__ = [
    "Response",
    "Eio",
    "running_server",
    "Background",
    "split_payload",
    "raw_exchange",
    "DRIVERS",
    "start_echo",
    "skip_under_asgi",
]

#: The servers the Engine.IO integration tests run against (the ``eio_driver``
#: fixture of tests/integration/conftest.py): the gevent driver, the asyncio
#: driver's own HttpServer, and its AsgiApp under uvicorn.
DRIVERS = ["gevent", "asyncio", "uvicorn", "hypercorn"]
_ASGI_ECHO = ROOT / "tests" / "transports" / "asyncio" / "asgi_echo.py"

PATH = "/engine.io/"


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


class Eio:
    """Requests against one server's Engine.IO path."""

    def __init__(self, port: int, path: str = PATH) -> None:
        self.port = port
        self.path = path

    def url(self, query: str) -> str:
        return f"{self.path}?{query}" if query else self.path

    def request(
        self,
        method: str,
        query: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        *,
        timeout: float = 10.0,
        target: str | None = None,
    ) -> Response:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        try:
            conn.request(method, target or self.url(query), body=body, headers=headers or {})
            resp = conn.getresponse()
            data = resp.read()
            hdrs = {k.lower(): v for k, v in resp.getheaders()}
            return Response(resp.status, hdrs, data)
        finally:
            conn.close()

    def handshake(self, headers: dict[str, str] | None = None) -> tuple[str, dict[str, Any]]:
        """Open a polling session; returns (sid, open packet JSON)."""
        resp = self.request("GET", "EIO=4&transport=polling", headers=headers)
        assert resp.status == 200, resp
        assert resp.body[:1] == b"0", resp.body
        info = json.loads(resp.body[1:])
        return info["sid"], info

    def poll(self, sid: str, headers: dict[str, str] | None = None, timeout: float = 10.0) -> Response:
        return self.request("GET", f"EIO=4&transport=polling&sid={sid}", headers=headers,
                            timeout=timeout)

    def post(self, sid: str, body: bytes | str, headers: dict[str, str] | None = None) -> Response:
        data = body.encode() if isinstance(body, str) else body
        hdrs = {"Content-Type": "text/plain;charset=UTF-8", **(headers or {})}
        return self.request("POST", f"EIO=4&transport=polling&sid={sid}", data, hdrs)

    def ws(self, query: str = "EIO=4&transport=websocket",
           headers: list[tuple[str, str]] | None = None) -> _wsclient.WsClient:
        return _wsclient.connect(self.port, self.url(query), headers=headers)

    def ws_session(self) -> tuple[_wsclient.WsClient, dict[str, Any]]:
        """A WebSocket-only session; returns the client and its open packet JSON."""
        client = self.ws()
        first = client.recv()
        assert isinstance(first, str) and first[:1] == "0", first
        return client, json.loads(first[1:])

    def alive(self) -> bool:
        """A brand-new client can still open a session and get an echo."""
        sid, _ = self.handshake()
        if self.post(sid, "4still-alive").body != b"ok":
            return False
        ok = self.poll(sid).body == b"4still-alive"
        self.post(sid, "1")
        return ok


def split_payload(body: bytes) -> list[str]:
    return body.decode("utf-8").split("\x1e")


class Background:
    """Run a blocking call in a thread (a long-poll that must be pending)."""

    def __init__(self, fn: Any, *args: Any, **kwargs: Any) -> None:
        self.result: Any = None
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, args=(fn, args, kwargs), daemon=True)
        self._thread.start()

    def _run(self, fn: Any, args: Any, kwargs: Any) -> None:
        try:
            self.result = fn(*args, **kwargs)
        except BaseException as exc:  # handed to the test by join()
            self.error = exc

    def join(self, timeout: float = 10.0) -> Any:
        self._thread.join(timeout)
        assert not self._thread.is_alive(), "background request still running"
        if self.error is not None:
            raise self.error
        return self.result


def raw_exchange(port: int, data: bytes, *, timeout: float = 5.0, half_close: bool = False) -> bytes:
    """Send raw bytes, return everything the server writes until it closes the connection.

    Raises TimeoutError when the server keeps the connection open past ``timeout``.
    """
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        sock.sendall(data)
        if half_close:
            sock.shutdown(socket.SHUT_WR)
        chunks = []
        try:
            while True:
                chunk = sock.recv(65536)
                if not chunk:
                    break
                chunks.append(chunk)
        except socket.timeout:
            raise TimeoutError(f"connection still open after {timeout} s") from None
        except ConnectionResetError:
            pass
        return b"".join(chunks)


def skip_under_asgi(driver: str, why: str) -> None:
    """Skip a test of what an ASGI server does itself (framing, shutdown), not our AsgiApp."""
    if driver not in ("gevent", "asyncio"):
        pytest.skip(f"under {driver}: {why}")


def start_echo(driver: str, *args: str) -> ServerProcess:
    """The Engine.IO echo on ``driver`` (one of :data:`DRIVERS`) with extra CLI arguments."""
    port = free_port()
    if driver == "gevent":
        return EchoServer(["--engineio-only", *args], port)
    if driver == "asyncio":
        return EchoServer(["--engineio-only", "--driver", "asyncio", *args], port)
    return ServerProcess(
        [sys.executable, str(_ASGI_ECHO), "--server", driver, "--engineio-only",
         "--port", str(port), *args],
        port,
    )


@contextmanager
def running_server(*args: str, driver: str = "gevent") -> Iterator[ServerProcess]:
    """The echo server in Engine.IO-only mode with extra CLI arguments."""
    server = start_echo(driver, *args)
    try:
        yield server
    finally:
        output = server.stop()
    # Bad input must be answered and logged in one line, never crash a handler.
    assert "Traceback" not in output, output[-4000:]
