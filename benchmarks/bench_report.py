"""The report of ``run.py``: the summary of its records, the Markdown table and the plot.

Split from ``run.py`` (which runs the servers and the load generator) so that
each file keeps one job; ``run.py`` imports what it prints and writes from here.
"""

from __future__ import annotations

import statistics
from pathlib import Path
from typing import Any

from bench_servers import SERVER_LABELS

#: Load generator CPU share (of one core) above which a window is flagged.
SATURATED = 0.90

# (scenario, metric key, label, unit, higher_is_better, format)
ROWS: list[tuple[str, str, str, str, bool, str]] = [
    ("handshake", "rate", "WS handshakes ({concurrency} in flight)", "conn/s", True, "{:,.0f}"),
    ("handshake", "cpu_us_per_op", "WS handshake server CPU", "µs/conn", False, "{:,.0f}"),
    ("echo", "rate", "WS echo ({clients} clients)", "rt/s", True, "{:,.0f}"),
    ("echo", "cpu_us_per_op", "WS echo server CPU", "µs/rt", False, "{:,.1f}"),
    ("echo", "p50_ms", "WS echo p50", "ms", False, "{:.2f}"),
    ("echo", "p99_ms", "WS echo p99", "ms", False, "{:.2f}"),
    ("ack", "rate", "WS ack ({clients} clients)", "rt/s", True, "{:,.0f}"),
    ("ack", "cpu_us_per_op", "WS ack server CPU", "µs/rt", False, "{:,.1f}"),
    ("ack", "p50_ms", "WS ack p50", "ms", False, "{:.2f}"),
    ("ack", "p99_ms", "WS ack p99", "ms", False, "{:.2f}"),
    ("polling", "rate", "polling echo ({clients} clients, keep-alive)", "rt/s", True, "{:,.0f}"),
    ("polling", "cpu_us_per_op", "polling echo server CPU", "µs/rt", False, "{:,.1f}"),
    ("polling", "p50_ms", "polling echo p50", "ms", False, "{:.2f}"),
    ("polling", "p99_ms", "polling echo p99", "ms", False, "{:.2f}"),
    ("broadcast", "rate", "broadcast deliveries ({clients} clients)", "msg/s", True, "{:,.0f}"),
    ("broadcast", "cpu_us_per_op", "broadcast server CPU", "µs/delivery", False, "{:,.1f}"),
    ("idle", "kb_per_conn_1000", "idle memory @1,000", "KB/conn", False, "{:,.1f}"),
    ("idle", "kb_per_conn_5000", "idle memory @5,000", "KB/conn", False, "{:,.1f}"),
    ("idle", "kb_per_conn_10000", "idle memory @10,000", "KB/conn", False, "{:,.1f}"),
    ("idle", "connect_rate", "idle: connect rate", "conn/s", True, "{:,.0f}"),
    ("idle", "idle_cpu_share", "idle: server CPU while holding", "% core", False, "{:.1%}"),
]


def median_of(records: list[dict[str, Any]], key: str) -> float | None:
    vals = [r["metrics"][key] for r in records if r.get("ok") and r["metrics"].get(key) is not None]
    return statistics.median(vals) if vals else None


