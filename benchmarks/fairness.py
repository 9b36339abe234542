"""Fairness under attack: a normal client's latency while one hostile connection attacks.

Not a test and not part of ``make test`` or ``make bench``. Run it by hand::

    .venv/bin/python benchmarks/fairness.py                 # 5 s per attack
    .venv/bin/python benchmarks/fairness.py --seconds 10 --only pipelined-404s

It starts the echo server (``python -m socketio_core.echo``) in a process of
its own, then runs each attack of issue 14, kinds 1-4, one at a time, each in
a process of its own:

1. ``huge-body``: ``POST /`` declaring ``Content-Length: 99999999999999999``,
   streaming as fast as the server takes it (reconnecting when it is closed);
2. ``pipelined-404s`` / ``pipelined-posts``: one keep-alive connection
   pipelining GETs of a missing page, or polling POSTs of one event, back to
   back (a reader drains the answers);
3. ``post-noops`` / ``post-events``: one session after another, each sent one
   1 MB polling POST of tiny packets (500,000 noops, or ~83,000 events);
4. ``slow-bodies``: 300 polling POSTs, each declaring 900 KB and dribbling
   10 bytes every 100 ms.

Meanwhile a normal client opens a WebSocket, joins ``/``, gets one echo and
closes, over and over (every 20 ms). Each row prints that client's p50 / p99
/ worst latency and the server's RSS before, at its highest during, and after
the attack. The goal (issue 14): p99 under 100 ms, RSS within a few MB.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Callable

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.integration import _wsclient  # noqa: E402

PATH = "/socket.io/"


# ------------------------------------------------------------------ helpers


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _http(port: int, method: str, target: str, body: bytes = b"", timeout: float = 30) -> bytes:
    """One request on a fresh connection; the answer's body."""
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as sock:
        head = f"{method} {target} HTTP/1.1\r\nHost: x\r\nContent-Length: {len(body)}\r\n"
        sock.sendall(head.encode() + b"Content-Type: text/plain\r\n\r\n" + body)
        data = b""
        while b"\r\n\r\n" not in data:
            chunk = sock.recv(65536)
            if not chunk:
                return b""
            data += chunk
        head_bytes, _, rest = data.partition(b"\r\n\r\n")
        length = 0
        for line in head_bytes.split(b"\r\n")[1:]:
            name, _, value = line.partition(b":")
            if name.strip().lower() == b"content-length":
                length = int(value)
        while len(rest) < length:
            chunk = sock.recv(65536)
            if not chunk:
                break
            rest += chunk
        return rest


def _session(port: int) -> str:
    """A polling session joined to ``/``."""
    body = _http(port, "GET", f"{PATH}?EIO=4&transport=polling")
    sid = json.loads(body[1:].decode())["sid"]
    assert _http(port, "POST", f"{PATH}?EIO=4&transport=polling&sid={sid}", b"40") == b"ok"
    return str(sid)


def _post_target(sid: str) -> str:
    return f"{PATH}?EIO=4&transport=polling&sid={sid}"


# ------------------------------------------------------------------ attacks


def huge_body(port: int, until: float) -> None:
    chunk = b"x" * 65536
    while time.monotonic() < until:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=5) as sock:
                sock.sendall(b"POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999999999\r\n\r\n")
                while time.monotonic() < until:
                    sock.sendall(chunk)
        except OSError:
            pass


def _pipeline(port: int, until: float, request: bytes) -> None:
    import threading

    sock = socket.create_connection(("127.0.0.1", port), timeout=5)

    def drain() -> None:
        try:
            while sock.recv(1 << 16):
                pass
        except OSError:
            pass

    threading.Thread(target=drain, daemon=True).start()
    chunk = request * 500
    try:
        while time.monotonic() < until:
            sock.sendall(chunk)
    except OSError:
        pass
    sock.close()


def pipelined_404s(port: int, until: float) -> None:
    _pipeline(port, until, b"GET /nothing-here HTTP/1.1\r\nHost: x\r\n\r\n")


def pipelined_posts(port: int, until: float) -> None:
    sid = _session(port)
    event = b'42["flood"]'
    head = (f"POST {_post_target(sid)} HTTP/1.1\r\nHost: x\r\n"
            f"Content-Type: text/plain\r\nContent-Length: {len(event)}\r\n\r\n").encode()
    _pipeline(port, until, head + event)


