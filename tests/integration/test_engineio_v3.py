"""Engine.IO v3 over raw HTTP and WebSocket: what a browser client 1.x/2.x relies on.

The parts the Node client (test_eio3_interop.py) cannot reach: the binary
(XHR2) payload format with its content type, binary POST bodies, JSONP
polling, and the request checks (``EIO=3`` refused unless enabled, a
protocol mismatch on an existing sid). Plus the Socket.IO protocol 4 wire
as the server writes it.
"""

from __future__ import annotations

import json
import urllib.parse
from typing import Iterator

import pytest

from tests.conftest import EchoServer, free_port

from ._eio import Eio, running_server

pytestmark = pytest.mark.timeout(60)

V3 = "EIO=3&transport=polling"
SUITE_BINARY = bytes([0, 6, 255, 52, 104, 101, 108, 108, 111, 1, 5, 255, 4, 1, 2, 3, 4])


@pytest.fixture(scope="module")
def server(eio_driver: str) -> Iterator[EchoServer]:
    with running_server("--allow-eio3", "--ping-interval", "20000", "--ping-timeout", "20000",
                        driver=eio_driver) as srv:
        yield srv


@pytest.fixture
def eio(server: EchoServer) -> Eio:
    return Eio(server.port)


def v3_handshake(eio: Eio, extra: str = "") -> str:
    resp = eio.request("GET", V3 + extra)
    assert resp.status == 200, resp
    length, _, packet = resp.body.decode().partition(":")
    assert int(length) == len(packet) and packet[0] == "0"
    return str(json.loads(packet[1:])["sid"])


def test_handshake_is_length_prefixed_text(eio: Eio) -> None:
    resp = eio.request("GET", V3)
    assert resp.header("content-type") == "text/plain; charset=UTF-8"
    length, _, packet = resp.body.decode().partition(":")
    info = json.loads(packet[1:])
    assert int(length) == len(packet)
    assert set(info) == {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}
    assert info["upgrades"] == ["websocket"]


def test_eio3_is_refused_unless_enabled(eio_driver: str) -> None:
    with running_server(driver=eio_driver) as srv:
        resp = Eio(srv.port).request("GET", V3)
    assert resp.status == 400
    assert resp.json() == {"code": 5, "message": "Unsupported protocol version"}


def test_missing_eio_is_refused_even_with_eio3_enabled(eio: Eio) -> None:
    resp = eio.request("GET", "transport=polling")
    assert resp.status == 400 and resp.json()["code"] == 5


def test_xhr2_client_gets_binary_payloads_and_posts_them(eio: Eio) -> None:
    sid = v3_handshake(eio)
    q = f"{V3}&sid={sid}"
    post = eio.request("POST", q, b"6:4hello10:b4AQIDBA==", {"Content-Type": "text/plain;charset=UTF-8"})
    assert (post.status, post.body) == (200, b"ok")
    resp = eio.request("GET", q)
    assert resp.header("content-type") == "application/octet-stream"
    assert resp.body == SUITE_BINARY
    # The client posts the same format, with the binary content type.
    post = eio.request("POST", q, SUITE_BINARY, {"Content-Type": "application/octet-stream"})
    assert (post.status, post.body) == (200, b"ok")
    assert eio.request("GET", q).body == SUITE_BINARY
    # Text only: back to text.
    eio.request("POST", q, "2:4\u20ac".encode(), {"Content-Type": "text/plain;charset=UTF-8"})
    resp = eio.request("GET", q)
    assert resp.header("content-type") == "text/plain; charset=UTF-8"
    assert resp.body == "2:4\u20ac".encode()


def test_b64_client_gets_base64_records(eio: Eio) -> None:
    sid = v3_handshake(eio, "&b64=1")
    q = f"{V3}&sid={sid}"
    eio.request("POST", q, SUITE_BINARY, {"Content-Type": "application/octet-stream"})
    resp = eio.request("GET", q)
    assert resp.header("content-type") == "text/plain; charset=UTF-8"
    assert resp.body == b"6:4hello10:b4AQIDBA=="


