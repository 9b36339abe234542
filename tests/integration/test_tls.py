"""TLS (``server.run(certfile=..., keyfile=...)``) with the official client over every transport."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import run_node, script_server


@pytest.fixture(scope="module")
def tls_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    folder: Path = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key),
         "-out", str(cert), "-days", "2", "-subj", "/CN=127.0.0.1"],
        check=True, capture_output=True,
    )
    server = script_server("_tls_server.py", str(cert), str(key))
    yield server.url.replace("http://", "https://")
    output = server.stop()
    assert "Traceback" not in output, output[-4000:]


@pytest.mark.parametrize("mode", ["polling", "websocket", "upgrade"])
def test_official_client_over_tls(tls_url: str, mode: str) -> None:
    # a self-signed certificate: the client is told not to verify it
    result = run_node("wsgi_client.js", tls_url, mode, env={"NODE_TLS_REJECT_UNAUTHORIZED": "0"})
    assert result["auth"] == {"token": "wsgi"}
    assert result["echo"] == ["hi", [1, 2, 3]]
    assert result["ack"] == {"n": 1}
    assert result["transport"] == ("polling" if mode == "polling" else "websocket")
