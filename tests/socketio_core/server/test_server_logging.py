"""The server's log, as python-socketio users read it: what is logged, where, and how often.

Each test gives the server a Logger of its own (``Server(logger=...)``) and
reads the records it got: connects with the Engine.IO id beside the sid,
refusals with their message, disconnects with their reason, one DEBUG line
per received event and per emit, handler failures naming the event and the
handler, and no more than a few tracebacks however often a handler fails.
"""

from __future__ import annotations

import datetime
import itertools
import logging
import socket
import subprocess
import sys
import textwrap
from typing import Any, Iterator

import gevent
import pytest

from socketio_core import Server
from socketio_core.exceptions import ConnectionRefusedError
from socketio_core.server._compat import ENGINEIO_LOGGER, SERVER_LOGGER
from socketio_core.server._errorlog import BURST, FailureLog, handler_name
from transports.gevent._runtime import GeventRuntime

from ._fakes import FakeEngineSocket, connect
from .test_python_socketio_names import wait_for

_names = itertools.count()


class Records(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)

    def lines(self, level: int = logging.DEBUG) -> list[str]:
        return [r.getMessage() for r in self.records if r.levelno >= level]


@pytest.fixture
def captured() -> Iterator[tuple[logging.Logger, Records]]:
    logger = logging.getLogger(f"tests.server-logging.{next(_names)}")
    logger.setLevel(logging.DEBUG)
    logger.propagate = False
    records = Records()
    logger.addHandler(records)
    yield logger, records
    logger.removeHandler(records)


def test_logger_true_logs_info_to_stderr_once_and_a_logger_is_used_as_given(
    captured: tuple[logging.Logger, Records],
) -> None:
    default = logging.getLogger(SERVER_LOGGER)
    saved = (default.level, list(default.handlers))
    try:
        default.setLevel(logging.NOTSET)
        for h in list(default.handlers):
            default.removeHandler(h)
        Server(logger=True)
        Server(logger=True)
        assert default.level == logging.INFO
        assert sum(isinstance(h, logging.StreamHandler) for h in default.handlers) <= 1
    finally:
        default.setLevel(saved[0])
        default.handlers[:] = saved[1]
    logger, _ = captured
    assert Server(logger=logger).logger is logger
    assert Server().logger is default


def test_connect_refusal_disconnect_lines(captured: tuple[logging.Logger, Records]) -> None:
    logger, records = captured
    sio = Server(logger=logger)

    @sio.on("connect")
    def on_connect(sid: str, environ: Any, auth: dict[str, Any]) -> None:
        if auth.get("refuse"):
            raise ConnectionRefusedError("go away")

    esock = FakeEngineSocket("EIO-1")
    sid = connect(sio, esock, "/")
    refused = FakeEngineSocket("EIO-2")
    sio.engineio_session_opened(refused)  # type: ignore[arg-type]
    sio.engineio_message(refused, '0{"refuse":true}')  # type: ignore[arg-type]
    wait_for(refused, "44")
    sio.engineio_session_closed(esock, "transport close")  # type: ignore[arg-type]
    lines = records.lines(logging.INFO)
    assert f"connect: {sid} [/] (Engine.IO EIO-1, websocket)" in lines
    assert any(l.startswith("connection refused: ") and l.endswith("[/] (Engine.IO EIO-2): go away") for l in lines)
    assert f"disconnect: {sid} [/] (Engine.IO EIO-1): transport close" in lines


def test_one_debug_line_per_received_event_and_per_emit(captured: tuple[logging.Logger, Records]) -> None:
    logger, records = captured
    sio = Server(logger=logger)

    @sio.on("chat")
    def chat(sid: str, text: str) -> None:
        sio.emit("chat", text, to=sid)
        sio.emit("news", text, room="lobby", namespace="/")

    esock = FakeEngineSocket("EIO-1")
    sid = connect(sio, esock, "/")
    sio.engineio_message(esock, '2["chat","hi"]')  # type: ignore[arg-type]
    wait_for(esock, '42["chat"')
    debug = [r.getMessage() for r in records.records if r.levelno == logging.DEBUG]
    assert debug == [
        f'received event "chat" from {sid} [/]',
        f'emitting event "chat" to {sid} [/]',
        'emitting event "news" to lobby [/]',
    ]


def test_no_debug_work_when_debug_is_off(captured: tuple[logging.Logger, Records]) -> None:
    logger, records = captured
    logger.setLevel(logging.INFO)
    sio = Server(logger=logger)
    assert sio._debug is False
    sio.on("chat", lambda sid, text: sio.emit("chat", text, to=sid))
    esock = FakeEngineSocket("EIO-1")
    connect(sio, esock, "/")
    sio.engineio_message(esock, '2["chat","hi"]')  # type: ignore[arg-type]
    wait_for(esock, '42["chat"')
    assert not [r for r in records.records if r.levelno == logging.DEBUG]
    logger.setLevel(logging.DEBUG)
    sio.refresh_log_levels()  # also done when serving starts (bind_hub)
    assert sio._debug is True


