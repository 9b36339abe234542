"""The exceptions an application raises or catches, where python-socketio keeps them.

``import socketio_core as socketio`` then ``socketio.exceptions.ConnectionRefusedError``
works as it does with python-socketio. Nothing is defined here; the names are
the package's own:

- :class:`ConnectionRefusedError`: raise it in a connect handler or middleware;
- :class:`NotSerializableError` (a :class:`TypeError`): data an emit, a call
  or an ack cannot encode, raised at the call;
- :class:`TimeoutError` (the built-in): ``call`` got no ack in time;
- :class:`SocketIOError`: the base of the protocol core's errors
  (:class:`LocalSocketIOError`, :class:`RemoteSocketIOError`). Unlike
  python-socketio's, ``ConnectionRefusedError`` does not derive from it.
"""

from __future__ import annotations

from builtins import TimeoutError

from .protocol._errors import LocalSocketIOError, NotSerializableError, RemoteSocketIOError, SocketIOError
from .server._registry import ConnectionRefusedError

__all__ = [
    "ConnectionRefusedError",
    "NotSerializableError",
    "TimeoutError",
    "SocketIOError",
    "LocalSocketIOError",
    "RemoteSocketIOError",
]
