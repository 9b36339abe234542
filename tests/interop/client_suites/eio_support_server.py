"""engine.io-client's test support server, on our public API.

usage: python eio_support_server.py [PORT] [--driver gevent|asyncio|uvicorn]
(port default 3000, where the suite looks; uvicorn serves the asyncio
driver's AsgiApp)

Written from reading what the suite's support server (test/support/server.js
and hooks.js of packages/engine.io-client) does, not from its code: an
Engine.IO server at /engine.io/ with a 500 ms ping interval and a 100-byte
message limit, that refuses a handshake whose query has ``deny``, sets four
cookies on the handshake response (two of them already expired), greets every
session with "hi" and echoes what it receives, except three commands:
"give binary" (answered with the bytes 0..4), "give utf8" (a Russian
sentence) and "sendHeaders" (the headers of the client's latest request after
the handshake, as JSON). The browser-only static files are left out: the suite
runs in Node here.
"""

from __future__ import annotations

import argparse
import json
import logging
from email.utils import formatdate
from typing import Any

from engineio import Config
from transports import EngineServer, EngineSocket, HttpRequest, RequestHooks, Server

UTF8_TEXT = "пойду спать всем спокойной ночи"


class SupportEngine:
    """The Engine.IO handler: greet, echo, and the three commands."""

    def __init__(self) -> None:
        #: sid -> headers of that session's latest request (polls and posts).
        self.latest_headers: dict[str, dict[str, str]] = {}

    def engineio_session_opened(self, socket: EngineSocket) -> None:
        socket.send("hi")

    def engineio_message(self, socket: EngineSocket, data: str | bytes) -> None:
        if data == "give binary":
            socket.send(bytes(range(5)))
        elif data == "give utf8":
            socket.send(UTF8_TEXT)
        elif data == "sendHeaders":
            socket.send(json.dumps(self.latest_headers.get(socket.sid, {})))
        else:
            socket.send(data)

    def engineio_session_closed(self, socket: EngineSocket, reason: str) -> None:
        self.latest_headers.pop(socket.sid, None)

    # ------------------------------------------------------------- hooks

    def allow_request(self, request: HttpRequest) -> bool:
        return "deny" not in request.query

    def initial_headers(self, headers: dict[str, Any], request: HttpRequest) -> None:
        headers["Set-Cookie"] = [
            "1=1; Max-Age=86400",
            "2=2; Path=/; HttpOnly; Secure; SameSite=Strict",
            "3=3; Max-Age=0",  # expired at once: the client must drop it
            f"4=4; Expires={formatdate(usegmt=True)}",  # expires now: likewise
        ]

    def every_headers(self, headers: dict[str, Any], request: HttpRequest) -> None:
        # The response hook sees every request of a session; what a
        # "sendHeaders" answers is what the client sent after the handshake
        # (Node's server answers with the headers of the POST carrying it;
        # the cookie, the point of the test, is the same on both).
        sid = request.query.get("sid")
        if sid:
            self.latest_headers[sid] = dict(request.header_map)


def _engine(engine_class: Any) -> Any:
    handler = SupportEngine()
    return engine_class(
        handler,
        Config(ping_interval=0.5, max_payload=100),
        path="/engine.io/",
        hooks=RequestHooks(
            allow_request=handler.allow_request,
            initial_headers=handler.initial_headers,
            headers=handler.every_headers,
        ),
    )


def build(port: int) -> Server:
    return Server(_engine(EngineServer))


async def serve_asyncio(port: int) -> None:
    """The same server on the asyncio driver (our own HttpServer)."""
    from transports.asyncio import EngineServer as AsyncEngineServer
    from transports.asyncio import HttpServer

    server = HttpServer(_engine(AsyncEngineServer))
    host, bound = await server.start("127.0.0.1", port)
    print(f"listening on http://{host}:{bound}", flush=True)
    await server.serve_forever()


def serve_uvicorn(port: int) -> None:
    """The same server as an ASGI app (AsgiApp) under uvicorn."""
    import uvicorn

    from transports.asyncio import AsgiApp
    from transports.asyncio import EngineServer as AsyncEngineServer

    class Announcing(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            print(f"listening on http://127.0.0.1:{port}", flush=True)

    app = AsgiApp(_engine(AsyncEngineServer))
    Announcing(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", ws="wsproto")).run()


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    parser = argparse.ArgumentParser()
    parser.add_argument("port", type=int, nargs="?", default=3000)
    parser.add_argument("--driver", choices=["gevent", "asyncio", "uvicorn"], default="gevent")
    options = parser.parse_args()
    port = options.port
    if options.driver == "asyncio":
        import asyncio

        asyncio.run(serve_asyncio(port))
        return
    if options.driver == "uvicorn":
        serve_uvicorn(port)
        return
    server = build(port)
    host, bound = server.start("127.0.0.1", port)
    print(f"listening on http://{host}:{bound}", flush=True)
    server.serve_forever()


if __name__ == "__main__":
    main()
