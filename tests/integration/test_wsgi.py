"""The WSGI adapter under gevent's pywsgi, driven by the official JS client."""

from __future__ import annotations

import urllib.request
from typing import Iterator

import pytest

from tests.conftest import run_node, script_server


@pytest.fixture(scope="module")
def pywsgi_url() -> Iterator[str]:
    server = script_server("_wsgi_server.py")
    yield server.url
    server.stop()


@pytest.mark.parametrize("mode", ["polling", "websocket", "upgrade"])
def test_official_client_through_pywsgi(pywsgi_url: str, mode: str) -> None:
    result = run_node("wsgi_client.js", pywsgi_url, mode)
    assert result["auth"] == {"token": "wsgi"}
    assert result["echo"] == ["hi", [1, 2, 3]]
    assert result["ack"] == {"n": 1}
    assert result["transport"] == ("polling" if mode == "polling" else "websocket")


def test_other_paths_go_to_the_wrapped_app(pywsgi_url: str) -> None:
    with urllib.request.urlopen(pywsgi_url + "/hello") as response:
        assert response.read() == b"wrapped app: /hello"


def test_a_long_post_through_pywsgi_is_handed_up_whole_and_in_order(pywsgi_url: str) -> None:
    """Past TURN_PACKETS packets the request's greenlet takes a budget per loop turn
    (a WSGI request cannot be parked); every event still arrives, in order."""
    from transports.gevent._turns import TURN_PACKETS

    from tests.integration._eio import Eio, split_payload

    eio = Eio(int(pywsgi_url.rsplit(":", 1)[1]), "/socket.io/")
    sid, _ = eio.handshake()
    assert eio.post(sid, "40").body == b"ok"
    count = 5 * TURN_PACKETS + 3
    events = [f'42["echo",{i}]' for i in range(count)]
    assert eio.post(sid, "\x1e".join(events)).body == b"ok"
    echoed: list[str] = []
    while len(echoed) < count:
        response = eio.poll(sid)
        assert response.status == 200, response
        echoed += [p for p in split_payload(response.body) if p.startswith('42["echo"')]
    assert echoed == events
    eio.post(sid, "1")
