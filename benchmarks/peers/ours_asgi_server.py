"""Benchmark entry: our echo server's Socket.IO app as an ASGI application under uvicorn.

The same handlers and options as ``socketio-echo --driver asyncio`` (it reuses the
echo's parser and ``build_socketio_echo(..., driver="asyncio")``), served by
``sio.asgi_app()`` under uvicorn with its defaults (its pure-Python h11 and
wsproto protocols unless httptools/websockets are installed), access log off.
Prints ``listening on http://HOST:PORT`` once uvicorn accepts connections.

    python ours_asgi_server.py --port N [--ping-interval MS]   (cwd: the checkout to serve)
"""

from __future__ import annotations

import os
import sys
from typing import Any

sys.path.insert(0, os.getcwd())  # the checkout in the working directory shadows an installed one

import uvicorn  # noqa: E402
from engineio import Config  # noqa: E402
from socketio_core.echo import _cors, build_parser  # noqa: E402
from socketio_core.echo._app import build_socketio_echo  # noqa: E402


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    config = Config(ping_interval=args.ping_interval / 1000, ping_timeout=args.ping_timeout / 1000,
                    max_payload=args.max_payload, transports=tuple(args.transports))
    sio: Any = build_socketio_echo(args, config, _cors(args.cors_allowed_origins), driver="asyncio")
    app = sio.asgi_app()

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            print(f"listening on http://{args.host}:{args.port}", flush=True)

    Server(uvicorn.Config(app, host=args.host, port=args.port, log_level=args.log_level,
                          access_log=False, backlog=2048)).run()
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
