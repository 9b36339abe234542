"""The WSGI adapter under gevent's pywsgi, driven by the official JS client."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from typing import Iterator

import pytest

from tests.conftest import ROOT, free_port, run_node


@pytest.fixture(scope="module")
def pywsgi_url() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "integration" / "_wsgi_server.py"), str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if line.startswith("listening on") or not line:
            break
    yield f"http://127.0.0.1:{port}"
    proc.terminate()
    proc.wait(timeout=10)


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