def summarize(records: list[dict[str, Any]], servers: list[str], scenarios: list[str],
              sizes: dict[str, dict[str, Any]]) -> dict[str, Any]:
    by: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for r in records:
        by.setdefault((r["scenario"], r["server"]), []).append(r)
    rows = []
    for scen, key, label, unit, higher, fmt in ROWS:
        if scen not in scenarios:
            continue
        vals = {srv: median_of(by.get((scen, srv), []), key) for srv in servers}
        if all(v is None for v in vals.values()):
            continue
        ratios: dict[str, float | None] = {}
        for peer in servers:
            if peer == "ours":
                continue
            a, b = vals.get("ours"), vals.get(peer)
            if a is None or b is None or a <= 0 or b <= 0:
                ratios[peer] = None
            else:
                ratios[peer] = (a / b) if higher else (b / a)
        rows.append({"scenario": scen, "key": key, "label": label.format(**sizes.get(scen, {})), "unit": unit, "higher_is_better": higher,
                     "format": fmt, "values": vals, "ratios": ratios})
    checks = []
    for scen in scenarios:
        for srv in servers:
            recs = by.get((scen, srv), [])
            c: dict[str, Any] = {"scenario": scen, "server": srv, "runs": len(recs),
                                 "failed_runs": sum(1 for r in recs if not r.get("ok")),
                                 "server_died": sum(1 for r in recs if not r.get("server_alive_after", True)),
                                 "log_problems": sum(len(r.get("server_log_problems", [])) for r in recs)}
            # CPU ticks are 10 ms: shares over windows shorter than 1 s are too coarse to flag
            lg = [r["metrics"].get("loadgen_cpu_share") for r in recs
                  if r.get("ok") and (r["metrics"].get("window_s") or 0) >= 1.0]
            lg = [x for x in lg if x is not None]
            c["loadgen_cpu_max"] = max(lg) if lg else None
            c["loadgen_saturated"] = bool(lg) and max(lg) > SATURATED
            others = [r["metrics"].get("others_cpu_share") for r in recs if r.get("ok")]
            others = [x for x in others if x is not None]
            c["others_cpu_max"] = max(others) if others else None
            irq = [r["metrics"].get("irq_cpu_share") for r in recs if r.get("ok")]
            irq = [x for x in irq if x is not None]
            c["irq_cpu_max"] = max(irq) if irq else None
            c["errors"] = [r.get("error", "").splitlines()[0][:200] for r in recs if not r.get("ok")]
            c["deaths"] = [r.get("server_death") for r in recs if not r.get("server_alive_after", True)]
            for k in ("lost", "duplicates", "reorders", "mismatched", "failed", "connect_failed",
                      "closed_early"):
                vals = [r["metrics"].get(k) for r in recs if r.get("ok") and r["metrics"].get(k) is not None]
                if vals:
                    c[k] = sum(vals)
            if scen == "idle":
                c["target"] = median_of(recs, "target")
                conn = [r["metrics"].get("connected") for r in recs if r.get("ok")]
                alive = [r["metrics"].get("alive_after_hold") for r in recs if r.get("ok")]
                c["connected_min"] = min(conn) if conn else None
                c["alive_after_hold_min"] = min(alive) if alive else None
            checks.append(c)
    return {"rows": rows, "checks": checks}


def fmt_val(v: float | None, fmt: str) -> str:
    return "—" if v is None else fmt.format(v)


