"""An in-process Socket.IO echo server and well-behaved raw clients for the hostile suite.

The server runs in a background OS thread with a gevent hub of its own, so the
test thread can use plain blocking sockets and still read ``stats()``. It is
configured for speed: short ping interval and timeouts (an abandoned session
is gone after about ``ping_interval + ping_timeout`` = 1 s), short HTTP
header and request timeouts (slowloris, dribbled bodies), a small
``max_payload`` (oversized input is cheap to send) and a small
``max_buffer_bytes`` (a slow consumer overflows quickly).

Everything the server logs with a traceback, and every exception a greenlet
dies of, is recorded: the suite requires both lists to stay empty. Bad input
must cost the offending connection only, and be logged in one line.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import logging
import socket
import ssl
import struct
import threading
import time
from typing import Any, Callable, TypeVar

from socketio_core import Server
from socketio_core.echo._app import register_echo_handlers
from transports import HttpLimits

from tests.integration import _wsclient
from tests.integration._eio import Eio

__all__ = [
    "PATH",
    "PING_INTERVAL",
    "PING_TIMEOUT",
    "MAX_PAYLOAD",
    "MAX_BUFFER_BYTES",
    "LIMITS",
    "ServerThread",
    "SioWs",
    "frame",
    "raw_connect",
    "read_until_closed",
    "reset",
    "sio_polling_echo",
    "sio_ws_echo",
]

T = TypeVar("T")

PATH = "/socket.io/"
PING_INTERVAL = 0.6
PING_TIMEOUT = 0.4
CONNECT_TIMEOUT = 1.0
UPGRADE_TIMEOUT = 0.5
CLOSE_TIMEOUT = 1.0
MAX_PAYLOAD = 100_000
MAX_BUFFER_BYTES = 1_000_000
LIMITS = HttpLimits(
    header_timeout=0.5,
    keepalive_timeout=1.0,
    body_timeout=1.0,
    request_timeout=2.0,
)
#: Every counter of ``stats()`` that must come back to zero.
ZERO_KEYS = (
    "sessions", "sockets", "rooms", "timers", "buffered_bytes",
    "pending_acks", "busy_workers", "connections",
)


class _TracebackLog(logging.Handler):
    """Collects every server log record that carries an exception."""

    def __init__(self) -> None:
        super().__init__(level=logging.DEBUG)
        self.records: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info:
            self.records.append(self.format(record))


class ServerThread:
    """``socketio_core.Server`` + echo handlers, serving from its own OS thread and hub."""

    def __init__(self, *, start_options: dict[str, Any] | None = None, **server_options: Any) -> None:
        self.options = server_options
        #: Keyword arguments of ``Server.start`` (``certfile``/``keyfile``: TLS).
        self.start_options = start_options or {}
        self.port = 0
        self.disconnects: list[tuple[str, str, str]] = []  # (namespace, sid, reason)
        self.greenlet_errors: list[str] = []
        self.log = _TracebackLog()
        self.sio: Server | None = None
        self._hub: Any = None
        self._stop: Any = None
        self._ready = threading.Event()
        self._failed: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="hostile-server", daemon=True)

    # ------------------------------------------------------------ lifecycle

    def start(self) -> "ServerThread":
        for name in ("transports", "socketio_core", "engineio"):
            logging.getLogger(name).addHandler(self.log)
        self._thread.start()
        if not self._ready.wait(15):
            raise RuntimeError("in-process server did not start")
        if self._failed is not None:
            raise RuntimeError("in-process server failed to start") from self._failed
        return self

    def _run(self) -> None:
        import gevent
        from gevent.event import Event

        try:
            hub = gevent.get_hub()
            original_handle_error = hub.handle_error

            def handle_error(context: Any, type_: Any, value: Any, tb: Any) -> None:
                if type_ is not None and not issubclass(type_, gevent.GreenletExit):
                    self.greenlet_errors.append(f"{context!r}: {type_.__name__}: {value}")
                original_handle_error(context, type_, value, tb)

            hub.handle_error = handle_error  # type: ignore[method-assign,assignment]
            options: dict[str, Any] = dict(
                ping_interval=PING_INTERVAL,
                ping_timeout=PING_TIMEOUT,
                connect_timeout=CONNECT_TIMEOUT,
                upgrade_timeout=UPGRADE_TIMEOUT,
                max_payload=MAX_PAYLOAD,
                http_limits=LIMITS,
                cors_allowed_origins="*",
            )
            options.update(self.options)
            sio = Server(**options)
            # Not constructor options of Server: the slow-consumer bound and how
            # long a closing polling session waits for its close packet.
            sio.engine.config = dataclasses.replace(
                sio.engine.config, max_buffer_bytes=MAX_BUFFER_BYTES, close_timeout=CLOSE_TIMEOUT
            )
            register_echo_handlers(sio)
            for namespace in ("/", "/custom"):
                sio.on("disconnect", self._recorder(namespace), namespace=namespace)
            self.sio = sio
            self._hub = hub
            self._stop = Event()
            _, self.port = sio.start("127.0.0.1", 0, **self.start_options)
        except BaseException as exc:
            self._failed = exc
            self._ready.set()
            return
        self._ready.set()
        self._stop.wait()
        sio.stop()

    def _recorder(self, namespace: str) -> Callable[[str, str], None]:
        def disconnect(sid: str, reason: str) -> None:
            self.disconnects.append((namespace, sid, reason))

        return disconnect

    def stop(self) -> None:
        if self._hub is not None and self._stop is not None:
            self._hub.loop.run_callback_threadsafe(self._stop.set)
        self._thread.join(10)
        for name in ("transports", "socketio_core", "engineio"):
            logging.getLogger(name).removeHandler(self.log)

    # ------------------------------------------------------------- queries

    def call(self, fn: Callable[[], T], timeout: float = 5.0) -> T:
        """Run ``fn`` in the server's hub (between two of its callbacks) and return its result."""
        future: concurrent.futures.Future[T] = concurrent.futures.Future()

        def run() -> None:
            try:
                future.set_result(fn())
            except BaseException as exc:  # handed to the caller
                future.set_exception(exc)

        self._hub.loop.run_callback_threadsafe(run)
        return future.result(timeout)

    def stats(self) -> dict[str, int]:
        assert self.sio is not None
        return self.call(self.sio.stats)

    def wait_idle(self, timeout: float = 6.0) -> dict[str, int]:
        """Poll ``stats()`` until every counter is zero; AssertionError with the last one if not."""
        deadline = time.monotonic() + timeout
        while True:
            stats = self.stats()
            if all(stats[key] == 0 for key in ZERO_KEYS):
                return stats
            if time.monotonic() > deadline:
                raise AssertionError(f"server counters not back to zero after {timeout} s: {stats}")
            time.sleep(0.05)

    def reasons(self) -> list[str]:
        return [reason for _, _, reason in self.disconnects]

    def eio(self) -> Eio:
        return Eio(self.port, PATH)


