"""The echo server's Socket.IO handlers on a chosen parser, for test_msgpack_interop.py.

``python _msgpack_server.py PORT [msgpack|json|orjson]``: namespaces ``/``,
``/custom`` and ``/demo`` with the handlers of shared/ECHO_SERVER.md (the echo
server itself has no parser option), served with ``Server(parser="msgpack")``
(default), the default JSON parser, or the default parser on orjson. Prints
``listening on ...`` once the port accepts connections.
"""

import logging
import sys

import gevent

from socketio_core import Server
from socketio_core.echo._app import register_echo_handlers


def main() -> None:
    port = int(sys.argv[1])
    which = sys.argv[2] if len(sys.argv) > 2 else "msgpack"
    # As the echo server logs: one line per connect/disconnect, protocol errors.
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    if which == "msgpack":
        sio = Server(cors_allowed_origins="*", parser="msgpack")
    elif which == "orjson":
        sio = Server(cors_allowed_origins="*", json="orjson")
    else:
        sio = Server(cors_allowed_origins="*")
    register_echo_handlers(sio)
    sio.start("127.0.0.1", port)
    print(f"listening on http://127.0.0.1:{port}", flush=True)
    gevent.wait()


if __name__ == "__main__":
    main()
