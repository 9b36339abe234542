"""The HTTP layer over in-memory streams: keep-alive, pipelining, splitting, limits.

No sockets: :class:`MemorySocket` feeds scripted bytes to
``transports.Server.serve_connection`` (or ``HttpConnection`` directly) and
records what the server wrote, so each test chooses exactly how the request
bytes are cut up and when the client goes quiet.
"""

from __future__ import annotations

import json
from typing import Iterator

import gevent
import pytest
from wsproto import ConnectionType, WSConnection
from wsproto.events import AcceptConnection, Request, TextMessage

from engineio import Config
from socketio_core.echo import EngineEcho
from transports import EngineServer, HttpConnection, HttpLimits, HttpRequest, Server

from .._memsock import MemorySocket, parse_responses, request

pytestmark = pytest.mark.timeout(30)

SID = "fixed-sid-for-tests"


def path_app(http: HttpConnection, req: HttpRequest) -> bool:
    """Answers with the method, the target and the body it read."""
    body = http.read_body(req, 1_000_000)
    http.respond(200, [("Content-Type", "text/plain")], f"{req.method} {req.target} ".encode() + body)
    return True


@pytest.fixture
def engine() -> Iterator[EngineServer]:
    server = EngineServer(EngineEcho(), Config(max_payload=1000, ping_interval=30, ping_timeout=30),
                          sid_factory=lambda: SID)
    yield server
    server.scheduler.stop()


def make_server(engine: EngineServer, **limits: float) -> Server:
    return Server(engine, path_app, limits=HttpLimits(**limits))  # type: ignore[arg-type]


def serve(server: Server, sock: MemorySocket, *, within: float = 5.0) -> None:
    """Run serve_connection to its end; fail if it is still running after ``within`` s."""
    http = HttpConnection(sock, ("127.0.0.1", 1), server.limits)
    worker = gevent.spawn(server.serve_connection, http)
    worker.join(within)
    assert worker.dead, "serve_connection did not return"
    worker.get()  # re-raise anything that escaped it


REQ_A = request("GET", "/a?x=1")
REQ_B = request("POST", "/b", b"hello body")
REQ_C = request("GET", "/c")


# ------------------------------------------------------------------ keep-alive


def test_two_requests_on_one_connection(engine: EngineServer) -> None:
    sock = MemorySocket([REQ_A, REQ_B])
    serve(make_server(engine), sock)
    responses = parse_responses(sock.sent)
    assert [r.status for r in responses] == [200, 200]
    assert [r.body for r in responses] == [b"GET /a?x=1 ", b"POST /b hello body"]
    assert all("connection" not in r.headers for r in responses)


def test_pipelined_requests_in_one_chunk(engine: EngineServer) -> None:
    sock = MemorySocket([REQ_A + REQ_B + REQ_C])
    serve(make_server(engine), sock)
    bodies = [r.body for r in parse_responses(sock.sent)]
    assert bodies == [b"GET /a?x=1 ", b"POST /b hello body", b"GET /c "]


def test_requests_split_byte_by_byte(engine: EngineServer) -> None:
    data = REQ_A + REQ_B + REQ_C
    sock = MemorySocket([data[i:i + 1] for i in range(len(data))])
    serve(make_server(engine), sock)
    bodies = [r.body for r in parse_responses(sock.sent)]
    assert bodies == [b"GET /a?x=1 ", b"POST /b hello body", b"GET /c "]


@pytest.mark.parametrize("cut", [1, 7, 20, 40])
def test_request_split_anywhere(engine: EngineServer, cut: int) -> None:
    data = REQ_B + REQ_A
    sock = MemorySocket([data[:cut], data[cut:]])
    serve(make_server(engine), sock)
    assert [r.body for r in parse_responses(sock.sent)] == [b"POST /b hello body", b"GET /a?x=1 "]


def test_chunked_request_body(engine: EngineServer) -> None:
    head = b"POST /chunked HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n"
    body = b"5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
    sock = MemorySocket([head, body[:9], body[9:], REQ_C])
    serve(make_server(engine), sock)
    assert [r.body for r in parse_responses(sock.sent)] == [b"POST /chunked hello world", b"GET /c "]


def test_connection_close_is_honoured(engine: EngineServer) -> None:
    closing = request("GET", "/a", headers=[("Connection", "close")])
    sock = MemorySocket([closing + REQ_C], eof=False)  # no EOF: only the header ends it
    serve(make_server(engine), sock)
    responses = parse_responses(sock.sent)
    assert len(responses) == 1
    assert responses[0].headers.get("connection") == "close"


