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