def test_malformed_binary_post_closes_the_session(eio: Eio) -> None:
    sid = v3_handshake(eio)
    q = f"{V3}&sid={sid}"
    post = eio.request("POST", q, bytes([0, 9, 255, 52]), {"Content-Type": "application/octet-stream"})
    assert post.status == 400
    assert eio.request("GET", q).status == 400


def test_protocol_mismatch_on_an_existing_session(eio: Eio) -> None:
    sid = v3_handshake(eio)
    resp = eio.request("GET", f"EIO=4&transport=polling&sid={sid}")
    assert resp.status == 400 and resp.json() == {"code": 3, "message": "Bad request"}
    v4sid, _ = eio.handshake()
    resp = eio.request("GET", f"{V3}&sid={v4sid}")
    assert resp.status == 400 and resp.json()["code"] == 3


def test_jsonp_polling(eio: Eio) -> None:
    resp = eio.request("GET", V3 + "&j=4&b64=1")
    assert resp.status == 200
    assert resp.header("content-type") == "text/javascript; charset=UTF-8"
    text = resp.body.decode()
    assert text.startswith('___eio[4]("') and text.endswith('");')
    payload = json.loads(text[len("___eio[4]("):-2])
    length, _, packet = payload.partition(":")
    assert int(length) == len(packet)
    sid = json.loads(packet[1:])["sid"]
    q = f"{V3}&j=4&b64=1&sid={sid}"
    # A hidden form posts d=<payload>; the client writes newlines as \n.
    data = "5:4a\\nb\u20282:4\u00e910:b4AQIDBA=="
    body = urllib.parse.urlencode({"d": data}).encode()
    post = eio.request("POST", q, body, {"Content-Type": "application/x-www-form-urlencoded"})
    assert (post.status, post.body) == (200, b"ok")
    resp = eio.request("GET", q)
    assert resp.header("content-type") == "text/javascript; charset=UTF-8"
    # Valid JavaScript: U+2028 is escaped; the echo comes back as sent.
    assert "\u2028" not in resp.body.decode()
    assert resp.body.decode() == (
        '___eio[4]("5:4a\\nb\\u20282:4\u00e910:b4AQIDBA==");'
    )


def test_websocket_binary_frames_carry_the_type_byte(eio: Eio) -> None:
    with eio.ws("EIO=3&transport=websocket") as client:
        assert str(client.recv()).startswith("0{")
        client.send(b"\x04\x01\x02\x03")
        assert client.recv() == b"\x04\x01\x02\x03"
        client.send("2")
        assert client.recv() == "3"  # the server answers the client's ping


def test_upgrade_with_b64_websocket_sends_base64_frames(eio: Eio) -> None:
    sid = v3_handshake(eio)
    with eio.ws(f"EIO=3&transport=websocket&sid={sid}&b64=1") as client:
        client.send("2probe")
        assert client.recv() == "3probe"
        assert eio.request("GET", f"{V3}&sid={sid}").body == b"1:6"
        client.send("5")
        client.send("b4AQID")
        assert client.recv() == "b4AQID"


def test_socketio_protocol_4_wire() -> None:
    server = EchoServer(["--allow-eio3"], free_port())
    try:
        sio = Eio(server.port, "/socket.io/")
        resp = sio.request("GET", V3 + "&token=abc")
        packet = resp.body.decode().partition(":")[2]
        sid = json.loads(packet[1:])["sid"]
        q = f"{V3}&sid={sid}"
        # Joined to / unasked: a bare CONNECT, then the handler's auth event
        # carrying the handshake query.
        bodies = ""
        while '42["auth"' not in bodies:
            bodies += sio.request("GET", q).body.decode()
        assert bodies == '2:4026:42["auth",{"token":"abc"}]'
        post = sio.request("POST", q, b"21:40/custom?where=here,")
        assert post.body == b"ok"
        bodies = ""
        while '42/custom,["auth"' not in bodies:
            bodies += sio.request("GET", q).body.decode()
        assert bodies == '10:40/custom,35:42/custom,["auth",{"where":"here"}]'
        sio.request("POST", q, b"8:40/nope,")
        assert sio.request("GET", q).body == b'39:44/nope,{"message":"Invalid namespace"}'
    finally:
        output = server.stop()
    assert "Traceback" not in output
    assert f"connect {sid} to /" in output and f"connect /custom#{sid} to /custom" in output
