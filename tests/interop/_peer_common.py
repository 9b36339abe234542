"""What the python-socketio client scripts of tests/interop/ share.

py_features.py (socketio.Client), py_async_features.py (socketio.AsyncClient) and
flask_features.py (socketio.Client against the Flask app) each drive scenarios and print one JSON
document ``{scenario: observations}`` (``{"error": traceback}`` for a scenario that failed). The
pieces they have in common live here once: the JSON form of what a client received (bytes as
``{"$bin": hex}``), the transports a MODE argument names, the thread client with one queue per
(event, namespace) and its round-trip marker, and the two ways of running the scenarios
(concurrently in threads under a watchdog, or one after another on one asyncio loop).

Runs under .venv-peer (python-socketio 5.x); never imports our package.
"""

from __future__ import annotations

import json
import os
import queue
import threading
import time
import traceback
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Awaitable, Callable

import socketio

WAIT = 8.0
SETTLE = 0.2  # time for handler threads of already-received messages to run
WATCHDOG_S = 40.0


def enc(value: Any) -> Any:
    """JSON-friendly: bytes as {"$bin": hex}."""
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {"$bin": bytes(value).hex()}
    if isinstance(value, (list, tuple)):
        return [enc(v) for v in value]
    if isinstance(value, dict):
        return {k: enc(v) for k, v in value.items()}
    return value


def transports(mode: str) -> list[str] | None:
    """The client's ``transports=`` for a MODE argument (``default``: polling, then the upgrade)."""
    return {"polling": ["polling"], "websocket": ["websocket"], "default": None}[mode]


class QueueClient:
    """A thread client (``socketio.Client``) plus one queue per (event, namespace).

    This client runs each incoming event's handler in a thread of its own, so the order in which
    it *handles* events is not guaranteed even though the server sends them in order: negative
    checks ("this client got nothing") wait for a round trip (``marker``) and let handlers settle.
    """

    clients: list["QueueClient"] = []

    def __init__(self, logger: Any) -> None:
        self.sio = socketio.Client(reconnection=False, logger=logger, engineio_logger=logger)
        self.queues: dict[tuple[str, str], queue.Queue[list[Any]]] = {}
        QueueClient.clients.append(self)

    def queue(self, event: str, namespace: str = "/") -> "queue.Queue[list[Any]]":
        """A queue that receives the args of every ``event`` in ``namespace``."""
        q: queue.Queue[list[Any]] = queue.Queue()
        self.queues[(event, namespace)] = q
        self.sio.on(event, lambda *args: q.put(list(args)), namespace=namespace)
        return q

    def next(self, event: str, namespace: str = "/") -> list[Any]:
        try:
            return self.queues[(event, namespace)].get(timeout=WAIT)
        except queue.Empty:
            raise AssertionError(f"no {event!r} in {namespace} within {WAIT} s") from None

    def count(self, event: str, namespace: str = "/") -> int:
        return self.queues[(event, namespace)].qsize()

    def marker(self, namespace: str = "/") -> None:
        """A round trip: what the server sent us before it has been received."""
        assert self.sio.call("echo_ack", "marker", namespace=namespace, timeout=WAIT) == "marker"
        time.sleep(SETTLE)


def _observe(fn: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    try:
        return fn()
    except BaseException:
        return {"error": traceback.format_exc()}


def run_concurrently(scenarios: dict[str, Callable[[], dict[str, Any]]]) -> dict[str, Any]:
    """Every scenario in a thread of its own; then disconnect every client still connected.

    A watchdog prints ``{"error": "timed out"}`` and exits when the whole takes longer than
    WATCHDOG_S (a client stuck in a blocking call would otherwise hold the test to its timeout).
    """
    watchdog = threading.Timer(WATCHDOG_S, lambda: (print(json.dumps({"error": "timed out"}), flush=True),
                                                    os._exit(1)))
    watchdog.daemon = True
    watchdog.start()
    with ThreadPoolExecutor(len(scenarios)) as pool:
        futures = {name: pool.submit(_observe, fn) for name, fn in scenarios.items()}
        results = {name: f.result() for name, f in futures.items()}
    for c in QueueClient.clients:
        if c.sio.connected:
            c.sio.disconnect()
    return results


async def run_in_turn(scenarios: dict[str, Callable[[], Awaitable[dict[str, Any]]]]) -> dict[str, Any]:
    """The scenarios one after another on the running asyncio loop."""
    results: dict[str, Any] = {}
    for name, run in scenarios.items():
        try:
            results[name] = await run()
        except Exception:
            results[name] = {"error": traceback.format_exc()}
    return results
