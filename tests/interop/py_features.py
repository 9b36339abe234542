"""The echo server's Socket.IO features, driven by the python-socketio client.

usage: python py_features.py URL polling|websocket|default

Runs under .venv-peer (python-socketio 5.x, websocket-client); never imports
our package. Scenarios run concurrently, each with its own clients; each
records what it observed, and the last stdout line is one JSON document
``{scenario: observations}`` (``{"error": ...}`` for a scenario that failed).
tests/integration/test_socketio_python_client.py holds the expectations.

What it shares with the other client scripts (the JSON form, the queue client and its marker,
running the scenarios) is in _peer_common.py.
"""

from __future__ import annotations

import json
import logging
import queue
import sys
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Callable

import socketio
from _peer_common import SETTLE, WAIT, QueueClient, enc, run_concurrently, transports

URL, MODE = sys.argv[1], sys.argv[2]
TRANSPORTS = transports(MODE)
TAG = uuid.uuid4().hex[:8]


class _Collect(logging.Handler):
    """Keeps the clients' warnings: reported with the results, for diagnosis."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(f"{record.name}: {record.getMessage()}")


WARNINGS = _Collect()
LOG = logging.getLogger("peer-client")
LOG.setLevel(logging.WARNING)
LOG.addHandler(WARNINGS)
LOG.propagate = False


class Client(QueueClient):
    """A python-socketio client plus one queue per (event, namespace), and its disconnects."""

    def __init__(self) -> None:
        super().__init__(LOG)
        self.disconnects: queue.Queue[tuple[str, Any]] = queue.Queue()

    def listen(self, event: str, namespace: str = "/") -> "queue.Queue[list[Any]]":
        return self.queue(event, namespace)

    def record_posts(self) -> list[str]:
        """Record the payload of every POST this client sent that the server answered 200.

        The server has handled a POST's packets before it answers, so each of
        these reached it. python-engineio's writer thread may send fewer than
        the packets ``disconnect()`` queued (see scenario_disconnect): this
        says which were sent.
        """
        posted: list[str] = []
        eio = self.sio.eio
        real = eio._send_request

        def send_request(method: str, url: str, headers: Any = None, body: Any = None,
                         timeout: Any = None) -> Any:
            answer = real(method, url, headers=headers, body=body, timeout=timeout)
            if method == "POST" and getattr(answer, "status_code", None) == 200:
                posted.append(body if isinstance(body, str) else bytes(body).decode())
            return answer

        eio._send_request = send_request
        return posted

    def on_disconnect(self, namespace: str = "/") -> None:
        self.sio.on("disconnect", lambda *reason: self.disconnects.put((namespace, list(reason))),
                    namespace=namespace)

    def connect(self, namespaces: list[str] | None = None, auth: Any = None) -> "Client":
        self.sio.connect(URL, auth=auth, transports=TRANSPORTS, namespaces=namespaces or ["/"],
                         wait_timeout=WAIT)
        return self


def scenario_auth() -> dict[str, Any]:
    c = Client()
    c.listen("auth")
    c.listen("auth", "/custom")
    c.listen("echo")
    c.connect(["/", "/custom"], auth={"token": "py", "n": [1, None], "é": "😀"})
    plain = Client()
    plain.listen("auth")
    plain.connect()
    out = {
        "auth": c.next("auth"),
        "custom_auth": c.next("auth", "/custom"),
        "no_auth": plain.next("auth"),
    }
    c.sio.emit("echo", "after-auth")
    out["after_auth"] = c.next("echo")
    out["sids"] = [c.sio.get_sid("/"), c.sio.get_sid("/custom"), plain.sio.get_sid("/")]
    out["engine_sid"] = c.sio.sid
    out["transport"] = c.sio.transport()
    return out


def scenario_emit() -> dict[str, Any]:
    c = Client()
    for event in ("message-back", "echo"):
        c.listen(event)
    c.connect()
    out: dict[str, Any] = {}
    c.sio.emit("message", (1, "2", {"3": [False]}))
    out["message_back"] = c.next("message-back")
    c.sio.emit("message", "single")
    out["message_back_single"] = c.next("message-back")
    c.sio.emit("echo", ("hello", 3.5, None, True, {"nested": ["a", {"b": -1}]}))
    out["echo"] = c.next("echo")
    text = "é😀\u2028\u2029\"\\\n/</script>"
    c.sio.emit("echo", text)
    out["unicode_ok"] = c.next("echo") == [text]
    out["call"] = enc(c.sio.call("echo_ack", ("a", 2, {"k": [None]}), timeout=WAIT))
    out["call_single"] = c.sio.call("message-with-ack", {"x": 1}, timeout=WAIT)
    out["call_empty"] = c.sio.call("echo_ack", timeout=WAIT)
    got: queue.Queue[list[Any]] = queue.Queue()
    c.sio.emit("message-with-ack", (1, "2"), callback=lambda *a: got.put(list(a)))
    out["callback"] = got.get(timeout=WAIT)
    # Many calls in flight from several threads: each gets its own answer.
    with ThreadPoolExecutor(10) as pool:
        out["many"] = list(pool.map(lambda i: c.sio.call("echo_ack", i, timeout=WAIT), range(40)))
    out["transport"] = c.sio.transport()
    return out


def scenario_binary() -> dict[str, Any]:
    c = Client()
    for ns in ("/", "/custom"):
        c.listen("message-back", ns)
        c.listen("echo", ns)
    c.connect(["/", "/custom"])
    out: dict[str, Any] = {}
    for ns, key in (("/", ""), ("/custom", "custom_")):
        c.sio.emit("message", b"\x01\x02\x03", namespace=ns)
        out[key + "top_level"] = enc(c.next("message-back", ns))
        c.sio.emit("message", {"a": b"\x04", "b": {"c": b"\x05\x06", "d": "text"}}, namespace=ns)
        out[key + "in_object"] = enc(c.next("message-back", ns))
        c.sio.emit("message", [b"\x07", [b"\x08\x09", "x"], 10], namespace=ns)
        out[key + "in_array"] = enc(c.next("message-back", ns))
        c.sio.emit("echo", (b"\x01", "text", b"\x02\x02", {"k": b"\x03\x03\x03"}), namespace=ns)
        out[key + "several"] = enc(c.next("echo", ns))
        out[key + "ack"] = enc(c.sio.call("echo_ack", (b"\xde\xad", {"x": [b"\xbe\xef"]}),
                                          namespace=ns, timeout=WAIT))
    big = bytes((i * 7 + (i >> 8)) & 0xFF for i in range(100_000))
    c.sio.emit("echo", big)
    (back,) = c.next("echo")
    out["big_ok"] = back == big
    out["transport"] = c.sio.transport()
    return out


def scenario_call_me() -> dict[str, Any]:
    c = Client()
    seen: list[Any] = []

    def ping_client(x: Any) -> Any:
        seen.append(enc(x))
        if isinstance(x, bytes):
            return x[::-1]
        if isinstance(x, dict) and x.get("two"):
            return ("first", b"\xca\xfe")
        return {"got": x, "doubled": x * 2}

    c.sio.on("ping_client", ping_client)
    c.sio.on("ping_client", lambda x: f"custom:{x}", namespace="/custom")
    c.connect(["/", "/custom"])
    return {
        "plain": c.sio.call("call_me", 21, timeout=WAIT),
        "binary": enc(c.sio.call("call_me", b"\x01\x02\x03", timeout=WAIT)),
        "two": enc(c.sio.call("call_me", {"two": True}, timeout=WAIT)),
        "custom": c.sio.call("call_me", "x", namespace="/custom", timeout=WAIT),
        "seen": seen,
    }


def scenario_rooms() -> dict[str, Any]:
    room = "py-room-" + TAG
    a, b = Client(), Client()
    for c in (a, b):
        c.listen("room_msg")
        c.connect()
    out: dict[str, Any] = {"join": a.sio.call("join", room, timeout=WAIT)}
    b.sio.emit("to_room", (room, "hi", {"n": 1}, b"\x05\x06"))
    out["a_first"] = enc(a.next("room_msg"))
    b.marker()
    out["b_count_outside"] = b.count("room_msg")
    out["leave"] = a.sio.call("leave", room, timeout=WAIT)
    a.sio.emit("to_room", (room, "gone"))
    a.marker()
    out["a_count_after_leave"] = a.count("room_msg")
    out["b_join"] = b.sio.call("join", room, timeout=WAIT)
    a.sio.emit("to_room", (room, "to-b"))
    out["b_first"] = b.next("room_msg")
    return out


def scenario_bcast() -> dict[str, Any]:
    room = "py-bcast-" + TAG
    clients = [Client() for _ in range(4)]
    got: list[list[Any]] = [[] for _ in clients]
    lock = threading.Lock()

    def handler(i: int) -> Callable[..., None]:
        def on_bcast(payload: Any) -> None:
            if isinstance(payload, dict) and payload.get("tag") == TAG:
                with lock:
                    got[i].append(payload["n"])
        return on_bcast

    for i, c in enumerate(clients):
        c.sio.on("bcast", handler(i))
        c.connect()

    def until(pred: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + WAIT
        while not pred():
            if time.monotonic() > deadline:
                raise AssertionError("timed out waiting for " + what)
            time.sleep(0.01)

    def everyone(n: int) -> bool:
        with lock:
            return all(n in g for g in got)

    clients[0].sio.emit("bcast", {"tag": TAG, "n": 1})
    until(lambda: everyone(1), "bcast 1")
    joins = [clients[i].sio.call("join", room, timeout=WAIT) for i in (0, 1)]
    clients[3].sio.emit("bcast", {"tag": TAG, "n": 2, "room": room})
    until(lambda: 2 in got[0] and 2 in got[1], "room bcast")
    clients[3].sio.emit("bcast", {"tag": TAG, "n": 3, "data": b"\x09\x08"})
    until(lambda: everyone(3), "bcast 3")
    time.sleep(SETTLE)
    with lock:
        received = [sorted(g) for g in got]
    return {"received": received, "joins": joins}


def scenario_invalid_namespace() -> dict[str, Any]:
    c = Client()
    errors: queue.Queue[list[Any]] = queue.Queue()
    c.sio.on("connect_error", lambda *data: errors.put(list(data)), namespace="/nope")
    try:
        c.connect(["/nope"])
    except socketio.exceptions.ConnectionError as exc:
        raised = str(exc)
    else:
        raised = None
    return {"raised": raised, "data": errors.get(timeout=WAIT), "connected": c.sio.connected}


def scenario_disconnect() -> dict[str, Any]:
    out: dict[str, Any] = {}
    # Server kicks / (the client's only namespace) and /custom (keeping /).
    kicked = Client()
    kicked.on_disconnect("/")
    kicked.connect()
    out["kicked_root_sid"] = kicked.sio.get_sid("/")
    kicked.sio.emit("disconnect_me")
    out["kicked_root"] = kicked.disconnects.get(timeout=WAIT)
    two = Client()
    out["two_posted"] = two.record_posts()
    two.on_disconnect("/")
    two.on_disconnect("/custom")
    two.connect(["/", "/custom"])
    out["kicked_custom_sid"] = two.sio.get_sid("/custom")
    two.sio.emit("disconnect_me", namespace="/custom")
    out["kicked_custom"] = two.disconnects.get(timeout=WAIT)
    out["root_after_kick"] = two.sio.call("echo_ack", "still", timeout=WAIT)
    out["leaving_root_sid"] = two.sio.get_sid("/")
    # Client-side disconnect of everything it joined. Over polling,
    # python-engineio's writer thread sends what disconnect() queued only if
    # it takes it in its current batch: disconnect() queues a DISCONNECT per
    # namespace, then CLOSE, and sets the state to "disconnecting", and the
    # writer's loop stops at the first state check after the POST it is in
    # (the CONNECT packets' POST, whose answer may come after the CONNECT
    # replies; or a POST of the first DISCONNECT only). What it did send is
    # recorded ("leaving_posted"); the test expects the server to have
    # handled exactly that.
    leaving = Client()
    out["leaving_posted"] = leaving.record_posts()
    leaving.connect(["/", "/custom"])
    out["leaving_sids"] = [leaving.sio.get_sid("/"), leaving.sio.get_sid("/custom")]
    leaving.sio.disconnect()
    two.sio.disconnect()
    out["two_disconnects"] = [two.disconnects.get(timeout=WAIT)]
    return out


SCENARIOS = {
    "auth": scenario_auth,
    "emit": scenario_emit,
    "binary": scenario_binary,
    "call_me": scenario_call_me,
    "rooms": scenario_rooms,
    "bcast": scenario_bcast,
    "invalid_namespace": scenario_invalid_namespace,
    "disconnect": scenario_disconnect,
}


def main() -> None:
    results = run_concurrently(SCENARIOS)
    results["client_warnings"] = WARNINGS.lines
    print(json.dumps(results, ensure_ascii=True), flush=True)


if __name__ == "__main__":
    main()
