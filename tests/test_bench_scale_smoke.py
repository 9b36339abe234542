"""Smoke test of the scale benchmark (benchmarks/scale.py), so that it cannot rot.

A tiny run against our echo server and the bare-gevent floor: the limit part with
the server's descriptor limit lowered to 120 (so 60 clients plus a probe of 60
reach it), and every curve at one or two small sizes. It checks that the harness
produced sound numbers and that nothing was lost: every client connected, every
echo and ack answered, every broadcast delivered once and in order to the room's
members and to no one else, no heartbeat missed, and beyond the limit every
extra client was either served or refused at once (none left hanging) with one
warning line and no traceback. No timing is asserted: benchmarks are not tests.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
SCALE = ROOT / "benchmarks" / "scale.py"


@pytest.mark.timeout(120)
def test_scale_quick_run_against_our_server_and_the_floor(tmp_path: Path) -> None:
    out = tmp_path / "scale.json"
    proc = subprocess.run(
        [sys.executable, str(SCALE), "--quick", "--servers", "ours,floor", "--limit-servers", "ours",
         "--parts", "limit,curves", "--no-plot", "--ours-python", sys.executable,
         "--out", str(tmp_path / "results"), "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=110,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(out.read_text())
    sizes = doc["meta"]["sizes"]

    (limit,) = doc["limit"]
    where = json.dumps(limit)[:2000]
    assert "error" not in limit, where
    assert limit["connected"] == limit["target"] == sizes["limit_clients"], where
    assert limit["heartbeats_missed"] == 0 and limit["alive_after_hold"] == limit["target"], where
    probe = limit["probe"]["outcomes"]
    assert probe["hung"] == 0 and probe["refused_503"] > 0, where
    assert probe["ready"] + probe["refused_503"] == sizes["probe"], where
    assert limit["log_fd_warnings"] == 1 and limit["log_tracebacks"] == 0 and limit["log_emfile"] == 0, where

    expected = {("echo", n) for n in sizes["echo_sizes"]} | {("ack", n) for n in sizes["echo_sizes"]} \
        | {("bcast", n) for n in sizes["bcast_sizes"]} | {("polling", n) for n in sizes["poll_sizes"]}
    for server in ("ours", "floor"):
        recs = [r for r in doc["curves"] if r["server"] == server]
        assert {(r["scenario"], r["size"]) for r in recs} == expected
        for r in recs:
            where = f"{server}: {json.dumps(r)[:1500]}"
            assert "error" not in r and r["server_alive"] and r["log_problems"] == 0, where
            assert r["ops"] > 0 and r["cpu_us_per_op"] is not None, where
            if r["scenario"] == "bcast":
                assert r["members"] == r["size"] and r["deliveries"] == r["expected"], where
                assert (r["lost"], r["duplicates"], r["reorders"], r["strays"]) == (0, 0, 0, 0), where
                assert r["emit_to_last_ms_p50"] is not None, where
            else:
                assert (r["mismatched"], r["unanswered"], r["dropped"]) == (0, 0, 0), where
                assert 0 < r["p50_ms"] <= r["p99_ms"], where
    assert "## Ours / floor" in proc.stdout and "## Goals" in proc.stdout
