"""The demo page (GET /) in headless Chromium: two pages, emit and broadcast.

Debian's chromium (installed by .ci/system-deps.sh, `make system-deps`) is
driven by playwright-core from tests/interop (browser_demo.js). The page loads
the official client from the echo server itself (/socket.io.min.js), joins
/demo, and upgrades to WebSocket on its own.
"""

from __future__ import annotations

import shutil
import uuid
from pathlib import Path
from typing import Any, Callable

import pytest

from tests.conftest import run_node

CHROMIUM = Path("/usr/bin/chromium")


@pytest.mark.parametrize("driver", ["gevent", "asyncio"])
def test_demo_page_emit_and_broadcast_between_two_pages(echo_server: Callable[..., Any], driver: str) -> None:
    assert CHROMIUM.exists() or shutil.which("chromium"), (
        "chromium is missing: run `make system-deps` (apt-get install chromium)"
    )
    server = echo_server("--driver", driver)
    tag = uuid.uuid4().hex[:8]
    result = run_node("browser_demo.js", server.url, tag, str(CHROMIUM), timeout=90)
    log = server.stop()
    assert "error" not in result, result
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
    # The server saw two clients join /demo.
    assert log.count("to /demo") == 2, log
    assert "Traceback" not in log
