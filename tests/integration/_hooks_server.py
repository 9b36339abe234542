"""A server using the request hooks (allow_request, initial_headers, headers).

usage: python _hooks_server.py PORT

``allow_request`` waits 50 ms (a gevent sleep, as a lookup elsewhere would),
refuses a handshake whose query has ``deny`` (403 Forbidden), ``deny_msg``
(403 with a message) or ``deny_status`` (401 with a message).
"""

from __future__ import annotations

import logging
import sys
from typing import Any

import gevent

from socketio_core import Server
from transports import HttpRequest


def allow_request(request: HttpRequest) -> Any:
    gevent.sleep(0.05)
    query = request.query
    if "deny" in query:
        return False
    if "deny_msg" in query:
        return "not you"
    if "deny_status" in query:
        return (401, "who are you")
    return True


def initial_headers(headers: dict[str, Any], request: HttpRequest) -> None:
    headers["Set-Cookie"] = ["a=1; Path=/", "b=2; Path=/"]


def every_headers(headers: dict[str, Any], request: HttpRequest) -> None:
    headers["X-Every"] = "yes"


sio = Server(allow_request=allow_request, initial_headers=initial_headers, headers=every_headers)
sio.on("connect", lambda sid: None)


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    host, port = sio.start("127.0.0.1", int(sys.argv[1]))
    print(f"listening on http://{host}:{port}", flush=True)
    sio.http_server().serve_forever()


if __name__ == "__main__":
    main()
