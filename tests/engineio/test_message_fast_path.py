"""The WebSocket message fast paths of a session agree with its general path.

:meth:`Session.take_message` and the inline branch of
:meth:`Session.receive_message` answer a ``4<text>`` message without decoding
a packet; :meth:`Session._receive_packet` is the general path that decodes
every packet on every session. Sessions are driven into arbitrary states
through their public verbs (both protocol revisions, polling and WebSocket,
upgrading, closing, closed, events pending), then the same message goes to a
fast-path twin and a general-path twin: every observable slot must end equal,
and an error must be the same error. Each test also counts how often the fast
path answered, so a run that only ever saw declines fails.
"""

from __future__ import annotations

from typing import Any, Callable

from hypothesis import given, settings
from hypothesis import strategies as st

from engineio import Config, MessageReceived, ProtocolError, Session, State

_CONFIG = Config(ping_interval=25.0, ping_timeout=20.0, upgrade_timeout=10.0, close_timeout=30.0)
_NOW = 1.0

_ACTIONS: dict[str, Callable[[Session], Any]] = {
    "drain": lambda s: s.drain_frames() if s.transport == "websocket" else s.drain_polling(),
    "upgrade": lambda s: s.begin_upgrade(_NOW),
    "probe": lambda s: s.receive_probe("2probe", _NOW),
    "upgrade done": lambda s: s.receive_probe("5", _NOW),
    "upgrade aborted": lambda s: s.abort_upgrade("test"),
    "close": lambda s: s.close(_NOW),
    "transport gone": lambda s: s.transport_closed(),
    "message": lambda s: s.receive_message("4pending", _NOW),
    "pop event": lambda s: s.next_event(),
    "send": lambda s: s.send_message("out"),
}

_sessions = st.tuples(
    st.sampled_from([4, 3]),
    st.sampled_from(["polling", "websocket", "websocket"]),
    # Weighted towards the states the fast path can answer in.
    st.lists(st.sampled_from(sorted(_ACTIONS) + ["drain", "upgrade", "upgrade done"] * 2), max_size=8),
)

_wires = st.sampled_from(["message"] * 3 + ["other"]).flatmap(
    lambda kind: st.builds(lambda t: "4" + t, st.text(max_size=12)) if kind == "message" else _other_wires
)
_other_wires = (
    st.builds(lambda c, t: c + t, st.sampled_from(list("0123456789b")), st.text(max_size=6))
    | st.text(max_size=4)
    | st.binary(max_size=6)
)


def _build(spec: tuple[int, str, list[str]], cls: type[Session] = Session) -> Session:
    protocol, transport, actions = spec
    session = cls("sid", transport, _CONFIG, 0.0, protocol=protocol)
    for name in actions:
        try:
            _ACTIONS[name](session)
        except ProtocolError:
            pass
    return session


def _snapshot(session: Session) -> dict[str, Any]:
    """Every slot of the session, lists copied: the whole observable state."""
    return {
        name: list(value) if isinstance(value, list) else value
        for name in Session.__slots__
        for value in (getattr(session, name),)
    }


def _outcome(call: Callable[[], Any]) -> tuple[str, str] | None:
    try:
        call()
    except ProtocolError as exc:
        return type(exc).__name__, str(exc)
    return None


class _Counting(Session):
    """A session that counts how often its fast path declined to the general path."""

    declined = 0

    def _receive_packet(self, wire: str | bytes, now: float) -> None:
        type(self).declined += 1
        super()._receive_packet(wire, now)


def test_receive_message_fast_path_agrees_with_the_general_path() -> None:
    answered = total = 0

    @settings(max_examples=500, deadline=None)
    @given(spec=_sessions, wire=_wires)
    def check(spec: tuple[int, str, list[str]], wire: str | bytes) -> None:
        nonlocal answered, total
        fast = _build(spec, _Counting)
        general = _build(spec)
        assert _snapshot(fast) == _snapshot(general)
        declined_before = _Counting.declined
        fast_error = _outcome(lambda: fast.receive_message(wire, _NOW))
        general_error = _outcome(lambda: general._receive_packet(wire, _NOW))
        assert fast_error == general_error
        assert _snapshot(fast) == _snapshot(general)
        total += 1
        answered += _Counting.declined == declined_before

    check()
    assert total >= 300
    assert answered >= total // 6, f"the fast path answered {answered} of {total}"


def test_take_message_agrees_with_the_general_path() -> None:
    answered = total = 0

    @settings(max_examples=500, deadline=None)
    @given(spec=_sessions, wire=_wires)
    def check(spec: tuple[int, str, list[str]], wire: str | bytes) -> None:
        nonlocal answered, total
        fast = _build(spec)
        general = _build(spec)
        before = _snapshot(fast)
        text = fast.take_message(wire)
        # Answer or not, take_message itself changes nothing.
        assert _snapshot(fast) == before
        total += 1
        if text is None:
            return
        answered += 1
        # The general path would have queued exactly one MessageReceived with
        # that text and changed nothing else.
        assert _outcome(lambda: general._receive_packet(wire, _NOW)) is None
        after = _snapshot(general)
        assert after.pop("_events") == [MessageReceived(data=text)]
        before.pop("_events")
        assert after == before

    check()
    assert total >= 300
    assert answered >= total // 6, f"the fast path answered {answered} of {total}"


def test_a_polling_session_refuses_a_websocket_message_on_both_paths() -> None:
    """The disagreement this test was written for: ``4hello`` on a polling session."""
    for protocol in (4, 3):
        session = Session("sid", "polling", _CONFIG, 0.0, protocol=protocol)
        session.drain_polling()
        assert session.take_message("4hello") is None
        error = _outcome(lambda: session.receive_message("4hello", _NOW))
        assert error is not None and error[0] == "RemoteProtocolError"
        assert session.next_event() is None
        assert session.state is State.OPEN


def test_a_websocket_session_takes_the_message() -> None:
    session = Session("sid", "websocket", _CONFIG, 0.0)
    session.drain_frames()
    assert session.take_message("4hello") == "hello"
    session.receive_message("4hi", _NOW)
    assert session.next_event() == MessageReceived(data="hi")
