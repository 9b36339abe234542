"""Shared helpers for the Engine.IO core tests: a fake clock and session drivers.

No mocks and no sleeps: time is a number the test moves, and the session is
driven the way the I/O layer would drive it (feed input, drain output, call
``handle_timeout`` at ``next_deadline``).
"""

from __future__ import annotations

from engineio import Config, Event, Session, SessionClosed

#: The smallest step the tests take in front of a deadline ("one tick before").
TICK = 1e-6

#: Round numbers so that deadline arithmetic is exact in floating point.
CONFIG = Config(
    ping_interval=25.0,
    ping_timeout=20.0,
    upgrade_timeout=10.0,
    close_timeout=30.0,
)

T0 = 1000.0


class FakeClock:
    """The only clock the tests use: it moves when the test says so."""

    def __init__(self, now: float = T0) -> None:
        self.now = now

    def advance(self, seconds: float) -> float:
        self.now += seconds
        return self.now


def run_until(session: Session, clock: FakeClock, until: float) -> None:
    """Fire every deadline up to and including ``until``, as a timer loop would."""
    while True:
        due = session.next_deadline()
        if due is None or due > until:
            break
        clock.now = due
        session.handle_timeout(due)
    clock.now = until


def events(session: Session) -> list[Event]:
    """Pop every pending event."""
    out: list[Event] = []
    while (event := session.next_event()) is not None:
        out.append(event)
    return out


def closed_events(evs: list[Event]) -> list[SessionClosed]:
    return [e for e in evs if isinstance(e, SessionClosed)]


def polling_session(
    clock: FakeClock, config: Config = CONFIG, sid: str = "sid0"
) -> Session:
    """A polling session whose handshake response has been drained (state OPEN)."""
    session = Session(sid, "polling", config, clock.now)
    body = session.drain_polling()
    assert body is not None and body.startswith(b"0{")
    return session


def websocket_session(
    clock: FakeClock, config: Config = CONFIG, sid: str = "sid0"
) -> Session:
    """A WebSocket-only session whose OPEN frame has been drained (state OPEN)."""
    session = Session(sid, "websocket", config, clock.now)
    frames = session.drain_frames()
    assert len(frames) == 1 and isinstance(frames[0], str) and frames[0].startswith("0{")
    return session


def upgraded_session(clock: FakeClock, config: Config = CONFIG) -> Session:
    """A polling session taken through a complete upgrade to WebSocket."""
    session = polling_session(clock, config)
    session.begin_upgrade(clock.now)
    session.receive_probe("2probe", clock.now)
    assert session.drain_probe() == ["3probe"]
    session.receive_probe("5", clock.now)
    return session
