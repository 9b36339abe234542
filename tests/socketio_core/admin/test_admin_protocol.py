"""The Admin UI's ``/admin`` protocol, spoken to the official client.

A server instrumented by :func:`socketio_core.admin.instrument`
(_admin_server.py) runs as a subprocess; tests/interop/admin_client.js
connects to ``/admin`` as the dashboard does, while ordinary clients connect
to ``/`` and join rooms, and reports everything the admin socket received.
The expected shapes are those the reference instrumentation
(``@socket.io/admin-ui`` 0.5 on socket.io 4.8) sends.
"""

from __future__ import annotations

import re
from typing import Any, Callable

import pytest

from tests.socketio_core.admin.conftest import AdminServer
from tests.conftest import run_node

ALL_FEATURES = ["EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT",
                "AGGREGATED_EVENTS", "ALL_EVENTS"]
ISO = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")

try:
    import bcrypt  # noqa: F401

    HAVE_BCRYPT = True
except ImportError:
    HAVE_BCRYPT = False


def scenario(server: AdminServer, name: str, admin_mode: str = "websocket") -> dict[str, Any]:
    report = run_node("admin_client.js", server.url, name, admin_mode, timeout=60)
    result = report[name]
    assert "error" not in result, result["error"]
    return dict(result)


def check_socket(sock: dict[str, Any], sid: str, nsp: str) -> None:
    assert set(sock) == {"id", "clientId", "transport", "nsp", "data", "handshake", "rooms"}
    assert sock["id"] == sid and sock["nsp"] == nsp
    assert isinstance(sock["clientId"], str) and len(sock["clientId"]) == 12
    assert sock["transport"] in ("polling", "websocket")
    hs = sock["handshake"]
    assert set(hs) == {"address", "headers", "query", "issued", "secure", "time", "url", "xdomain"}
    assert hs["address"] == "127.0.0.1"
    assert hs["query"]["EIO"] == "4"
    assert hs["url"].startswith("/socket.io/?")
    assert isinstance(hs["issued"], int) and hs["issued"] > 1_600_000_000_000
    assert hs["time"].endswith("GMT+0000 (Coordinated Universal Time)")
    assert hs["secure"] is False
    assert sid in sock["rooms"]


