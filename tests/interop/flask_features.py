"""The Flask feature app (tests/socketio_core/flask/feature_app.py), driven by the python-socketio client.

usage: python flask_features.py URL

Runs under .venv-peer (python-socketio 5.x, requests, websocket-client);
never imports our package. Scenarios run concurrently, each with its own
clients, and record what they observed; the last stdout line is one JSON
document ``{scenario: observations}`` (``{"error": ...}`` for a scenario that
failed). tests/socketio_core/flask/test_live_servers.py holds the expectations, for the
app served by ``socketio.run`` and by ``gunicorn -k gevent``.

What it shares with the other client scripts (the JSON form, the queue client and its marker,
running the scenarios) is in _peer_common.py.
"""

from __future__ import annotations

import json
import logging
import queue
import sys
import time
from typing import Any, Callable

import requests
import socketio
from _peer_common import WAIT, QueueClient, enc, run_concurrently

URL = sys.argv[1]

LOG = logging.getLogger("peer-client")
LOG.setLevel(logging.ERROR)
LOG.propagate = False


class Client(QueueClient):
    """A queue client that also keeps each namespace's connect error and its disconnects."""

    def __init__(self) -> None:
        super().__init__(LOG)
        self.errors: dict[str, Any] = {}
        self.disconnected: queue.Queue[list[Any]] = queue.Queue()

    def listen(self, *events: str, namespace: str = "/") -> "Client":
        for event in events:
            self.queue(event, namespace)
        return self

    def connect(self, namespaces: list[str] | None = None, query: str = "", transports: Any = None,
                **kwargs: Any) -> "Client":
        for ns in namespaces or ["/"]:
            self.sio.on("connect_error", lambda data, _ns=ns: self.errors.__setitem__(_ns, data), namespace=ns)
            self.sio.on("disconnect", lambda *reason: self.disconnected.put(list(reason)), namespace=ns)
        self.sio.connect(URL + query, namespaces=namespaces or ["/"], transports=transports,
                         wait_timeout=WAIT, **kwargs)
        return self


def scenario_handshake() -> dict[str, Any]:
    http = requests.Session()
    http.get(URL + "/login?user=alice", timeout=WAIT)
    cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
    c = Client().listen("welcome")
    c.connect(query="?room=blue&x=1", headers={"X-Test": "yes", "Cookie": cookie}, auth={"token": "good"})
    (welcome,) = c.next("welcome")
    context = c.sio.call("context", timeout=WAIT)
    return {"welcome": welcome, "sid": c.sio.get_sid("/"), "context": context,
            "transport": c.sio.transport()}


def scenario_refused() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for token in ("bad", "false"):
        c = Client()
        try:
            c.connect(auth={"token": token})
            out[token] = "connected"
        except socketio.exceptions.ConnectionError:
            out[token] = c.errors.get("/")
    return out


def scenario_emit() -> dict[str, Any]:
    c = Client().listen("welcome", "echo", "message", "json", "two", "caught").connect()
    c.next("welcome")
    out: dict[str, Any] = {}
    c.sio.emit("echo", {"a": [1, 2]})
    out["echo"] = c.next("echo")
    out["ack_many"] = c.sio.call("echo_ack", (1, "two"), timeout=WAIT)
    out["ack_one"] = c.sio.call("echo_ack", "one", timeout=WAIT)
    out["decorated"] = c.sio.call("decorated", "x", timeout=WAIT)
    out["explicit"] = c.sio.call("explicit", "y", timeout=WAIT)
    c.sio.send("hello")
    out["send"] = c.next("message")
    c.sio.emit("send_text", "plain")
    out["send_text"] = c.next("message")
    c.sio.emit("send_json", {"j": True})
    out["send_json"] = c.next("json")  # Flask-SocketIO: send(json=True) is a "json" event
    c.sio.send(b"\x01\x02")
    out["send_binary"] = enc(c.next("message"))
    c.sio.emit("tuple_args")
    out["tuple"] = c.next("two")
    c.sio.emit("no such handler", 5)
    out["caught"] = c.next("caught")
    return out


def scenario_broadcast() -> dict[str, Any]:
    a, b, c = (Client().listen("welcome", "bcast", "room_msg").connect() for _ in range(3))
    for x in (a, b, c):
        x.next("welcome")
    out: dict[str, Any] = {}
    a.sio.emit("bcast", "all")
    out["all"] = [x.next("bcast") for x in (a, b, c)]
    a.sio.emit("bcast_others", "not me")
    out["others"] = [x.next("bcast") for x in (b, c)]
    a.marker()
    out["sender_got_others"] = a.count("bcast")
    out["join_a"] = sorted(a.sio.call("join", "red", timeout=WAIT)) == sorted([a.sio.get_sid(), "red"])
    out["join_b"] = sorted(b.sio.call("join", "red", timeout=WAIT)) == sorted([b.sio.get_sid(), "red"])
    c.sio.emit("to_room", ("red", "hi red"))
    out["room"] = [x.next("room_msg") for x in (a, b)]
    a.sio.emit("to_room_others", ("red", "from a"))
    out["room_others"] = b.next("room_msg")
    out["leave_b"] = b.sio.call("leave", "red", timeout=WAIT) == [b.sio.get_sid()]
    c.sio.emit("to_room", ("red", "after leave"))
    out["after_leave"] = a.next("room_msg")
    c.sio.emit("close", "red")
    c.marker()
    c.sio.emit("to_room", ("red", "after close"))
    for x in (a, b, c):
        x.marker()
    out["counts_after"] = [a.count("room_msg"), b.count("room_msg"), c.count("room_msg"), a.count("bcast")]
    return out


