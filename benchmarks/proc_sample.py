"""The benchmarks' one /proc sampler: CPU, memory and descriptors of a server's process tree
(and the one way a harness ends a server process: :func:`end_process`).

A server may be a tree of processes (``--workers N``: a supervisor and its workers), so every
figure is summed over the process and all its descendants, found through
``/proc/PID/task/TID/children`` (every thread's children: a child forked from any thread counts).
A process that is gone is skipped; a tree of which nothing could be read gives ``None``, so a
caller can tell "no figure" from zero. Linux only, like the benchmarks.
"""

from __future__ import annotations

import os
import signal
import subprocess

CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def descendants(pid: int) -> list[int]:
    """``pid`` and every process below it."""
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        try:
            for tid in os.listdir(f"/proc/{p}/task"):
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    todo.extend(int(x) for x in f.read().split())
        except OSError:
            pass
    return out


def process_cpu_s(pid: int) -> float | None:
    """utime + stime of one process (all its threads), in seconds; ``None`` when it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            data = f.read()
    except OSError:
        return None
    # the command name may hold spaces and parentheses: the fields start after its last ")"
    fields = data[data.rindex(")") + 2:].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def tree_cpu_s(pid: int) -> float | None:
    """utime + stime of a process tree (live processes; reaped children's time included)."""
    found = [s for s in map(process_cpu_s, descendants(pid)) if s is not None]
    return sum(found) if found else None


def tree_rss_kb(pid: int) -> int | None:
    """Resident memory of a process tree, in KiB (``/proc/PID/statm``'s resident pages)."""
    total, seen = 0, False
    for p in descendants(pid):
        try:
            with open(f"/proc/{p}/statm") as f:
                total += int(f.read().split()[1]) * PAGE_KB
        except OSError:
            continue
        seen = True
    return total if seen else None


def tree_fds(pid: int) -> int:
    """Open descriptors of a process tree."""
    n = 0
    for p in descendants(pid):
        try:
            n += len(os.listdir(f"/proc/{p}/fd"))
        except OSError:
            pass
    return n


def system_cpu() -> tuple[float, float, float]:
    """(busy, irq + softirq, total) seconds of all CPUs, from /proc/stat."""
    with open("/proc/stat") as f:
        parts = f.readline().split()[1:]
    vals = [int(x) for x in parts[:8]]
    idle = vals[3] + vals[4]
    total = sum(vals)
    return (total - idle) / CLK_TCK, (vals[5] + vals[6]) / CLK_TCK, total / CLK_TCK


def loadavg() -> list[float]:
    with open("/proc/loadavg") as f:
        return [float(x) for x in f.read().split()[:3]]


def end_process(proc: subprocess.Popen[bytes], sig: int = signal.SIGTERM, timeout: float = 10.0) -> None:
    """Ask ``proc`` to stop with ``sig`` (it drains and exits), and kill it if it has not
    after ``timeout`` seconds: a hung server must not hang the benchmark."""
    proc.send_signal(sig)
    try:
        proc.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
