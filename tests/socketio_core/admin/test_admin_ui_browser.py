"""The real Admin UI dashboard, in headless Chromium, against an instrumented server.

The dashboard is the ``ui/dist`` folder of the npm package ``@socket.io/admin-ui``
(the very files of https://admin.socket.io), served by the Node script
(tests/interop/admin_ui_browser.js) on a port of its own, so the page talks
to the server cross-origin, as the hosted dashboard does. It logs in through
its connection dialog; the checks read what its pages show.

The package comes from tests/interop/node_modules (``npm install
@socket.io/admin-ui`` there), or from the folder named by ``ADMIN_UI_DIST``;
without either the test is skipped.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Callable

import pytest

from tests.socketio_core.admin.conftest import AdminServer
from tests.conftest import INTEROP, run_node

CHROMIUM = Path("/usr/bin/chromium")
UI_DIST = Path(
    os.environ.get("ADMIN_UI_DIST")
    or INTEROP / "node_modules" / "@socket.io" / "admin-ui" / "ui" / "dist"
)

try:
    import bcrypt  # noqa: F401

    HAVE_BCRYPT = True
except ImportError:
    HAVE_BCRYPT = False


@pytest.mark.skipif(not (UI_DIST / "index.html").exists(), reason=f"no Admin UI in {UI_DIST}")
def test_dashboard_shows_and_drives_the_server(admin_server: Callable[..., AdminServer]) -> None:
    assert CHROMIUM.exists() or shutil.which("chromium"), (
        "chromium is missing: run `make system-deps` (apt-get install chromium)"
    )
    server = admin_server("development", "readwrite", "bcrypt" if HAVE_BCRYPT else "plain")
    r = run_node("admin_ui_browser.js", server.url, str(UI_DIST), str(CHROMIUM), timeout=100)
    assert "error" not in r, r["error"]
    assert r["errors"] == []
    assert r["loggedIn"] is True
    bob, carol = r["bobId"], r["userId"]
    # Servers page: this server, healthy.
    [row] = r["servers"]
    assert row.startswith("test-server") and "HEALTHY" in row
    # Sockets page (namespace /): both clients, with their transports.
    assert len(r["sockets"]) == 2
    assert any(bob in line and "HTTP long-polling" in line for line in r["sockets"])
    assert any(carol in line and "WebSocket" in line for line in r["sockets"])
    # Rooms page: the room carol joined (the private sid rooms are hidden by default).
    assert any(line.startswith("ui-room") for line in r["rooms"])
    # Events page: what carol did, newest first.
    kinds = [line.split("\t")[2].strip() for line in r["events"] if carol in line]
    assert kinds[:4] == ["Event sent", "Event received", "Room joined", "Event received"], kinds
    assert "Connection" in kinds
    assert r["socketPageShowsData"] is True
    # The disconnect button: carol is gone, bob stays.
    assert r["userDisconnectReason"] == "io server disconnect"
    assert len(r["socketsAfterDisconnect"]) == 1 and bob in r["socketsAfterDisconnect"][0]
