"""Socket.IO protocol 4 (the v1/v2 clients, over Engine.IO v3; PROTOCOL.md 3.2), sans-IO.

The same :class:`Connection` as protocol 5 with ``protocol=4``: the server
joins ``/`` unasked, CONNECT has no payload either way and its auth is the
namespace's query string, a refusal is a plain JSON string except for an
unknown namespace, and socket ids are derived from the Engine.IO sid.
"""

from __future__ import annotations

from typing import Any

import pytest

from socketio_core.protocol._connection import (
    ConnectRequested,
    Connection,
    DisconnectRequested,
    EventReceived,
    legacy_socket_id,
    query_auth,
)
from socketio_core.protocol._errors import LocalSocketIOError, RemoteSocketIOError

T0 = 1000.0


def events(conn: Connection) -> list[Any]:
    out = []
    while (event := conn.next_event()) is not None:
        out.append(event)
    return out


def legacy() -> Connection:
    return Connection(T0, protocol=4)


def test_root_is_joined_unasked_and_accepted_with_a_bare_connect() -> None:
    conn = legacy()
    conn.connect_root({"token": "abc"})
    assert events(conn) == [ConnectRequested(namespace="/", auth={"token": "abc"})]
    assert conn.accept("/", "engine-sid") == ["40"]
    assert conn.connected("/")
    assert conn.next_deadline() is None  # the connect timeout is over
    with pytest.raises(LocalSocketIOError):
        conn.connect_root({})


def test_connect_root_is_for_protocol_4_only() -> None:
    with pytest.raises(LocalSocketIOError):
        Connection(T0).connect_root({})
    with pytest.raises(LocalSocketIOError):
        Connection(T0, protocol=3)


#: (client CONNECT text, namespace, auth): the auth travels in the namespace's query
CONNECT_CASES = [
    ("0/admin,", "/admin", {}),
    ("0/admin", "/admin", {}),
    ("0/admin?token=abc,", "/admin", {"token": "abc"}),
    ("0/admin?token=abc&x=1,", "/admin", {"token": "abc", "x": "1"}),
    ("0/admin?token=a%20b+c&x=1&x=2,", "/admin", {"token": "a b c", "x": "2"}),
    ("0/admin?flag,", "/admin", {"flag": ""}),
    ("0/admin?,", "/admin", {}),
    ("0/a/b?q=%C3%A9,", "/a/b", {"q": "\u00e9"}),
    # a payload means nothing in protocol 4 (REF reads the query only)
    ('0/admin?token=abc,{"token":"other"}', "/admin", {"token": "abc"}),
]


@pytest.mark.parametrize(("text", "namespace", "auth"), CONNECT_CASES)
def test_connect_auth_comes_from_the_namespace_query(text: str, namespace: str, auth: dict[str, str]) -> None:
    conn = legacy()
    conn.receive(text)
    assert events(conn) == [ConnectRequested(namespace=namespace, auth=auth)]
    assert conn.accept(namespace, legacy_socket_id(namespace, "E")) == [f"40{namespace},"]
    # Everything after the CONNECT names the namespace without its query.
    conn.receive(f'2{namespace},["x"]')
    assert events(conn) == [EventReceived(namespace=namespace, data=["x"], ack_id=None)]


def test_second_connect_for_a_joined_namespace_is_a_protocol_error() -> None:
    conn = legacy()
    conn.connect_root({})
    conn.accept("/", "E")
    with pytest.raises(RemoteSocketIOError):
        conn.receive("0")
    conn.receive("0/admin?x=1,")
    conn.accept("/admin", "/admin#E")
    with pytest.raises(RemoteSocketIOError):
        conn.receive("0/admin?x=2,")


#: (message, data, wire): REF ``err.data || err.message`` as a JSON string
REFUSE_CASES = [
    ("Not authorized", None, '44/admin,"Not authorized"'),
    ("Not authorized", "custom data", '44/admin,"custom data"'),
    ("Not authorized", "", '44/admin,"Not authorized"'),
    ("Not authorized", {"code": 7}, '44/admin,{"code":7}'),
    ("Not authorized", 42, '44/admin,"Not authorized"'),
]


@pytest.mark.parametrize(("message", "data", "wire"), REFUSE_CASES)
def test_refusal_payload_is_a_plain_string(message: str, data: Any, wire: str) -> None:
    conn = legacy()
    conn.receive("0/admin,")
    events(conn)
    assert conn.refuse("/admin", message, data) == [wire]
    assert not conn.connected("/admin")


def test_unknown_namespace_still_gets_the_object() -> None:
    conn = legacy()
    conn.receive("0/nope?x=1,")
    events(conn)
    assert conn.refuse_unknown("/nope") == ['44/nope,{"message":"Invalid namespace"}']
    v5 = Connection(T0)
    v5.receive("0/nope,")
    assert v5.refuse_unknown("/nope") == ['44/nope,{"message":"Invalid namespace"}']


def test_protocol_5_is_unchanged() -> None:
    conn = Connection(T0)
    conn.receive('0/admin?x=1,{"token":"t"}')
    assert events(conn) == [ConnectRequested(namespace="/admin?x=1", auth={"token": "t"})]
    assert conn.accept("/admin?x=1", "S") == ['40/admin?x=1,{"sid":"S"}']
    conn.receive("0/b,")
    assert conn.refuse("/b", "no", None) == ['44/b,{"message":"no"}']


def test_events_acks_binary_and_disconnect_are_as_in_protocol_5() -> None:
    conn = legacy()
    conn.connect_root({})
    events(conn)
    conn.accept("/", "E")
    conn.receive('51-12["up",{"_placeholder":true,"num":0}]')
    conn.receive(b"\x01\x02")
    assert events(conn) == [EventReceived(namespace="/", data=["up", b"\x01\x02"], ack_id=12)]
    assert conn.ack("/", 12, [b"\x03"]) == ['461-12[{"_placeholder":true,"num":0}]', b"\x03"]
    assert conn.event("/", ["e", 1]) == ['42["e",1]']
    conn.receive("1")
    assert events(conn) == [DisconnectRequested(namespace="/")]


@pytest.mark.parametrize(
    ("namespace", "sid"), [("/", "abc"), ("/admin", "/admin#abc"), ("/a/b", "/a/b#abc")]
)
def test_socket_ids_are_derived_from_the_engine_sid(namespace: str, sid: str) -> None:
    assert legacy_socket_id(namespace, "abc") == sid


def test_root_auth_is_the_query_without_the_engine_keys() -> None:
    query = {"EIO": "3", "transport": "polling", "t": "N1", "b64": "1", "sid": "x", "j": "0",
             "token": "abc", "x": ""}
    assert query_auth(query) == {"token": "abc", "x": ""}
