"""The echo server's Socket.IO handlers and demo page (shared/ECHO_SERVER.md)."""

from __future__ import annotations

import argparse
import logging
from pathlib import Path
from typing import Any

from engineio import Config
from transports import HttpConnection, HttpRequest

from ..server import Adapter, AsyncServer, Server

__all__ = ["build_socketio_echo", "register_echo_handlers", "client_script_path", "serve_socketio_asyncio",
           "message_queue_adapter"]

log = logging.getLogger(__name__)

_STATIC = Path(__file__).parent / "static"
_REPO_NODE_MODULES = Path(__file__).parents[2] / "tests" / "interop" / "node_modules"


def client_script_path() -> Path | None:
    """The official browser client, installed from npm (no CDN on these machines)."""
    for candidate in (
        _STATIC / "socket.io.min.js",
        _REPO_NODE_MODULES / "socket.io-client" / "dist" / "socket.io.min.js",
    ):
        if candidate.is_file():
            return candidate
    return None


def register_echo_handlers(sio: Server) -> None:
    for namespace in ("/", "/custom"):
        _register_echo_namespace(sio, namespace)
    _register_demo(sio)


def _register_echo_namespace(sio: Server, ns: str) -> None:
    @sio.on("connect", namespace=ns)
    def connect(sid: str, environ: Any, auth: dict[str, Any]) -> None:
        log.info("connect %s to %s", sid, ns)
        sio.emit("auth", auth, to=sid, namespace=ns)

    @sio.on("disconnect", namespace=ns)
    def disconnect(sid: str, reason: str) -> None:
        log.info("disconnect %s from %s (%s)", sid, ns, reason)

    @sio.on("message", namespace=ns)
    def message(sid: str, *args: Any) -> None:
        sio.emit("message-back", *args, to=sid, namespace=ns)

    @sio.on("message-with-ack", namespace=ns)
    def message_with_ack(sid: str, *args: Any) -> tuple[Any, ...]:
        return args

    @sio.on("echo", namespace=ns)
    def echo(sid: str, *args: Any) -> None:
        sio.emit("echo", *args, to=sid, namespace=ns)

    @sio.on("echo_ack", namespace=ns)
    def echo_ack(sid: str, *args: Any) -> tuple[Any, ...]:
        return args

    @sio.on("bcast", namespace=ns)
    def bcast(sid: str, *args: Any) -> None:
        room = args[0].get("room") if args and isinstance(args[0], dict) else None
        sio.emit("bcast", *args, to=room, namespace=ns)

    @sio.on("join", namespace=ns)
    def join(sid: str, room: str) -> str:
        sio.enter_room(sid, room, namespace=ns)
        return room

    @sio.on("leave", namespace=ns)
    def leave(sid: str, room: str) -> bool:
        sio.leave_room(sid, room, namespace=ns)
        return True

    @sio.on("to_room", namespace=ns)
    def to_room(sid: str, room: str, *args: Any) -> None:
        sio.emit("room_msg", *args, to=room, namespace=ns)

    if isinstance(sio, AsyncServer):
        @sio.on("call_me", namespace=ns)
        async def call_me_async(sid: str, x: Any = None) -> Any:
            try:
                return await sio.call("ping_client", x, to=sid, namespace=ns, timeout=30)
            except TimeoutError:
                return None
    else:
        @sio.on("call_me", namespace=ns)
        def call_me(sid: str, x: Any = None) -> Any:
            try:
                return sio.call("ping_client", x, to=sid, namespace=ns, timeout=30)
            except TimeoutError:
                return None

    @sio.on("disconnect_me", namespace=ns)
    def disconnect_me(sid: str, *args: Any) -> None:
        sio.disconnect(sid, namespace=ns)


def _register_demo(sio: Server) -> None:
    ns = "/demo"

    @sio.on("connect", namespace=ns)
    def connect(sid: str) -> None:
        log.info("connect %s to %s", sid, ns)
        sio.emit("my response", {"data": "Connected"}, to=sid, namespace=ns)

    @sio.on("disconnect", namespace=ns)
    def disconnect(sid: str, reason: str) -> None:
        log.info("disconnect %s from %s (%s)", sid, ns, reason)

    @sio.on("my event", namespace=ns)
    def my_event(sid: str, message: dict[str, Any]) -> None:
        sio.emit("my response", {"data": message.get("data")}, to=sid, namespace=ns)

    @sio.on("my broadcast event", namespace=ns)
    def my_broadcast_event(sid: str, message: dict[str, Any]) -> None:
        sio.emit("my response", {"data": message.get("data")}, namespace=ns)


