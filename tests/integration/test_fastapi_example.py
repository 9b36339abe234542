"""examples/fastapi_chat: FastAPI with Socket.IO mounted, in headless Chromium, under uvicorn and hypercorn.

The example's page has the echo demo's markup, so tests/interop/browser_demo.js
drives it: two pages connect (the official client, served by the FastAPI
app), one echoes, both broadcast; each page must see exactly its own echo
and both broadcasts, over WebSocket. The REST route that emits is called too.
"""

from __future__ import annotations

import json
import shutil
import urllib.request
import uuid
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_node, script_server

CHROMIUM = Path("/usr/bin/chromium")
APP = ROOT / "examples" / "fastapi_chat" / "app.py"


@pytest.mark.parametrize("server_name", ["uvicorn", "hypercorn"])
def test_two_pages_echo_and_broadcast_through_fastapi(server_name: str) -> None:
    assert CHROMIUM.exists() or shutil.which("chromium"), "chromium is missing: run `make system-deps`"
    server = script_server("_asgi_serve.py", server_name, f"{APP}:app")
    try:
        tag = uuid.uuid4().hex[:8]
        result = run_node("browser_demo.js", server.url, tag, str(CHROMIUM), timeout=90)
        request = urllib.request.Request(f"{server.url}/announce?text=hi", method="POST")
        with urllib.request.urlopen(request, timeout=10) as answer:
            announced = json.loads(answer.read())
    finally:
        log = server.stop()
    assert "error" not in result, result
    page1, page2 = result["pages"]
    assert page1["log"] == ["Received: Connected", f"Received: echo-{tag}", f"Received: bcast1-{tag}",
                            f"Received: bcast2-{tag}"]
    assert page2["log"] == ["Received: Connected", f"Received: bcast1-{tag}", f"Received: bcast2-{tag}"]
    assert [p["transport"] for p in result["pages"]] == ["websocket", "websocket"]
    assert result["errors"] == [] and result["failed"] == [], result
    assert announced == {"clients": 0}  # the pages are gone: the route ran and asked the server
    assert "Traceback" not in log, log[-3000:]