def render_table(summary: dict[str, Any], servers: list[str], meta: dict[str, Any]) -> str:
    peers = [s for s in servers if s != "ours"]
    sat = {(c["scenario"], c["server"]) for c in summary["checks"] if c["loadgen_saturated"]}
    head = ["metric", "unit"] + [SERVER_LABELS[s] for s in servers] + [f"ours vs {s}" for s in peers]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for row in summary["rows"]:
        cells = [row["label"], row["unit"]]
        for srv in servers:
            v = fmt_val(row["values"][srv], row["format"])
            if (row["scenario"], srv) in sat and row["key"] == "rate":
                v += " (LG!)"
            cells.append(v)
        for p in peers:
            r = row["ratios"].get(p)
            cells.append("—" if r is None else f"{r:.2f}×")
        lines.append("| " + " | ".join(cells) + " |")
    idle_rounds = min(meta["rounds"], meta["sizes"].get("idle", {}).get("rounds", meta["rounds"]))
    out = ["## Medians over %d round(s) (idle: %d)" % (meta["rounds"], idle_rounds), "",
           "Ratio columns: how many times better ours is (>1 = ours better; rates: ours/peer, "
           "costs: peer/ours). CPU = server utime+stime over the measured window / operations. "
           "(LG!) = the load generator was above %d%% of one core in that scenario: a lower bound. "
           "CPU shares are of one core, max over the rounds' windows: softirq = kernel interrupt time "
           "(loopback TCP, partly charged to the processes above); other = the rest of the machine "
           "(other processes: noise that competes for the 2 cores)." % int(SATURATED * 100), "", *lines, "", "## Correctness and load", "",
           "| scenario | server | runs ok | losses | dups | reorders | mismatched | failed/closed | "
           "server died | log errors | loadgen CPU | softirq | other |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for c in summary["checks"]:
        if c["scenario"] == "idle":
            losses = f"connected {fmt_val(c.get('connected_min'), '{:,.0f}')}/{fmt_val(c.get('target'), '{:,.0f}')}," \
                     f" alive {fmt_val(c.get('alive_after_hold_min'), '{:,.0f}')}"
        else:
            losses = str(c.get("lost", "—"))
        failed = sum(c.get(k, 0) or 0 for k in ("failed", "connect_failed", "closed_early"))
        out.append("| " + " | ".join([
            c["scenario"], c["server"], f"{c['runs'] - c['failed_runs']}/{c['runs']}", losses,
            str(c.get("duplicates", "—")), str(c.get("reorders", "—")), str(c.get("mismatched", "—")),
            str(failed), str(c["server_died"]), str(c["log_problems"]),
            fmt_val(c["loadgen_cpu_max"], "{:.0%}") + (" SATURATED" if c["loadgen_saturated"] else ""),
            fmt_val(c["irq_cpu_max"], "{:.0%}"),
            fmt_val(c["others_cpu_max"], "{:.0%}"),
        ]) + " |")
    problems = [c for c in summary["checks"] if c["errors"] or c["deaths"]]
    if problems:
        out += ["", "Problems:"]
        for c in problems:
            for e in c["errors"]:
                out.append(f"- {c['scenario']} / {c['server']}: run failed: {e}")
            for d in c["deaths"]:
                out.append(f"- {c['scenario']} / {c['server']}: server died: {d}")
    out += ["", "Machine: %s; load average at start %s, at end %s, 1-min load after each run %s; "
            "%s elapsed." % (meta["machine"], meta["loadavg_start"], meta["loadavg_end"],
                             "–".join(str(x) for x in meta.get("loadavg_1min_range") or []), meta["elapsed"])]
    return "\n".join(out)


def plot(summary: dict[str, Any], servers: list[str], path: Path) -> bool:
    """Top: ours vs each peer (ratios, log scale, > 1 = ours better); below: one panel per metric."""
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    rows = [r for r in summary["rows"] if any(v is not None for v in r["values"].values())]
    if not rows:
        return False
    colors = {"ours": "#2a7ab9", "pysio": "#e8a33d", "node": "#5aa150", "base": "#8c6bb1", "aio": "#1b9e9e",
              "asgi": "#66a8d8", "pysio-asgi": "#c9822a", "w1": "#355c7d", "w2": "#6c5b7b"}
    peers = [s for s in servers if s != "ours"]
    ncols = 4
    nrows = (len(rows) + ncols - 1) // ncols
    ratio_rows = [r for r in rows if any(r["ratios"].get(p) for p in peers)]
    top = 0.32 * len(ratio_rows) + 1.2 if ratio_rows else 0
    fig = plt.figure(figsize=(4.2 * ncols, 3.1 * nrows + top))
    grid = fig.add_gridspec(nrows + (1 if ratio_rows else 0), ncols,
                            height_ratios=([top] if ratio_rows else []) + [3.1] * nrows)
    if ratio_rows:
        ax = fig.add_subplot(grid[0, :])
        height = 0.8 / max(1, len(peers))
        for i, peer in enumerate(peers):
            ys = [j + i * height for j in range(len(ratio_rows))]
            vals = [r["ratios"].get(peer) or 0 for r in ratio_rows]
            ax.barh(ys, vals, height=height, color=colors.get(peer, "grey"), label=f"ours vs {peer}")
            for y, v in zip(ys, vals):
                if v:
                    ax.annotate(f"{v:.2f}×", (v, y), va="center", ha="left", fontsize=7,
                                xytext=(2, 0), textcoords="offset points")
        ax.set_yticks([j + height * (len(peers) - 1) / 2 for j in range(len(ratio_rows))])
        ax.set_yticklabels([f"{r['label']} ({r['unit']})" for r in ratio_rows], fontsize=8)
        ax.invert_yaxis()
        ax.set_xscale("log")
        from matplotlib.ticker import FuncFormatter, NullFormatter
        ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _pos: f"{v:g}×"))
        ax.xaxis.set_minor_formatter(NullFormatter())
        shown = [r["ratios"].get(p) for r in ratio_rows for p in peers if r["ratios"].get(p)]
        lo, hi = min(shown + [1.0]), max(shown + [1.0])
        ax.set_xticks([t for t in (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 16, 32) if lo / 2 <= t <= hi * 2])
        ax.axvline(1.0, color="black", linewidth=0.8)
        ax.set_title("ours vs each peer: how many times better (> 1 = ours better, log scale)", fontsize=10)
        ax.legend(fontsize=8, loc="lower right")
        ax.tick_params(axis="x", labelsize=8)
    for k, row in enumerate(rows):
        ax = fig.add_subplot(grid[k // ncols + (1 if ratio_rows else 0), k % ncols])
        vals = [row["values"][s] or 0 for s in servers]
        bars = ax.bar(range(len(servers)), vals, color=[colors.get(s, "grey") for s in servers])
        ax.set_xticks(range(len(servers)))
        ax.set_xticklabels(servers)
        arrow = "higher is better" if row["higher_is_better"] else "lower is better"
        ax.set_title(f"{row['label']}\n{row['unit']} ({arrow})", fontsize=9)
        for b, v, srv in zip(bars, vals, servers):
            label = row["format"].format(v) if row["values"][srv] is not None else "n/a"
            ax.annotate(label, (b.get_x() + b.get_width() / 2, b.get_height()), ha="center", va="bottom",
                        fontsize=7)
        ax.margins(y=0.15)
        ax.tick_params(labelsize=8)
    fig.suptitle("socketio_core (ours) vs python-socketio 5 on gevent (pysio) vs Node socket.io 4.8 (node)"
                 " — medians over the rounds", fontsize=11)
    fig.tight_layout(rect=(0, 0, 1, 0.98))
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
