"""The instrumented server of the admin tests (_admin_server.py), as a subprocess."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Callable, Iterator

import pytest

from tests.conftest import ROOT, free_port


class AdminServer:
    def __init__(self, *args: str) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.proc = subprocess.Popen(
            [sys.executable, str(Path(__file__).parent / "_admin_server.py"), str(self.port), *args],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        self.output: list[str] = []
        listening = threading.Event()

        def drain() -> None:  # all along, so a chatty server never blocks on its pipe
            assert self.proc.stdout is not None
            for line in self.proc.stdout:
                self.output.append(line)
                if line.startswith("listening on"):
                    listening.set()

        self._reader = threading.Thread(target=drain, daemon=True)
        self._reader.start()
        if not listening.wait(15):
            self.stop()
            raise RuntimeError("admin server did not start:\n" + "".join(self.output))

    def stop(self) -> str:
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self._reader.join(timeout=5)
        return "".join(self.output)


@pytest.fixture
def admin_server() -> Iterator[Callable[..., AdminServer]]:
    """Factory: ``admin_server("development", "readwrite", "plain")``."""
    started: list[AdminServer] = []

    def start(*args: str) -> AdminServer:
        server = AdminServer(*args)
        started.append(server)
        return server

    yield start
    for server in started:
        log = server.stop()
        assert "Traceback" not in log and "ERROR" not in log, log[-4000:]
