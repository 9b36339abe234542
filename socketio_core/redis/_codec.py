"""What servers and emitters say to each other through Redis: channels and messages.

Shared by :mod:`socketio_core.redis_adapter` (servers) and
:mod:`socketio_core.emitter` (any process), so both sides agree by
construction. Strategy: one channel that every server subscribes to, plus one
private reply channel per server, and every message one JSON object.

Channels, for ``channel_prefix="socket.io"``:

``socket.io#py1``
    Everything addressed to all servers: broadcasts, room operations,
    disconnects, server-side events and the requests below. The return value
    of ``PUBLISH`` on it is the number of servers subscribed at that instant,
    which is how a request knows how many answers to wait for (counting its
    own echo: see ``redis_adapter``).
``socket.io#py1#<uid>``
    Replies to the requests of the server whose uid that is.

``py1`` names this format, version 1. It keeps our traffic apart from the
Node ``@socket.io/redis-adapter`` channels (``socket.io#/#``,
``socket.io-request#/#``), whose msgpack messages we do not speak.

Messages are JSON objects with ``type`` and ``uid`` (the sender). Binary
values (``bytes``, ``bytearray``, ``memoryview``) must survive the trip, so
they travel as ``{"\\u0000b": "<base64>"}``: a one-key object whose key holds
a NUL character, which no application data is expected to use. JSON rather
than msgpack because it needs no extra dependency on either side, and every
process of a cluster must pick the same encoding.

=================  ==========  ===============================================
type               direction   fields
=================  ==========  ===============================================
``broadcast``      to all      nsp, data (the EVENT args, event name first),
                               rooms (list or null = everyone), skip, volatile,
                               offset (only when recorded for connection state
                               recovery: its stream entry id, appended to data)
``join``           to all      nsp, rooms, new_rooms
``leave``          to all      nsp, rooms, old_rooms
``disconnect``     to all      nsp, rooms, close
``server_event``   to all      event, args, req (only when answers are wanted)
``broadcast_ack``  to all      nsp, data, rooms, skip, req, timeout (s or null),
                               volatile (optional, default false)
``fetch``          to all      nsp, rooms, req
``ack_count``      reply       req, count (clients that were sent the event)
``ack``            reply       req, sid, answer, tuple (several ack args)
``sockets``        reply       req, sockets: [{sid, nsp, rooms, handshake, data}]
``server_answer``  reply       req, answer
=================  ==========  ===============================================
"""

from __future__ import annotations

import base64
import json
import secrets
from typing import Any

__all__ = [
    "FORMAT",
    "all_channel",
    "reply_channel",
    "dumps",
    "loads",
    "new_uid",
    "MessageError",
    "REQUEST_TYPES",
    "REPLY_TYPES",
]

FORMAT = "py1"

#: Messages that ask every server for answers (carry ``req``).
REQUEST_TYPES = frozenset({"broadcast_ack", "fetch", "server_event"})
#: Messages that answer a request, on the requester's reply channel.
REPLY_TYPES = frozenset({"ack_count", "ack", "sockets", "server_answer"})

_BYTES_TAG = "\x00b"


class MessageError(Exception):
    """A message on the channel is not one of ours (bad JSON, missing fields)."""


def all_channel(prefix: str) -> str:
    return f"{prefix}#{FORMAT}"


def reply_channel(prefix: str, uid: str) -> str:
    return f"{prefix}#{FORMAT}#{uid}"


def new_uid() -> str:
    """A process's identity on the channel (64 random bits, URL-safe)."""
    return secrets.token_urlsafe(8)


def _strict_default(value: Any) -> Any:
    if isinstance(value, (bytes, bytearray, memoryview)):
        return {_BYTES_TAG: base64.b64encode(bytes(value)).decode("ascii")}
    if isinstance(value, (set, frozenset)):
        return list(value)
    raise TypeError(f"{type(value).__name__} cannot be sent to other servers")


def _lenient_default(value: Any) -> Any:
    try:
        return _strict_default(value)
    except TypeError:
        return repr(value)


def dumps(message: dict[str, Any], *, lenient: bool = False) -> bytes:
    """Encode one message.

    Raises TypeError for a value JSON cannot carry, unless ``lenient`` (used
    for ``fetch_sockets`` replies, whose per-socket ``data`` is application
    state: there such values travel as their ``repr``).
    """
    text = json.dumps(
        message,
        separators=(",", ":"),
        ensure_ascii=False,
        allow_nan=True,
        default=_lenient_default if lenient else _strict_default,
    )
    return text.encode("utf-8")


def _object_hook(obj: dict[str, Any]) -> Any:
    if len(obj) == 1 and _BYTES_TAG in obj:
        value = obj[_BYTES_TAG]
        if isinstance(value, str):
            try:
                return base64.b64decode(value, validate=True)
            except ValueError:
                pass
        raise MessageError("bad binary value")
    return obj


def loads(raw: bytes | str) -> dict[str, Any]:
    """Decode one message; raises MessageError when it is not one of ours."""
    try:
        message = json.loads(raw, object_hook=_object_hook)
    except (ValueError, RecursionError) as exc:  # JSONDecodeError and UnicodeDecodeError included
        raise MessageError(f"not JSON: {exc}") from None
    if not isinstance(message, dict):
        raise MessageError("not an object")
    if not isinstance(message.get("type"), str) or not isinstance(message.get("uid"), str):
        raise MessageError("no type or uid")
    return message


def rooms_field(value: Any) -> list[str] | None:
    """A ``rooms`` field: a list of strings, or None for "every socket"."""
    if value is None:
        return None
    if isinstance(value, list) and all(isinstance(r, str) for r in value):
        return value
    raise MessageError("rooms must be a list of strings or null")


def names_field(value: Any) -> list[str]:
    """A ``skip``/``new_rooms``/``old_rooms`` field: a list of strings."""
    if isinstance(value, list) and all(isinstance(r, str) for r in value):
        return value
    raise MessageError("expected a list of strings")
