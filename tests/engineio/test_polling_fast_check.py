"""The polling fast check (:func:`engineio.live_polling_session`) against :func:`check_request`.

The fast check may decline anything (the general check then decides, with
its exact answer), but whatever it accepts the general check must accept the
same way: the same sid, on polling, as v4. Sessions are real
:class:`engineio.Session` objects on a fake clock; the general check is given
the session lookup a driver gives it (a due deadline runs first, so a session
past its ping timeout is unknown). The run also counts how often the fast
check answered: a run that only ever saw it decline would prove nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from hypothesis import given, settings
from hypothesis import strategies as st

from engineio import (
    CloseReason,
    Config,
    RequestRejected,
    Session,
    State,
    check_request,
    live_polling_session,
)

from ._support import T0

EXAMPLES = 600


@dataclass
class _Carrier:
    """What a driver keeps per session (the gevent one keeps an EngineSocket)."""

    session: Session


def _sessions(config: Config) -> dict[str, _Carrier]:
    """One session of each kind the fast check must tell apart, made at T0."""
    out: dict[str, _Carrier] = {}

    def add(name: str, transport: str, protocol: int = 4) -> Session | None:
        if transport not in config.transports:
            return None
        session = Session(name, transport, config, T0, protocol=protocol)
        session.drain_polling() if transport == "polling" else session.drain_frames()
        out[name] = _Carrier(session)
        return session

    add("polling4", "polling")
    add("polling3", "polling", 3)
    add("websocket", "websocket")
    closing = add("closing", "polling")
    if closing is not None:
        closing.close(T0, CloseReason.FORCED_CLOSE)
    closed = add("closed", "polling")
    if closed is not None:
        closed.transport_closed(CloseReason.TRANSPORT_CLOSE)
    upgrading = add("upgrading", "polling")
    if upgrading is not None and "websocket" in config.transports:
        upgrading.begin_upgrade(T0)
    return out


def _transport_of(sessions: dict[str, _Carrier], now: float):  # type: ignore[no-untyped-def]
    """The general check's session lookup, as a driver answers it."""

    def lookup(sid: str) -> str | None:
        carrier = sessions.get(sid)
        if carrier is None:
            return None
        session = carrier.session
        due = session.next_deadline()
        if due is not None and due <= now:
            session.handle_timeout(now)
        return None if session.state is State.CLOSED else session.transport

    return lookup


def test_fast_check_agrees_with_check_request() -> None:
    answered = [0, 0]  # [fast answers, examples]

    @settings(max_examples=EXAMPLES, deadline=None, database=None)
    @given(
        method=st.sampled_from(["GET"] * 4 + ["POST"] * 4 + ["PUT", "OPTIONS"]),
        transport=st.sampled_from(["polling"] * 12 + ["websocket", "flash", None]),
        eio=st.sampled_from(["4"] * 12 + ["3", "5", None]),
        which=st.sampled_from(
            ["polling4"] * 14
            + ["polling3", "websocket", "closing", "closed", "upgrading", "unknown", None]
        ),
        later=st.sampled_from([0.0, 0.0, 0.0, 1.0, 24.9, 25.0, 100.0]),
        transports=st.sampled_from(
            [("polling", "websocket")] * 3 + [("polling",), ("polling",), ("websocket",)]
        ),
    )
    def check(
        method: str, transport: str | None, eio: str | None, which: str | None, later: float,
        transports: tuple[str, ...],
    ) -> None:
        answered[1] += 1
        config = Config(transports=transports, allow_eio3=True, ping_interval=25.0,
                        ping_timeout=20.0)
        sessions = _sessions(config)
        now = T0 + later
        query: dict[str, str] = {}
        if eio is not None:
            query["EIO"] = eio
        if transport is not None:
            query["transport"] = transport
        if which is not None:
            query["sid"] = which if which in sessions or which == "unknown" else "absent"
        fast = live_polling_session(method, query, sessions, config, now)
        if fast is None:
            return
        answered[0] += 1
        # Whatever the fast check takes, the general check takes the same way.
        try:
            req = check_request(
                method, query, is_websocket=False, config=config,
                session_transport=_transport_of(sessions, now),
                session_protocol=lambda sid: sessions[sid].session.protocol if sid in sessions else None,
            )
        except RequestRejected as exc:  # pragma: no cover - the bug this test is for
            raise AssertionError(f"fast check took a request check_request refuses: {exc.message}") from None
        assert (req.transport, req.sid, req.protocol, req.is_upgrade) == (
            "polling", fast.session.sid, 4, False
        )
        assert fast is sessions[query["sid"]]

    check()
    fast, total = answered
    assert total >= EXAMPLES // 2
    # Both sides are exercised: the fast check answered often (about a fifth
    # of the requests are drawn to be ones it takes), and declined often.
    assert fast >= total // 10, f"the fast check answered only {fast} of {total} requests"
    assert total - fast >= total // 10


def test_fast_check_takes_the_plain_poll_and_send() -> None:
    config = Config()
    sessions = {"abc": _Carrier(Session("abc", "polling", config, T0))}
    plain = {"EIO": "4", "transport": "polling", "sid": "abc"}
    assert live_polling_session("GET", plain, sessions, config, T0) is sessions["abc"]
    assert live_polling_session("POST", plain, sessions, config, T0) is sessions["abc"]
    # No EIO: the general check decides (it lets it through, as before).
    no_eio = {"transport": "polling", "sid": "abc"}
    assert live_polling_session("GET", no_eio, sessions, config, T0) is None
    # A deadline due: the general check runs the timeout first.
    due = sessions["abc"].session.next_deadline()
    assert due is not None
    assert live_polling_session("GET", plain, sessions, config, due) is None