def test_a_failing_handler_is_named_with_its_event(captured: tuple[logging.Logger, Records]) -> None:
    logger, records = captured
    sio = Server(logger=logger)

    def broken_chat(sid: str, text: str) -> None:
        raise ValueError("bad text")

    sio.on("chat", broken_chat)
    esock = FakeEngineSocket("EIO-1")
    sid = connect(sio, esock, "/")
    sio.engineio_message(esock, '2["chat","hi"]')  # type: ignore[arg-type]
    with gevent.Timeout(5):
        while not records.lines(logging.ERROR):
            gevent.sleep(0.01)
    record = [r for r in records.records if r.levelno == logging.ERROR][0]
    assert record.getMessage() == (
        f'event "chat" [/] from {sid}: handler {handler_name(broken_chat)} raised'
    )
    assert "broken_chat" in handler_name(broken_chat)
    assert record.exc_info is not None and record.exc_info[0] is ValueError


def test_an_ack_value_that_is_not_json_is_named(captured: tuple[logging.Logger, Records]) -> None:
    logger, records = captured
    sio = Server(logger=logger)

    def when(sid: str) -> Any:
        return datetime.datetime(2024, 1, 1)

    sio.on("when", when)
    esock = FakeEngineSocket("EIO-1")
    sid = connect(sio, esock, "/")
    sio.engineio_message(esock, '21["when"]')  # type: ignore[arg-type]
    with gevent.Timeout(5):
        while not records.lines(logging.ERROR):
            gevent.sleep(0.01)
    assert records.lines(logging.ERROR) == [
        f'event "when" [/] from {sid}, handler {handler_name(when)}: ack value is not JSON-serialisable: datetime'
    ]


def test_ten_thousand_failures_write_a_few_tracebacks_and_a_count(
    captured: tuple[logging.Logger, Records],
) -> None:
    logger, records = captured
    now = [0.0]
    failures = FailureLog(lambda: logger, interval=60.0, clock=lambda: now[0])
    for _ in range(10_000):
        try:
            raise RuntimeError("again")
        except RuntimeError:
            failures.failed("handler %s raised", "h")
    with_traceback = [r for r in records.records if r.exc_info]
    assert len(with_traceback) == BURST
    assert "further failures in the next 60 s are counted" in with_traceback[-1].getMessage()
    failures.flush()  # what the interval's timer does when it ends
    assert records.lines()[-1] == f"{10_000 - BURST} more handler failures in the last 60 s (tracebacks not shown)"
    now[0] = 61.0
    try:
        raise RuntimeError("later")
    except RuntimeError:
        failures.failed("handler %s raised", "h")
    assert records.records[-1].exc_info is not None  # a new interval shows tracebacks again
    assert len(records.records) == BURST + 2


def test_the_count_is_written_when_the_interval_ends_by_itself(captured: tuple[logging.Logger, Records]) -> None:
    logger, records = captured
    failures = FailureLog(lambda: logger, burst=1, interval=0.05, later=GeventRuntime().call_later)
    for _ in range(3):
        try:
            raise RuntimeError("x")
        except RuntimeError:
            failures.failed("failed")
    with gevent.Timeout(5):
        while len(records.records) < 2:
            gevent.sleep(0.01)
    assert records.lines()[-1] == "2 more handler failures in the last 0 s (tracebacks not shown)"


def test_a_server_with_a_failing_handler_does_not_write_a_traceback_per_event(
    captured: tuple[logging.Logger, Records],
) -> None:
    logger, records = captured
    sio = Server(logger=logger)
    sio.on("boom", lambda sid: 1 / 0)
    esock = FakeEngineSocket("EIO-1")
    connect(sio, esock, "/")
    for _ in range(200):
        sio.engineio_message(esock, '2["boom"]')  # type: ignore[arg-type]
    with gevent.Timeout(5):
        while sio.workers.workers - sio.workers.idle_count:
            gevent.sleep(0.01)
    assert len([r for r in records.records if r.exc_info]) == BURST
    sio.failures.flush()
    assert records.lines()[-1] == f"{200 - BURST} more handler failures in the last 60 s (tracebacks not shown)"


def test_engineio_logger_given_a_logger_receives_the_transport_lines(
    captured: tuple[logging.Logger, Records],
) -> None:
    logger, records = captured
    source = logging.getLogger(ENGINEIO_LOGGER)
    saved = (source.level, list(source.handlers), source.propagate)
    try:
        Server(engineio_logger=logger)
        Server(engineio_logger=logger)  # once only
        logging.getLogger("transports.gevent._engine").info("a transport line")
        assert records.lines() == ["a transport line"]
    finally:
        source.setLevel(saved[0])
        source.handlers[:] = saved[1]
        source.propagate = saved[2]


def test_run_says_where_it_listens_and_a_busy_port_is_one_line() -> None:
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        port = busy.getsockname()[1]
        code = textwrap.dedent(f"""
            from socketio_core import Server
            Server().run("127.0.0.1", {port})
        """)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 1
    assert out.stderr.strip().splitlines() == [
        f"socketio-core: cannot listen on 127.0.0.1:{port}: Address already in use "
        "(another server is running there: stop it or choose another port)"
    ]
    code = textwrap.dedent("""
        import gevent, os, signal
        from socketio_core import Server
        gevent.spawn_later(0.5, os.kill, os.getpid(), signal.SIGTERM)
        Server().run("127.0.0.1", 0)
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    lines = out.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("* Socket.IO server running on http://127.0.0.1:")
