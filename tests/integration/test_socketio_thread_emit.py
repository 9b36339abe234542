"""Emits and calls from a plain OS thread reach the client promptly and in order.

The server (_thread_emit_server.py) is not monkey-patched: its connect
handler starts a ``threading.Thread`` that emits, calls the client and uses
rooms. Its ping interval is 60 s and the clients give up after 10 s, so an
emit from the thread that failed to wake the gevent hub would not be
"late", it would fail the test.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Iterator

import pytest

from tests.conftest import ROOT, free_port, run_node

MODES = ["polling", "websocket", "default"]
TICKS = 30  # _thread_emit_server.TICKS


@pytest.fixture(scope="module")
def thread_server() -> Iterator[str]:
    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, str(ROOT / "tests" / "integration" / "_thread_emit_server.py"), str(port)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    output: list[str] = []
    listening = threading.Event()

    def drain() -> None:  # all along, so a chatty server never blocks on its pipe
        assert proc.stdout is not None
        for line in proc.stdout:
            output.append(line)
            if line.startswith("listening on"):
                listening.set()

    reader = threading.Thread(target=drain, daemon=True)
    reader.start()
    try:
        if not listening.wait(15):
            raise RuntimeError("thread-emit server did not start:\n" + "".join(output))
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        reader.join(timeout=5)
    log = "".join(output)
    assert "Traceback" not in log and "ERROR" not in log, log


@pytest.fixture(scope="module")
def runs(thread_server: str) -> dict[str, Any]:
    with ThreadPoolExecutor(len(MODES)) as pool:
        futures = {m: pool.submit(run_node, "sio_thread_emit.js", thread_server, m) for m in MODES}
        return {m: f.result() for m, f in futures.items()}


@pytest.mark.parametrize("mode", MODES)
def test_emit_and_call_from_an_os_thread(runs: dict[str, Any], mode: str) -> None:
    for name, r in runs[mode].items():
        assert "error" not in r, (name, r["error"])
        assert r["ticks"] == list(range(TICKS)), name
        assert r["room"] == [f"answer {' abc'.index(name)} to from a thread"], name
        assert r["info"] == {
            "gathered": f"answer {' abc'.index(name)} to from a thread, to a room",
            "other_thread": True,
            "threading_patched": False,
        }, name
        # In default mode the run may end before or after the upgrade.
        expected = {"polling": {"polling"}, "websocket": {"websocket"}}.get(mode, {"polling", "websocket"})
        assert r["transport"] in expected, name
