"""An ASGI app with Socket.IO under a real ASGI server, for the interop tests.

``python _asgi_serve.py PORT uvicorn|hypercorn [FILE:ATTR]``. Without
``FILE:ATTR``: an :class:`AsyncServer` with the echo's handlers
(socketio_core.echo), mounted with ``sio.asgi_app(app)`` in front of a
Starlette app (``GET /hello`` answers from Starlette, so the tests see the
other app is served too). With it: that file's ASGI app (the FastAPI example).
On uvicorn or hypercorn; the socket is bound before "listening on" is
printed, so clients may connect at once.
"""

from __future__ import annotations

import asyncio
import logging
import runpy
import socket
import sys
from typing import Any

from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from engineio import Config
from socketio_core.echo import build_parser
from socketio_core.echo._app import build_socketio_echo


async def hello(request: object) -> PlainTextResponse:
    return PlainTextResponse("hello from starlette")


def echo() -> Any:
    args = build_parser().parse_args(["--driver", "asyncio"])
    config = Config(ping_interval=25, ping_timeout=20, max_payload=1_000_000)
    sio: Any = build_socketio_echo(args, config, "*", driver="asyncio")
    return sio.asgi_app(Starlette(routes=[Route("/hello", hello)]))


def main() -> None:
    port, server = int(sys.argv[1]), sys.argv[2]
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    app = runpy.run_path(sys.argv[3].split(":")[0])[sys.argv[3].split(":")[1]] if len(sys.argv) > 3 else echo()
    # Made with its protocol named: asyncio sets TCP_NODELAY only on sockets
    # whose ``proto`` is IPPROTO_TCP, and a connection accepted from a
    # ``socket.socket()`` (proto 0) has proto 0 too. Without it every answer
    # whose head and body uvicorn writes apart waited ~40 ms for the client's
    # delayed ACK (Nagle), which no user of uvicorn's own bind sees.
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", port))
    sock.listen(128)
    sock.set_inheritable(True)
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    if server == "uvicorn":
        import uvicorn

        uvicorn.Server(uvicorn.Config(app, log_level="warning", lifespan="on")).run(sockets=[sock])
    else:
        from hypercorn.asyncio import serve
        from hypercorn.config import Config as HypercornConfig

        options = HypercornConfig()
        options.bind = [f"fd://{sock.fileno()}"]
        options.loglevel = "WARNING"
        asyncio.run(serve(app, options))  # type: ignore[arg-type]


if __name__ == "__main__":
    main()