@pytest.mark.parametrize("auth", ["bcrypt", "plain"])
@pytest.mark.parametrize("admin_mode", ["websocket", "default"])
def test_full_protocol(admin_server: Callable[..., AdminServer], auth: str, admin_mode: str) -> None:
    if auth == "bcrypt" and not HAVE_BCRYPT:
        pytest.skip("bcrypt is not installed (the admin extra)")
    r = scenario(admin_server("development", "readwrite", auth), "full", admin_mode)

    # At connection: session id, config, every socket, stats at once.
    assert re.fullmatch(r"[0-9a-f]{32}", r["session"])
    assert r["config"] == {"supportedFeatures": ALL_FEATURES}
    # Every socket, the admin's own included (the dashboard picks a namespace among them).
    [own] = r["allSockets"]
    check_socket(own, r["adminId"], "/admin")
    assert own["data"] == {} and "auth" not in own["handshake"]
    stats = r["firstStats"]
    assert stats["serverId"] == "test-server"
    assert isinstance(stats["hostname"], str) and isinstance(stats["pid"], int)
    assert stats["uptime"] > 0 and stats["clientsCount"] >= 1
    assert {n["name"]: n["socketsCount"] for n in stats["namespaces"]} == {"/": 0, "/chat": 0, "/admin": 1}
    order = r["eventOrder"]
    assert order[:4] == ["session", "config", "all_sockets", "server_stats"]

    # An ordinary client's life, as the admin sees it.
    user = r["userId"]
    sock = r["socketConnected"]["socket"]
    check_socket(sock, user, "/")
    assert ISO.fullmatch(r["socketConnected"]["timestamp"])
    assert sock["data"] == {"user": "alice"}
    assert "auth" not in sock["handshake"]
    assert r["joinedOwnRoom"][:3] == ["/", user, user]
    assert r["joinAck"] == ["joined"]
    assert r["roomJoined"][:3] == ["/", "room1", user] and ISO.fullmatch(r["roomJoined"][3])
    assert r["eventReceived"][:3] == ["/", user, ["hello", {"x": 1}]]
    assert r["eventSent"][:3] == ["/", user, ["reply", {"x": 1}]]
    if r["socketUpdated"] is not None:
        assert r["socketUpdated"] == [{"id": user, "nsp": "/", "transport": "websocket"}]

    # The dashboard's commands act on the client.
    assert r["adminJoin"][:3] == ["/", "room2", user]
    assert "room2" in r["roomsAfterJoin"]
    assert r["adminLeave"][:3] == ["/", "room2", user]
    assert "room2" not in r["roomsAfterLeave"] and "room1" in r["roomsAfterLeave"]
    assert r["announce"] == ["from the admin", 42]
    assert r["userDisconnectReason"] == "io server disconnect"
    assert r["socketDisconnected"][:3] == ["/", user, "server namespace disconnect"]
    assert r["roomLeftOnDisconnect"][:3] == ["/", "room1", user]
    assert order.index("socket_disconnected") < len(order) - 1 - order[::-1].index("room_left")

    with_user = r["statsWithUser"]
    assert {n["name"]: n["socketsCount"] for n in with_user["namespaces"]}["/"] == 1
    totals = r["aggregated"]
    assert totals.get("rawConnection", 0) >= 1
    assert totals.get("packetsIn", 0) >= 4 and totals.get("bytesIn", 0) > 0
    assert totals.get("packetsOut", 0) >= 4 and totals.get("bytesOut", 0) > 0
    assert r["ownEventsReported"] == 0

    # Reconnecting with the session id needs no password, and gets no new session.
    assert r["reconnectConfig"] == {"supportedFeatures": ALL_FEATURES}
    assert r["reconnectGotSession"] == 0
    assert r["bogusSession"] == "invalid credentials"


@pytest.mark.parametrize("auth", ["bcrypt", "plain"])
def test_wrong_credentials_are_refused(admin_server: Callable[..., AdminServer], auth: str) -> None:
    if auth == "bcrypt" and not HAVE_BCRYPT:
        pytest.skip("bcrypt is not installed (the admin extra)")
    r = scenario(admin_server("development", "readwrite", auth), "wrong")
    for attempt in ("password", "username", "missing", "types"):
        assert r[attempt] == {"message": "invalid credentials", "data": None}, attempt
    assert r["configAfter"] == {"supportedFeatures": ALL_FEATURES}


def test_readonly_ignores_commands(admin_server: Callable[..., AdminServer]) -> None:
    r = scenario(admin_server("development", "readonly", "plain"), "readonly")
    assert r["config"] == {"supportedFeatures": ["AGGREGATED_EVENTS", "ALL_EVENTS"]}
    assert r["disconnected"] is None and r["stillConnected"] is True
    assert "roomX" not in r["rooms"]
    assert r["announced"] == 0
    assert r["helloAck"] == ["hi"]
    assert r["eventReceived"][2] == ["hello", "still here"]


def test_production_mode_sends_only_stats(admin_server: Callable[..., AdminServer]) -> None:
    r = scenario(admin_server("production", "readwrite", "plain"), "production")
    assert r["config"] == {"supportedFeatures": [
        "EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT", "AGGREGATED_EVENTS",
    ]}
    assert r["events"] == ["config", "server_stats", "session"]
    assert r["stats"]["pollingClientsCount"] == 1
    totals = r["aggregated"]
    assert totals.get("rawConnection", 0) >= 1
    assert totals.get("rawDisconnection:transport close", 0) >= 1  # the user left
    assert totals.get("packetsIn", 0) >= 3 and totals.get("packetsOut", 0) >= 3


def test_auth_false_lets_anyone_in(admin_server: Callable[..., AdminServer]) -> None:
    r = scenario(admin_server("development", "readwrite", "none"), "noauth", "polling")
    assert r["config"] == {"supportedFeatures": ALL_FEATURES}
    assert [s["nsp"] for s in r["sockets"]] == ["/admin"] and r["sessions"] == 0
