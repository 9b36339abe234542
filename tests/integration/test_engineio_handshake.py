"""Handshake over both transports and every request error of PROTOCOL.md 1.9, on a real server."""

from __future__ import annotations

import json
import re
from typing import Iterator

import pytest

from tests.conftest import EchoServer

from ._eio import Eio, running_server
from ._wsclient import WsRejected

pytestmark = pytest.mark.timeout(60)

OPEN_KEYS = {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}


@pytest.fixture(scope="module")
def server(eio_driver: str) -> Iterator[EchoServer]:
    # Values unlike the defaults, so the handshake provably reports the configuration.
    with running_server("--ping-interval", "20000", "--ping-timeout", "15000",
                        "--max-payload", "54321", driver=eio_driver) as srv:
        yield srv


@pytest.fixture
def eio(server: EchoServer) -> Eio:
    return Eio(server.port)


# ------------------------------------------------------------------ handshake


def test_polling_handshake(eio: Eio) -> None:
    resp = eio.request("GET", "EIO=4&transport=polling&t=Nxyz")
    assert resp.status == 200
    assert resp.header("content-type") == "text/plain; charset=UTF-8"
    assert resp.header("cache-control") == "no-store"
    assert resp.body[:1] == b"0"
    info = json.loads(resp.body[1:])
    assert set(info) == OPEN_KEYS
    assert info["upgrades"] == ["websocket"]
    assert info["pingInterval"] == 20000
    assert info["pingTimeout"] == 15000
    assert info["maxPayload"] == 54321
    assert isinstance(info["sid"], str) and re.fullmatch(r"[A-Za-z0-9_-]{16,}", info["sid"])
    # JSON.stringify output: compact, no spaces.
    assert b" " not in resp.body


def test_polling_handshake_sids_are_unique(eio: Eio) -> None:
    sids = {eio.handshake()[0] for _ in range(20)}
    assert len(sids) == 20


def test_polling_session_works_after_handshake(eio: Eio) -> None:
    sid, _ = eio.handshake()
    post = eio.post(sid, "4hello")
    assert post.status == 200
    assert post.body == b"ok"
    assert post.header("content-type") == "text/html"
    poll = eio.poll(sid)
    assert poll.status == 200
    assert poll.body == b"4hello"


def test_websocket_handshake(eio: Eio) -> None:
    with eio.ws() as client:
        first = client.recv()
        assert isinstance(first, str), "the open packet must be a text frame"
        assert first[:1] == "0"
        info = json.loads(first[1:])
        assert set(info) == OPEN_KEYS
        assert info["upgrades"] == []
        assert info["pingInterval"] == 20000
        assert info["pingTimeout"] == 15000
        assert info["maxPayload"] == 54321
        client.send("4ws hello")
        assert client.recv() == "4ws hello"


def test_websocket_session_sid_is_not_a_polling_session(eio: Eio) -> None:
    client, info = eio.ws_session()
    with client:
        # The sid names a WebSocket session: polling on it is a transport mismatch.
        resp = eio.poll(info["sid"])
        assert resp.status == 400
        assert resp.json() == {"code": 3, "message": "Bad request"}


# ---------------------------------------------------------------- HTTP errors


def _assert_error(resp: object, status: int, code: int, message: str) -> None:
    from ._eio import Response

    assert isinstance(resp, Response)
    assert resp.status == status, resp
    assert resp.header("content-type") == "application/json"
    assert resp.json() == {"code": code, "message": message}


@pytest.mark.parametrize("query", ["EIO=4", "EIO=4&transport=abc", "EIO=4&transport=", "transport=flash"])
def test_transport_unknown(eio: Eio, query: str) -> None:
    _assert_error(eio.request("GET", query), 400, 0, "Transport unknown")


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_session_id_unknown(eio: Eio, method: str) -> None:
    body = b"4x" if method == "POST" else None
    resp = eio.request(method, "EIO=4&transport=polling&sid=doesnotexist", body)
    _assert_error(resp, 400, 1, "Session ID unknown")


