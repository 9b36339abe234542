"""The package as pip users get it: a wheel built the documented way (``make wheel``).

The echo server's demo page needs the official browser client, which comes
from npm; pip users have no npm, so the wheel must carry it. The wheel is
unpacked outside the repository and run from there (its own copy of the
package first on ``sys.path``), so nothing of the checkout can stand in for it.
"""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request
import zipfile
from pathlib import Path
from typing import Iterator

import pytest

from tests.conftest import ROOT, ServerProcess, free_port

pytestmark = pytest.mark.timeout(300)

CLIENT_IN_WHEEL = "socketio_core/echo/static/socket.io.min.js"


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("wheel")
    subprocess.run(["make", "-s", "wheel", f"WHEEL_DIR={out}"], cwd=ROOT, check=True, timeout=280)
    (built,) = out.glob("socketio_core-*.whl")
    return built


@pytest.fixture
def unpacked(wheel: Path, tmp_path: Path) -> Path:
    site = tmp_path / "site"
    with zipfile.ZipFile(wheel) as zf:
        zf.extractall(site)
    return site


def _serve(site: Path) -> ServerProcess:
    port = free_port()
    code = (
        f"import sys; sys.path.insert(0, {str(site)!r}); import socketio_core.echo as e; "
        f"assert e.__file__.startswith({str(site)!r}), e.__file__; sys.exit(e.main(['--port', '{port}']))"
    )
    return ServerProcess([sys.executable, "-c", code], port)


@pytest.fixture
def served(unpacked: Path) -> Iterator[ServerProcess]:
    server = _serve(unpacked)
    try:
        yield server
    finally:
        server.stop()


def _get(url: str) -> tuple[int, bytes]:
    with urllib.request.urlopen(url, timeout=10) as resp:
        return resp.status, resp.read()


def test_the_wheel_carries_the_official_client_from_npm(wheel: Path) -> None:
    npm_copy = ROOT / "tests/interop/node_modules/socket.io-client/dist/socket.io.min.js"
    with zipfile.ZipFile(wheel) as zf:
        assert zf.read(CLIENT_IN_WHEEL) == npm_copy.read_bytes()


def test_the_demo_page_and_its_client_are_served_from_the_installed_wheel(served: ServerProcess) -> None:
    status, page = _get(served.url + "/")
    assert status == 200 and b"/socket.io.min.js" in page
    status, script = _get(served.url + "/socket.io.min.js")
    assert status == 200 and len(script) > 10_000
    assert "client script" not in served.log()  # no warning: the script is there


def test_a_missing_client_script_is_said_once_at_start(unpacked: Path) -> None:
    (unpacked / CLIENT_IN_WHEEL).unlink()
    server = _serve(unpacked)
    try:
        # The warning comes before "listening on", so it is already in the log.
        lines = [line for line in server.log().splitlines() if "socket.io.min.js is missing" in line]
        assert len(lines) == 1 and "WARNING" in lines[0], server.log()
        with pytest.raises(urllib.error.HTTPError) as info:
            _get(server.url + "/socket.io.min.js")
        assert info.value.code == 404
    finally:
        log = server.stop()
    assert log.count("socket.io.min.js is missing") == 1
