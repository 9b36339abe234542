"""Python calls per long-polling round trip on the gevent server, counted with cProfile.

Deterministic (a count, not a time): the echo server runs in this process's
main thread under gevent, one polling Socket.IO client in an OS thread with
blocking stdlib sockets (not profiled: cProfile hooks only the thread that
enables it). A round trip is what benchmarks/scale.py's polling client does:
a POST of ``42["echo",…]`` on one keep-alive connection, its answer on the
GET pending on the other, and the next GET sent at once.

    .venv/bin/python benchmarks/poll_calls.py [N] [--top K]
"""

from __future__ import annotations

import argparse
import cProfile
import pstats
import socket
import sys
import threading
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tree this file is in

import gevent  # noqa: E402

HOST = b"127.0.0.1"
ROOT = Path(__file__).resolve().parent.parent


def _read_response(sock: socket.socket, buf: bytearray) -> bytes:
    while True:
        end = buf.find(b"\r\n\r\n")
        if end >= 0:
            head = bytes(buf[:end]).lower()
            i = head.find(b"content-length:")
            length = int(head[i + 15:].split(b"\r\n", 1)[0]) if i >= 0 else 0
            if len(buf) >= end + 4 + length:
                body = bytes(buf[end + 4:end + 4 + length])
                del buf[:end + 4 + length]
                assert head.startswith(b"http/1.1 200"), head
                return body
        data = sock.recv(65536)
        if not data:
            raise ConnectionError("closed")
        buf += data


def _get(sid: bytes) -> bytes:
    q = b"&sid=" + sid if sid else b""
    return b"GET /socket.io/?EIO=4&transport=polling" + q + b" HTTP/1.1\r\nHost: " + HOST + b"\r\n\r\n"


def _post(sid: bytes, body: bytes) -> bytes:
    return (b"POST /socket.io/?EIO=4&transport=polling&sid=" + sid + b" HTTP/1.1\r\nHost: " + HOST
            + b"\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: "
            + str(len(body)).encode() + b"\r\n\r\n" + body)


def client(port: int, n_warm: int, n: int, marks: list[threading.Event], done: threading.Event) -> None:
    g = socket.create_connection(("127.0.0.1", port))
    p = socket.create_connection(("127.0.0.1", port))
    gb, pb = bytearray(), bytearray()
    g.sendall(_get(b""))
    body = _read_response(g, gb)
    i = body.find(b'"sid":"')
    sid = body[i + 7:body.index(b'"', i + 7)]
    p.sendall(_post(sid, b"40"))
    assert _read_response(p, pb) == b"ok"
    g.sendall(_get(sid))
    assert _read_response(g, gb).startswith(b"40{")
    g.sendall(_get(sid))

    def round_trip(k: int) -> None:
        p.sendall(_post(sid, b'42["echo","m%d"]' % k))
        assert _read_response(p, pb) == b"ok"
        answer = _read_response(g, gb)
        assert answer.startswith(b'42["echo"'), answer
        g.sendall(_get(sid))

    for k in range(n_warm):
        round_trip(k)
    marks[0].set()
    marks[1].wait()
    for k in range(n):
        round_trip(k)
    marks[2].set()
    done.wait()
    g.close()
    p.close()


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("n", type=int, nargs="?", default=2000)
    ap.add_argument("--top", type=int, default=0, help="print the K functions called most")
    args = ap.parse_args()

    from socketio_core.echo._app import build_socketio_echo, demo_app
    from engineio import Config

    opts = SimpleNamespace(path=None, connect_timeout=45000, websocket_compression=False,
                           connection_state_recovery=False)
    config = Config(ping_interval=300.0, ping_timeout=300.0)
    sio = build_socketio_echo(opts, config, None)  # type: ignore[arg-type]
    server = sio.http_server(demo_app)
    _, port = server.start("127.0.0.1", 0)

    marks = [threading.Event() for _ in range(3)]
    done = threading.Event()
    t = threading.Thread(target=client, args=(port, 200, args.n, marks, done), daemon=True)
    t.start()

    def wait(ev: threading.Event) -> None:
        while not ev.is_set():
            gevent.sleep(0.0005)  # the hub must run while the client thread works

    wait(marks[0])
    prof = cProfile.Profile()
    prof.enable()
    marks[1].set()
    wait(marks[2])
    prof.disable()
    done.set()
    stats = pstats.Stats(prof)
    # Leave out the polling loop of this harness (gevent.sleep and what it calls).
    harness = 0
    for (file, _line, name), (cc, nc, *_rest) in stats.stats.items():  # type: ignore[attr-defined]
        if name in ("sleep", "wait", "is_set") and ("gevent" in file or "threading" in file or file == "~"):
            harness += nc
    total = stats.total_calls  # type: ignore[attr-defined]
    py = sum(nc for (file, _l, _n), (_cc, nc, *_r) in stats.stats.items()  # type: ignore[attr-defined]
             if file != "~")
    print(f"round trips: {args.n}; harness sleep-loop calls (approx, included): {harness}")
    print(f"Python function calls per round trip: {py / args.n:.1f}")
    print(f"all calls (Python + C builtins) per round trip: {total / args.n:.1f}")
    if args.top:
        rows = sorted(((nc, f"{file.replace(str(ROOT), '')}:{line}({name})")
                       for (file, line, name), (_cc, nc, *_r) in stats.stats.items()  # type: ignore[attr-defined]
                       if file != "~"), reverse=True)
        for nc, where in rows[:args.top]:
            print(f"{nc / args.n:6.2f}  {where}")
    server.stop(timeout=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