@pytest.mark.parametrize("method", ["POST", "PUT", "DELETE"])
def test_bad_handshake_method(eio: Eio, method: str) -> None:
    resp = eio.request(method, "EIO=4&transport=polling", b"4x")
    _assert_error(resp, 400, 2, "Bad handshake method")


def test_websocket_transport_without_upgrade_header(eio: Eio) -> None:
    _assert_error(eio.request("GET", "EIO=4&transport=websocket"), 400, 3, "Bad request")


def test_websocket_transport_with_sid_without_upgrade_header(eio: Eio) -> None:
    sid, _ = eio.handshake()
    resp = eio.request("GET", f"EIO=4&transport=websocket&sid={sid}")
    _assert_error(resp, 400, 3, "Bad request")
    # The refused request did not hurt the session.
    assert eio.post(sid, "4still").body == b"ok"
    assert eio.poll(sid).body == b"4still"


@pytest.mark.parametrize("query", [
    "transport=polling",
    "EIO=3&transport=polling",
    "EIO=5&transport=polling",
    "EIO=abc&transport=polling",
    "EIO=&transport=polling",
])
def test_unsupported_protocol_version(eio: Eio, query: str) -> None:
    _assert_error(eio.request("GET", query), 400, 5, "Unsupported protocol version")


def test_unsupported_method_on_existing_session(eio: Eio) -> None:
    sid, _ = eio.handshake()
    resp = eio.request("PUT", f"EIO=4&transport=polling&sid={sid}", b"4x")
    assert resp.status in (400, 500)


# --------------------------------------------------------- WebSocket refusals


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("EIO=4&transport=abc", "Transport unknown"),
        ("EIO=4", "Transport unknown"),
        ("EIO=4&transport=websocket&sid=doesnotexist", "Session ID unknown"),
        ("EIO=5&transport=websocket", "Unsupported protocol version"),
        ("transport=websocket", "Unsupported protocol version"),
    ],
)
def test_websocket_upgrade_errors_are_plain_text(eio: Eio, query: str, message: str) -> None:
    with pytest.raises(WsRejected) as info:
        eio.ws(query)
    assert info.value.status == 400
    assert info.value.body == message.encode()
    assert info.value.headers.get("content-type") == "text/html"
    assert info.value.headers.get("connection") == "close"


def test_websocket_handshake_missing_key_is_refused(eio: Eio) -> None:
    """An Upgrade request that is not a valid RFC 6455 handshake gets a plain 400."""
    resp = eio.request(
        "GET", "EIO=4&transport=websocket",
        headers={"Upgrade": "websocket", "Connection": "Upgrade"},
    )
    assert resp.status == 400
    assert resp.header("upgrade") is None


# -------------------------------------------------------------------- routing


@pytest.mark.parametrize("target", [
    "/",
    "/index.html",
    "/socket.io/?EIO=4&transport=polling",
    "/engine.iox/?EIO=4&transport=polling",
    "/other/engine.io/?EIO=4&transport=polling",
])
def test_paths_outside_engineio_are_404(eio: Eio, target: str) -> None:
    resp = eio.request("GET", "", target=target)
    assert resp.status == 404


def test_engineio_path_without_trailing_slash_is_served(eio: Eio) -> None:
    resp = eio.request("GET", "", target="/engine.io?EIO=4&transport=polling")
    assert resp.status == 200
    assert resp.body[:1] == b"0"


def test_custom_path(eio_driver: str) -> None:
    with running_server("--path", "/custom/eio/", driver=eio_driver) as srv:
        eio = Eio(srv.port, "/custom/eio/")
        sid, info = eio.handshake()
        assert info["sid"] == sid
        assert Eio(srv.port).request("GET", "EIO=4&transport=polling").status == 404
