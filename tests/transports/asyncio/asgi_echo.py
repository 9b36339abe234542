"""The Engine.IO echo as an ASGI app under a real ASGI server, for the tests.

``python tests/transports/asyncio/asgi_echo.py --server uvicorn --port N [echo options]``
serves :class:`transports.asyncio.AsgiApp` around the echo's EngineServer
(the same options as ``socketio-echo --engineio-only``) under uvicorn or
hypercorn, and prints ``listening on ...`` once it accepts connections, as
the echo server does. ``app`` is the same application for ``uvicorn
tests.transports.asyncio.asgi_echo:app`` (default options).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[3]))

from engineio import Config  # noqa: E402
from socketio_core.echo import EngineEcho, _cors, build_parser  # noqa: E402
from transports.asyncio import AsgiApp, EngineServer  # noqa: E402


def build_app(argv: list[str]) -> tuple[AsgiApp, Any]:
    parser = build_parser()
    parser.add_argument("--server", choices=["uvicorn", "hypercorn"], default="uvicorn")
    args = parser.parse_args(argv)
    config = Config(
        ping_interval=args.ping_interval / 1000,
        ping_timeout=args.ping_timeout / 1000,
        max_payload=args.max_payload,
        transports=tuple(args.transports),
        allow_eio3=args.allow_eio3,
    )
    engine = EngineServer(
        EngineEcho(), config, path=args.path or "/engine.io/",
        cors_allowed_origins=_cors(args.cors_allowed_origins),
        websocket_compression=args.websocket_compression,
    )
    return AsgiApp(engine), args


app, _ = build_app([])


def main(argv: list[str]) -> None:
    asgi, args = build_app(argv)
    logging.basicConfig(
        level=args.log_level.upper(), format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if args.server == "uvicorn":
        import uvicorn

        class Server(uvicorn.Server):
            async def startup(self, sockets: Any = None) -> None:
                await super().startup(sockets)
                print(f"listening on http://{args.host}:{args.port}", flush=True)

        config = uvicorn.Config(
            asgi, host=args.host, port=args.port, log_level="warning", ws="wsproto",
            ws_max_size=args.max_payload * 2 + 1024, lifespan="on",
            ws_per_message_deflate=args.websocket_compression,
        )
        Server(config).run()
        return
    from hypercorn.asyncio import serve
    from hypercorn.config import Config as HConfig

    # Bound here, so that "listening on" is true when printed (hypercorn binds
    # only after its lifespan startup); it takes the socket by descriptor.
    listener = socket.create_server((args.host, args.port), backlog=1024)
    hconfig = HConfig()
    hconfig.bind = [f"fd://{listener.fileno()}"]
    hconfig.websocket_max_message_size = args.max_payload * 2 + 1024

    async def run() -> None:
        print(f"listening on http://{args.host}:{args.port}", flush=True)
        await serve(asgi, hconfig)  # type: ignore[arg-type]

    asyncio.run(run())


if __name__ == "__main__":
    main(sys.argv[1:])
