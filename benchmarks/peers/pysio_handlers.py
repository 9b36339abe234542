"""What the python-socketio peers share: the echo contract's handlers, written once, and their CLI.

shared/ECHO_SERVER.md's events that the load generator uses: on connect the server emits ``auth``
with the CONNECT payload, ``echo`` emits ``echo`` back to the sender, ``echo_ack`` acks with the
same args, ``join`` (room) joins the room and acks its name, ``bcast`` emits ``bcast`` to every
client of the namespace (or of a room when the first arg carries ``room``).

python-socketio has two servers: ``socketio.Server``, whose ``emit``/``enter_room`` act at once,
and ``socketio.AsyncServer``, whose same methods return coroutines to await. Each handler below
is written once as a function of the server that returns ``(calls, ack)``: the results of the
server calls it made, in order, and what to ack. ``register(sio)`` wraps it for either server:
the async wrapper awaits the calls in order before it acks; the sync one only returns the ack.
:func:`peer_args` is both peers' command line (and the descriptor limit raised to the hard one).
"""

from __future__ import annotations

import argparse
import inspect
import resource
from typing import Any, Callable

Step = tuple[list[Any], Any]


def _connect(sio: Any, sid: str, environ: Any, auth: Any = None) -> Step:
    return [sio.emit("auth", auth if auth is not None else {}, to=sid)], None


def _echo(sio: Any, sid: str, *args: Any) -> Step:
    return [sio.emit("echo", args if len(args) != 1 else args[0], to=sid)], None


def _echo_ack(sio: Any, sid: str, *args: Any) -> Step:
    return [], args


def _join(sio: Any, sid: str, room: str) -> Step:
    return [sio.enter_room(sid, room)], room


def _bcast(sio: Any, sid: str, *args: Any) -> Step:
    room = args[0].get("room") if args and isinstance(args[0], dict) else None
    return [sio.emit("bcast", args if len(args) != 1 else args[0], to=room)], None


HANDLERS: dict[str, Callable[..., Step]] = {
    "connect": _connect, "echo": _echo, "echo_ack": _echo_ack, "join": _join, "bcast": _bcast,
}


def register(sio: Any, is_async: bool) -> None:
    """Serve HANDLERS on ``sio`` (a ``socketio.Server``, or an ``AsyncServer`` when ``is_async``)."""
    for event, step in HANDLERS.items():
        sio.on(event, _async_handler(sio, step) if is_async else _sync_handler(sio, step))


def _sync_handler(sio: Any, step: Callable[..., Step]) -> Callable[..., Any]:
    def handler(*args: Any) -> Any:
        return step(sio, *args)[1]
    return handler


def _async_handler(sio: Any, step: Callable[..., Step]) -> Callable[..., Any]:
    async def handler(*args: Any) -> Any:
        calls, ack = step(sio, *args)
        for call in calls:
            if inspect.isawaitable(call):
                await call
        return ack
    return handler


def peer_args() -> argparse.Namespace:
    """``--host``, ``--port``, ``--ping-interval`` and ``--ping-timeout`` (ms); the soft limit of
    open files raised to the hard one, so a peer holds as many clients as ours may."""
    p = argparse.ArgumentParser()
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--ping-interval", type=int, default=25000)
    p.add_argument("--ping-timeout", type=int, default=20000)
    args = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    return args
