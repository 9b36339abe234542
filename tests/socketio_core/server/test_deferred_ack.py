"""Handlers that answer an ack request later, from elsewhere, or never (socketio_core.Ack).

socket.io-client's "retry › should fail when the server does not acknowledge
the packet" needs a server handler that leaves an ack request unanswered, as
a Node handler that never calls its callback. A handler declaring a
keyword-only ``ack`` gets an :class:`Ack`; its return value is not sent.
"""

from __future__ import annotations

from typing import Any

import gevent
import pytest
from gevent.event import Event

from socketio_core import Ack, LocalSocketIOError, Server
from socketio_core.server import takes_ack

from ._fakes import FakeEngineSocket, connect


def _acks(esock: FakeEngineSocket) -> list[str | bytes]:
    return [w for w in esock.sent if isinstance(w, str) and w.startswith("43")]


def _served(server: Server) -> tuple[FakeEngineSocket, str]:
    esock = FakeEngineSocket("e0")
    sid = connect(server, esock, "/")
    esock.sent.clear()
    return esock, sid


def test_takes_ack_wants_a_keyword_only_ack() -> None:
    def keyword(sid: str, data: Any, *, ack: Ack) -> None: ...
    def positional(sid: str, ack: Any) -> None: ...
    def plain(sid: str, data: Any) -> None: ...

    assert takes_ack(keyword)
    assert not takes_ack(positional)  # it would take the event's first argument
    assert not takes_ack(plain)
    assert not takes_ack(print)


def test_a_handler_can_leave_the_ack_unanswered_and_answer_later() -> None:
    server = Server()
    kept: list[Ack] = []
    ran = Event()

    @server.on("slow")
    def slow(sid: str, data: Any, *, ack: Ack) -> str:
        kept.append(ack)
        ran.set()
        return "not sent"  # the return value is ignored: ack answers

    esock, _ = _served(server)
    server.engineio_message(esock, '27["slow",1]')  # type: ignore[arg-type]
    assert ran.wait(timeout=5)
    gevent.idle()
    assert _acks(esock) == []  # unanswered, not "437[]"
    ack = kept[0]
    assert not ack.sent
    esock.received.clear()
    gevent.spawn(ack, "later", 2).join()  # from another greenlet
    assert _acks(esock) == ['437["later",2]']
    assert ack.sent
    with pytest.raises(LocalSocketIOError):
        ack("twice")
    assert _acks(esock) == ['437["later",2]']


def test_a_handler_that_never_answers_sends_nothing() -> None:
    server = Server()
    ran = Event()

    @server.on("ignored")
    def ignored(sid: str, *, ack: Ack) -> None:
        ran.set()

    esock, _ = _served(server)
    server.engineio_message(esock, '23["ignored"]')  # type: ignore[arg-type]
    assert ran.wait(timeout=5)
    gevent.idle()
    assert _acks(esock) == []


def test_ack_is_none_when_the_client_asked_for_none() -> None:
    server = Server()
    got: list[Any] = []
    ran = Event()

    @server.on("fire")
    def fire(sid: str, data: Any, *, ack: Ack | None) -> None:
        got.append(ack)
        ran.set()

    esock, _ = _served(server)
    server.engineio_message(esock, '2["fire",1]')  # type: ignore[arg-type]
    assert ran.wait(timeout=5)
    assert got == [None]


def test_the_catch_all_handler_can_take_ack_too() -> None:
    server = Server()
    ran = Event()

    @server.on("*")
    def any_event(event: str, sid: str, *args: Any, ack: Ack) -> None:
        ack(event, *args)
        ran.set()

    esock, _ = _served(server)
    server.engineio_message(esock, '25["x",1]')  # type: ignore[arg-type]
    assert ran.wait(timeout=5)
    assert _acks(esock) == ['435["x",1]']


def test_an_answer_after_the_client_left_is_dropped() -> None:
    server = Server()
    kept: list[Ack] = []
    ran = Event()

    @server.on("slow")
    def slow(sid: str, *, ack: Ack) -> None:
        kept.append(ack)
        ran.set()

    esock, _ = _served(server)
    server.engineio_message(esock, '21["slow"]')  # type: ignore[arg-type]
    assert ran.wait(timeout=5)
    server.engineio_session_closed(esock, "transport close")  # type: ignore[arg-type]
    esock.sent.clear()
    kept[0]("late")
    assert esock.sent == []


def test_return_value_is_still_the_ack_for_other_handlers() -> None:
    server = Server()
    server.on("echo", lambda sid, x: x)
    esock, _ = _served(server)
    esock.received.clear()
    server.engineio_message(esock, '29["echo","hi"]')  # type: ignore[arg-type]
    assert esock.received.wait(timeout=5)
    assert _acks(esock) == ['439["hi"]']
