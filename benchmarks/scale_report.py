"""The scale benchmark's report: markdown tables with each goal met or not, and the curves' plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

LABELS = {"ours": "ours", "node": "Node socket.io 4.8", "pysio": "python-socketio 5 (gevent)",
          "floor": "floor (bare gevent)"}
SCEN = {"echo": ("WebSocket echo", "round trips/s", "µs/rt"),
        "ack": ("WebSocket ack", "round trips/s", "µs/rt"),
        "bcast": ("broadcast to one room", "deliveries/s", "µs/delivery"),
        "polling": ("long-polling echo", "round trips/s", "µs/rt")}
FLOOR_GOAL = 1.3
KB_GOAL = 6.0


def f(v: Any, spec: str = "{:,.1f}") -> str:
    return "—" if v is None else spec.format(v)


def met(ok: bool | None) -> str:
    return "n/a" if ok is None else ("**met**" if ok else "**not met**")


def render(doc: dict[str, Any]) -> str:
    meta = doc["meta"]
    out = [f"# Scale benchmark {meta['stamp']}", "",
           f"Machine: {meta['machine']}, open files {meta['nofile']}; load average at start "
           f"{meta['loadavg_start']}, at end {meta.get('loadavg_end')}; {meta.get('elapsed_s')} s.", ""]
    goals: list[str] = []
    if doc["limit"]:
        out += limit_table(doc["limit"], goals)
    if doc["curves"]:
        out += curve_tables(doc["curves"], goals)
    if doc.get("workers"):
        # results of before Node's cluster joined the part: one record, not a list
        recs = doc["workers"] if isinstance(doc["workers"], list) else [dict(doc["workers"], server="ours")]
        out += workers_table(recs, goals)
    out += ["## Goals", ""] + [f"- {g}" for g in goals]
    return "\n".join(out)


def limit_table(recs: list[dict[str, Any]], goals: list[str]) -> list[str]:
    out = ["## One process at its descriptor limit (WebSocket, idle)", "",
           "| server | clients held | KB/conn | connect all | idle CPU | heartbeats missed (dropped + late) "
           "| beyond the limit: outcomes | slowest end | log: fd warnings / EMFILE lines / tracebacks |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in recs:
        probe = r.get("probe") or {}
        outcomes = ", ".join(f"{k} {v}" for k, v in (probe.get("outcomes") or {}).items() if v) or "—"
        out.append("| " + " | ".join([
            LABELS.get(r["server"], r["server"]), f"{f(r.get('connected'), '{:,}')}/{r['target']:,}",
            f(r.get("kb_per_conn")), f(r.get("connect_s"), "{:.1f} s"), f(r.get("idle_cpu_share"), "{:.1%}"),
            f"{f(r.get('heartbeats_missed'), '{:,}')} ({f(r.get('dropped'), '{:,}')} + {f(r.get('late_pings'), '{:,}')})",
            outcomes, f(probe.get("t_max"), "{:.2f} s"),
            f"{r.get('log_fd_warnings')} / {r.get('log_emfile')} / {r.get('log_tracebacks')}",
        ]) + " |")
        if r.get("error"):
            out.append(f"\n{r['server']}: **error** {r['error'][:300]}\n")
    out.append("")
    out.append("Heartbeats: each client must get at least ⌊hold / ping interval⌋ pings over the hold "
               "(%s s at %s s); a client dropped or below that counts as missed." % (
                   recs[0].get("hold_s"), recs[0].get("ping_interval_s")))
    out.append("")
    node = next((r for r in recs if r["server"] == "node"), None)
    for r in recs:
        if r["server"] != "ours":
            continue
        kb = r.get("kb_per_conn")
        goals.append(f"limit: memory per connection ≤ {KB_GOAL:g} KB: {met(None if kb is None else kb <= KB_GOAL)}"
                     f" ({f(kb)} KB" + (f"; Node {f(node.get('kb_per_conn'))} KB)" if node else ")"))
        hm = r.get("heartbeats_missed")
        goals.append(f"limit: heartbeats missed = 0 at {f(r.get('connected'), '{:,}')} clients: "
                     f"{met(None if hm is None else hm == 0)} ({hm})")
        probe = (r.get("probe") or {}).get("outcomes") or {}
        hung = probe.get("hung", 0)
        quiet = r.get("log_fd_warnings", 0) <= 1 and not r.get("log_tracebacks") and not r.get("log_emfile")
        refused = probe.get("refused_503", 0) + probe.get("reset", 0) + probe.get("closed", 0)
        goals.append(f"limit: beyond the limit refused at once and logged once: "
                     f"{met(hung == 0 and quiet and refused > 0)} ({refused} refused, {hung} hung, "
                     f"{r.get('log_fd_warnings')} warning line(s), {r.get('log_tracebacks')} tracebacks)")
    return out


def curve_tables(recs: list[dict[str, Any]], goals: list[str]) -> list[str]:
    servers = list(dict.fromkeys(r["server"] for r in recs))
    out: list[str] = []
    for scen, (title, rate_unit, cpu_unit) in SCEN.items():
        rows = [r for r in recs if r["scenario"] == scen]
        if not rows:
            continue
        sizes = sorted({r["size"] for r in rows})
        head = ["members" if scen == "bcast" else "clients"]
        for s in servers:
            head += [f"{s} {rate_unit}", f"{s} {cpu_unit}"]
            if scen == "bcast":
                head.append(f"{s} emit→last p50 ms")
        ratio_peers = [p for p in ("node", "floor") if p in servers]
        head += [f"{p} / ours CPU" for p in ratio_peers]
        out += [f"## {title}", "", "| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
        for size in sizes:
            cells = [f"{size:,}"]
            by = {r["server"]: r for r in rows if r["size"] == size}
            for s in servers:
                r = by.get(s, {})
                if r.get("error") or r.get("skipped"):
                    cells += ["failed" if r.get("error") else "skipped", "—"] + (["—"] if scen == "bcast" else [])
                    continue
                bad = sum(r.get(k) or 0 for k in ("mismatched", "unanswered", "dropped", "lost", "duplicates",
                                                    "reorders", "strays"))
                cells += [f(r.get("rate"), "{:,.0f}") + (f" ({bad} bad)" if bad else ""),
                          f(r.get("cpu_us_per_op"))]
                if scen == "bcast":
                    cells.append(f(r.get("emit_to_last_ms_p50")))
            ours = by.get("ours", {}).get("cpu_us_per_op")
            for p in ratio_peers:
                other = by.get(p, {}).get("cpu_us_per_op")
                cells.append(f(other / ours, "{:.2f}×") if ours and other else "—")
            out.append("| " + " | ".join(cells) + " |")
        out.append("")
    # goals: flat cost, below Node, close to the floor
    out += ["## Ours / floor (server CPU per operation)", "",
            "| operation | size | ours | floor | ours / floor | ≤ %.1f× |" % FLOOR_GOAL, "|---|---|---|---|---|---|"]
    worst: dict[str, float] = {}
    for scen in SCEN:
        ours = {r["size"]: r.get("cpu_us_per_op") for r in recs if r["scenario"] == scen and r["server"] == "ours"}
        floor = {r["size"]: r.get("cpu_us_per_op") for r in recs if r["scenario"] == scen and r["server"] == "floor"}
        node = {r["size"]: r.get("cpu_us_per_op") for r in recs if r["scenario"] == scen and r["server"] == "node"}
        for size in sorted(ours):
            a, b = ours[size], floor.get(size)
            if a and b:
                ratio = a / b
                worst[scen] = max(worst.get(scen, 0.0), ratio)
                out.append(f"| {SCEN[scen][0]} | {size:,} | {a:.1f} | {b:.1f} | {ratio:.2f}× | "
                           f"{'yes' if ratio <= FLOOR_GOAL else 'no'} |")
        vals = [v for v in ours.values() if v]
        if len(vals) >= 2:
            spread = max(vals) / min(vals)
            goals.append(f"curves: {SCEN[scen][0]}: our cost per operation flat as the count grows "
                         f"(max/min over sizes ≤ 1.5×): {met(spread <= 1.5)} ({spread:.2f}×)")
        both = [(s, ours[s], node[s]) for s in ours if ours.get(s) and node.get(s)]
        if both:
            losing = [s for s, a, b in both if a > b]
            goals.append(f"curves: {SCEN[scen][0]}: below Node's CPU per operation at every size: "
                         f"{met(not losing)}" + (f" (not at {', '.join(f'{s:,}' for s in losing)})" if losing else ""))
        if scen in worst:
            goals.append(f"floor: {SCEN[scen][0]} ≤ {FLOOR_GOAL}× the floor at every size: "
                         f"{met(worst[scen] <= FLOOR_GOAL)} (worst {worst[scen]:.2f}×)")
    lost = [r for r in recs if any(r.get(k) for k in ("mismatched", "unanswered", "dropped", "lost", "duplicates",
                                                      "reorders", "strays")) and r["server"] == "ours"]
    failed = [r for r in recs if r.get("error") and r["server"] == "ours"]
    goals.append(f"curves: nothing lost by ours at any size: {met(not lost and not failed)}"
                 + (f" ({len(lost)} point(s) with losses, {len(failed)} failed)" if lost or failed else ""))
    out.append("")
    return out


def workers_table(recs: list[dict[str, Any]], goals: list[str]) -> list[str]:
    """Ours --workers W beside Node's cluster at the same W and client count: one row each."""
    first = recs[0]
    out = [f"## {first['target']:,} clients on one machine, {first['workers']} worker processes", "",
           "| server | clients held | KB/conn | RSS total / client | RSS total | descriptors, busiest process "
           "| connect all | idle CPU | heartbeats missed (dropped before the hold + during it + late) "
           "| broadcast to all: delivered / expected "
           "| lost / dups | emit→last (max) |",
           "|---|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in recs:
        b = r.get("bcast") or {}
        fds = r.get("fds_by_process") or []
        out.append("| " + " | ".join([
            r.get("label", r["server"]), f"{f(r.get('connected'), '{:,}')}/{r['target']:,}",
            f(r.get("kb_per_conn")), f(r.get("kb_per_conn_total")), f(r.get("rss_total_mb"), "{:,.0f} MB"),
            f(fds[0] if fds else None, "{:,}"), f(r.get("connect_s"), "{:.1f} s"),
            f(r.get("idle_cpu_share"), "{:.1%}"),
            f"{f(r.get('heartbeats_missed'), '{:,}')} ({f(r.get('dropped_before_hold'), '{:,}')} + "
            f"{f(r.get('dropped'), '{:,}')} + {f(r.get('late_pings'), '{:,}')})",
            f"{f(b.get('deliveries'), '{:,}')} / {f(b.get('expected'), '{:,}')}",
            f"{f(b.get('lost'), '{:,}')} / {f(b.get('duplicates'), '{:,}')}",
            f(b.get("emit_to_last_ms_max"), "{:,.0f} ms")]) + " |")
    out.append("")
    for r in recs:
        lost = {k: v for k, v in (r.get("connect_outcomes") or {}).items() if v and k != "ready"}
        if lost:
            out += [f"{r.get('label', r['server'])}: not connected: "
                    + ", ".join(f"{k} {v:,}" for k, v in lost.items()) + ".", ""]
        if r.get("error"):
            out += [f"{r.get('label', r['server'])}: **error** {r['error'][:300]}", ""]
    out += ["KB/conn: the tree's RSS growth from before the clients to after, per client; RSS total / client: "
            "all of it (primary, workers, their runtimes) per client. Idle CPU over the %s s hold at the %s s "
            "ping interval, summed over the tree (1.0 = one core)." % (first.get("hold_s"), first.get("ping_interval_s")),
            ""]
    out += room_table(recs, goals)
    by = {r["server"]: r for r in recs}
    ours, node = by.get("ours"), by.get("node")
    if ours is not None:
        b = ours.get("bcast") or {}
        ok = (ours.get("connected") == ours["target"] and ours.get("heartbeats_missed") == 0 and b.get("lost") == 0
              and b.get("duplicates") == 0 and b.get("deliveries") == b.get("expected"))
        goals.append(f"workers: {ours['target']:,} clients held, heartbeats on time, a broadcast to all delivered "
                     f"exactly once: {met(ok if not ours.get('error') else False)}")
    if ours is not None and node is not None:
        a, c = ours.get("kb_per_conn"), node.get("kb_per_conn")
        goals.append(f"workers: memory per connection below Node's cluster: "
                     f"{met(None if a is None or c is None else a < c)} ({f(a)} KB; Node {f(c)} KB)")
        a, c = ours.get("idle_cpu_share"), node.get("idle_cpu_share")
        goals.append(f"workers: idle CPU below Node's cluster: {met(None if a is None or c is None else a < c)} "
                     f"({f(a, '{:.1%}')}; Node {f(c, '{:.1%}')})")
    return out


def room_table(recs: list[dict[str, Any]], goals: list[str]) -> list[str]:
    """The curves' broadcast row at 50,000 members, across the workers (ours and Node's cluster)."""
    rows = [r for r in recs if r.get("room")]
    if not rows:
        return []
    members = max(r["room"].get("members") or 0 for r in rows)
    out = [f"## Broadcast to one room of {members:,} members across {rows[0]['workers']} workers", "",
           "| server | members / clients | messages | delivered / expected | lost / dups / reorders / strays "
           "| deliveries/s | µs/delivery | emit→last p50 | emit→last max |",
           "|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        m = r["room"]
        if m.get("error"):
            out.append(f"| {r.get('label', r['server'])} | {f(m.get('members'), '{:,}')} | failed: "
                       f"{m['error'][:120]} | | | | | | |")
            continue
        out.append("| " + " | ".join([
            r.get("label", r["server"]), f"{m['members']:,} / {f(r.get('alive_after_hold'), '{:,}')}",
            str(m["messages"]), f"{m['deliveries']:,} / {m['expected']:,}",
            f"{m['lost']:,} / {m['duplicates']:,} / {m['reorders']:,} / {m['strays']:,}",
            f(m.get("rate"), "{:,.0f}"), f(m.get("cpu_us_per_op")), f(m.get("emit_to_last_ms_p50"), "{:,.0f} ms"),
            f(m.get("emit_to_last_ms_max"), "{:,.0f} ms")]) + " |")
    out += ["", "One message in flight (the sender sends the next when its own copy arrives); the clients who "
            "are not members must get nothing (strays). CPU per delivery: the server tree's CPU from the first "
            "emit to the last delivery, divided by the deliveries.", ""]
    by = {r["server"]: r["room"] for r in rows}
    ours, node = by.get("ours"), by.get("node")
    if ours is not None:
        exact = not ours.get("error") and ours.get("deliveries") == ours.get("expected") and not any(
            ours.get(k) for k in ("lost", "duplicates", "reorders", "strays"))
        goals.append(f"workers: a broadcast to one room of {members:,} members across the workers delivered exactly "
                     f"once, to members only: {met(exact)}")
    if ours and node and ours.get("cpu_us_per_op") and node.get("cpu_us_per_op"):
        goals.append(f"workers: room broadcast across workers below Node's cluster in CPU per delivery: "
                     f"{met(ours['cpu_us_per_op'] < node['cpu_us_per_op'])} ({ours['cpu_us_per_op']:.1f} µs; "
                     f"Node {node['cpu_us_per_op']:.1f} µs)")
    return out


def plot(doc: dict[str, Any], path: Path) -> bool:
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    recs = [r for r in doc["curves"] if not r.get("error") and not r.get("skipped")]
    panels = [("echo", "cpu_us_per_op", "WebSocket echo: server CPU per round trip (µs)"),
              ("ack", "cpu_us_per_op", "WebSocket ack: server CPU per round trip (µs)"),
              ("polling", "cpu_us_per_op", "long-polling echo: server CPU per round trip (µs)"),
              ("echo", "rate", "WebSocket echo: round trips / s"),
              ("bcast", "cpu_us_per_op", "broadcast: server CPU per delivery (µs)"),
              ("bcast", "emit_to_last_ms_p50", "broadcast: emit → last delivery, p50 (ms)")]
    colors = {"ours": "#2a7ab9", "pysio": "#e8a33d", "node": "#5aa150", "floor": "#777777",
              "ours-w": "#164a75", "node-w": "#2f6b2a"}
    workers = doc.get("workers") or []
    workers = workers if isinstance(workers, list) else []
    fig, axes = plt.subplots(2, 3, figsize=(15, 8.5))
    for ax, (scen, key, title) in zip(axes.flat, panels):
        for srv in dict.fromkeys(r["server"] for r in recs):
            pts = sorted((r["size"], r.get(key)) for r in recs if r["scenario"] == scen and r["server"] == srv
                         and r.get(key))
            if pts:
                ax.plot([p[0] for p in pts], [p[1] for p in pts], marker="o", label=LABELS.get(srv, srv),
                        color=colors.get(srv), linestyle="--" if srv == "floor" else "-")
        if scen == "bcast":  # the room of 50,000 across the workers: one point per server
            for w in workers:
                room = w.get("room") or {}
                if room.get(key) and not room.get("error"):
                    ax.plot([room["members"]], [room[key]], marker="s", linestyle="none",
                            label=w.get("label", w["server"]), color=colors.get(w["server"] + "-w"))
        ax.set_xscale("log")
        ax.set_yscale("log")
        ax.set_title(title, fontsize=10)
        ax.set_xlabel("room members" if scen == "bcast" else "clients", fontsize=9)
        ax.grid(True, which="both", alpha=0.3)
        if ax.get_legend_handles_labels()[0]:
            ax.legend(fontsize=7)
    fig.suptitle(f"scale benchmark {doc['meta']['stamp']} (load {doc['meta']['loadavg_start']})", fontsize=11)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return True