def scenario_disconnect() -> dict[str, Any]:
    a = Client().connect()
    b = Client().connect()
    sids = [a.sio.get_sid(), b.sio.get_sid()]
    a.sio.emit("disconnect_me")
    out: dict[str, Any] = {"client_saw": a.disconnected.get(timeout=WAIT)}
    b.sio.disconnect()
    deadline = time.monotonic() + WAIT
    reasons: dict[str, str] = {}
    while time.monotonic() < deadline and len(reasons) < 2:
        rows = requests.get(URL + "/disconnects", timeout=WAIT).json()
        reasons = {sid: reason for ns, sid, reason in rows if sid in sids}
        time.sleep(0.05)
    out["reasons"] = [reasons.get(sid) for sid in sids]
    return out


def scenario_errors() -> dict[str, Any]:
    c = Client().listen("error_seen").connect(["/", "/chat"])
    out = {"ack": c.sio.call("fail", "bad input", timeout=WAIT)}
    out["event"] = c.next("error_seen")
    out["default"] = c.sio.call("boom", namespace="/chat", timeout=WAIT)
    return out


def scenario_namespace() -> dict[str, Any]:
    a = Client().listen("chat_welcome", "said", "shouted", "news", namespace="/chat").connect(["/chat"])
    b = Client().listen("chat_welcome", "said", "shouted", "news", namespace="/chat").connect(["/chat"])
    out: dict[str, Any] = {"welcome": a.next("chat_welcome", "/chat"), "sid": a.sio.get_sid("/chat")}
    b.next("chat_welcome", "/chat")
    out["say_ack"] = a.sio.call("say", "hey", namespace="/chat", timeout=WAIT)
    out["said"] = [a.next("said", "/chat"), b.next("said", "/chat")]
    b.sio.emit("shout", "HEY", namespace="/chat")
    out["shouted"] = [a.next("shouted", "/chat"), b.next("shouted", "/chat")]
    out["rooms"] = sorted(a.sio.call("rooms", namespace="/chat", timeout=WAIT)) == sorted([out["sid"], "lobby"])
    # emit(..., namespace="/chat", broadcast=True) from a "/" handler, and socketio.emit from a route.
    c = Client().listen("news", namespace="/chat").connect(["/", "/chat"])
    c.sio.emit("news", "from root")
    out["news"] = [x.next("news", "/chat") for x in (a, b, c)]
    requests.get(URL + "/chat_notify", params={"msg": "from route"}, timeout=WAIT)
    out["news_route"] = [x.next("news", "/chat") for x in (a, b, c)]
    return out


def scenario_session() -> dict[str, Any]:
    http = requests.Session()
    http.get(URL + "/login?user=bob", timeout=WAIT)
    cookie = "; ".join(f"{k}={v}" for k, v in http.cookies.items())
    a = Client().connect(headers={"Cookie": cookie})
    b = Client().connect(headers={"Cookie": cookie})
    a.sio.emit("set_session", "for a")
    return {"a": a.sio.call("get_session", timeout=WAIT), "b": b.sio.call("get_session", timeout=WAIT)}


def scenario_callbacks() -> dict[str, Any]:
    c = Client().listen("answered")
    c.sio.on("question", lambda q: f"answer to {q}")
    c.connect()
    c.sio.emit("ask", "life")
    return {"answered": c.next("answered"), "call": c.sio.call("call_client", "q2", timeout=WAIT)}


def scenario_http_and_threads() -> dict[str, Any]:
    a = Client().listen("notify", "direct", "message", "thread", "bg_done").connect()
    b = Client().listen("notify", "direct", "message", "thread", "bg_done").connect()
    out: dict[str, Any] = {}
    out["notify_route"] = requests.get(URL + "/notify", params={"msg": "route"}, timeout=WAIT).text
    out["notify"] = [a.next("notify"), b.next("notify")]
    requests.get(URL + "/notify_sid", params={"sid": b.sio.get_sid(), "msg": "only b"}, timeout=WAIT)
    out["direct"] = [b.next("direct"), b.next("message")]
    requests.get(URL + "/thread", params={"msg": "from thread"}, timeout=WAIT)
    out["thread_route"] = [a.next("thread"), b.next("thread")]
    a.sio.emit("thread_emit", "from handler thread")
    out["thread_handler"] = a.next("thread")
    a.sio.emit("bg", "tag1")
    out["bg"] = a.next("bg_done")
    a.marker()
    b.marker()
    out["a_extra"] = [a.count(e) for e in ("notify", "direct", "message", "thread", "bg_done")]
    out["b_extra"] = [b.count(e) for e in ("notify", "direct", "message", "thread", "bg_done")]
    return out


def scenario_transports() -> dict[str, Any]:
    out: dict[str, Any] = {}
    for name, transports in (("polling", ["polling"]), ("websocket", ["websocket"])):
        c = Client().listen("echo").connect(transports=transports)
        c.sio.emit("echo", name)
        out[name] = {"echo": c.next("echo"), "transport": c.sio.transport(),
                     "ack": c.sio.call("echo_ack", (name, 2), timeout=WAIT)}
    return out


def scenario_private() -> dict[str, Any]:
    opened = Client().connect(["/private"], query="?key=open")
    out: dict[str, Any] = {"open": opened.sio.connected}
    closed = Client()
    try:
        closed.connect(["/private"], query="?key=closed")
        out["closed"] = "connected"
    except socketio.exceptions.ConnectionError:
        out["closed"] = closed.errors.get("/private")
    return out


SCENARIOS: dict[str, Callable[[], dict[str, Any]]] = {
    name[len("scenario_"):]: fn for name, fn in globals().items() if name.startswith("scenario_")
}


def main() -> None:
    print(json.dumps(run_concurrently(SCENARIOS), ensure_ascii=True), flush=True)


if __name__ == "__main__":
    main()
