"""A server whose emits come from plain OS threads (no monkey patching).

usage: python _thread_emit_server.py PORT

Each client's connect handler starts a ``threading.Thread`` that emits
``tick`` 0..TICKS-1 to it (in bursts, sleeping in between so the gevent hub
goes idle and must be woken by the thread's emit), asks it a question with
``call`` (the thread blocks on a concurrent future, not a greenlet), joins
it to a room and emits there, then emits ``done`` with what it knows about
the thread it ran on. The ping interval is long, so nothing else wakes the
hub: an emit that did not wake it would stall until the test times out.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import Any

from gevent import monkey

from socketio_core import Server

TICKS = 30
MAIN_THREAD = threading.get_ident()

sio = Server(ping_interval=60, ping_timeout=60)


@sio.on("connect")
def connect(sid: str, environ: Any, auth: dict[str, Any]) -> None:
    threading.Thread(target=worker, args=(sid,), name=f"emitter-{sid}", daemon=True).start()


def worker(sid: str) -> None:
    # The first emits race the CONNECT reply: they must still come after it.
    for i in range(TICKS):
        sio.emit("tick", i, to=sid)
        if i % 10 == 9:
            time.sleep(0.05)
    try:
        answer = sio.call("question", "from a thread", to=sid, timeout=10)
    except TimeoutError:
        answer = "timed out"
    sio.enter_room(sid, "room-" + sid)
    sio.emit("room_tick", answer, to="room-" + sid)
    # A broadcast that gathers acks, waited for from this thread too.
    gathered = sio.call_all("question", "from a thread, to a room", to="room-" + sid, timeout=10)
    sio.emit(
        "done",
        {
            "gathered": gathered.get(sid),
            "other_thread": threading.get_ident() != MAIN_THREAD,
            "threading_patched": monkey.is_module_patched("threading"),
        },
        to=sid,
    )


def main() -> None:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    host, port = sio.start("127.0.0.1", int(sys.argv[1]))
    print(f"listening on http://{host}:{port}", flush=True)
    sio.http_server().serve_forever()


if __name__ == "__main__":
    main()
