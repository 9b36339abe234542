"""Out of file descriptors: new clients get a prompt 503, the log gets one line.

The server runs in a subprocess with a low ``RLIMIT_NOFILE``; the test holds
open more connections than it has descriptors. gevent's own accept loop
would log a traceback per retry (up to one a second) and leave the excess
clients hanging in the backlog; ours answers them 503 from a reserved
descriptor (``transports/gevent/_accept.py``) and warns once.
"""

from __future__ import annotations

import resource
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.timeout(60)

ROOT = Path(__file__).resolve().parents[2]
LIMIT = 64

SERVER = """
import logging, resource, sys
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(levelname)s %(name)s %(message)s")
import gevent
from engineio import Config
from socketio_core.echo import EngineEcho
from transports import EngineServer, HttpLimits, Server
resource.setrlimit(resource.RLIMIT_NOFILE, (int(sys.argv[1]), resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
server = Server(EngineServer(EngineEcho(), Config()), limits=HttpLimits(keepalive_timeout=60))
print(server.start("127.0.0.1", 0)[1], flush=True)
gevent.wait()
"""

GET = b"GET /nowhere HTTP/1.1\r\nHost: x\r\n\r\n"


def _answer(sock: socket.socket, timeout: float = 5.0) -> bytes:
    sock.settimeout(timeout)
    data = b""
    try:
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(4096)
            if not chunk:
                break
            data += chunk
    except ConnectionResetError:
        pass
    return data


@pytest.mark.skipif(resource.getrlimit(resource.RLIMIT_NOFILE)[1] < LIMIT, reason="hard limit too low")
def test_at_the_descriptor_limit_new_clients_get_503_and_the_log_one_line() -> None:
    proc = subprocess.Popen(
        [sys.executable, "-c", SERVER, str(LIMIT)], cwd=ROOT,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )
    held: list[socket.socket] = []
    try:
        assert proc.stdout is not None
        port = int(proc.stdout.readline())
        # More connections than the server has descriptors: the first ones are
        # served (and kept alive), the rest cannot be accepted.
        held = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(2 * LIMIT)]
        for sock in held[-10:]:
            sock.sendall(GET)
        answers = [_answer(sock) for sock in held[-10:]]
        assert all(a.startswith(b"HTTP/1.1 503 ") for a in answers), answers
        # Served connections still work meanwhile.
        held[0].sendall(GET)
        assert _answer(held[0]).startswith(b"HTTP/1.1 404 ")
        # Once descriptors are free again, new clients are served. The server
        # frees them as it reads the EOFs, so a client may still meet a 503
        # right after the close: each attempt is a request and its answer.
        for sock in held:
            sock.close()
        held = []
        deadline = time.monotonic() + 10
        while True:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(GET)
                answer = _answer(sock)
            if not answer.startswith(b"HTTP/1.1 503 ") or time.monotonic() > deadline:
                break
        assert answer.startswith(b"HTTP/1.1 404 "), answer
    finally:
        for sock in held:
            sock.close()
        proc.kill()
        _, err = proc.communicate(timeout=10)
    assert "Traceback" not in err, err[:3000]
    warnings = [line for line in err.splitlines() if "out of file descriptors" in line]
    assert len(warnings) == 1, err[:3000]