# ------------------------------------------------------------------ clients


class SioWs:
    """A Socket.IO v5 client over a raw WebSocket that answers pings while it waits."""

    def __init__(
        self, port: int, *, rcvbuf: int | None = None, ssl_context: ssl.SSLContext | None = None
    ) -> None:
        self.ws = _wsclient.connect(port, f"{PATH}?EIO=4&transport=websocket", ssl_context=ssl_context)
        if rcvbuf is not None:
            self.ws.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        first = self.ws.recv()
        assert isinstance(first, str) and first.startswith("0{"), first
        self.open = json.loads(first[1:])

    def send(self, item: str | bytes) -> None:
        self.ws.send(item)

    def recv(self, timeout: float = 5.0) -> str | bytes:
        """The next message that is not a ping (pings are answered)."""
        deadline = time.monotonic() + timeout
        while True:
            message = self.ws.recv(max(0.01, deadline - time.monotonic()))
            if message == "2":
                self.ws.send("3")
                continue
            return message

    def connect(self, namespace: str = "/", auth: str = "") -> str:
        """Join ``namespace``; returns the socket id (the ``auth`` echo is consumed too)."""
        head = "40" if namespace == "/" else f"40{namespace},"
        self.send(head + auth)
        reply = self.recv()
        assert isinstance(reply, str) and reply.startswith(head) and '"sid"' in reply, reply
        hello = self.recv()
        assert isinstance(hello, str) and '["auth",' in hello, hello
        return str(json.loads(reply[len(head):])["sid"])

    def echo(self, text: str, timeout: float = 5.0) -> None:
        packet = "42" + json.dumps(["echo", text], separators=(",", ":"))
        self.send(packet)
        reply = self.recv(timeout)
        assert reply == packet, reply

    def close(self) -> None:
        self.ws.close()

    def __enter__(self) -> "SioWs":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def sio_ws_echo(port: int) -> None:
    """A well-behaved WebSocket client joins ``/``, gets an echo and leaves cleanly."""
    with SioWs(port) as client:
        client.connect()
        client.echo("still alive")
        client.send("41")  # leave the namespace, then close the WebSocket


