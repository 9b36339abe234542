"""The seed application (examples/flask_seed/app.py, Flask-SocketIO's example with only
its import line changed) in two headless Chromium pages.

Debian's chromium is driven by playwright-core from tests/interop
(flask_browser.js); the page loads the official client from the app itself
(/socket.io.min.js) and upgrades to WebSocket. The app runs with
``socketio.run``, under ``flask run --reload`` (our ``run`` command, the
reloader's child serving) and under ``gunicorn -k gevent -w 1``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
import uuid
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.conftest import INTEROP, ROOT

from .conftest import FlaskServer

CHROMIUM = Path("/usr/bin/chromium")
SEED = ROOT / "examples" / "flask_seed" / "app.py"
#: The seed keeps Socket.IO's defaults: a vanished client is noticed within these.
PING_INTERVAL, PING_TIMEOUT = 25.0, 20.0


@pytest.mark.parametrize("kind", ["run", "flask-run", "gunicorn"])
def test_seed_app_in_two_browser_pages(kind: str, flask_server: Callable[..., FlaskServer]) -> None:
    assert CHROMIUM.exists() or shutil.which("chromium"), (
        "chromium is missing: run `make system-deps` (apt-get install chromium)"
    )
    server = flask_server(kind, SEED, "app:app")
    tag = uuid.uuid4().hex[:8]
    node = subprocess.Popen(
        ["node", str(INTEROP / "flask_browser.js"), server.url, tag, str(CHROMIUM)],
        cwd=INTEROP, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    try:
        assert node.stdout is not None and node.stdin is not None
        line = node.stdout.readline()
        closed_at = time.monotonic()
        assert line, node.stderr.read() if node.stderr else ""
        result: dict[str, Any] = json.loads(line)
        assert "error" not in result, result
        # Page 2 is closed: its WebSocket closes, the disconnect handler runs at once.
        server.wait_for_line("Client disconnected", PING_INTERVAL + PING_TIMEOUT, count=1)
        elapsed = time.monotonic() - closed_at
        print(f"{kind}: disconnect handler ran {elapsed * 1000:.0f} ms after the page closed")
        assert elapsed < 3.0, f"disconnect handler ran {elapsed:.1f} s after the page closed"
        node.stdin.write("done\n")
        node.stdin.flush()
        node.wait(timeout=30)
    finally:
        if node.poll() is None:
            node.kill()
            node.wait()

    page1, page2 = result["pages"]
    # The emit form answers only its own page; both broadcasts reach both pages.
    assert page1["log"] == [
        "Received: Connected",
        f"Received: echo-{tag}",
        f"Received: bcast1-{tag}",
        f"Received: bcast2-{tag}",
    ]
    assert page2["log"] == [
        "Received: Connected",
        f"Received: bcast1-{tag}",
        f"Received: bcast2-{tag}",
    ]
    for page in (page1, page2):
        assert page["status"] == "connected"
        assert page["transport"] == "websocket"
    assert result["errors"] == []
    assert result["failed"] == []
    # Page 1 went with the browser.
    server.wait_for_line("Client disconnected", 10, count=2)
