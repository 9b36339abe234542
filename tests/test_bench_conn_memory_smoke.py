"""Smoke test of benchmarks/conn_memory.py (bytes per idle connection, ranked), so that it cannot rot.

A tiny run (40 clients) of the tracemalloc measurement (the RSS one is the
same harness with less in the server): every client connected and the
ranked tables printed. No size is asserted: benchmarks are not tests.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.timeout(120)
def test_conn_memory_quick_run() -> None:
    proc = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "conn_memory.py"), "--n", "40", "--addrs", "1", "--skip-rss",
         "--frames", "1"],
        cwd=ROOT, capture_output=True, text=True, timeout=110,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = proc.stdout
    assert "clients connected: 40 (base 20)" in out, out
    for heading in ("traced by tracemalloc:", "== by file", "== by line",
                    "== by traceback", "== gc-tracked objects by type"):
        assert heading in out, out
