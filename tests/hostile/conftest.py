"""One in-process server for the whole hostile suite, and the check run after every test.

After each test, whatever it threw at the server: a well-behaved client still
connects and gets its echo (over WebSocket and over long-polling), every
``stats()`` counter comes back to zero, and nothing was logged with a
traceback nor killed a greenlet.
"""

from __future__ import annotations

from typing import Iterator

import pytest

from ._harness import ServerThread, sio_polling_echo, sio_ws_echo


@pytest.fixture(scope="package")
def hostile_server() -> Iterator[ServerThread]:
    server = ServerThread().start()
    yield server
    server.stop()


@pytest.fixture
def server(hostile_server: ServerThread) -> Iterator[ServerThread]:
    hostile_server.wait_idle()
    hostile_server.disconnects.clear()
    hostile_server.greenlet_errors.clear()
    hostile_server.log.records.clear()
    yield hostile_server
    sio_ws_echo(hostile_server.port)
    sio_polling_echo(hostile_server.port)
    hostile_server.wait_idle()
    assert not hostile_server.greenlet_errors, hostile_server.greenlet_errors
    assert not hostile_server.log.records, "\n\n".join(hostile_server.log.records)
