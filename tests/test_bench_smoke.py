"""Smoke test of the benchmark harness (benchmarks/run.py), so that it cannot rot.

Runs every scenario once with tiny sizes against our own echo server only (no
python-socketio / Node socket.io peers, so no `make bench-setup`), and checks
that the harness produced sound numbers: every run finished, rates are
positive, nothing was lost, duplicated, reordered or refused, the server
stayed up. No timing assertion: benchmarks are not tests.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
RUN = ROOT / "benchmarks" / "run.py"


def _ws_available() -> bool:
    node = shutil.which("node")
    if node is None:
        return False
    probe = subprocess.run(
        [node, "-e", "for (const r of process.argv.slice(1)) { try { require.resolve('ws', {paths: [r]});"
                     " process.exit(0) } catch (e) {} } process.exit(1)",
         str(ROOT / "benchmarks" / "node"), str(ROOT / "tests" / "interop")],
        capture_output=True,
    )
    return probe.returncode == 0


pytestmark = pytest.mark.skipif(
    not _ws_available(), reason="needs node and the `ws` package (make npm or make bench-setup)"
)


@pytest.mark.timeout(90)
def test_harness_quick_run_against_our_server(tmp_path: Path) -> None:
    out = tmp_path / "bench.json"
    proc = subprocess.run(
        [sys.executable, str(RUN), "--servers", "ours", "--quick", "--rounds", "1", "--no-plot",
         "--ours-python", sys.executable, "--out", str(tmp_path / "results"), "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=80,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    doc = json.loads(out.read_text())
    records = doc["records"]
    scenarios = {"handshake", "echo", "ack", "polling", "broadcast", "idle"}
    assert {r["scenario"] for r in records} == scenarios
    for rec in records:
        where = f"{rec['scenario']}: {json.dumps(rec, default=str)[:1500]}"
        assert rec["ok"], where
        assert rec["server_alive_after"], where
        assert not rec.get("server_log_problems"), where
        m, r = rec["metrics"], rec["result"]
        assert r["errors"] == [], where
        if rec["scenario"] == "idle":
            assert m["connected"] == m["target"] == doc["meta"]["sizes"]["idle"]["steps"][-1], where
            assert m["alive_after_hold"] == m["connected"], where
            assert m["connect_failed"] == 0, where
            for n in doc["meta"]["sizes"]["idle"]["steps"]:
                assert m[f"connected_{n}"] == n, where
                assert m[f"kb_per_conn_{n}"] is not None, where
            continue
        assert m["rate"] > 0 and m["ops"] > 0, where
        assert m["cpu_us_per_op"] is not None, where
        if rec["scenario"] == "handshake":
            assert m["failed"] == 0, where
        if rec["scenario"] in ("echo", "ack", "polling"):
            assert m["mismatched"] == 0 and m["closed_early"] == 0 and m["connect_failed"] == 0, where
            assert 0 < m["p50_ms"] <= m["p99_ms"], where
        if rec["scenario"] == "broadcast":
            assert m["expected"] > 0, where
            assert (m["lost"], m["duplicates"], m["reorders"]) == (0, 0, 0), where
            assert m["ops"] >= m["clients"] * 1, where
    rows = {(row["scenario"], row["key"]) for row in doc["summary"]["rows"]}
    assert ("echo", "rate") in rows and ("broadcast", "cpu_us_per_op") in rows
    assert "| WS echo (5 clients) |" in proc.stdout


WORKERS_BENCH = ROOT / "benchmarks" / "workers_bench.py"


@pytest.mark.timeout(150)
def test_workers_bench_compares_each_variant_with_one_run_alike(tmp_path: Path) -> None:
    """workers_bench.py (issue 18's numbers): every variant measured, and each ratio taken
    against ``1`` run the same way (pinned against pinned), as its table says. (Full
    sizes for one second: the quick ones are too short for /proc's CPU clock.)"""
    out = tmp_path / "workers.json"
    variants = ["1", "2", "1@0", "2@0"]
    proc = subprocess.run(
        [sys.executable, str(WORKERS_BENCH), "--duration", "1", "--rounds", "1", "--variants", *variants,
         "--scenarios", "echo", "--json", str(out)],
        cwd=ROOT, capture_output=True, text=True, timeout=140,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    raw = json.loads(out.read_text())["raw"]["echo"]
    cpu = {}
    for variant in variants:
        (row,) = raw[variant]
        assert row["ops"] > 0 and row["rate"] > 0 and row["cpu_us_per_op"] > 0, (variant, row)
        assert row["supervisor_us_per_op"] == 0 or variant.startswith("2"), (variant, row)
        cpu[variant] = row["cpu_us_per_op"]
    table = {line.split()[1]: line.split() for line in proc.stdout.splitlines() if line.startswith("echo ")}
    for variant, base in (("1", "1"), ("2", "1"), ("1@0", "1@0"), ("2@0", "1@0")):
        assert float(table[variant][4]) == pytest.approx(cpu[variant] / cpu[base], abs=0.006), (variant, table)
