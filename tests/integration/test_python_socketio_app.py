"""A python-socketio gevent app with only its import changed serves both official clients.

``_pysio_app.py`` is written the way python-socketio's gevent users write
their servers (``socketio.Server(async_mode="gevent", logger=True, ...)``,
``socketio.WSGIApp``, ``sio.start_background_task``, ``@sio.event(namespace=...)``,
``socketio.exceptions``...), with ``import socketio_core as socketio``. It is
served by ``gevent.pywsgi.WSGIServer`` twice: with gevent-websocket's
``WebSocketHandler`` (which answers WebSocket upgrades itself) and plain
(with ``always_connect=True``: refusals become a CONNECT then a DISCONNECT).
The official JavaScript client and the python-socketio client (.venv-peer)
drive it over polling, WebSocket and the upgrade.
"""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator

import pytest

from tests.conftest import ServerProcess, run_node, run_peer_python, script_server

MODES = ("polling", "websocket", "default")


@pytest.fixture(scope="module", params=["geventwebsocket", "pywsgi"])
def app(request: pytest.FixtureRequest) -> Iterator[tuple[ServerProcess, str]]:
    handler = request.param
    server = script_server("_pysio_app.py", handler, *(["always_connect"] if handler == "pywsgi" else []))
    yield server, handler
    output = server.stop()
    assert "Traceback" not in output, output[-4000:]


def check(results: dict[str, Any], mode: str, handler: str, client: str) -> None:
    for name, value in results.items():
        assert "error" not in value, f"{name}: {value['error']}"
    basics = results["basics"]
    assert basics["welcome_is_own_sid"] and basics["has_addr"]
    assert basics["echo"] == {"n": [1, 2], "s": "é"}
    assert basics["agent"] == client  # sio.get_environ(sid)["HTTP_X_APP"]
    assert basics["recalled"] == "kept"
    assert basics["heard_from_b"] and basics["heard_text"] == "hi"
    assert basics["transport"] == ("polling" if mode == "polling" else "websocket")
    assert results["chat"] == {"ready": "yes", "tick_has_count": True, "shouted": "HELLO"}
    assert results["audit"]["pong"] == 5
    assert {"connect", "ping_me", "seen"} <= set(results["audit"]["seen"])  # trigger_event saw them all
    refused = results["refused"]
    if handler == "pywsgi":  # always_connect=True
        assert refused["connected"] is True
        assert refused["reason"] in ("io server disconnect", ["server disconnect"]), refused
    else:
        assert refused == {"connected": False, "message": "bad token"}
    assert results["bye"]["reason"] in ("io server disconnect", ["server disconnect"])


@pytest.mark.timeout(180)
def test_the_official_js_client(app: tuple[ServerProcess, str]) -> None:
    server, handler = app
    with ThreadPoolExecutor(len(MODES)) as pool:
        runs = {m: pool.submit(run_node, "pysio_app_client.js", server.url, m) for m in MODES}
        for mode, run in runs.items():
            check(run.result(), mode, handler, "js")
    for run in runs.values():
        assert run.result()["basics"]["own_sid_in_rooms"] is True, run.result()["basics"]


@pytest.mark.timeout(180)
def test_the_python_socketio_client(app: tuple[ServerProcess, str]) -> None:
    server, handler = app
    with ThreadPoolExecutor(len(MODES)) as pool:
        runs = {m: pool.submit(run_peer_python, "pysio_app_client.py", server.url, m) for m in MODES}
        for mode, run in runs.items():
            results = run.result()
            assert results["basics"].pop("own_sid_in_rooms") is True
            check(results, mode, handler, "py")


def test_the_app_logs_as_python_socketio_users_expect(app: tuple[ServerProcess, str]) -> None:
    """logger=True: connects (with the Engine.IO id) and disconnects (with the reason) at INFO."""
    server, _ = app
    server.wait_for_output(r"^connect: \S+ \[/chat\] \(Engine\.IO \S+, (polling|websocket)\)")
    server.wait_for_output(r"^disconnect: \S+ \[/\] \(Engine\.IO \S+\): server namespace disconnect")
    server.wait_for_output(r"^app saw disconnect \S+ server namespace disconnect")
