"""socket.io-client's test support server, on our public API.

usage: python sio_support_server.py [PORT] [gevent|asyncio]   (default 3210, where the suite looks)

Written from reading what the suite's support server (test/support/server.ts
of packages/socket.io-client) does, not from its code: a Socket.IO server
with a 2 s ping interval and connection state recovery, whose
``allow_request`` waits 10 ms before accepting (the suite's connection
timeout tests count on a slow handshake); namespaces /foo, /timeout_socket,
/valid, /asd, /abc (which sends the client its handshake) and /no (refused
by a middleware); the main namespace refuses a client whose query has
``fail`` and answers the suite's events (echo, acks, dates, UTF-8,
binary in every shape, the handshake, the socket id). The "ack" event is
left unanswered on purpose: its handler takes the ``ack`` and never calls
it, as the suite's retry test expects.
"""

from __future__ import annotations

import logging
import sys
import time
from datetime import datetime, timezone
from typing import Any

from socketio_core import Ack, AsyncServer, ConnectionRefusedError, Handshake, Server
from transports import HttpRequest


def js_date() -> str:
    """What ``JSON.stringify(new Date())`` gives: ISO 8601 in UTC, milliseconds, ``Z``."""
    now = datetime.now(timezone.utc)
    return now.strftime("%Y-%m-%dT%H:%M:%S.") + f"{now.microsecond // 1000:03d}Z"


def handshake_json(handshake: Handshake) -> dict[str, Any]:
    """The handshake as a Node server's ``socket.handshake`` serializes."""
    return {
        "headers": handshake.headers,
        "time": datetime.fromtimestamp(handshake.issued, timezone.utc).strftime("%a %b %d %Y %H:%M:%S GMT+0000"),
        "address": handshake.address,
        "xdomain": "origin" in handshake.headers,
        "secure": handshake.secure,
        "issued": int(handshake.issued * 1000),
        "url": handshake.url,
        "query": handshake.query,
        "auth": handshake.auth,
    }


def allow_request(request: HttpRequest) -> bool:
    import gevent

    gevent.sleep(0.01)  # a slow handshake, for the client's connection timeout tests
    return True


def allow_request_blocking(request: HttpRequest) -> bool:
    """The asyncio driver calls the hook on its loop: the 10 ms hold the whole loop."""
    time.sleep(0.01)
    return True


