"""The per-client Socket.IO state machine, on wire text and a fake clock.

No sockets and no server: Engine.IO messages go into
:class:`~socketio_core.protocol._connection.Connection` the way the transport hands
them over (the Socket.IO text without the Engine.IO ``4``, binary frames as
bytes), and what comes back is checked as the exact Engine.IO items a client
would receive (PROTOCOL.md 2.4-2.6).
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from socketio_core.protocol._connection import (
    AckReceived,
    ConnectRequested,
    Connection,
    ConnectTimedOut,
    DisconnectRequested,
    EventReceived,
    NamespaceState,
)
from socketio_core.protocol._errors import LocalSocketIOError, RemoteSocketIOError

T0 = 1000.0  # the fake clock's start; nothing here reads a real clock


def events(conn: Connection) -> list[Any]:
    """Drain every pending event."""
    out = []
    while True:
        event = conn.next_event()
        if event is None:
            return out
        out.append(event)


def feed(conn: Connection, *messages: str | bytes) -> list[Any]:
    for message in messages:
        conn.receive(message)
    return events(conn)


def joined(namespace: str = "/", sid: str = "S1", **kwargs: Any) -> Connection:
    """A connection whose client joined ``namespace``."""
    conn = Connection(T0, **kwargs)
    text = "0" if namespace == "/" else f"0{namespace},"
    assert feed(conn, text) == [ConnectRequested(namespace=namespace, auth={})]
    conn.accept(namespace, sid)
    return conn


# ------------------------------------------------------------------ connect


def test_connect_says_whether_the_client_sent_an_auth_payload() -> None:
    """``auth`` is ``{}`` either way; ``auth_sent`` tells (Flask-SocketIO gives None then)."""
    [bare] = feed(Connection(T0), "0")
    [empty] = feed(Connection(T0), "0{}")
    [given] = feed(Connection(T0), '0/chat,{"token":1}')
    assert (bare.auth, bare.auth_sent) == ({}, False)
    assert (empty.auth, empty.auth_sent) == ({}, True)
    assert (given.auth, given.auth_sent) == ({"token": 1}, True)


def test_connect_then_accept_gives_the_sid_packet() -> None:
    conn = Connection(T0)
    assert feed(conn, "0") == [ConnectRequested(namespace="/", auth={})]
    assert conn.namespaces == {"/": NamespaceState.CONNECTING}
    assert not conn.connected("/")
    assert conn.accept("/", "abc") == ['40{"sid":"abc"}']
    assert conn.connected("/")
    assert conn.namespaces == {"/": NamespaceState.CONNECTED}


def test_connect_to_a_custom_namespace_names_it_in_the_reply() -> None:
    conn = Connection(T0)
    assert feed(conn, "0/custom,") == [ConnectRequested(namespace="/custom", auth={})]
    assert conn.accept("/custom", "xyz") == ['40/custom,{"sid":"xyz"}']
    assert conn.connected("/custom")
    assert not conn.connected("/")


def test_connect_without_trailing_comma_is_accepted_like_the_reference_decoder() -> None:
    conn = Connection(T0)
    assert feed(conn, "0/custom") == [ConnectRequested(namespace="/custom", auth={})]


@pytest.mark.parametrize(
    ("wire", "namespace", "auth"),
    [
        ('0{"token":"123"}', "/", {"token": "123"}),
        ('0/admin,{"token":"x","n":[1,2,{"deep":null}]}', "/admin", {"token": "x", "n": [1, 2, {"deep": None}]}),
        ('0{"é":"ü😀"}', "/", {"é": "ü😀"}),
        ("0{}", "/", {}),
    ],
)
def test_auth_payload_is_passed_through(wire: str, namespace: str, auth: dict[str, Any]) -> None:
    conn = Connection(T0)
    assert feed(conn, wire) == [ConnectRequested(namespace=namespace, auth=auth)]


@pytest.mark.parametrize("wire", ['0"token"', "0[1]", "0/admin,42", "0{bad json"])
def test_connect_payload_must_be_a_json_object(wire: str) -> None:
    conn = Connection(T0)
    with pytest.raises(RemoteSocketIOError):
        conn.receive(wire)
    assert conn.namespaces == {}
    assert events(conn) == []


def test_several_namespaces_in_one_session() -> None:
    conn = Connection(T0)
    assert feed(conn, "0", "0/custom,", "0/demo,") == [
        ConnectRequested(namespace="/", auth={}),
        ConnectRequested(namespace="/custom", auth={}),
        ConnectRequested(namespace="/demo", auth={}),
    ]
    # Replies can come in any order: each handler decides on its own.
    assert conn.accept("/demo", "d") == ['40/demo,{"sid":"d"}']
    assert conn.accept("/", "r") == ['40{"sid":"r"}']
    assert conn.accept("/custom", "c") == ['40/custom,{"sid":"c"}']
    assert all(conn.connected(ns) for ns in ("/", "/custom", "/demo"))


# ------------------------------------------------------------------- refuse


def test_refuse_gives_connect_error_with_message_and_data() -> None:
    conn = Connection(T0)
    feed(conn, '0{"token":"bad"}')
    wire = conn.refuse("/", "Not authorized", {"code": 401})
    assert wire == ['44{"message":"Not authorized","data":{"code":401}}']
    assert conn.namespaces == {}


def test_refuse_without_data_omits_the_key() -> None:
    conn = Connection(T0)
    feed(conn, "0/random,")
    assert conn.refuse("/random", "Invalid namespace") == ['44/random,{"message":"Invalid namespace"}']


def test_refused_client_may_retry_and_then_be_accepted() -> None:
    conn = Connection(T0)
    feed(conn, '0{"token":"bad"}')
    conn.refuse("/", "Not authorized")
    # Not an error: the namespace was freed by the refusal.
    assert feed(conn, '0{"token":"good"}') == [ConnectRequested(namespace="/", auth={"token": "good"})]
    assert conn.accept("/", "s") == ['40{"sid":"s"}']
    assert feed(conn, '2["hi"]') == [EventReceived(namespace="/", data=["hi"], ack_id=None)]


def test_events_for_a_refused_namespace_are_a_protocol_error() -> None:
    conn = Connection(T0)
    feed(conn, "0")
    conn.refuse("/", "no")
    with pytest.raises(RemoteSocketIOError):
        conn.receive('2["hi"]')


def test_accept_after_refuse_is_a_local_error() -> None:
    conn = Connection(T0)
    feed(conn, "0")
    conn.refuse("/", "no")
    with pytest.raises(LocalSocketIOError):
        conn.accept("/", "s")


def test_accept_without_connect_is_a_local_error() -> None:
    conn = Connection(T0)
    with pytest.raises(LocalSocketIOError):
        conn.accept("/", "s")
    conn2 = joined()
    with pytest.raises(LocalSocketIOError):
        conn2.accept("/", "again")


# --------------------------------------------------------- protocol errors


def test_second_connect_for_a_joined_namespace_is_a_protocol_error() -> None:
    conn = joined()
    with pytest.raises(RemoteSocketIOError):
        conn.receive("0")


def test_repeated_connect_while_the_first_is_pending_is_ignored() -> None:
    # socket.io-client sends it when socket.connect() is called on a socket
    # that is already connecting; the reference server does not close on it.
    conn = Connection(T0)
    assert feed(conn, '0/custom,{"n":1}') == [ConnectRequested(namespace="/custom", auth={"n": 1})]
    assert feed(conn, '0/custom,{"n":2}') == []
    assert conn.accept("/custom", "c") == ['40/custom,{"sid":"c"}']
    # Once joined, a CONNECT for it is an error again.
    with pytest.raises(RemoteSocketIOError):
        conn.receive("0/custom,")


@pytest.mark.parametrize(
    "wire",
    [
        '2["hello"]',
        '2/custom,["hello"]',
        '21["hello"]',
        '31["x"]',
        "1",
        "1/custom,",
        '51-["x",{"_placeholder":true,"num":0}]',
    ],
)
def test_packets_for_a_namespace_not_joined_are_protocol_errors(wire: str) -> None:
    conn = Connection(T0)
    with pytest.raises(RemoteSocketIOError):
        conn.receive(wire)
        # A binary event is judged once complete: its one attachment.
        conn.receive(b"\x01")
    assert events(conn) == []


def test_event_while_namespace_is_still_connecting_is_a_protocol_error() -> None:
    conn = Connection(T0)
    feed(conn, "0")
    with pytest.raises(RemoteSocketIOError):
        conn.receive('2["too early"]')


def test_event_for_another_namespace_than_the_joined_one() -> None:
    conn = joined("/custom")
    with pytest.raises(RemoteSocketIOError):
        conn.receive('2["hello"]')


@pytest.mark.parametrize("wire", ['4{"message":"nope"}', '4/custom,{"message":"nope"}'])
def test_connect_error_from_the_client_is_a_protocol_error(wire: str) -> None:
    conn = joined()
    feed(conn, "0/custom,")
    conn.accept("/custom", "c")
    with pytest.raises(RemoteSocketIOError):
        conn.receive(wire)


@pytest.mark.parametrize("wire", ["4abc", "2{}", '42abc["x"]', "2123", "9", "", '2["connect"]'])
def test_malformed_packets_are_protocol_errors(wire: str) -> None:
    conn = joined()
    with pytest.raises(RemoteSocketIOError):
        conn.receive(wire)


# -------------------------------------------------------------- disconnect


def test_disconnect_leaves_the_namespace_and_keeps_the_others() -> None:
    conn = joined()
    feed(conn, "0/custom,")
    conn.accept("/custom", "c")
    assert feed(conn, "1/custom,") == [DisconnectRequested(namespace="/custom")]
    assert not conn.connected("/custom")
    assert conn.connected("/")
    assert "/custom" not in conn.namespaces
    # Events there are now errors; the namespace can be joined again.
    with pytest.raises(RemoteSocketIOError):
        conn.receive('2/custom,["x"]')


def test_rejoin_after_disconnect() -> None:
    conn = joined()
    assert feed(conn, "1") == [DisconnectRequested(namespace="/")]
    assert conn.namespaces == {}
    assert feed(conn, '0{"again":1}') == [ConnectRequested(namespace="/", auth={"again": 1})]
    assert conn.accept("/", "s2") == ['40{"sid":"s2"}']


def test_server_side_disconnect_sends_the_packet_once() -> None:
    conn = joined()
    feed(conn, "0/custom,")
    conn.accept("/custom", "c")
    assert conn.disconnect("/custom") == ["41/custom,"]
    assert conn.disconnect("/custom") == []
    assert conn.disconnect("/") == ["41"]
    assert conn.namespaces == {}


def test_server_side_disconnect_of_a_connecting_namespace_sends_nothing() -> None:
    conn = Connection(T0)
    feed(conn, "0")
    assert conn.disconnect("/") == []
    assert conn.namespaces == {}


# ------------------------------------------------------------ events, acks


def test_event_with_and_without_ack_id() -> None:
    conn = joined()
    assert feed(conn, '2["hello",1,"2",{"3":[false]}]', '2456["message-with-ack",1]') == [
        EventReceived(namespace="/", data=["hello", 1, "2", {"3": [False]}], ack_id=None),
        EventReceived(namespace="/", data=["message-with-ack", 1], ack_id=456),
    ]


def test_event_in_a_custom_namespace() -> None:
    conn = joined("/custom")
    assert feed(conn, '2/custom,7["x"]') == [EventReceived(namespace="/custom", data=["x"], ack_id=7)]


def test_ack_to_a_client_event_mirrors_its_id() -> None:
    conn = joined()
    (event,) = feed(conn, '2456["message-with-ack",1,"2",{"3":[false]}]')
    assert event.ack_id == 456
    assert conn.ack("/", event.ack_id, event.data[1:]) == ['43456[1,"2",{"3":[false]}]']


def test_ack_in_a_custom_namespace_and_empty() -> None:
    conn = joined("/custom")
    assert conn.ack("/custom", 13, []) == ["43/custom,13[]"]


def test_server_event_asking_for_an_ack_and_the_client_answer() -> None:
    conn = joined()
    first = conn.new_ack_id()
    second = conn.new_ack_id()
    assert first != second
    assert conn.event("/", ["ping_client", 21], first) == [f'42{first}["ping_client",21]']
    assert conn.event("/", ["no ack"]) == ['42["no ack"]']
    assert feed(conn, f"3{first}[42]") == [AckReceived(namespace="/", ack_id=first, args=[42])]
    assert feed(conn, f"3{second}[]") == [AckReceived(namespace="/", ack_id=second, args=[])]


def test_ack_payload_must_be_an_array() -> None:
    conn = joined()
    with pytest.raises(RemoteSocketIOError):
        conn.receive('31{"a":1}')


def test_event_output_uses_javascript_json() -> None:
    conn = joined()
    assert conn.event("/", ["é", {"b": 1, "a": [None, True]}]) == ['42["é",{"b":1,"a":[null,true]}]']


def test_custom_dumps_is_used_for_output() -> None:
    def dumps(obj: Any) -> str:
        return json.dumps(obj, separators=(", ", ": "))

    conn = joined(dumps=dumps)
    assert conn.event("/", ["a", 1]) == ['42["a", 1]']


# ------------------------------------------------------------------ binary


def test_binary_event_is_reassembled_through_the_connection() -> None:
    conn = joined("/custom")
    conn.receive('52-/custom,9["baz",{"_placeholder":true,"num":0},{"n":{"_placeholder":true,"num":1}}]')
    assert events(conn) == []
    assert conn.decoder.pending_attachments == 2
    conn.receive(b"\x01\x02")
    assert events(conn) == []
    assert feed(conn, b"\x03\x04") == [
        EventReceived(namespace="/custom", data=["baz", b"\x01\x02", {"n": b"\x03\x04"}], ack_id=9)
    ]
    assert conn.decoder.pending_attachments == 0


def test_binary_ack_from_the_client_is_reassembled() -> None:
    conn = joined()
    ack_id = conn.new_ack_id()
    conn.receive(f'61-{ack_id}[[{{"_placeholder":true,"num":0}}]]')
    assert feed(conn, b"\xff") == [AckReceived(namespace="/", ack_id=ack_id, args=[[b"\xff"]])]


def test_text_while_attachments_are_pending_is_a_protocol_error() -> None:
    conn = joined()
    conn.receive('51-["x",{"_placeholder":true,"num":0}]')
    with pytest.raises(RemoteSocketIOError):
        conn.receive('2["y"]')


def test_binary_without_pending_packet_is_a_protocol_error() -> None:
    conn = joined()
    with pytest.raises(RemoteSocketIOError):
        conn.receive(b"\x01")


def test_binary_event_output_has_placeholders_and_attachments() -> None:
    conn = joined("/admin")
    wire = conn.event("/admin", ["baz", b"\x01\x02", [b"\x03\x04"]])
    assert wire == [
        '452-/admin,["baz",{"_placeholder":true,"num":0},[{"_placeholder":true,"num":1}]]',
        b"\x01\x02",
        b"\x03\x04",
    ]


def test_binary_ack_output() -> None:
    conn = joined()
    assert conn.ack("/", 789, [b"\x01", {"x": b"\x02"}]) == [
        '462-789[{"_placeholder":true,"num":0},{"x":{"_placeholder":true,"num":1}}]',
        b"\x01",
        b"\x02",
    ]


# ---------------------------------------------------------- connect timeout


def test_connect_timeout_fires_at_exactly_the_deadline_when_nothing_joined() -> None:
    conn = Connection(T0, connect_timeout=45.0)
    assert conn.next_deadline() == T0 + 45.0
    conn.handle_timeout(T0 + 44.999)
    assert events(conn) == []
    assert conn.next_deadline() == T0 + 45.0
    conn.handle_timeout(T0 + 45.0)
    assert events(conn) == [ConnectTimedOut()]
    assert conn.next_deadline() is None
    conn.handle_timeout(T0 + 100.0)  # fires once
    assert events(conn) == []


def test_connect_timeout_fires_while_a_connect_is_still_being_decided() -> None:
    # A CONNECT the server never answered does not count as joined.
    conn = Connection(T0, connect_timeout=1.0)
    feed(conn, "0")
    conn.handle_timeout(T0 + 1.0)
    assert events(conn) == [ConnectTimedOut()]


def test_connect_timeout_fires_after_a_refusal() -> None:
    conn = Connection(T0, connect_timeout=1.0)
    feed(conn, "0/nope,")
    conn.refuse("/nope", "Invalid namespace")
    conn.handle_timeout(T0 + 1.0)
    assert events(conn) == [ConnectTimedOut()]


def test_no_connect_timeout_once_a_namespace_is_joined() -> None:
    conn = joined(connect_timeout=1.0)
    assert conn.next_deadline() is None
    conn.handle_timeout(T0 + 1.0)
    conn.handle_timeout(T0 + 1000.0)
    assert events(conn) == []


def test_no_connect_timeout_when_joined_after_a_refusal() -> None:
    conn = Connection(T0, connect_timeout=2.0)
    feed(conn, "0/nope,")
    conn.refuse("/nope", "Invalid namespace")
    feed(conn, "0")
    conn.accept("/", "s")
    conn.handle_timeout(T0 + 2.0)
    assert events(conn) == []


# ----------------------------------------------------------- max namespaces


def test_max_namespaces_limits_concurrent_namespaces() -> None:
    conn = Connection(T0, max_namespaces=2)
    assert len(feed(conn, "0", "0/a,")) == 2
    with pytest.raises(RemoteSocketIOError):
        conn.receive("0/b,")
    assert set(conn.namespaces) == {"/", "/a"}


def test_max_namespaces_counts_only_current_ones() -> None:
    conn = joined(max_namespaces=2)
    feed(conn, "0/a,")
    conn.accept("/a", "a")
    assert feed(conn, "1/a,") == [DisconnectRequested(namespace="/a")]
    assert feed(conn, "0/b,") == [ConnectRequested(namespace="/b", auth={})]
    # A refused namespace frees its slot too.
    conn.refuse("/b", "no")
    assert feed(conn, "0/c,") == [ConnectRequested(namespace="/c", auth={})]
