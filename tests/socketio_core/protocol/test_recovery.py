"""The recovery log: offsets, missed-packet selection, and its bounds (count, bytes, time)."""

from __future__ import annotations

import os

from socketio_core.protocol._recovery import RecoveryLog, SavedSession


def saved(pid: str = "p", sid: str = "s1", rooms: set[str] | None = None, at: float = 0.0) -> SavedSession:
    return SavedSession(sid=sid, pid=pid, namespace="/", rooms=rooms or set(), data={"k": 1}, saved_at=at)


def test_offsets_are_appended_and_unique() -> None:
    log = RecoveryLog(random_bytes=os.urandom)
    a = log.record("/", ["ev", 1], None, [], 0.0)
    b = log.record("/", ["ev", 2], None, [], 0.0)
    assert a[:2] == ["ev", 1] and b[:2] == ["ev", 2]
    assert isinstance(a[-1], str) and a[-1] != b[-1]


def test_restore_returns_only_packets_after_the_offset_addressed_to_the_socket() -> None:
    log = RecoveryLog(random_bytes=os.urandom)
    first = log.record("/", ["a"], None, [], 1.0)
    log.save(saved(rooms={"room1"}, at=1.0))
    to_room = log.record("/", ["b"], ["room1"], [], 2.0)
    log.record("/", ["c"], ["other"], [], 2.0)  # not for it
    log.record("/x", ["d"], None, [], 2.0)  # another namespace
    log.record("/", ["e"], None, ["room1"], 2.0)  # it is skipped
    to_sid = log.record("/", ["f"], ["s1"], [], 2.0)
    restored = log.restore("p", first[-1], 3.0)
    assert restored is not None
    session, missed = restored
    assert session.sid == "s1" and session.data == {"k": 1}
    assert missed == [to_room, to_sid]
    assert log.restore("p", first[-1], 3.0) is None  # a session is restored once


def test_unknown_pid_or_offset_is_not_recovered() -> None:
    log = RecoveryLog(random_bytes=os.urandom)
    log.record("/", ["a"], None, [], 0.0)
    log.save(saved())
    assert log.restore("nope", "x", 1.0) is None
    assert log.restore("p", "not-an-offset", 1.0) is None


def test_sessions_and_packets_expire_with_the_window() -> None:
    log = RecoveryLog(random_bytes=os.urandom, max_disconnection_duration=10.0)
    offset = log.record("/", ["a"], None, [], 0.0)[-1]
    log.save(saved(at=0.0))
    assert log.restore("p", offset, 10.5) is None
    assert log.saved_sessions == 0


def test_the_log_is_bounded_in_count_and_bytes() -> None:
    log = RecoveryLog(random_bytes=os.urandom, max_packets=5)
    first = log.record("/", ["a"], None, [], 0.0)[-1]
    for i in range(10):
        log.record("/", ["b", i], None, [], 0.0)
    log.save(saved())
    assert log.restore("p", first, 0.0) is None  # its offset fell out of the log
    small = RecoveryLog(random_bytes=os.urandom, max_bytes=1000)
    for _ in range(100):
        small.record("/", ["x" * 100], None, [], 0.0)
    assert len(small._packets) <= 10
