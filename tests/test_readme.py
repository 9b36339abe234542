"""Every Python code block of README.md and of the examples' READMEs runs, so none can rot.

Each fenced ```python block is written to a file and run as a script in a
fresh interpreter (``__name__ == "__main__"``), from an empty folder, with
this tree on ``PYTHONPATH``. Blocks that start a server run it briefly: a
prelude makes ``Server.run`` and gevent's ``serve_forever`` listen on a free
port, lets one polling client (no auth) join ``/`` so that the connect
handler and middlewares run for real, and stops (``AsyncServer.serve``/``run``
and ``uvicorn.run`` too, the client in a thread while the loop serves). Nothing may raise, and
nothing may log a traceback (the README's first example once raised the
built-in ConnectionRefusedError: every refused client got "Internal server
error" and a traceback in the log).

A block may be preceded by one marker comment, checked here:

- ``<!-- readme-test: redis (why) -->``: the block talks to Redis; the test
  starts a ``redis-server`` and points the block's ``redis://127.0.0.1:6379/0``
  at it;
- ``<!-- readme-test: skip (why) -->``: the block is not run (a fragment that
  needs the surrounding example). The reason is required, and README.md's own
  blocks may not be skipped.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.cluster.conftest import RedisServer
from tests.conftest import free_port

ROOT = Path(__file__).resolve().parent.parent
READMES = [ROOT / "README.md", *sorted(ROOT.glob("examples/*/README.md"))]
MARKER = re.compile(r"^<!-- readme-test: (?P<kind>\w+)(?: \((?P<why>[^)]*)\))? -->$")
DEFAULT_REDIS = "redis://127.0.0.1:6379/0"

PRELUDE = '''\
# --- prelude of tests/test_readme.py: servers run briefly, on a free port, and see one client ---
import json
import gevent
import gevent.baseserver
from gevent import socket as _socket
from socketio_core.server._server import Server as _Server


def _http(port, method, target, body=b""):
    with _socket.create_connection(("127.0.0.1", port)) as s:
        s.sendall(f"{method} {target} HTTP/1.1\\r\\nHost: 127.0.0.1\\r\\n"
                  f"Content-Length: {len(body)}\\r\\n\\r\\n".encode() + body)
        data = b""
        while b"\\r\\n\\r\\n" not in data:
            data += s.recv(65536)
        head, rest = data.split(b"\\r\\n\\r\\n", 1)
        fields = [line.split(b": ", 1) for line in head.split(b"\\r\\n")[1:] if b": " in line]
        length = int(dict((name.lower(), value) for name, value in fields).get(b"content-length", b"0"))
        while len(rest) < length:
            rest += s.recv(65536)
        return rest


def _one_client(path, port):
    \"\"\"A polling client joins / without auth: the connect handler runs for real.\"\"\"
    with gevent.Timeout(10):
        sid = json.loads(_http(port, "GET", f"{path}?EIO=4&transport=polling")[1:])["sid"]
        _http(port, "POST", f"{path}?EIO=4&transport=polling&sid={sid}", b"40")
        answer = _http(port, "GET", f"{path}?EIO=4&transport=polling&sid={sid}")
        assert answer[:2] in (b"40", b"44"), answer  # CONNECT or CONNECT_ERROR
        gevent.sleep(0.1)


def _brief_run(self, host="127.0.0.1", port=5000, **kwargs):
    _, bound = self.start(host, 0, **kwargs)
    _one_client(self.engine.path, bound)
    self.stop()


def _brief_serve_forever(self, *args, **kwargs):
    if isinstance(self.address, tuple):
        self.set_listener((self.address[0] or "127.0.0.1", 0))
    self.start()
    server = getattr(self.application, "server", None)  # socketio_core.WSGIApp
    if server is not None:
        _one_client(server.engine.path, self.server_port)
    self.stop()


_Server.run = _brief_run
gevent.baseserver.BaseServer.serve_forever = _brief_serve_forever

# asyncio: AsyncServer.serve (so run/run_async) and uvicorn.run serve briefly too;
# the same client runs in a thread of its own while the loop serves.
import asyncio as _asyncio
import socket as _stdsocket
from socketio_core.server._async_server import AsyncServer as _AsyncServer


async def _brief_serve(self, host="127.0.0.1", port=5000, **kwargs):
    _, bound = await self.start(host, 0, **kwargs)
    await _asyncio.to_thread(_one_client, self.engine.path, bound)
    await self.stop()


def _brief_uvicorn(app, host="127.0.0.1", port=8000, **kwargs):
    listener = _stdsocket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    server = _uvicorn.Server(_uvicorn.Config(app, log_level="warning", lifespan="on"))

    async def main():
        serving = _asyncio.ensure_future(server.serve(sockets=[listener]))
        await _asyncio.to_thread(_one_client, "/socket.io/", listener.getsockname()[1])
        server.should_exit = True
        await serving

    _asyncio.run(main())


_AsyncServer.serve = _AsyncServer.run_async = _brief_serve
try:
    import uvicorn as _uvicorn
    _uvicorn.run = _brief_uvicorn
except ImportError:
    pass
# --- the README's block ---
'''


@dataclass(frozen=True)
class Block:
    path: Path
    line: int
    code: str
    marker: str | None
    why: str | None

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def python_blocks(path: Path) -> list[Block]:
    """Every fenced ``python`` block of ``path``, with the marker on the line before it."""
    lines = path.read_text("utf-8").splitlines()
    blocks = []
    i = 0
    while i < len(lines):
        if lines[i].strip() == "```python":
            start = i
            i += 1
            body = []
            while i < len(lines) and lines[i].strip() != "```":
                body.append(lines[i])
                i += 1
            match = MARKER.match(lines[start - 1].strip()) if start > 0 else None
            if start > 0 and lines[start - 1].startswith("<!-- readme-test") and match is None:
                raise AssertionError(f"{path}:{start}: malformed marker {lines[start - 1]!r}")
            blocks.append(Block(path, start + 1, "\n".join(body) + "\n",
                                match["kind"] if match else None, match["why"] if match else None))
        i += 1
    return blocks


BLOCKS = [block for path in READMES for block in python_blocks(path)]


def test_the_readmes_have_python_blocks_and_markers_are_sound() -> None:
    assert len(BLOCKS) >= 5
    for block in BLOCKS:
        assert block.marker in (None, "skip", "redis"), f"{block.id}: unknown marker {block.marker}"
        if block.marker is not None:
            assert block.why and block.why.strip(), f"{block.id}: a marker needs its reason in ( )"
        if block.marker == "skip":
            assert block.path != ROOT / "README.md", f"{block.id}: README.md's own blocks must run"
        if block.marker == "redis":
            assert DEFAULT_REDIS in block.code, f"{block.id}: marked redis but names no {DEFAULT_REDIS}"


def test_the_block_parser_sees_markers(tmp_path: Path) -> None:
    readme = tmp_path / "README.md"
    readme.write_text("text\n```python\nx = 1\n```\n<!-- readme-test: skip (a fragment) -->\n"
                      "```python\ny\n```\n```sh\nnot python\n```\n")
    blocks = python_blocks(readme)
    assert [(b.line, b.code, b.marker, b.why) for b in blocks] == [
        (2, "x = 1\n", None, None), (6, "y\n", "skip", "a fragment")]


@pytest.fixture(scope="module")
def redis_url() -> object:
    if shutil.which("redis-server") is None:
        pytest.fail("redis-server is not installed: run `make system-deps` (make test does)")
    server = RedisServer(free_port())
    server.start()
    yield server.url
    server.kill()


def run_block(code: str, folder: Path) -> subprocess.CompletedProcess[str]:
    script = folder / "block.py"
    script.write_text(PRELUDE + code)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, str(script)], cwd=folder, env=env, capture_output=True,
                          text=True, timeout=60)


@pytest.mark.parametrize("block", BLOCKS, ids=[b.id for b in BLOCKS])
def test_every_python_block_runs(block: Block, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    if block.marker == "skip":
        pytest.skip(f"marked in the README: {block.why}")
    code = block.code
    if block.marker == "redis":
        code = code.replace(DEFAULT_REDIS, request.getfixturevalue("redis_url"))
    out = run_block(code, tmp_path)
    assert out.returncode == 0, f"{block.id} failed:\n{out.stderr[-3000:]}"
    assert "Traceback" not in out.stderr, f"{block.id} logged a traceback:\n{out.stderr[-3000:]}"


def test_a_broken_block_would_fail(tmp_path: Path) -> None:
    """The harness can fail: the README's first example without its import (the old bug)."""
    first = next(b for b in BLOCKS if b.path == ROOT / "README.md")
    assert "import ConnectionRefusedError, Server" in first.code
    broken = first.code.replace("import ConnectionRefusedError, Server", "import Server")
    out = run_block(broken, tmp_path)
    assert "Traceback" in out.stderr and "ConnectionRefusedError" in out.stderr, out.stderr
    out = run_block("import socketio_core\nundefined_name\n", tmp_path)
    assert out.returncode != 0 and "NameError" in out.stderr
