"""The standalone echo server (contract: shared/ECHO_SERVER.md).

``python -m socketio_core.echo`` or ``socketio-echo``. By default it speaks
Socket.IO with the handlers the conformance suite and the interop tests use;
``--engineio-only`` serves a bare Engine.IO echo at ``/engine.io/``.
"""

from __future__ import annotations

import argparse
import logging
import sys
from typing import TYPE_CHECKING, Any, Sequence

from engineio import Config

if TYPE_CHECKING:
    from transports import Server

__all__ = ["main", "build_parser", "EngineEcho"]

log = logging.getLogger(__name__)


class EngineEcho:
    """Bare Engine.IO echo: every message goes straight back to its sender."""

    def engineio_session_opened(self, socket: Any) -> None:
        log.info("connect %s (%s)", socket.sid, socket.transport)

    def engineio_message(self, socket: Any, data: str | bytes) -> None:
        socket.send(data)

    def engineio_session_closed(self, socket: Any, reason: str) -> None:
        log.info("disconnect %s (%s)", socket.sid, reason)


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="socketio-echo", description=__doc__.splitlines()[0])
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=5000)
    p.add_argument("--path", default=None, help="default /socket.io/ (/engine.io/ with --engineio-only)")
    p.add_argument("--ping-interval", type=int, default=25000, metavar="MS")
    p.add_argument("--ping-timeout", type=int, default=20000, metavar="MS")
    p.add_argument("--max-payload", type=int, default=1_000_000, metavar="BYTES")
    p.add_argument("--connect-timeout", type=int, default=45000, metavar="MS")
    p.add_argument("--cors-allowed-origins", nargs="*", default=None, metavar="ORIGIN")
    p.add_argument("--transports", nargs="+", default=["polling", "websocket"],
                   choices=["polling", "websocket"])
    p.add_argument("--log-level", default="info")
    p.add_argument("--engineio-only", action="store_true")
    p.add_argument("--message-queue", default=None, metavar="redis://HOST:PORT/DB",
                   help="act as one with every server on this Redis (either --driver, mixed)")
    p.add_argument("--allow-eio3", action="store_true",
                   help="also serve Engine.IO v3 / Socket.IO v2 clients")
    p.add_argument("--connection-state-recovery", action="store_true",
                   help="Socket.IO connection state recovery, default window (across servers "
                        "with --message-queue)")
    p.add_argument("--websocket-compression", action="store_true",
                   help="offer permessage-deflate to WebSocket clients")
    p.add_argument("--driver", choices=["gevent", "asyncio"], default="gevent",
                   help="the transport driver (default gevent)")
    p.add_argument("--workers", type=int, default=1, metavar="N",
                   help="serve from N worker processes behind the one port (sticky sessions)")
    return p


def _cors(values: list[str] | None) -> str | list[str] | None:
    if values is None:
        return None
    if "*" in values:
        return "*"
    return values


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    config = Config(
        ping_interval=args.ping_interval / 1000,
        ping_timeout=args.ping_timeout / 1000,
        max_payload=args.max_payload,
        transports=tuple(args.transports),
        allow_eio3=args.allow_eio3,
    )
    if args.driver == "asyncio":
        if args.workers > 1:
            print("socketio-echo: --workers runs the gevent driver only", file=sys.stderr)
            return 2
        if not args.engineio_only:
            from ._app import serve_socketio_asyncio

            return serve_socketio_asyncio(args, config, _cors(args.cors_allowed_origins))
        import asyncio

        return asyncio.run(_serve_engineio_asyncio(args, config))
    from transports import EngineServer, Server

    sio = None
    if args.engineio_only:
        engine = EngineServer(EngineEcho(), config, **_engine_options(args))
        server = Server(engine)
    else:
        from ._app import build_socketio_echo, demo_app, message_queue_adapter

        sio = build_socketio_echo(args, config, _cors(args.cors_allowed_origins),
                                  adapter=message_queue_adapter(args))
        server = sio.http_server(demo_app)
    if args.workers > 1:
        return _serve_workers(args, server, sio)
    host, port = server.start(args.host, args.port)
    print(f"listening on http://{host}:{port}", flush=True)
    server.serve_forever()
    if sio is not None:
        sio.adapter.close()
    return 0


def _engine_options(args: argparse.Namespace) -> dict[str, Any]:
    """The Engine.IO echo's EngineServer options (either driver's)."""
    return {
        "path": args.path or "/engine.io/",
        "cors_allowed_origins": _cors(args.cors_allowed_origins),
        "websocket_compression": args.websocket_compression,
    }


async def _serve_engineio_asyncio(args: argparse.Namespace, config: Config) -> int:
    """``--engineio-only --driver asyncio``: the Engine.IO echo on our asyncio server."""
    from transports.asyncio import EngineServer, HttpServer

    server = HttpServer(EngineServer(EngineEcho(), config, **_engine_options(args)))
    host, port = await server.start(args.host, args.port)
    print(f"listening on http://{host}:{port}", flush=True)
    await server.serve_forever()
    return 0


def _serve_workers(args: argparse.Namespace, server: Server, sio: object) -> int:
    """``--workers N``: the same server from N processes (README "Workers")."""
    def listening(address: tuple[str, int]) -> None:
        print(f"listening on http://{address[0]}:{address[1]}", flush=True)

    if sio is None:
        from transports.gevent import serve_workers

        serve_workers(server, args.host, args.port, args.workers, on_listening=listening)
    else:
        from ..cluster import run_workers

        run_workers(sio, args.host, args.port, args.workers, on_listening=listening)  # type: ignore[arg-type]
    return 0


