"""Benchmark peer: python-socketio 5.x on gevent (pywsgi + gevent-websocket).

The fastest pure-Python deployment python-socketio's documentation describes:
``async_mode='gevent'``, gevent's pywsgi server with gevent-websocket's
``WebSocketHandler``, the standard library monkey-patched, logging off (access
log included). The handlers are peers/pysio_handlers.py's (those of our echo server,
shared/ECHO_SERVER.md, that the load generator uses), shared with pysio_asgi_server.py.

Runs from benchmarks/.venv-peers (``make bench-setup``), never from the
project's environment: python-socketio ships its own top-level ``engineio``.
"""

from gevent import monkey

monkey.patch_all()

import sys  # noqa: E402

import socketio  # noqa: E402
from gevent import pywsgi  # noqa: E402
from geventwebsocket.handler import WebSocketHandler  # noqa: E402
from pysio_handlers import peer_args, register  # noqa: E402


def build(ping_interval_ms: int, ping_timeout_ms: int) -> socketio.WSGIApp:
    sio = socketio.Server(
        async_mode="gevent",
        ping_interval=ping_interval_ms / 1000,
        ping_timeout=ping_timeout_ms / 1000,
        cors_allowed_origins="*",
        logger=False,
        engineio_logger=False,
    )

    register(sio, is_async=False)
    return socketio.WSGIApp(sio)


def main() -> int:
    args = peer_args()
    app = build(args.ping_interval, args.ping_timeout)
    server = pywsgi.WSGIServer(
        (args.host, args.port), app, handler_class=WebSocketHandler, log=None, backlog=2048
    )
    server.start()
    print(f"listening on http://{args.host}:{args.port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
