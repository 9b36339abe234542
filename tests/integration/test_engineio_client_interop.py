"""The official npm engine.io-client against the echo server in --engineio-only mode.

Each mode sends text and binary messages (binary including the record
separator byte, text with non-ASCII characters) and must get every one back
unchanged, in order, with binary still binary; the close must reach the server
as a client-side close.
"""

from __future__ import annotations

import re
from typing import Any, Callable, Iterator

import pytest

from tests.conftest import ServerProcess as EchoServer
from tests.conftest import run_node

from ._eio import start_echo

pytestmark = pytest.mark.timeout(90)

StartServer = Callable[..., EchoServer]


@pytest.fixture
def echo_server(eio_driver: str) -> Iterator[StartServer]:
    """Factory: the Engine.IO echo on this module's driver (``--engineio-only`` implied)."""
    started: list[EchoServer] = []

    def start(*args: str) -> EchoServer:
        server = start_echo(eio_driver, *[a for a in args if a != "--engineio-only"])
        started.append(server)
        return server

    yield start
    for server in started:
        output = server.stop()
        assert "Traceback" not in output, output[-4000:]


def _run(server: EchoServer, mode: str, *extra: str) -> dict[str, Any]:
    result: dict[str, Any] = run_node("eio_client.js", server.url, mode, *extra)
    assert "error" not in result, result
    return result


def _disconnect_reason(server: EchoServer, sid: str) -> str:
    # The client's close may still be on its way when the client exits.
    return server.wait_for_output(rf"disconnect {re.escape(sid)} \(([^)]*)\)").group(1)


def _check_echoes(result: dict[str, Any]) -> None:
    assert len(result["sent"]) >= 5
    assert result["received"] == result["sent"]
    # Binary came back as binary, the \x1e byte included; text kept its non-ASCII characters.
    assert {"binary": [1, 2, 3, 255, 0]} in result["received"]
    assert {"binary": [30, 4, 30]} in result["received"]
    assert any("\u00e9\u2603" in item for item in result["received"] if isinstance(item, str))


@pytest.mark.parametrize("mode", ["polling", "websocket"])
def test_single_transport(echo_server: StartServer, mode: str) -> None:
    server = echo_server("--engineio-only", "--ping-interval", "300", "--ping-timeout", "1000")
    result = _run(server, mode)
    _check_echoes(result)
    assert result["transports"] == [mode]
    assert result["upgraded"] is False
    assert result["finalTransport"] == mode
    assert result["closeReason"] == "forced close"
    assert _disconnect_reason(server, result["sid"]) == "transport close"


def test_default_upgrades_to_websocket(echo_server: StartServer) -> None:
    server = echo_server("--engineio-only", "--ping-interval", "300", "--ping-timeout", "1000")
    result = _run(server, "upgrade")
    _check_echoes(result)
    assert result["upgraded"] is True
    assert result["transports"] == ["polling", "websocket"]
    assert result["finalTransport"] == "websocket"
    # One batch before the upgrade event and one after it, all echoed in order.
    assert result["sent"][0] == "before-upgrade-text"
    assert result["sent"][-1] == "after-upgrade-last"
    assert result["closeReason"] == "forced close"
    assert _disconnect_reason(server, result["sid"]) == "transport close"


@pytest.mark.parametrize("mode", ["polling", "upgrade"])
def test_idle_client_survives_heartbeats(echo_server: StartServer, mode: str) -> None:
    """Idle for several ping intervals: the official client's pongs keep the session."""
    server = echo_server("--engineio-only", "--ping-interval", "300", "--ping-timeout", "1000")
    result = _run(server, mode, "1500")
    _check_echoes(result)
    assert result.get("pings", 0) >= 3
    assert _disconnect_reason(server, result["sid"]) == "transport close"
