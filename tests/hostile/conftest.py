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


def _checked(server: ServerThread) -> Iterator[ServerThread]:
    """Hands ``server`` to a test, then runs the suite's check (see the module docstring)."""
    server.wait_idle()
    server.disconnects.clear()
    server.greenlet_errors.clear()
    server.log.records.clear()
    yield server
    sio_ws_echo(server.port)
    sio_polling_echo(server.port)
    server.wait_idle()
    assert not server.greenlet_errors, server.greenlet_errors
    assert not server.log.records, "\n\n".join(server.log.records)


@pytest.fixture
def server(hostile_server: ServerThread) -> Iterator[ServerThread]:
    yield from _checked(hostile_server)


@pytest.fixture
def patient_server() -> Iterator[ServerThread]:
    """A server of its own with a 20 s heartbeat, for tests whose clients hold many
    sessions open at once without answering pings: the shared server's 1 s budget
    drops the first ones before the last have connected on a loaded machine."""
    server = ServerThread(ping_interval=10, ping_timeout=10).start()
    try:
        yield from _checked(server)
    finally:
        server.stop()
