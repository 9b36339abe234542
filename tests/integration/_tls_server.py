"""The echo handlers served over TLS: ``python _tls_server.py PORT CERTFILE KEYFILE``."""

import sys

import gevent

from socketio_core import Server
from socketio_core.echo._app import register_echo_handlers


def main() -> None:
    port, certfile, keyfile = int(sys.argv[1]), sys.argv[2], sys.argv[3]
    sio = Server(cors_allowed_origins="*")
    register_echo_handlers(sio)
    sio.start("127.0.0.1", port, certfile=certfile, keyfile=keyfile)
    print(f"listening on https://127.0.0.1:{port}", flush=True)
    gevent.wait()


if __name__ == "__main__":
    main()