def demo_answer(request: HttpRequest) -> tuple[int, list[tuple[str, str]], bytes]:
    """``/`` is the demo page, ``/socket.io.min.js`` the official client; else 404 (either driver)."""
    if request.method not in ("GET", "HEAD"):
        return 405, [("Content-Type", "text/plain"), ("Allow", "GET, HEAD")], b"Method Not Allowed"
    if request.path == "/":
        return 200, [("Content-Type", "text/html; charset=utf-8")], (_STATIC / "demo.html").read_bytes()
    if request.path == "/socket.io.min.js":
        script = client_script_path()
        if script is not None:
            return 200, [("Content-Type", "application/javascript; charset=utf-8"),
                         ("Cache-Control", "max-age=3600")], script.read_bytes()
        log.debug("socket.io.min.js requested but missing (see the warning at start)")
    return 404, [("Content-Type", "text/plain")], b"Not Found"


def demo_app(http: HttpConnection, request: HttpRequest) -> bool:
    """The gevent server's app for the paths outside Socket.IO's: :func:`demo_answer`."""
    http.discard_body()
    http.respond(*demo_answer(request))
    return True


async def demo_app_asyncio(ex: Any, request: HttpRequest) -> bool:
    """The asyncio server's app for the paths outside Socket.IO's: :func:`demo_answer`."""
    status, headers, body = demo_answer(request)
    await ex.respond(status, headers, body, close=request.method not in ("GET", "HEAD"))
    return True


def message_queue_adapter(args: argparse.Namespace) -> Adapter | None:
    """``--message-queue URL``: the Redis adapter that joins this server to the
    others on that Redis (either driver, mixed at will); None without it."""
    if not args.message_queue:
        return None
    from ..redis import RedisAdapter

    return RedisAdapter(args.message_queue)


def build_socketio_echo(
    args: argparse.Namespace, config: Config, cors: Any, adapter: Adapter | None = None,
    driver: str = "gevent",
) -> Server:
    """The echo's Socket.IO server (not yet serving): ``sio.http_server(demo_app)`` serves it.

    The adapter (Redis with ``--message-queue``) is given at construction, so
    the recovery log of ``--connection-state-recovery`` is the adapter's (kept
    in Redis: any server of the group recovers any client). ``driver="asyncio"``
    builds an :class:`AsyncServer` (served by :func:`serve_asyncio`).
    """
    sio = (AsyncServer if driver == "asyncio" else Server)(
        path=args.path or "/socket.io/",
        ping_interval=config.ping_interval,
        ping_timeout=config.ping_timeout,
        max_payload=config.max_payload,
        transports=config.transports,
        connect_timeout=args.connect_timeout / 1000,
        cors_allowed_origins=cors,
        allow_eio3=config.allow_eio3,
        adapter=adapter,
        connection_state_recovery=args.connection_state_recovery,
        websocket_compression=args.websocket_compression,
    )
    register_echo_handlers(sio)
    if driver != "asyncio":
        sio.bind_hub()  # AsyncServer binds the loop that serves it
    if client_script_path() is None:
        # Said once at start, where whoever started the server looks, rather
        # than only later beside a 404 the browser hides.
        log.warning(
            "the demo page's client script socket.io.min.js is missing: `make npm` installs it "
            "(a wheel built with `make wheel` contains it); the page at / will not connect"
        )
    return sio


def serve_socketio_asyncio(args: argparse.Namespace, config: Config, cors: Any) -> int:
    """``socketio-echo --driver asyncio``: the Socket.IO echo on the asyncio driver
    (uvloop when installed) until SIGINT/SIGTERM; with ``--message-queue`` it joins
    the other servers on that Redis, whichever driver they run."""
    import asyncio

    from transports.asyncio._runtime import new_event_loop

    sio = build_socketio_echo(args, config, cors, adapter=message_queue_adapter(args), driver="asyncio")
    assert isinstance(sio, AsyncServer)

    async def serve() -> None:
        address = await sio.start(args.host, args.port, app=demo_app_asyncio)
        print(f"listening on http://{address[0]}:{address[1]}", flush=True)
        http: Any = sio.http_server()
        await http.serve_forever()  # until SIGINT/SIGTERM; it closes every session properly
        sio.adapter.close()

    loop = new_event_loop()
    try:
        loop.run_until_complete(serve())
    finally:
        loop.close()
    return 0