def _big_posts(port: int, until: float, payload: bytes) -> None:
    while time.monotonic() < until:
        try:
            sid = _session(port)
            _http(port, "POST", _post_target(sid), payload, timeout=60)
            _http(port, "POST", _post_target(sid), b"1")
        except (OSError, ValueError):
            pass


def post_noops(port: int, until: float) -> None:
    _big_posts(port, until, "\x1e".join(["6"] * 500_000).encode()[:1_000_000])


def post_events(port: int, until: float) -> None:
    event = '42["flood"]'
    _big_posts(port, until, "\x1e".join([event] * (1_000_000 // (len(event) + 1))).encode())


def slow_bodies(port: int, until: float) -> None:
    socks = []
    for _ in range(300):
        try:
            sid = _session(port)
            sock = socket.create_connection(("127.0.0.1", port), timeout=5)
            sock.sendall((f"POST {_post_target(sid)} HTTP/1.1\r\nHost: x\r\n"
                          "Content-Type: text/plain\r\nContent-Length: 900000\r\n\r\n4").encode())
            socks.append(sock)
        except OSError:
            pass
    while time.monotonic() < until:
        for sock in list(socks):
            try:
                sock.sendall(b"x" * 10)
            except OSError:
                socks.remove(sock)
        time.sleep(0.1)
    for sock in socks:
        sock.close()


ATTACKS: dict[str, Callable[[int, float], None]] = {
    "none": lambda port, until: time.sleep(max(0.0, until - time.monotonic())),
    "huge-body": huge_body,
    "pipelined-404s": pipelined_404s,
    "pipelined-posts": pipelined_posts,
    "post-noops": post_noops,
    "post-events": post_events,
    "slow-bodies": slow_bodies,
}


# ------------------------------------------------------------ the normal client


def connect_and_echo(port: int) -> float:
    """One WebSocket connect, join, echo and close; the seconds it took."""
    started = time.perf_counter()
    ws = _wsclient.connect(port, f"{PATH}?EIO=4&transport=websocket", timeout=30)
    try:
        assert str(ws.recv(30)).startswith("0{")
        ws.send("40")
        assert str(ws.recv(30)).startswith("40")
        ws.recv(30)  # the echo server's "auth" event
        ws.send('42["echo","x"]')
        assert ws.recv(30) == '42["echo","x"]'
    finally:
        ws.close()
    return time.perf_counter() - started


def measure(port: int, server_pid: int, name: str, seconds: float) -> dict[str, float]:
    rss_before = _rss_kb(server_pid)
    until = time.monotonic() + seconds
    attacker = multiprocessing.Process(target=ATTACKS[name], args=(port, until), daemon=True)
    attacker.start()
    time.sleep(min(1.0, seconds / 5))  # let the attack get going
    samples: list[float] = []
    rss_peak = rss_before
    while time.monotonic() < until:
        samples.append(connect_and_echo(port))
        rss_peak = max(rss_peak, _rss_kb(server_pid))
        time.sleep(0.02)
    attacker.join(30)
    if attacker.is_alive():
        attacker.kill()
    time.sleep(1.0)
    samples.sort()
    return {
        "n": len(samples),
        "p50": statistics.median(samples) * 1000,
        "p99": samples[min(len(samples) - 1, int(len(samples) * 0.99))] * 1000,
        "max": samples[-1] * 1000,
        "rss_before": rss_before / 1024,
        "rss_peak": rss_peak / 1024,
        "rss_after": _rss_kb(server_pid) / 1024,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=5.0, help="per attack")
    parser.add_argument("--only", nargs="*", choices=list(ATTACKS), default=None)
    args = parser.parse_args()
    port = _free_port()
    server = subprocess.Popen(
        [sys.executable, "-m", "socketio_core.echo", "--port", str(port), "--log-level", "error"],
        cwd=ROOT,
    )
    try:
        deadline = time.monotonic() + 20
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)
        for _ in range(20):
            connect_and_echo(port)  # warm up
        print(f"{'attack':16} {'n':>5} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}"
              f" {'RSS before':>11} {'peak':>8} {'after':>8}  (MB)")
        for name in args.only or list(ATTACKS):
            r = measure(port, server.pid, name, args.seconds)
            print(f"{name:16} {r['n']:5.0f} {r['p50']:8.1f} {r['p99']:8.1f} {r['max']:8.1f}"
                  f" {r['rss_before']:11.1f} {r['rss_peak']:8.1f} {r['rss_after']:8.1f}", flush=True)
    finally:
        server.terminate()
        server.wait(10)


if __name__ == "__main__":
    main()
