"""The admin instrumentation's parts, without a network: auth, sessions, data, hooks."""

from __future__ import annotations

import json
import sys
from datetime import datetime
from typing import Any

import pytest

from socketio_core import MemoryAdapter, Server
from socketio_core.admin._auth import SessionStore, make_authenticator
from socketio_core.admin._data import EventBuffer, iso_now, jsonable, serialize_socket
from socketio_core.admin import instrument

# bcrypt.hashpw(b"secret", bcrypt.gensalt(4)), as bcryptjs writes it ($2a$).
HASH = "$2a$04$bYR2cf9CcaOo82p.c7aWaO.O3BTQVGPU8El/it9FOJ0uFh0baDVcy"


# ------------------------------------------------------------------ auth


def test_auth_must_be_explicit() -> None:
    for bad in (None, True):
        with pytest.raises(ValueError, match="explicitly"):
            make_authenticator(bad)
    assert make_authenticator(False) is None
    with pytest.raises(ValueError, match="invalid `auth`"):
        make_authenticator({"type": "digest", "username": "a", "password": "b"})
    with pytest.raises(ValueError, match="strings"):
        make_authenticator({"type": "basic", "username": "a"})


def test_a_plain_password_where_a_hash_is_expected_is_refused_at_once() -> None:
    with pytest.raises(ValueError, match="valid bcrypt hash"):
        make_authenticator({"type": "basic", "username": "admin", "password": "secret"})


def test_missing_bcrypt_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "bcrypt", None)  # import bcrypt -> ImportError
    with pytest.raises(RuntimeError, match="bcrypt"):
        make_authenticator({"type": "basic", "username": "admin", "password": HASH})


def test_plain_password() -> None:
    auth = make_authenticator({"type": "basic", "username": "admin", "password": "secret", "hashed": False})
    assert auth is not None
    ok, session = auth.authenticate({"username": "admin", "password": "secret"})
    assert ok and isinstance(session, str)
    for wrong in (
        {"username": "admin", "password": "Secret"},
        {"username": "root", "password": "secret"},
        {"username": "admin"},
        {"username": ["admin"], "password": {"x": 1}},
        {},
    ):
        assert auth.authenticate(wrong) == (False, None), wrong
    # The session id stands for the password afterwards, and is not renewed.
    assert auth.authenticate({"sessionId": session}) == (True, None)
    assert auth.authenticate({"sessionId": "forged"}) == (False, None)
    assert auth.authenticate({"sessionId": 12}) == (False, None)


def test_bcrypt_hash() -> None:
    pytest.importorskip("bcrypt")
    import gevent

    auth = make_authenticator({"type": "basic", "username": "admin", "password": HASH})
    assert auth is not None

    def check(credentials: dict[str, Any]) -> bool:
        return auth.authenticate(credentials)[0]

    # Checked in the hub's thread pool: run from a greenlet, as middlewares are.
    assert gevent.spawn(check, {"username": "admin", "password": "secret"}).get(timeout=10)
    assert not gevent.spawn(check, {"username": "admin", "password": "wrong"}).get(timeout=10)
    assert not gevent.spawn(check, {"username": "other", "password": "secret"}).get(timeout=10)


def test_custom_auth_function() -> None:
    seen: list[dict[str, Any]] = []

    def allow(credentials: dict[str, Any]) -> bool:
        seen.append(credentials)
        return credentials.get("token") == "t0k3n"

    auth = make_authenticator(allow)
    assert auth is not None
    assert auth.authenticate({"token": "nope"}) == (False, None)
    ok, session = auth.authenticate({"token": "t0k3n"})
    assert ok and session
    assert seen == [{"token": "nope"}, {"token": "t0k3n"}]


def test_sessions_expire_and_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    import socketio_core.admin._auth as mod

    now = [1000.0]
    monkeypatch.setattr(mod, "monotonic", lambda: now[0])
    store = SessionStore(ttl=60, max_sessions=3)
    first = store.new_session()
    assert store.exists(first)
    now[0] += 61
    assert not store.exists(first)
    ids = [store.new_session() for _ in range(5)]
    assert [store.exists(i) for i in ids] == [False, False, True, True, True]


# ------------------------------------------------------------------ data


def test_serialized_socket_has_the_reference_shape() -> None:
    sock = serialize_socket(
        sid="abc",
        namespace="/",
        client_id="client123456",
        transport="polling",
        handshake={
            "headers": {"host": "h", "x-forwarded-for": "10.0.0.1", "origin": "http://x"},
            "query": {"EIO": "4"},
            "address": "127.0.0.1",
            "secure": False,
            "url": "/socket.io/?EIO=4",
            "issued": 1700000000.5,
            "auth": {"password": "must not leak"},
        },
        data={"user": "u", "_admin": {"internal": 1}, "when": datetime(2024, 1, 2)},
        rooms=["abc", "r1"],
    )
    assert sock["data"] == {"user": "u", "when": "2024-01-02 00:00:00"}
    hs = sock["handshake"]
    assert hs["address"] == "10.0.0.1"
    assert hs["issued"] == 1700000000500
    assert hs["time"] == "Tue Nov 14 2023 22:13:20 GMT+0000 (Coordinated Universal Time)"
    assert hs["xdomain"] is True
    assert "auth" not in hs and "must not leak" not in json.dumps(sock)
    assert sock["rooms"] == ["abc", "r1"]


