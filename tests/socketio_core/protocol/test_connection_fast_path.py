"""``Connection.receive_event`` agrees with ``receive`` + ``next_event``.

``receive_event`` hands an EVENT straight back: through ``event_fast`` and the
trusted builder when the event is plain and its namespace joined (the fast
path), else through ``receive`` and a pop of the one event it queued.
Connections are driven into arbitrary states (both protocol revisions,
namespaces joined, connecting or not, events waiting, attachments pending),
then the same message goes to a twin using ``receive_event`` and one using
``receive``: the returned event followed by nothing must be exactly what the
general twin queued, every other piece of state must be equal, and an error
must be the same error. The test counts how often the fast path answered.
"""

from __future__ import annotations

from typing import Any, Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from socketio_core.protocol import _connection
from socketio_core.protocol._connection import Connection, NamespaceState
from socketio_core.protocol._errors import SocketIOError

_ACTIONS: dict[str, Callable[[Connection], Any]] = {
    "connect /": lambda c: c.receive("0"),
    "connect /chat": lambda c: c.receive("0/chat,"),
    "accept /": lambda c: c.accept("/", "S1"),
    "accept /chat": lambda c: c.accept("/chat", "S2"),
    "event waiting": lambda c: c.receive('2["waiting"]'),
    "binary pending": lambda c: c.receive('51-["bin",{"_placeholder":true,"num":0}]'),
    "attachment": lambda c: c.receive(b"\x01"),
    "leave /chat": lambda c: c.receive("1/chat,"),
    "pop": lambda c: c.next_event(),
    "root (v4)": lambda c: c.connect_root({}),
}

_connections = st.tuples(
    st.sampled_from([5, 4]),
    # The usual life first (join / and /chat), then anything.
    st.sampled_from([True] * 4 + [False]),
    st.lists(st.sampled_from(sorted(_ACTIONS)), max_size=4),
)

_names = st.sampled_from(["echo", "chat message", "connect", "x", "é"] * 2 + [""]).flatmap(
    lambda name: st.text(max_size=4) if name == "" else st.just(name)
)
_args = st.lists(st.none() | st.integers() | st.text(max_size=4) | st.booleans(), max_size=2)
_events = st.builds(
    lambda ns, ack, name, args: "2" + ("" if ns == "/" else ns + ",") + ("" if ack is None else str(ack)) + _json([name, *args]),
    st.sampled_from(["/", "/", "/chat", "/other"]),
    st.sampled_from([None] * 3 + [-1]).flatmap(lambda a: st.integers(0, 10**16) if a else st.just(None)),
    _names,
    _args,
)
_messages = st.sampled_from(["event"] * 6 + ["other"]).flatmap(
    lambda kind: _events if kind == "event" else _others
)
_others = (
    st.sampled_from(
        ["2[1]", '2["a"] ', "2", '21-["x",{"_placeholder":true,"num":0}]', '3/chat,1["ok"]', "31[]", "0", "1", "4{}",
         '2/chat,["x"]', "2[", "", "9"]
    )
    | st.text(max_size=6)
    | st.binary(max_size=3)
)


def _json(value: Any) -> str:
    import json

    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def _build(spec: tuple[int, bool, list[str]]) -> Connection:
    protocol, usual, actions = spec
    conn = Connection(0.0, protocol=protocol)
    if usual:
        actions = ["connect /", "accept /", "connect /chat", "accept /chat", "pop", "pop", *actions]
    for name in actions:
        try:
            _ACTIONS[name](conn)
        except SocketIOError:
            pass
    return conn


def _snapshot(conn: Connection) -> dict[str, Any]:
    decoder = conn.decoder
    return {
        "namespaces": dict(conn.namespaces),
        "events": list(conn._events),
        "connect_due": conn._connect_due,
        "next_ack_id": conn._next_ack_id,
        "decoder": tuple(
            list(v) if isinstance(v, list) else v
            for name in type(decoder).__slots__
            for v in (getattr(decoder, name),)
        ),
    }


def _outcome(call: Callable[[], Any]) -> tuple[Any, tuple[str, str] | None]:
    try:
        return call(), None
    except SocketIOError as exc:
        return None, (type(exc).__name__, str(exc))


def test_receive_event_agrees_with_receive_and_next_event(monkeypatch: pytest.MonkeyPatch) -> None:
    fast_answers = answers = total = 0
    builder = _connection._event_received

    def counting_builder(*fields: Any) -> Any:
        nonlocal fast_answers
        fast_answers += 1
        return builder(*fields)

    # The builder is called on the fast path only.
    monkeypatch.setattr(_connection, "_event_received", counting_builder)

    @settings(max_examples=700, deadline=None)
    @given(spec=_connections, message=_messages)
    def check(spec: tuple[int, bool, list[str]], message: str | bytes) -> None:
        nonlocal answers, total
        fast = _build(spec)
        general = _build(spec)
        assert _snapshot(fast) == _snapshot(general)
        event, fast_error = _outcome(lambda: fast.receive_event(message))
        _, general_error = _outcome(lambda: general.receive(message))
        assert fast_error == general_error
        after_fast, after_general = _snapshot(fast), _snapshot(general)
        if event is not None:
            after_fast["events"].append(event)
            answers += 1
        assert after_fast == after_general
        total += 1

    check()
    assert total >= 500
    assert answers >= total // 6, f"receive_event answered {answers} of {total}"
    assert fast_answers >= total // 6, f"the fast path answered {fast_answers} of {total}"


def test_the_fast_path_needs_a_joined_namespace() -> None:
    conn = Connection(0.0)
    conn.receive("0/chat,")
    assert conn.namespaces["/chat"] is NamespaceState.CONNECTING
    _, error = _outcome(lambda: conn.receive_event('2/chat,["x"]'))
    assert error is not None and error[0] == "RemoteSocketIOError"