def test_http10_without_keep_alive_gets_one_answer(engine: EngineServer) -> None:
    sock = MemorySocket([b"GET /old HTTP/1.0\r\n\r\n" + REQ_C], eof=False)
    serve(make_server(engine), sock)
    responses = parse_responses(sock.sent)
    assert len(responses) == 1
    assert responses[0].body == b"GET /old "


def test_unread_body_is_skipped_before_the_next_request(engine: EngineServer) -> None:
    """An app that ignores the body must not make it parse as the next request."""
    def lazy_app(http: HttpConnection, req: HttpRequest) -> bool:
        http.respond(200, [], req.target.encode())
        return True

    server = Server(engine, lazy_app)
    sock = MemorySocket([request("POST", "/ignored", b"GET /evil HTTP/1.1\r\n\r\n") + REQ_C])
    serve(server, sock)
    assert [r.body for r in parse_responses(sock.sent)] == [b"/ignored", b"/c"]


def test_idle_keep_alive_connection_times_out(engine: EngineServer) -> None:
    sock = MemorySocket([REQ_A], eof=False)
    serve(make_server(engine, keepalive_timeout=0.05), sock, within=3)
    assert len(parse_responses(sock.sent)) == 1


def test_slow_request_head_is_cut_off(engine: EngineServer) -> None:
    sock = MemorySocket([b"GET /slow HTTP/1.1\r\nHost: t\r\n"], eof=False)  # never finishes
    serve(make_server(engine, header_timeout=0.1), sock, within=3)
    responses = parse_responses(sock.sent)
    assert [r.status for r in responses] in ([], [408])


# --------------------------------------------------------------------- errors


@pytest.mark.parametrize("piece", [1, 100, 65536])
def test_oversized_head_gets_431(engine: EngineServer, piece: int) -> None:
    # 100 KB of header: over the 16 KB default whichever way the reads cut it.
    big = b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 100_000 + b"\r\n\r\n"
    data = big + REQ_C
    sock = MemorySocket([data[i:i + piece] for i in range(0, len(data), piece)])
    serve(make_server(engine), sock)
    responses = parse_responses(sock.sent)
    assert [r.status for r in responses] == [431]
    assert responses[0].headers.get("connection") == "close"


def test_head_over_a_small_limit_split_in_pieces_gets_431(engine: EngineServer) -> None:
    big = b"GET / HTTP/1.1\r\nHost: t\r\nX-Big: " + b"a" * 5000 + b"\r\n\r\n"
    sock = MemorySocket([big[i:i + 512] for i in range(0, len(big), 512)])
    serve(make_server(engine, max_header_bytes=1024), sock)
    assert [r.status for r in parse_responses(sock.sent)] == [431]


def test_oversized_head_never_finished_gets_431(engine: EngineServer) -> None:
    """No end of head at all: the limit stops the buffering, not the timeout."""
    sock = MemorySocket([b"GET / HTTP/1.1\r\nX-Big: " + b"a" * 8000], eof=False)
    serve(make_server(engine, max_header_bytes=1024), sock, within=3)
    assert [r.status for r in parse_responses(sock.sent)] == [431]


def test_too_many_headers_get_431(engine: EngineServer) -> None:
    headers = [(f"X-H{i}", "v") for i in range(20)]
    sock = MemorySocket([request("GET", "/", headers=headers)])
    serve(make_server(engine, max_header_count=10), sock)
    assert [r.status for r in parse_responses(sock.sent)] == [431]


@pytest.mark.parametrize("line", [
    b"NOT A REQUEST\r\n\r\n",
    b"GET\r\n\r\n",
    b"GET / HTTP/1.1 extra\r\n\r\n",
    b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",  # a TLS hello on the plain port
    b"GET / HTTP/1.1\r\nno colon here\r\n\r\n",
])
def test_malformed_request_gets_400_and_the_connection_ends(engine: EngineServer, line: bytes) -> None:
    sock = MemorySocket([line + REQ_C], eof=False)
    serve(make_server(engine), sock)
    responses = parse_responses(sock.sent)
    assert [r.status for r in responses] == [400]  # REQ_C after it is never served
    assert responses[0].headers.get("connection") == "close"


def test_client_closing_mid_head_is_not_answered_with_data(engine: EngineServer) -> None:
    sock = MemorySocket([b"GET /half HTTP/1.1\r\nHo"])
    serve(make_server(engine), sock)
    assert [r.status for r in parse_responses(sock.sent)] in ([], [400])


def test_app_exception_gets_500(engine: EngineServer) -> None:
    def broken(http: HttpConnection, req: HttpRequest) -> bool:
        raise RuntimeError("boom")

    sock = MemorySocket([REQ_A + REQ_C])
    serve(Server(engine, broken), sock)
    responses = parse_responses(sock.sent)
    assert [r.status for r in responses] == [500]


