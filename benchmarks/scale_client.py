#!/usr/bin/env python3
"""One process of the scale benchmark's load client: an epoll loop driven over stdin.

``scale.py`` starts several of these (a process may hold at most ~20,000
descriptors, and two cores are better fed by several processes than one) and
sends each one command per line (JSON); each answers one JSON line when the
command is done. Time marks are absolute ``time.monotonic()`` values, which
all processes of the machine share, so the harness can sample the server's CPU
at the same instants the clients count from and to.

Commands (``cmd`` and its fields):
- ``connect`` n, port, addrs, inflight, transport (websocket|polling), path,
  timeout, group: open n clients, at most ``inflight`` connecting at once; the
  answer counts each outcome (ready, refused_503, reset, closed, hung, ...) and
  the time from the first to the last outcome. ``group: "probe"`` keeps them
  apart (the over-the-limit probe) and reports the time to each outcome.
- ``close_group`` group: close those clients.
- ``hold`` until: answer pings until then; count pings, clients dropped.
- ``echo`` kind (echo|ack), t0, t1: every client runs round trips, one in
  flight, until t1; those completed within [t0, t1] count.
- ``join`` room, count: the first ``count`` clients join the room.
- ``bcast_arm`` room, m, window: members (room "": everybody) expect messages
  0..m-1, in order, once; ``bcast_send``: the first member sends them, at most
  ``window`` ahead of its own copies; ``bcast_wait`` timeout: the counts.
  Every process is armed before any sends (a process still unarmed would
  take the first messages for strays).
- ``exit``.
"""

from __future__ import annotations

import json
import os
import select
import sys
import time
from typing import Any, Callable

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from scale_conns import (  # noqa: E402
    ACK_REPLY_TAIL, CLOSED, ECHO, OUTCOMES, PAYLOAD, READY, Conn, PollConn, WSConn,
)

ACK_SEND = b'421["echo_ack",' + PAYLOAD + b"]"
ACK_REPLY = b"431" + ACK_REPLY_TAIL
LAT_SAMPLES = 4000  # latencies kept per process (every k-th round trip)


