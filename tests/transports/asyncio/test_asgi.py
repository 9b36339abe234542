"""AsgiApp driven in memory (no ASGI server, no socket): scopes and messages as a server sends them."""

from __future__ import annotations

import asyncio
import json
from typing import Any

from engineio import Config
from transports import HttpLimits
from transports.asyncio import AsgiApp, EngineServer

from ._harness import TurnCountingEcho

PATH = "/engine.io/"


class Peer:
    """One ASGI connection: what the app receives, queued; what it sends, recorded."""

    def __init__(self, *incoming: dict[str, Any]) -> None:
        self.incoming: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        for message in incoming:
            self.incoming.put_nowait(message)
        self.sent: list[dict[str, Any]] = []
        self.sent_event = asyncio.Event()
        self.receives = 0

    async def receive(self) -> dict[str, Any]:
        self.receives += 1
        return await self.incoming.get()

    async def send(self, message: dict[str, Any]) -> None:
        self.sent.append(message)
        self.sent_event.set()

    async def next_sent(self, kind: str) -> dict[str, Any]:
        """The first message of type ``kind`` the app sent (waiting for it)."""
        while True:
            for message in self.sent:
                if message["type"] == kind:
                    self.sent.remove(message)
                    return message
            self.sent_event.clear()
            await asyncio.wait_for(self.sent_event.wait(), 5)


def http_scope(method: str, query: str, headers: list[tuple[bytes, bytes]] | None = None,
               path: str = PATH) -> dict[str, Any]:
    return {
        "type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": method,
        "scheme": "http", "path": path, "raw_path": path.encode(), "query_string": query.encode(),
        "headers": [(b"host", b"x")] + (headers or []), "client": ("127.0.0.1", 5555),
    }


def ws_scope(query: str, extensions: dict[str, Any] | None = None) -> dict[str, Any]:
    scope = http_scope("GET", query)
    scope["type"] = "websocket"
    scope["scheme"] = "ws"
    if extensions is not None:
        scope["extensions"] = extensions
    return scope


def make_app(**options: Any) -> tuple[AsgiApp, TurnCountingEcho]:
    handler = TurnCountingEcho()
    config = Config(ping_interval=20, ping_timeout=20, max_payload=1000)
    return AsgiApp(EngineServer(handler, config), **options), handler


async def request(app: AsgiApp, scope: dict[str, Any], body: bytes = b"") -> tuple[int, dict[bytes, bytes], bytes]:
    peer = Peer({"type": "http.request", "body": body, "more_body": False})
    await app(scope, peer.receive, peer.send)
    start = await peer.next_sent("http.response.start")
    body_message = await peer.next_sent("http.response.body")
    return start["status"], dict(start["headers"]), body_message["body"]


async def handshake(app: AsgiApp) -> str:
    status, _, body = await request(app, http_scope("GET", "EIO=4&transport=polling"))
    assert status == 200 and body[:1] == b"0"
    return str(json.loads(body[1:])["sid"])


def test_polling_round_trip() -> None:
    async def main() -> None:
        app, handler = make_app()
        sid = await handshake(app)
        query = f"EIO=4&transport=polling&sid={sid}"
        status, _, body = await request(app, http_scope("POST", query), b"4hello\x1e4world")
        assert (status, body) == (200, b"ok")
        status, headers, body = await request(app, http_scope("GET", query))
        assert (status, body) == (200, b"4hello\x1e4world")
        assert headers[b"content-type"].startswith(b"text/plain")
        assert handler.messages == 2
        app.engine.close_all()

    asyncio.run(main())


def test_a_declared_body_over_max_payload_is_refused_before_reading_it() -> None:
    async def main() -> None:
        app, _ = make_app()
        sid = await handshake(app)
        scope = http_scope("POST", f"EIO=4&transport=polling&sid={sid}",
                           [(b"content-length", b"5000")])
        peer = Peer()  # nothing to receive: reading the body would hang the test
        await asyncio.wait_for(app(scope, peer.receive, peer.send), 5)
        start = await peer.next_sent("http.response.start")
        assert start["status"] == 413 and peer.receives == 0
        app.engine.close_all()

    asyncio.run(main())


def test_a_streamed_body_over_max_payload_is_refused_once_it_passes() -> None:
    async def main() -> None:
        app, _ = make_app()
        sid = await handshake(app)
        scope = http_scope("POST", f"EIO=4&transport=polling&sid={sid}")
        chunk = {"type": "http.request", "body": b"4" + b"a" * 599, "more_body": True}
        peer = Peer(chunk, chunk)  # the third chunk never comes: 413 after the second
        await asyncio.wait_for(app(scope, peer.receive, peer.send), 5)
        start = await peer.next_sent("http.response.start")
        assert start["status"] == 413 and peer.receives == 2
        app.engine.close_all()

    asyncio.run(main())