def test_jsonable_keeps_json_and_stringifies_the_rest() -> None:
    assert jsonable({"a": [1, 2.5, None, True, "s"], 3: (1, 2)}) == {"a": [1, 2.5, None, True, "s"], "3": [1, 2]}
    assert jsonable({"s": {2, 1}, "o": object}) == {"s": [1, 2], "o": str(object)}
    deep: Any = []
    node = deep
    for _ in range(50):
        node.append([])
        node = node[0]
    json.dumps(jsonable(deep))


def test_iso_now_is_a_js_date() -> None:
    assert len(iso_now()) == 24 and iso_now().endswith("Z")


def test_event_buffer_aggregates_per_second_and_clears() -> None:
    buf = EventBuffer()
    buf.push("rawConnection")
    buf.push("rawConnection")
    buf.push("bytesIn", None, 100)
    buf.push("rawDisconnection", "transport close")
    values = buf.values_and_clear()
    by_type = {(v["type"], v.get("subType")): v for v in values}
    assert by_type[("rawConnection", None)]["count"] == 2
    assert by_type[("bytesIn", None)]["count"] == 100
    assert by_type[("rawDisconnection", "transport close")]["count"] == 1
    assert "subType" not in by_type[("rawConnection", None)]
    assert all(v["timestamp"] % 1000 == 0 for v in values)
    assert buf.values_and_clear() == []


# ------------------------------------------------------------------ hooks


def test_adapter_reports_each_membership_change_once() -> None:
    adapter = MemoryAdapter()
    seen: list[tuple[str, str, str, bool]] = []
    adapter.add("/", "s1", "s1")  # before the listener: not reported
    adapter.add_membership_listener(lambda *change: seen.append(change))
    adapter.add("/", "s1", "room")
    adapter.add("/", "s1", "room")  # already in: nothing
    adapter.discard("/", "s1", "other")  # never in: nothing
    adapter.discard("/", "s1", "room")
    adapter.add("/", "s1", "a")
    adapter.discard_all("/", "s1")
    adapter.discard_all("/", "s1")
    assert seen[:3] == [("/", "room", "s1", True), ("/", "room", "s1", False), ("/", "a", "s1", True)]
    assert sorted(seen[3:]) == [("/", "a", "s1", False), ("/", "s1", "s1", False)]
    assert adapter.membership_count() == 0


def test_adapter_listener_can_be_removed() -> None:
    adapter = MemoryAdapter()
    seen: list[Any] = []

    def listener(*change: Any) -> None:
        seen.append(change)

    adapter.add_membership_listener(listener)
    adapter.remove_membership_listener(listener)
    adapter.add("/", "s", "r")
    assert seen == [] and MemoryAdapter().membership_listeners == ()


def test_instrument_validates_its_options() -> None:
    server = Server()
    with pytest.raises(TypeError):
        instrument(server)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="explicitly"):
        instrument(server, auth=None)
    with pytest.raises(ValueError, match="mode"):
        instrument(server, auth=False, mode="debug")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="namespace"):
        instrument(server, auth=False, namespace="admin")
    admin = instrument(server, auth=False)
    try:
        assert admin.supported_features[-2:] == ["AGGREGATED_EVENTS", "ALL_EVENTS"]
        with pytest.raises(ValueError, match="already"):
            instrument(server, auth=False)
    finally:
        admin.stop()
    assert admin not in server._listeners
    assert server.adapter.membership_listeners == ()


def test_readonly_production_features() -> None:
    admin = instrument(Server(), auth=False, readonly=True, mode="production", server_id="x")
    try:
        assert admin.supported_features == ["AGGREGATED_EVENTS"]
        assert admin.base_stats["serverId"] == "x"
    finally:
        admin.stop()


def test_a_hash_made_by_bcryptjs_works() -> None:
    """The reference's README has users hash with bcryptjs ($2a$, cost 10): same hashes here."""
    pytest.importorskip("bcrypt")
    import gevent

    made_by_bcryptjs = "$2a$10$G7uksHxAlwa4Zxuu1lIJJOnJUVHZHkSASOVCPWXOHw96.EIM7JB2S"  # "secret"
    auth = make_authenticator({"type": "basic", "username": "admin", "password": made_by_bcryptjs})
    assert auth is not None
    assert gevent.spawn(auth.authenticate, {"username": "admin", "password": "secret"}).get(timeout=10)[0]
