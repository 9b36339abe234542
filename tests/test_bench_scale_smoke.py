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
import shutil
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


NODE_CLUSTER = ROOT / "benchmarks" / "node" / "node_modules" / "@socket.io" / "cluster-adapter"


@pytest.mark.timeout(120)
def test_scale_quick_workers_part_ours_and_node_cluster(tmp_path: Path) -> None:
    """The workers part at 200 clients over 2 workers: ours, and Node's cluster where
    `make bench-setup` installed it (node on PATH and benchmarks/node/node_modules)."""
    servers = "ours,node" if shutil.which("node") and NODE_CLUSTER.is_dir() else "ours"
    out = tmp_path / "scale.json"
    proc = subprocess.run(
        [sys.executable, str(SCALE), "--quick", "--parts", "workers", "--workers-servers", servers, "--no-plot",
         "--ours-python", sys.executable, "--out", str(tmp_path / "results"), "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=110,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(out.read_text())
    sizes = doc["meta"]["sizes"]
    assert [r["server"] for r in doc["workers"]] == servers.split(",")
    for r in doc["workers"]:
        where = json.dumps(r)[:2000]
        assert "error" not in r and r["server_alive"] and r["log_tracebacks"] == 0, where
        assert r["connected"] == r["alive_after_hold"] == sizes["workers_clients"], where
        assert r["heartbeats_missed"] == r["dropped_before_hold"] == 0 and r["kb_per_conn"] is not None, where
        # the clients spread over the workers: a supervisor or primary and two busy workers
        assert len(r["fds_by_process"]) >= 3 and r["fds_by_process"][1] > sizes["workers_clients"] // 4, where
        for key, members in (("room", sizes["workers_room"]), ("bcast", sizes["workers_clients"])):
            b = r[key]
            assert b["members"] == members and b["deliveries"] == b["expected"] > 0, where
            assert (b["lost"], b["duplicates"], b["reorders"], b["strays"]) == (0, 0, 0, 0), where
            assert b["emit_to_last_ms_p50"] is not None and b["cpu_us_per_op"] is not None, where
    assert "clients on one machine" in proc.stdout and "## Broadcast to one room of" in proc.stdout