def test_too_many_header_fields_are_refused_431() -> None:
    async def main() -> None:
        app, _ = make_app(limits=HttpLimits(max_header_count=5))
        headers = [(b"x-%d" % i, b"v") for i in range(10)]
        status, _, _ = await request(app, http_scope("GET", "EIO=4&transport=polling", headers))
        assert status == 431

    asyncio.run(main())


def test_other_paths_go_to_the_other_app_or_404() -> None:
    async def main() -> None:
        seen: list[str] = []

        async def other(scope: dict[str, Any], receive: Any, send: Any) -> None:
            seen.append(scope["type"])
            await send({"type": "http.response.start", "status": 200, "headers": []})
            await send({"type": "http.response.body", "body": b"other"})

        app, _ = make_app(other_app=other)
        assert (await request(app, http_scope("GET", "", path="/page")))[2] == b"other"
        assert seen == ["http"]
        bare, _ = make_app()
        assert (await request(bare, http_scope("GET", "", path="/page")))[0] == 404

    asyncio.run(main())


def test_lifespan_is_answered_without_another_app() -> None:
    async def main() -> None:
        app, _ = make_app()
        peer = Peer({"type": "lifespan.startup"}, {"type": "lifespan.shutdown"})
        await asyncio.wait_for(app({"type": "lifespan"}, peer.receive, peer.send), 5)
        assert [m["type"] for m in peer.sent] == [
            "lifespan.startup.complete", "lifespan.shutdown.complete"
        ]

    asyncio.run(main())


def test_lifespan_is_passed_through_and_sessions_close_before_the_other_app_hears() -> None:
    async def main() -> None:
        app, _ = make_app()
        heard: list[tuple[str, list[bool]]] = []

        async def other(scope: dict[str, Any], receive: Any, send: Any) -> None:
            while True:
                message = await receive()
                heard.append((message["type"], [e.closed for e in app.engine.sessions.values()]))
                await send({"type": message["type"] + ".complete"})
                if message["type"] == "lifespan.shutdown":
                    return

        app.other_app = other
        await handshake(app)
        peer = Peer({"type": "lifespan.startup"}, {"type": "lifespan.shutdown"})
        await asyncio.wait_for(app({"type": "lifespan"}, peer.receive, peer.send), 5)
        # Closing: its close packet waits for the client's next poll (or the close timeout).
        assert heard == [("lifespan.startup", [False]), ("lifespan.shutdown", [True])]

    asyncio.run(main())


def test_websocket_session_echoes_and_closes() -> None:
    async def main() -> None:
        app, handler = make_app()
        peer = Peer({"type": "websocket.connect"})
        task = asyncio.ensure_future(app(ws_scope("EIO=4&transport=websocket"), peer.receive, peer.send))
        await peer.next_sent("websocket.accept")
        opened = await peer.next_sent("websocket.send")
        assert opened["text"][:1] == "0"
        peer.incoming.put_nowait({"type": "websocket.receive", "text": "4hi"})
        peer.incoming.put_nowait({"type": "websocket.receive", "bytes": b"\x01\x02"})
        assert (await peer.next_sent("websocket.send"))["text"] == "4hi"
        assert (await peer.next_sent("websocket.send"))["bytes"] == b"\x01\x02"
        peer.incoming.put_nowait({"type": "websocket.disconnect", "code": 1000})
        await asyncio.wait_for(task, 5)
        assert [reason for _, reason in handler.closed] == ["transport close"]
        assert not app.engine.sessions

    asyncio.run(main())


def test_websocket_message_over_max_payload_closes_1009() -> None:
    async def main() -> None:
        app, handler = make_app()
        peer = Peer({"type": "websocket.connect"})
        task = asyncio.ensure_future(app(ws_scope("EIO=4&transport=websocket"), peer.receive, peer.send))
        await peer.next_sent("websocket.send")  # the OPEN packet
        peer.incoming.put_nowait({"type": "websocket.receive", "text": "4" + "x" * 2000})
        close = await peer.next_sent("websocket.close")
        assert close["code"] == 1009
        peer.incoming.put_nowait({"type": "websocket.disconnect", "code": 1009})
        await asyncio.wait_for(task, 5)
        assert handler.messages == 0

    asyncio.run(main())


def test_websocket_refusal_uses_the_http_response_extension_when_offered() -> None:
    async def main() -> None:
        app, _ = make_app()
        peer = Peer({"type": "websocket.connect"})
        scope = ws_scope("EIO=5&transport=websocket", {"websocket.http.response": {}})
        await asyncio.wait_for(app(scope, peer.receive, peer.send), 5)
        start = await peer.next_sent("websocket.http.response.start")
        body = await peer.next_sent("websocket.http.response.body")
        assert start["status"] == 400 and body["body"] == b"Unsupported protocol version"
        plain = Peer({"type": "websocket.connect"})
        await asyncio.wait_for(app(ws_scope("EIO=5&transport=websocket"), plain.receive, plain.send), 5)
        assert [m["type"] for m in plain.sent] == ["websocket.close"]

    asyncio.run(main())
