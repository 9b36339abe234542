"""Benchmark peer: python-socketio 5.x's AsyncServer as an ASGI app under uvicorn.

``socketio.AsyncServer(async_mode="asgi")`` wrapped in ``socketio.ASGIApp``, served
by uvicorn with its defaults (pure-Python h11 and wsproto unless httptools or
websockets are installed), logging and access log off. The handlers are
peers/pysio_handlers.py's, shared with pysio_server.py (shared/ECHO_SERVER.md's ``auth`` on
connect, ``echo``, ``echo_ack``, ``join``, ``bcast``). Runs from benchmarks/.venv-peers.

    python pysio_asgi_server.py --port N [--ping-interval MS] [--ping-timeout MS]
"""

from __future__ import annotations

import sys
from typing import Any

import socketio
import uvicorn
from pysio_handlers import peer_args, register


def build(ping_interval_ms: int, ping_timeout_ms: int) -> socketio.ASGIApp:
    sio = socketio.AsyncServer(async_mode="asgi", ping_interval=ping_interval_ms / 1000,
                               ping_timeout=ping_timeout_ms / 1000, cors_allowed_origins="*",
                               logger=False, engineio_logger=False)

    register(sio, is_async=True)
    return socketio.ASGIApp(sio)


def main() -> int:
    args = peer_args()

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            print(f"listening on http://{args.host}:{args.port}", flush=True)

    Server(uvicorn.Config(build(args.ping_interval, args.ping_timeout), host=args.host, port=args.port,
                          log_level="warning", access_log=False, backlog=2048)).run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
