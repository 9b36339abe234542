"""Peer-supplied text reaches log lines escaped (``peer_text``), never raw.

A control character in a log line can rewrite the terminal showing it
(escape sequences), forge a second line (CR, LF, NEL) or reorder what is
read (U+202E). The HTTP layer already refuses C0 controls and DEL in a head,
but obs-text passes it: latin-1 bytes 0x80-0x9f are the C1 controls, CSI
(0x9b) among them, so an Origin can carry one all the way to a log line.
"""

from __future__ import annotations

import logging
from typing import Iterator

import gevent
import pytest

from engineio import Config
from socketio_core.echo import EngineEcho
from transports import EngineServer, HttpConnection, HttpLimits, HttpRequest, Server, peer_text
from transports._cors import CorsPolicy

from ._memsock import MemorySocket, parse_responses

pytestmark = pytest.mark.timeout(30)


@pytest.mark.parametrize(("value", "shown"), [
    ("http://example.com:8080", "http://example.com:8080"),
    ("caf\u00e9 \u4e2d", "caf\u00e9 \u4e2d"),  # printable non-ASCII stays as it is
    ("\x1b[2J\x1b[31mred", "\\x1b[2J\\x1b[31mred"),
    ("a\r\nFAKE LOG LINE", "a\\x0d\\x0aFAKE LOG LINE"),
    ("a\x7fb\x00c\td", "a\\x7fb\\x00c\\x09d"),
    ("\x9b2J\x85", "\\x9b2J\\x85"),  # C1: CSI, NEL
    ("\u202eevil\u2028", "\\u202eevil\\u2028"),
    ("back\\x1b", "back\\\\x1b"),  # a literal backslash cannot pass for an escape
    (b"a\xff\x1b", "a\u00ff\\x1b"),
    (("10.0.0.1", 5), "('10.0.0.1', 5)"),
])
def test_peer_text_escapes_what_is_not_printable(value: object, shown: str) -> None:
    assert peer_text(value) == shown


def test_peer_text_cuts_long_values() -> None:
    text = peer_text("x" * 10_000)
    assert text.startswith("x" * 200) and text.endswith("... (9800 more)")
    assert len(text) < 250


class _Lines(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(record.getMessage())


@pytest.fixture
def log_lines() -> Iterator[list[str]]:
    handler = _Lines()
    logger = logging.getLogger("transports")
    old_level = logger.level
    logger.setLevel(logging.DEBUG)
    logger.addHandler(handler)
    yield handler.lines
    logger.removeHandler(handler)
    logger.setLevel(old_level)


def test_a_refused_origin_is_logged_escaped(log_lines: list[str]) -> None:
    policy = CorsPolicy(None)
    hostile = "http://evil\x9b2J\x1b]0;title\x07\r\nFAKE"
    for _ in range(2):  # the first refusal warns, the next ones log at info
        request_ = HttpRequest("GET", "/", "/", "", header_map={"host": "a", "origin": hostile})
        assert not policy.is_allowed(request_)
    assert len(log_lines) == 2
    for line in log_lines:
        assert line.isprintable(), line
        assert "\\x9b2J\\x1b]0;title\\x07\\x0d\\x0aFAKE" in line


def test_an_origin_with_c1_controls_over_http_reaches_the_log_escaped(log_lines: list[str]) -> None:
    """Over the HTTP layer: the fast parser lets obs-text through, the log line shows it escaped."""
    engine = EngineServer(EngineEcho(), Config())
    try:
        raw = (b"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: test\r\n"
               b"Origin: http://evil\x9b2J\x85\r\n\r\n")
        sock = MemorySocket([raw])
        http = HttpConnection(sock, ("127.0.0.1", 1), HttpLimits())
        worker = gevent.spawn(Server(engine).serve_connection, http)
        worker.join(5)
        assert worker.dead
    finally:
        engine.scheduler.stop()
    assert [r.status for r in parse_responses(sock.sent)] == [403]
    quoted = [line for line in log_lines if "evil" in line]
    assert quoted
    for line in quoted:
        assert line.isprintable(), line
        assert "evil\\x9b2J\\x85" in line