def build(driver: str = "gevent") -> Server:
    """The server; on ``asyncio`` an AsyncServer with the same (plain) handlers."""
    if driver == "asyncio":
        sio: Server = AsyncServer(ping_interval=2, connection_state_recovery=True,
                                  allow_request=allow_request_blocking)
    else:
        sio = Server(ping_interval=2, connection_state_recovery=True, allow_request=allow_request)
    handshakes: dict[str, Handshake] = {}
    #: Per socket: which of the ordered binary messages arrived so far.
    seen: dict[str, set[str]] = {}

    # ----------------------------------------------------- other namespaces

    sio.on("getId", lambda sid: sid, namespace="/foo")
    for name in ("/timeout_socket", "/valid", "/asd"):
        sio.on("connect", lambda sid: None, namespace=name)

    @sio.on("connect", namespace="/abc")
    def abc_connect(sid: str, environ: Handshake) -> None:
        sio.emit("handshake", handshake_json(environ), to=sid, namespace="/abc")

    def refuse_all(sid: str, handshake: Handshake) -> None:
        raise ConnectionRefusedError("Auth failed (custom namespace)")

    sio.use(refuse_all, namespace="/no")

    # --------------------------------------------------- the main namespace

    def refuse_fail(sid: str, handshake: Handshake) -> None:
        if handshake.query.get("fail"):
            raise ConnectionRefusedError("Auth failed (main namespace)")

    sio.use(refuse_fail)

    @sio.on("connect")
    def connect(sid: str, environ: Handshake) -> None:
        handshakes[sid] = environ
        seen[sid] = set()

    @sio.on("disconnect")
    def disconnect(sid: str) -> None:
        handshakes.pop(sid, None)
        seen.pop(sid, None)

    def reply(event: str, *args: Any) -> Any:
        """A handler that emits ``event`` with ``args`` back to its sender."""
        def handler(sid: str, *_: Any) -> None:
            sio.emit(event, *args, to=sid)
        return handler

    sio.on("hi", reply("hi"))
    sio.on("false", reply("false", False))
    sio.on("doge", reply("doge", b"asdfasdf"))
    sio.on("getbin", reply("takebin", b"asdfasdf"))

    @sio.on("echo")
    def echo(sid: str, *args: Any, ack: Ack | None) -> None:
        # Answered through ``ack`` so that a null comes back as [null] (a
        # None return value would be an empty ack, which the client's retry
        # logic reads as an error in the first argument).
        if ack is not None:
            ack(args[0] if args else None)

    @sio.on("ack")
    def ack(sid: str, *args: Any, ack: Ack | None) -> None:
        # The client's ack is never answered (the retry test waits for that).
        def answered(*values: Any) -> None:
            if len(values) == 2 and values[0] == 5 and isinstance(values[1], dict) and values[1].get("test"):
                sio.emit("got it", to=sid)
        sio.emit("ack", to=sid, callback=answered)

    sio.on("getAckDate", lambda sid, *args: js_date())
    sio.on("getDate", lambda sid, *args: sio.emit("takeDate", js_date(), to=sid))
    sio.on("getDateObj", lambda sid, *args: sio.emit("takeDateObj", {"date": js_date()}, to=sid))

    @sio.on("getUtf8")
    def get_utf8(sid: str, *args: Any) -> None:
        for text in ("てすと", "Я Б Г Д Ж Й", "Ä ä Ü ü ß", "utf8 — string", "utf8 — string"):
            sio.emit("takeUtf8", text, to=sid)

    def mixed_ok(a: Any) -> bool:
        return (
            isinstance(a, dict) and a.get("hello") == "lol"
            and isinstance(a.get("message"), bytes) and a.get("goodbye") == "gotcha"
        )

    @sio.on("buffa")
    def buffa(sid: str, a: Any = None) -> None:
        if isinstance(a, bytes):
            sio.emit("buffack", to=sid)

    @sio.on("jsonbuff")
    def jsonbuff(sid: str, a: Any = None) -> None:
        if mixed_ok(a):
            sio.emit("jsonbuff-ack", to=sid)

    @sio.on("abuff1")
    def abuff1(sid: str, a: Any = None) -> None:
        if isinstance(a, bytes):
            seen.setdefault(sid, set()).add("abuff1")

    @sio.on("abuff2")
    def abuff2(sid: str, a: Any = None) -> None:
        if "abuff1" in seen.get(sid, ()):
            sio.emit("abuff2-ack", to=sid)

    @sio.on("blob")
    def blob(sid: str, a: Any = None) -> None:
        if isinstance(a, bytes):
            sio.emit("back", to=sid)

    @sio.on("jsonblob")
    def jsonblob(sid: str, a: Any = None) -> None:
        if mixed_ok(a):
            sio.emit("jsonblob-ack", to=sid)

    @sio.on("blob1")
    def blob1(sid: str, a: Any = None) -> None:
        if isinstance(a, bytes):
            seen.setdefault(sid, set()).add("blob1")

    @sio.on("blob2")
    def blob2(sid: str, a: Any = None) -> None:
        if "blob1" in seen.get(sid, ()) and a == "second":
            seen[sid].add("blob2")

    @sio.on("blob3")
    def blob3(sid: str, a: Any = None) -> None:
        if isinstance(a, bytes) and {"blob1", "blob2"} <= seen.get(sid, set()):
            sio.emit("blob3-ack", to=sid)

    @sio.on("getHandshake")
    def get_handshake(sid: str, *args: Any) -> Any:
        handshake = handshakes.get(sid)
        return handshake_json(handshake) if handshake is not None else None

    sio.on("getId", lambda sid, *args: sid)
    return sio


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    port = int(sys.argv[1]) if len(sys.argv) > 1 else 3210
    driver = sys.argv[2] if len(sys.argv) > 2 else "gevent"
    sio = build(driver)
    if driver == "asyncio":
        import asyncio

        async def serve() -> None:
            host, bound = await sio.start("127.0.0.1", port)  # type: ignore[misc]
            print(f"listening on http://{host}:{bound}", flush=True)
            http: Any = sio.http_server()
            await http.serve_forever()

        asyncio.run(serve())
        return
    host, bound = sio.start("127.0.0.1", port)
    print(f"listening on http://{host}:{bound}", flush=True)
    sio.http_server().serve_forever()


if __name__ == "__main__":
    main()