class Loop:
    def __init__(self) -> None:
        self.ep = select.epoll()
        self.conns: dict[int, Conn] = {}
        self.groups: dict[str, list[Conn]] = {"main": [], "probe": []}
        self.queue: list[dict[str, Any]] = []
        self.task: Callable[[], dict[str, Any] | None] | None = None
        self.ws_request = b""
        self.path = b"/socket.io/"
        self.host = b"127.0.0.1"
        self.mode = ""
        self.dropped = 0
        self.now = time.monotonic
        self.stdin_buf = b""
        self.ep.register(0, select.EPOLLIN)
        self.bc: dict[str, Any] = {}
        self.op: dict[str, Any] = {}
        self.con: dict[str, Any] = {}

    # ------------------------------------------------------------ conn callbacks
    def want_write(self, c: Conn, on: bool) -> None:
        try:
            self.ep.modify(c.fd, select.EPOLLIN | select.EPOLLOUT if on else select.EPOLLIN)
        except OSError:
            pass

    def connected(self, c: Conn) -> None:
        con = self.con
        if con:
            con["pending"] -= 1
            con["outcomes"]["ready"] += 1
            con["times"].append(self.now() - c.t_start)

    def closed(self, c: Conn, was: int) -> None:
        try:
            self.ep.unregister(c.fd)
        except OSError:
            pass
        self.conns.pop(c.fd, None)
        if was == READY:
            if not self.closing:
                self.dropped += 1
        elif self.con and c.outcome is not None:
            self.con["pending"] -= 1
            self.con["outcomes"][c.outcome] += 1
            self.con["times"].append(self.now() - c.t_start)

    closing = False

    def adopt(self, c: Conn) -> None:
        """A helper connection of a client (a polling client's POST connection)."""
        self.conns[c.fd] = c
        self.ep.register(c.fd, select.EPOLLOUT)

    def forget(self, c: Conn) -> None:
        try:
            self.ep.unregister(c.fd)
        except OSError:
            pass
        self.conns.pop(c.fd, None)

    def poll_get(self, sid: bytes) -> bytes:
        q = b"&sid=" + sid if sid else b""
        return (b"GET " + self.path + b"?EIO=4&transport=polling" + q + b" HTTP/1.1\r\nHost: "
                + self.host + b"\r\n\r\n")

    def poll_post(self, sid: bytes, body: bytes) -> bytes:
        return (b"POST " + self.path + b"?EIO=4&transport=polling&sid=" + sid + b" HTTP/1.1\r\nHost: "
                + self.host + b"\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: "
                + str(len(body)).encode() + b"\r\n\r\n" + body)

    # ------------------------------------------------------------ events
    def event(self, c: Conn, p: bytes) -> bool:
        mode = self.mode
        if mode == "echo":
            if p[:9] == b'42["echo"':
                self.op_done(c, p == ECHO)
                return True
        elif mode == "ack":
            if p[:3] == b"431":
                self.op_done(c, p == ACK_REPLY)
                return True
        elif mode == "join":
            if p[:3] == b"435" and not c.room_ok:
                c.room_ok = True
                self.op["pending"] -= 1
                return True
        elif mode == "bcast":
            if p[:10] == b'42["bcast"':
                self.bcast_rx(c, p)
                return True
        return False

    # ------------------------------------------------------------ connect
    def cmd_connect(self, m: dict[str, Any]) -> None:
        self.path = m.get("path", "/socket.io/").encode()
        self.ws_request = (b"GET " + self.path + b"?EIO=4&transport=websocket HTTP/1.1\r\nHost: "
                           + self.host + b"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
        self.con = {"todo": int(m["n"]), "pending": 0, "outcomes": dict.fromkeys(OUTCOMES, 0), "times": [],
                    "t0": self.now(), "m": m, "made": 0, "errors": {}}
        self.task = self.connect_step

    def connect_step(self) -> dict[str, Any] | None:
        con = self.con
        m = con["m"]
        cls = PollConn if m.get("transport") == "polling" else WSConn
        group = self.groups.setdefault(m.get("group", "main"), [])
        addrs = m["addrs"]
        now = self.now()
        while con["todo"] and con["pending"] < m.get("inflight", 100):
            i = con["made"]
            con["made"] += 1
            con["todo"] -= 1
            try:
                c = cls(self, addrs[i % len(addrs)], ("127.0.0.1", int(m["port"])), len(group))
            except OSError as e:
                key = str(e)[:80]
                con["errors"][key] = con["errors"].get(key, 0) + 1
                con["outcomes"]["error"] += 1
                continue
            self.conns[c.fd] = c
            self.ep.register(c.fd, select.EPOLLOUT)
            group.append(c)
            con["pending"] += 1
        timeout = float(m.get("timeout", 30))
        if con["pending"]:
            if now >= con.get("next_check", 0.0):  # connect timeouts: checked every half second
                con["next_check"] = now + 0.5
                for c in group:
                    if c.st != READY and c.st != CLOSED and now - c.t_start > timeout:
                        c.fail("hung")
            if con["pending"]:
                return None
        if con["todo"]:
            return None
        times = sorted(con["times"])
        self.con = {}
        ready = [c for c in group if c.st == READY]
        self.groups[m.get("group", "main")] = ready
        return {"outcomes": con["outcomes"], "connect_s": now - con["t0"], "ready": len(ready),
                "errors": con["errors"],
                "t_median": times[len(times) // 2] if times else None, "t_max": times[-1] if times else None}

    def cmd_close_group(self, m: dict[str, Any]) -> None:
        self.closing = True
        for c in self.groups.get(m["group"], []):
            c.close()
        self.groups[m["group"]] = []
        self.closing = False
        self.task = lambda: {"closed": True}

    # ------------------------------------------------------------ hold
    def cmd_hold(self, m: dict[str, Any]) -> None:
        until = float(m["until"])
        main = self.groups["main"]
        start_pings = {id(c): c.pings for c in main}
        dropped0 = self.dropped
        for c in main:
            if isinstance(c, PollConn):
                c.poll_idle()

        def step() -> dict[str, Any] | None:
            if self.now() < until:
                return None
            alive = [c for c in main if c.st == READY]
            got = [c.pings - start_pings[id(c)] for c in alive]
            self.groups["main"] = alive
            return {"alive": len(alive), "dropped": self.dropped - dropped0, "pings": sum(got),
                    "min_pings": min(got) if got else None, "max_pings": max(got) if got else None,
                    "below": {str(k): sum(1 for g in got if g < k) for k in (1, 2, 3)}}
        self.task = step

    # ------------------------------------------------------------ echo / ack
    def cmd_echo(self, m: dict[str, Any]) -> None:
        kind = m["kind"]
        self.mode = kind
        frame = ECHO if kind == "echo" else ACK_SEND
        main = [c for c in self.groups["main"] if c.st == READY]
        self.op = {"t0": float(m["t0"]), "t1": float(m["t1"]), "ops": 0, "mismatched": 0, "lat": [],
                   "frame": frame, "every": max(1, int(m.get("sample_every", 1))), "n": 0}
        for c in main:
            c.busy = True
            c.sent_at = self.now()
            c.send_text(frame)

        def step() -> dict[str, Any] | None:
            now = self.now()
            t1 = self.op["t1"]
            if now < t1:  # not a walk over every client per loop turn: that grew with the count
                return None
            busy = sum(1 for c in main if c.busy and c.st == READY)
            if busy and now < t1 + 10:
                return None
            self.mode = ""
            lat = self.op["lat"]
            if len(lat) > LAT_SAMPLES:
                lat = lat[::len(lat) // LAT_SAMPLES + 1]
            return {"ops": self.op["ops"], "mismatched": self.op["mismatched"], "unanswered": busy,
                    "lat": lat, "clients": len(main), "dropped": self.dropped}
        self.task = step

    def op_done(self, c: Conn, ok: bool) -> None:
        op = self.op
        now = self.now()
        c.busy = False
        if op["t0"] <= now <= op["t1"]:
            op["ops"] += 1
            op["n"] += 1
            if op["n"] % op["every"] == 0:
                op["lat"].append(now - c.sent_at)
        if not ok:
            op["mismatched"] += 1
        if now < op["t1"]:
            c.busy = True
            c.sent_at = now
            c.send_text(op["frame"])

    # ------------------------------------------------------------ rooms and broadcast
    def cmd_join(self, m: dict[str, Any]) -> None:
        self.mode = "join"
        room = m["room"].encode()
        members = [c for c in self.groups["main"] if c.st == READY][:int(m["count"])]
        self.op = {"pending": len(members)}
        t0 = self.now()
        for c in members:
            c.send_text(b'425["join","' + room + b'"]')

        def step() -> dict[str, Any] | None:
            if self.op["pending"] > 0 and self.now() - t0 < float(m.get("timeout", 60)):
                return None
            self.mode = ""
            return {"joined": sum(1 for c in members if c.room_ok), "asked": len(members)}
        self.task = step

    def cmd_bcast_arm(self, m: dict[str, Any]) -> None:
        """Get ready to receive (answers at once): every process is armed before anyone sends."""
        self.mode = "bcast"
        total = int(m["m"])
        main = [c for c in self.groups["main"] if c.st == READY]
        if not m["room"]:  # a broadcast to the whole namespace: everybody is a member
            for c in main:
                c.room_ok = True
        members = [c for c in main if c.room_ok]
        for c in main:
            c.exp_seq = c.lost = c.dups = c.reorders = 0
        self.bc = {"m": total, "last_rx": [0.0] * total, "per_seq": [0] * total, "skipped": {}, "emit": [],
                   "strays": 0, "deliveries": 0, "members": members, "sender": None,
                   "window": int(m.get("window", 1)), "room": m["room"].encode(), "sent": 0}
        self.task = lambda: {"armed": len(members)}

    def cmd_bcast_send(self, m: dict[str, Any]) -> None:
        """The first member sends the messages (answers at once; bcast_wait reports)."""
        members = self.bc["members"]
        self.bc["sender"] = members[0] if members else None
        self.bcast_pump()
        self.task = lambda: {"sending": self.bc["sender"] is not None}

    def cmd_bcast_wait(self, m: dict[str, Any]) -> None:
        bc = self.bc
        total = bc["m"]
        members = bc["members"]
        t0 = self.now()

        def step() -> dict[str, Any] | None:
            now = self.now()
            done = all(c.exp_seq >= total or c.st != READY for c in members)
            if not done and now - t0 < float(m.get("timeout", 60)):
                return None
            if any(bc["skipped"].values()):  # out of order: wait a second for the skipped ones
                bc.setdefault("drain_until", now + 1.0)
                if now < bc["drain_until"]:
                    return None
            self.mode = ""
            lost = sum(c.lost + max(0, total - c.exp_seq) for c in members)
            return {"members": len(members), "deliveries": bc["deliveries"], "lost": lost,
                    "dups": sum(c.dups for c in members), "reorders": sum(c.reorders for c in members),
                    "strays": bc["strays"], "last_rx": bc["last_rx"], "emit": bc["emit"], "per_seq": bc["per_seq"],
                    "dropped": self.dropped}
        self.task = step

    def bcast_pump(self) -> None:
        bc = self.bc
        s = bc["sender"]
        if s is None:
            return
        while bc["sent"] < bc["m"] and bc["sent"] - s.exp_seq < bc["window"]:
            seq = bc["sent"]
            bc["sent"] += 1
            bc["emit"].append(self.now())
            room = b'"room":"' + bc["room"] + b'",' if bc["room"] else b""
            s.send_text(b'42["bcast",{' + room + b'"s":' + str(seq).encode() + b"}]")

    def bcast_rx(self, c: Conn, p: bytes) -> None:
        bc = self.bc
        now = self.now()
        if not c.room_ok:
            bc["strays"] += 1
            return
        i = p.rfind(b'"s":')
        seq = int(p[i + 4:p.index(b"}", i)])
        bc["deliveries"] += 1
        if seq < len(bc["last_rx"]):
            bc["per_seq"][seq] += 1
            if now > bc["last_rx"][seq]:
                bc["last_rx"][seq] = now
        if seq == c.exp_seq:
            c.exp_seq += 1
        elif seq < c.exp_seq:
            skipped = bc["skipped"].get(id(c))
            if skipped and seq in skipped:  # late, not lost: a reorder
                skipped.discard(seq)
                c.lost -= 1
            else:
                c.dups += 1
        else:
            c.reorders += 1
            c.lost += seq - c.exp_seq
            bc["skipped"].setdefault(id(c), set()).update(range(c.exp_seq, seq))
            c.exp_seq = seq + 1
        if c is bc["sender"]:
            self.bcast_pump()

    # ------------------------------------------------------------ the loop
    def handle(self, m: dict[str, Any]) -> None:
        getattr(self, "cmd_" + m["cmd"])(m)

    def reply(self, r: dict[str, Any]) -> None:
        sys.stdout.write(json.dumps(r) + "\n")
        sys.stdout.flush()

    def read_stdin(self) -> bool:
        data = os.read(0, 65536)
        if not data:
            return False
        self.stdin_buf += data
        while b"\n" in self.stdin_buf:
            line, self.stdin_buf = self.stdin_buf.split(b"\n", 1)
            if line.strip():
                self.queue.append(json.loads(line))
        return True

    def run(self) -> None:
        poll = self.ep.poll
        conns = self.conns
        IN = select.EPOLLIN | select.EPOLLHUP | select.EPOLLERR
        OUT = select.EPOLLOUT | select.EPOLLERR
        while True:
            if self.task is None and self.queue:
                m = self.queue.pop(0)
                if m["cmd"] == "exit":
                    self.closing = True
                    for c in list(conns.values()):
                        c.close()
                    return
                self.handle(m)
            for fd, ev in poll(0.05 if self.task else 1.0, 8192):
                if fd == 0:
                    if not self.read_stdin():
                        return
                    continue
                c = conns.get(fd)
                if c is None:
                    continue
                if ev & OUT:
                    c.on_writable()
                if ev & IN and c.st != CLOSED:
                    c.on_readable()
            if self.task is not None:
                r = self.task()
                if r is not None:
                    self.task = None
                    self.reply(r)


def main() -> int:
    import resource
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    Loop().run()
    return 0


if __name__ == "__main__":
    sys.exit(main())
