"""Errors of the Socket.IO protocol core, split by blame.

A :class:`RemoteSocketIOError` means the peer sent something Socket.IO v5
forbids; the reference server answers every such error the same way (it
closes the whole Engine.IO connection, PROTOCOL.md 2.5), so the only hint the
I/O layer needs is a short ``reason`` to log. A :class:`LocalSocketIOError`
means our own code asked for something the protocol cannot express (an ACK
without an id, a namespace containing ``,``...): a bug on our side, never
something to answer on the wire.

The names say "Socket.IO" because :mod:`engineio` has its own blame-split
family (``ProtocolError``, ``LocalProtocolError``, ``RemoteProtocolError``)
with other attributes: one name, one class, across the project.
"""

from __future__ import annotations

import re

__all__ = [
    "SocketIOError",
    "LocalSocketIOError",
    "RemoteSocketIOError",
    "NotSerializableError",
    "not_serializable",
]


class SocketIOError(Exception):
    """Base class of every error the Socket.IO core raises on purpose."""


class LocalSocketIOError(SocketIOError):
    """Our side tried to build or send something the protocol does not allow."""


class RemoteSocketIOError(SocketIOError):
    """The peer sent data that breaks the Socket.IO v5 protocol.

    ``reason`` is a short, single-line description fit for a log line; it
    never embeds the offending payload, which may be large or hostile.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class NotSerializableError(LocalSocketIOError, TypeError):
    """Data given to an emit, a call or an ack that the parser cannot encode.

    Also a :class:`TypeError`, as python-socketio and Flask-SocketIO raise
    (``socketio_core.exceptions.NotSerializableError``). Raised where the data
    is handed in (the emit call, in the caller's thread), never later in the
    hub. ``type_name`` names the offending value's type when the codec said it
    (``"datetime"``); the message reads ``data is not JSON-serialisable: datetime``.
    """

    def __init__(self, codec: str, detail: str, type_name: str | None = None) -> None:
        super().__init__(f"data is not {codec}-serialisable: {type_name or detail}")
        self.codec = codec
        self.type_name = type_name


_TYPE_NAME = re.compile(r"(?:Object of type|Type is not (?:JSON|msgpack) serializable:|can not serialize) '?([\w.]+)'?")


def not_serializable(codec: str, exc: BaseException) -> NotSerializableError:
    """The :class:`NotSerializableError` for a codec's exception, naming the type when it can."""
    detail = str(exc)
    match = _TYPE_NAME.search(detail)
    return NotSerializableError(codec, detail, match.group(1) if match else None)
