#!/usr/bin/env python3
"""Run the connection-state-recovery cases over and over under CPU load; count
duplicates and losses. Not a test and not in CI: evidence for issue 14 item 8.

Each round runs, with pytest, the official-client recovery cases on one server
(tests/integration/test_recovery.py, the in-memory log) and across servers
(tests/cluster/test_recovery_cluster.py, the Redis Streams log), while two
processes spin at 100% CPU (``--burners``) so that the packets in flight during
a restore, and the order of greenlets, vary from round to round. The tests
append each client's result to ``$RECOVERY_RESULTS``; this script counts, per
case: rounds, duplicated ticks, lost ticks, ticks out of order, stale events the
client replayed from its own buffer, and failed pytest runs.

    .venv/bin/python benchmarks/recovery_loop.py --rounds 50 --burners 2 --budget 900

Stops early (and says so) when ``--budget`` seconds have passed. Exit status 1
when anything was duplicated, lost, reordered or failed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
TESTS = [
    "tests/integration/test_recovery.py",
    "tests/cluster/test_recovery_cluster.py::test_missed_ticks_arrive_once_in_order_on_any_server",
]
BURNER = "while True: pass"


def count(n: int, ticks: list[Any]) -> tuple[int, int, int]:
    """(duplicates, losses, out-of-order steps) of ``ticks`` against 1..n."""
    seen = [t for t in ticks if isinstance(t, int)]
    duplicates = len(seen) - len(set(seen))
    losses = len(set(range(1, n + 1)) - set(seen))
    disorder = sum(1 for a, b in zip(seen, seen[1:]) if b <= a)
    return duplicates, losses, disorder


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=50)
    parser.add_argument("--burners", type=int, default=2, help="CPU-spinning processes meanwhile")
    parser.add_argument("--budget", type=float, default=900.0, help="stop after this many seconds")
    parser.add_argument("-k", default="not replays_events_it_held",
                        help="pytest -k expression (default: every exactly-once case)")
    args = parser.parse_args()

    burners = [subprocess.Popen([sys.executable, "-c", BURNER]) for _ in range(args.burners)]
    results_file = Path(tempfile.mkstemp(prefix="recovery-loop-", suffix=".jsonl")[1])
    env = {**os.environ, "RECOVERY_RESULTS": str(results_file)}
    failed_runs: list[int] = []
    started = time.monotonic()
    rounds = 0
    try:
        for round_no in range(1, args.rounds + 1):
            if time.monotonic() - started > args.budget:
                print(f"budget of {args.budget:.0f} s spent after {rounds} rounds", flush=True)
                break
            proc = subprocess.run(
                [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "-k", args.k, *TESTS],
                cwd=ROOT, env=env, capture_output=True, text=True,
            )
            rounds += 1
            last = (proc.stdout.strip().splitlines() or ["(no output)"])[-1]
            print(f"round {round_no}: {last}", flush=True)
            if proc.returncode != 0:
                failed_runs.append(round_no)
                print(proc.stdout[-3000:], flush=True)
    finally:
        for burner in burners:
            burner.kill()
            burner.wait()

    per_case: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for line in results_file.read_text().splitlines():
        record = json.loads(line)
        result = record["result"]
        totals = per_case[record["case"]]
        duplicates, losses, disorder = count(record["n"], result.get("ticks", []))
        totals[0] += 1
        totals[1] += duplicates
        totals[2] += losses
        totals[3] += disorder
        totals[4] += sum(result.get("stale", []))
    results_file.unlink()

    print(f"\n{rounds} rounds in {time.monotonic() - started:.0f} s with {args.burners} CPU burners")
    print(f"{'case':<42} {'runs':>5} {'dup':>5} {'lost':>5} {'order':>5} {'stale':>5}")
    grand = [0, 0, 0, 0, 0]
    for case in sorted(per_case):
        totals = per_case[case]
        grand = [g + t for g, t in zip(grand, totals)]
        print(f"{case:<42} {totals[0]:>5} {totals[1]:>5} {totals[2]:>5} {totals[3]:>5} {totals[4]:>5}")
    print(f"{'total':<42} {grand[0]:>5} {grand[1]:>5} {grand[2]:>5} {grand[3]:>5} {grand[4]:>5}")
    print(f"failed pytest runs: {len(failed_runs)} {failed_runs if failed_runs else ''}")
    bad = failed_runs or any(grand[1:4])
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
