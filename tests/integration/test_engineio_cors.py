"""Cross-origin rules on a real server: an allow-list, the same-origin default, and ``*``."""

from __future__ import annotations

import json
from typing import Iterator

import pytest

from tests.conftest import EchoServer

from ._eio import Eio, running_server
from ._wsclient import WsRejected

pytestmark = pytest.mark.timeout(60)

ALLOWED = "http://allowed.example"
FOREIGN = "http://evil.example"
HANDSHAKE = "EIO=4&transport=polling"


@pytest.fixture(scope="module")
def allow_list(eio_driver: str) -> Iterator[Eio]:
    with running_server("--cors-allowed-origins", ALLOWED, driver=eio_driver) as srv:
        yield Eio(srv.port)


@pytest.fixture(scope="module")
def same_origin(eio_driver: str) -> Iterator[Eio]:
    with running_server(driver=eio_driver) as srv:
        yield Eio(srv.port)


@pytest.fixture(scope="module")
def any_origin(eio_driver: str) -> Iterator[Eio]:
    with running_server("--cors-allowed-origins", "*", driver=eio_driver) as srv:
        yield Eio(srv.port)


# ------------------------------------------------------------------ allow-list


def test_preflight_from_allowed_origin(allow_list: Eio) -> None:
    resp = allow_list.request("OPTIONS", HANDSHAKE, headers={
        "Origin": ALLOWED,
        "Access-Control-Request-Method": "POST",
        "Access-Control-Request-Headers": "content-type, x-custom",
    })
    assert resp.status == 204
    assert resp.body == b""
    assert resp.header("access-control-allow-origin") == ALLOWED
    methods = {m.strip() for m in (resp.header("access-control-allow-methods") or "").split(",")}
    assert {"GET", "POST"} <= methods
    allowed_headers = (resp.header("access-control-allow-headers") or "").lower()
    assert "content-type" in allowed_headers and "x-custom" in allowed_headers


def test_preflight_from_foreign_origin_is_refused(allow_list: Eio) -> None:
    resp = allow_list.request("OPTIONS", HANDSHAKE, headers={
        "Origin": FOREIGN, "Access-Control-Request-Method": "POST",
    })
    assert resp.status == 403
    assert resp.header("access-control-allow-origin") is None


def test_allowed_origin_gets_allow_origin_header(allow_list: Eio) -> None:
    resp = allow_list.request("GET", HANDSHAKE, headers={"Origin": ALLOWED})
    assert resp.status == 200
    assert resp.body[:1] == b"0"
    assert resp.header("access-control-allow-origin") == ALLOWED
    sid = json.loads(resp.body[1:])["sid"]
    post = allow_list.post(sid, "4cors", headers={"Origin": ALLOWED})
    assert post.status == 200
    assert post.header("access-control-allow-origin") == ALLOWED
    poll = allow_list.poll(sid, headers={"Origin": ALLOWED})
    assert poll.body == b"4cors"
    assert poll.header("access-control-allow-origin") == ALLOWED


def test_foreign_origin_is_refused_with_403_json(allow_list: Eio) -> None:
    resp = allow_list.request("GET", HANDSHAKE, headers={"Origin": FOREIGN})
    assert resp.status == 403
    assert resp.header("content-type") == "application/json"
    assert resp.json() == {"code": 4, "message": "Forbidden"}
    assert resp.header("access-control-allow-origin") is None


def test_foreign_origin_cannot_use_an_existing_session(allow_list: Eio) -> None:
    sid, _ = allow_list.handshake()
    resp = allow_list.post(sid, "4x", headers={"Origin": FOREIGN})
    assert resp.status == 403
    assert resp.json()["code"] == 4
    resp = allow_list.poll(sid, headers={"Origin": FOREIGN})
    assert resp.status == 403


def test_foreign_origin_websocket_is_refused(allow_list: Eio) -> None:
    with pytest.raises(WsRejected) as info:
        allow_list.ws(headers=[("Origin", FOREIGN)])
    assert info.value.status == 403
    assert info.value.body == b"Forbidden"


def test_allowed_origin_websocket_is_accepted(allow_list: Eio) -> None:
    client = allow_list.ws(headers=[("Origin", ALLOWED)])
    with client:
        first = client.recv()
        assert isinstance(first, str) and first.startswith("0{")


def test_requests_without_origin_are_allowed(allow_list: Eio) -> None:
    resp = allow_list.request("GET", HANDSHAKE)
    assert resp.status == 200
    assert resp.header("access-control-allow-origin") is None


# ---------------------------------------------------------------- same origin


def test_default_refuses_a_foreign_origin(same_origin: Eio) -> None:
    resp = same_origin.request("GET", HANDSHAKE, headers={"Origin": FOREIGN})
    assert resp.status == 403
    assert resp.json() == {"code": 4, "message": "Forbidden"}


def test_default_refuses_same_host_on_another_port(same_origin: Eio) -> None:
    resp = same_origin.request("GET", HANDSHAKE,
                               headers={"Origin": f"http://127.0.0.1:{same_origin.port + 1}"})
    assert resp.status == 403


def test_default_allows_same_origin(same_origin: Eio) -> None:
    origin = f"http://127.0.0.1:{same_origin.port}"  # http.client sends Host: 127.0.0.1:<port>
    resp = same_origin.request("GET", HANDSHAKE, headers={"Origin": origin})
    assert resp.status == 200
    assert resp.body[:1] == b"0"
    assert resp.header("access-control-allow-origin") == origin


def test_default_refuses_foreign_websocket(same_origin: Eio) -> None:
    with pytest.raises(WsRejected) as info:
        same_origin.ws(headers=[("Origin", FOREIGN)])
    assert info.value.status == 403


# ------------------------------------------------------------------------ any


def test_any_origin_is_allowed_and_errors_carry_cors_headers(any_origin: Eio) -> None:
    resp = any_origin.request("GET", HANDSHAKE, headers={"Origin": FOREIGN})
    assert resp.status == 200
    assert resp.header("access-control-allow-origin") in (FOREIGN, "*")
    # A browser can read error answers too.
    err = any_origin.request("GET", "EIO=4&transport=polling&sid=nope", headers={"Origin": FOREIGN})
    assert err.status == 400
    assert err.json()["code"] == 1
    assert err.header("access-control-allow-origin") in (FOREIGN, "*")


def test_any_origin_preflight(any_origin: Eio) -> None:
    resp = any_origin.request("OPTIONS", HANDSHAKE, headers={
        "Origin": FOREIGN, "Access-Control-Request-Method": "POST",
    })
    assert resp.status == 204
    assert resp.header("access-control-allow-origin") in (FOREIGN, "*")
    assert "POST" in (resp.header("access-control-allow-methods") or "")
