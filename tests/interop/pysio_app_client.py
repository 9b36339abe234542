"""The python-socketio style application (tests/integration/_pysio_app.py), driven by python-socketio's client.

usage: python pysio_app_client.py URL polling|websocket|default

Runs under .venv-peer (python-socketio 5.x); never imports our package.
Prints one JSON document ``{scenario: observations}`` as its last line;
tests/integration/test_python_socketio_app.py holds the expectations.
"""

from __future__ import annotations

import json
import queue
import sys
import traceback
from typing import Any, Callable

import socketio

URL, MODE = sys.argv[1], sys.argv[2]
TRANSPORTS = {"polling": ["polling"], "websocket": ["websocket"], "default": None}[MODE]
WAIT = 8.0
opened: list[socketio.Client] = []


def client(events: list[tuple[str, str]] = ()) -> tuple[socketio.Client, dict[tuple[str, str], "queue.Queue[Any]"]]:
    sio = socketio.Client(reconnection=False)
    inbox: dict[tuple[str, str], queue.Queue[Any]] = {}
    for event, namespace in events:
        q: queue.Queue[Any] = queue.Queue()
        inbox[(event, namespace)] = q
        sio.on(event, lambda *args, q=q: q.put(args[0] if len(args) == 1 else list(args)), namespace=namespace)
    opened.append(sio)
    return sio, inbox


def connect(sio: socketio.Client, namespaces: list[str], **kwargs: Any) -> None:
    sio.connect(URL, transports=TRANSPORTS, namespaces=namespaces, wait_timeout=WAIT, **kwargs)


def basics() -> dict[str, Any]:
    a, inbox = client([("welcome", "/"), ("said", "/")])
    connect(a, ["/"], auth={"token": "ok"}, headers={"X-App": "py"})
    welcome = inbox[("welcome", "/")].get(timeout=WAIT)
    b, _ = client()
    connect(b, ["/"])
    out = {
        "welcome_is_own_sid": welcome["sid"] == a.get_sid("/"),
        "has_addr": welcome["has_addr"],
        "echo": a.call("echo", {"n": [1, 2], "s": "é"}, timeout=WAIT),
        "agent": a.call("agent", timeout=WAIT),
    }
    a.call("remember", "kept", timeout=WAIT)
    out["recalled"] = a.call("recall", timeout=WAIT)
    room = "r-" + MODE  # the modes run at once against one server
    out["own_sid_in_rooms"] = a.get_sid("/") in a.call("join", room, timeout=WAIT)
    b.call("join", room, timeout=WAIT)
    b.emit("say", {"room": room, "text": "hi"})
    heard = inbox[("said", "/")].get(timeout=WAIT)
    out["heard_from_b"] = heard["from"] == b.get_sid("/")
    out["heard_text"] = heard["text"]
    out["transport"] = a.transport()
    return out


def chat() -> dict[str, Any]:
    s, inbox = client([("chat_ready", "/chat"), ("tick", "/chat"), ("shouted", "/chat")])
    connect(s, ["/chat"])
    ready = inbox[("chat_ready", "/chat")].get(timeout=WAIT)
    tick = inbox[("tick", "/chat")].get(timeout=WAIT)
    s.emit("shout", "hello", namespace="/chat")
    return {
        "ready": ready,
        "tick_has_count": isinstance(tick["count"], int),
        "shouted": inbox[("shouted", "/chat")].get(timeout=WAIT),
    }


def audit() -> dict[str, Any]:
    s, inbox = client([("pong_you", "/audit")])
    connect(s, ["/audit"])
    s.emit("ping_me", 5, namespace="/audit")
    pong = inbox[("pong_you", "/audit")].get(timeout=WAIT)
    return {"pong": pong, "seen": s.call("seen", namespace="/audit", timeout=WAIT)}


def refused() -> dict[str, Any]:
    """CONNECT_ERROR (the connect handler refused), or with always_connect CONNECT then DISCONNECT."""
    s, _ = client()
    outcome: queue.Queue[dict[str, Any]] = queue.Queue()
    connected: list[bool] = []
    s.on("connect", lambda: connected.append(True))
    s.on("connect_error", lambda data: outcome.put({"message": data.get("message") if data else data}))
    s.on("disconnect", lambda *reason: outcome.put({"reason": list(reason)}))
    try:
        connect(s, ["/"], auth={"token": "bad"})
    except socketio.exceptions.ConnectionError as exc:
        if outcome.empty():
            return {"connected": bool(connected), "exception": str(exc)}
    try:
        return {"connected": bool(connected), **outcome.get(timeout=WAIT)}
    except queue.Empty:
        # This client handles each message in a thread of its own: a DISCONNECT
        # handled before the CONNECT is dropped (it is "not connected" yet). Ask
        # the server instead: the refused socket no longer exists there.
        try:
            s.call("echo", "still there?", timeout=2)
        except socketio.exceptions.TimeoutError:
            return {"connected": bool(connected), "reason": ["server disconnect"], "inferred": True}
        return {"connected": bool(connected), "reason": None}


def bye() -> dict[str, Any]:
    s, _ = client()
    gone: queue.Queue[Any] = queue.Queue()
    s.on("disconnect", lambda *reason: gone.put(list(reason)))
    connect(s, ["/"])
    s.emit("bye")
    return {"reason": gone.get(timeout=WAIT)}


def main() -> None:
    scenarios: dict[str, Callable[[], dict[str, Any]]] = {
        "basics": basics, "chat": chat, "audit": audit, "refused": refused, "bye": bye,
    }
    results: dict[str, Any] = {}
    for name, scenario in scenarios.items():
        try:
            results[name] = scenario()
        except Exception:
            results[name] = {"error": traceback.format_exc()}
    for sio in opened:
        try:
            sio.disconnect()
        except Exception:
            pass
    print(json.dumps(results))


if __name__ == "__main__":
    main()
