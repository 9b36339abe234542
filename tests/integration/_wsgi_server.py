"""A Socket.IO echo server served through gevent's pywsgi and our WSGI adapter.

Run by test_wsgi.py: ``python _wsgi_server.py PORT``. Requests outside
/socket.io/ go to a tiny wrapped WSGI app.
"""

import sys

from gevent import pywsgi

from socketio_core import Server
from socketio_core.echo._app import register_echo_handlers


def wrapped_app(environ, start_response):  # type: ignore[no-untyped-def]
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"wrapped app: " + environ["PATH_INFO"].encode()]


def main() -> None:
    sio = Server(cors_allowed_origins="*")
    register_echo_handlers(sio)
    server = pywsgi.WSGIServer(("127.0.0.1", int(sys.argv[1])), sio.wsgi_app(wrapped_app), log=None)
    server.start()
    print(f"listening on http://127.0.0.1:{sys.argv[1]}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