def sio_polling_echo(port: int) -> None:
    """A well-behaved long-polling client joins ``/``, gets an echo and closes."""
    eio = Eio(port, PATH)
    sid, _ = eio.handshake()
    assert eio.post(sid, "40").body == b"ok"
    _collect(eio, sid, lambda packets: any(p.startswith('42["auth"') for p in packets))
    assert eio.post(sid, '42["echo","poll ok"]').body == b"ok"
    _collect(eio, sid, lambda packets: '42["echo","poll ok"]' in packets)
    assert eio.post(sid, "1").body == b"ok"


def _collect(eio: Eio, sid: str, done: Callable[[list[str]], bool], timeout: float = 5.0) -> None:
    seen: list[str] = []
    deadline = time.monotonic() + timeout
    while not done(seen):
        assert time.monotonic() < deadline, seen
        resp = eio.poll(sid, timeout=timeout)
        assert resp.status == 200, (resp.status, resp.body, seen)
        packets = resp.body.decode().split("\x1e")
        if "2" in packets:
            assert eio.post(sid, "3").body == b"ok"
        seen.extend(packets)


# --------------------------------------------------------------- raw bytes


def frame(
    opcode: int,
    payload: bytes,
    *,
    fin: bool = True,
    masked: bool = True,
    rsv: int = 0,
    length: int | None = None,
) -> bytes:
    """A hand-built client WebSocket frame; ``length`` overrides the declared length."""
    n = len(payload) if length is None else length
    head = bytes([(0x80 if fin else 0) | (rsv << 4) | opcode])
    mask_bit = 0x80 if masked else 0
    if n < 126:
        head += bytes([mask_bit | n])
    elif n < 65536:
        head += bytes([mask_bit | 126]) + struct.pack("!H", n)
    else:
        head += bytes([mask_bit | 127]) + struct.pack("!Q", n)
    if not masked:
        return head + payload
    key = b"\x11\x22\x33\x44"
    masked_payload = (
        int.from_bytes(payload, "little")
        ^ int.from_bytes((key * (len(payload) // 4 + 1))[: len(payload)], "little")
    ).to_bytes(len(payload), "little")
    return head + key + masked_payload


def reset(sock: socket.socket) -> None:
    """Close with a TCP RST instead of a FIN (SO_LINGER 0): an abrupt client."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    except OSError:
        pass
    sock.close()


def raw_connect(port: int, timeout: float = 5.0) -> socket.socket:
    return socket.create_connection(("127.0.0.1", port), timeout=timeout)


def read_until_closed(sock: socket.socket, timeout: float = 5.0) -> bytes:
    """Everything the server writes until it closes; TimeoutError if it does not."""
    chunks: list[bytes] = []
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError(f"connection still open after {timeout} s")
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except socket.timeout:
            continue
        except (ConnectionResetError, BrokenPipeError):
            break
        if not chunk:
            break
        chunks.append(chunk)
    return b"".join(chunks)