def test_paths_outside_engineio_default_to_404(engine: EngineServer) -> None:
    sock = MemorySocket([request("POST", "/nowhere", b"x" * 100) + REQ_C])
    serve(Server(engine), sock)
    assert [r.status for r in parse_responses(sock.sent)] == [404, 404]


# ------------------------------------------------------------- Engine.IO path


HANDSHAKE = request("GET", "/engine.io/?EIO=4&transport=polling")


def _post(body: bytes) -> bytes:
    return request("POST", f"/engine.io/?EIO=4&transport=polling&sid={SID}", body)


POLL = request("GET", f"/engine.io/?EIO=4&transport=polling&sid={SID}")


def test_engineio_session_on_one_keep_alive_connection(engine: EngineServer) -> None:
    sock = MemorySocket([HANDSHAKE + _post(b"4hi\x1e4there") + POLL])
    serve(make_server(engine), sock)
    responses = parse_responses(sock.sent)
    assert [r.status for r in responses] == [200, 200, 200]
    assert responses[0].body.startswith(b"0")
    assert json.loads(responses[0].body[1:])["sid"] == SID
    assert responses[1].body == b"ok"
    assert responses[2].body == b"4hi\x1e4there"


def test_engineio_session_split_byte_by_byte(engine: EngineServer) -> None:
    data = HANDSHAKE + _post(b"4hi") + POLL
    sock = MemorySocket([data[i:i + 1] for i in range(len(data))])
    serve(make_server(engine), sock)
    assert [r.body[:3] for r in parse_responses(sock.sent)] == [b"0{\"", b"ok", b"4hi"]


def test_post_over_the_limit_gets_413_before_the_body_is_read(engine: EngineServer) -> None:
    head = (f"POST /engine.io/?EIO=4&transport=polling&sid={SID} HTTP/1.1\r\n"
            f"Host: t\r\nContent-Length: 5000000\r\n\r\n").encode()
    sock = MemorySocket([HANDSHAKE + head], eof=False)  # the body never comes
    serve(make_server(engine), sock, within=3)
    responses = parse_responses(sock.sent)
    assert [r.status for r in responses] == [200, 413]
    assert responses[1].body == b""
    assert sock.bytes_read == len(HANDSHAKE) + len(head)


def test_chunked_post_over_the_limit_gets_413_while_reading(engine: EngineServer) -> None:
    head = (f"POST /engine.io/?EIO=4&transport=polling&sid={SID} HTTP/1.1\r\n"
            f"Host: t\r\nTransfer-Encoding: chunked\r\n\r\n").encode()
    chunk = b"7d0\r\n" + b"4" * 2000 + b"\r\n"  # 2000 bytes, max_payload is 1000
    sock = MemorySocket([HANDSHAKE + head, chunk], eof=False)  # no final chunk ever
    serve(make_server(engine), sock, within=3)
    assert [r.status for r in parse_responses(sock.sent)] == [200, 413]


def test_post_at_the_limit_is_accepted(engine: EngineServer) -> None:
    body = b"4" + b"x" * 999
    sock = MemorySocket([HANDSHAKE + _post(body) + POLL])
    serve(make_server(engine), sock)
    responses = parse_responses(sock.sent)
    assert [r.status for r in responses] == [200, 200, 200]
    assert responses[2].body == body


def test_engineio_error_keeps_the_connection(engine: EngineServer) -> None:
    unknown = request("GET", "/engine.io/?EIO=4&transport=polling&sid=nope")
    sock = MemorySocket([unknown + HANDSHAKE])
    serve(make_server(engine), sock)
    responses = parse_responses(sock.sent)
    assert [r.status for r in responses] == [400, 200]
    assert json.loads(responses[0].body) == {"code": 1, "message": "Session ID unknown"}


def test_websocket_upgrade_keeps_bytes_sent_right_after_the_request(engine: EngineServer) -> None:
    """The upgrade request and the first frame arrive in one read: the frame is not lost."""
    client = WSConnection(ConnectionType.CLIENT)
    upgrade = client.send(Request(host="t", target="/engine.io/?EIO=4&transport=websocket"))
    # wsproto will not build a frame before the 101; a masked text frame by hand.
    key = b"\x11\x22\x33\x44"
    payload = b"4early"
    frame = bytes([0x81, 0x80 | len(payload)]) + key + bytes(
        b ^ key[i % 4] for i, b in enumerate(payload))
    sock = MemorySocket([upgrade + frame])
    serve(make_server(engine), sock)
    client.receive_data(bytes(sock.sent))
    events = list(client.events())
    assert isinstance(events[0], AcceptConnection)
    texts = [e.data for e in events if isinstance(e, TextMessage)]
    assert texts[0].startswith("0{")
    assert json.loads(texts[0][1:])["upgrades"] == []
    assert texts[1] == "4early"
