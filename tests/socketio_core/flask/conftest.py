"""Flask apps served for real: by ``socketio.run`` (our gevent server) or by gunicorn's gevent worker."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from importlib.metadata import entry_points
from pathlib import Path
from typing import Callable, Iterator

import pytest

from tests.conftest import ROOT, free_port

HERE = Path(__file__).resolve().parent
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"
FLASK = ROOT / ".venv" / "bin" / "flask"


def _gunicorn_extra_args() -> list[str]:
    """gunicorn >= 24 opens a control socket in ~/.gunicorn; parallel servers would share it."""
    proc = subprocess.run([str(GUNICORN), "--help"], capture_output=True, text=True)
    return ["--no-control-socket"] if "--no-control-socket" in proc.stdout else []


class FlaskServer:
    """A Flask + Socket.IO app in a subprocess; its output is collected line by line."""

    def __init__(self, kind: str, app_file: Path, app_spec: str, port: int, *extra: str) -> None:
        self.kind = kind
        self.port = port
        self.url = f"http://127.0.0.1:{port}"
        if kind == "run":
            command = [sys.executable, str(HERE / "_serve.py"), str(app_file), str(port), *extra]
        elif kind == "flask-run":
            # Flask's CLI, with the reloader: our `run` command (the flask.commands entry point).
            assert any(ep.name == "run" and ep.value.startswith("socketio_core.")
                       for ep in entry_points(group="flask.commands")), (
                "the flask.commands entry point is not installed: run `pip install -e .` again"
            )
            command = [str(FLASK), "--app", str(app_file), "run", "--port", str(port), "--reload", *extra]
        elif kind == "gunicorn":
            command = [
                str(GUNICORN), "-k", "gevent", "-w", "1", "-b", f"127.0.0.1:{port}",
                "--chdir", str(app_file.parent), *_gunicorn_extra_args(), app_spec,
            ]
        else:
            raise ValueError(kind)
        env = {**os.environ, "PYTHONUNBUFFERED": "1", "PYTHONPATH": str(ROOT)}
        self.proc = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT, text=True, env=env)
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.wait_until_listening()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            self.lines.append(line)

    def wait_until_listening(self, timeout: float = 20) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.kind} server exited:\n{self.output}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"{self.kind} server did not start:\n{self.output}")

    @property
    def output(self) -> str:
        return "".join(self.lines)

    def wait_for_line(self, text: str, timeout: float, count: int = 1) -> float:
        """Seconds until ``text`` has appeared ``count`` times in the output; raises on timeout."""
        start = time.monotonic()
        while time.monotonic() - start < timeout:
            if self.output.count(text) >= count:
                return time.monotonic() - start
            time.sleep(0.02)
        raise AssertionError(f"{text!r} x{count} not seen in {timeout} s:\n{self.output[-3000:]}")

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=5)
        return self.output


def _server_factory() -> Iterator[Callable[..., FlaskServer]]:
    started: list[FlaskServer] = []

    def start(kind: str, app_file: Path, app_spec: str, *extra: str) -> FlaskServer:
        server = FlaskServer(kind, app_file, app_spec, free_port(), *extra)
        started.append(server)
        return server

    yield start
    for server in started:
        output = server.stop()
        # Bad input is answered and logged in one line; nothing may crash.
        assert "Traceback" not in output, output[-4000:]


@pytest.fixture
def flask_server() -> Iterator[Callable[..., FlaskServer]]:
    """Factory: ``flask_server("run" | "flask-run" | "gunicorn", app_file, "module:app", *extra_args)``."""
    yield from _server_factory()


@pytest.fixture(scope="module")
def module_flask_server() -> Iterator[Callable[..., FlaskServer]]:
    """The same factory, for servers shared by the tests of one module."""
    yield from _server_factory()


def load_app_module(path: Path, name: str) -> object:
    """Import an example's app.py under a name of its own (every example calls it ``app``)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location(name, path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
