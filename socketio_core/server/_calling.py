"""How a handler wants to be called: the arity rule shared by the server and Flask.

Handlers may declare fewer parameters than the server could pass
(``connect(sid)`` instead of ``connect(sid, environ, auth)``), as
python-socketio allows. The server and the Flask integration both ask this
one function, so they agree on what "takes the auth argument" means.
"""

from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

__all__ = ["positional_count", "takes_ack", "VARIADIC"]

#: What :func:`positional_count` answers for ``*args`` or an uninspectable callable.
VARIADIC = 99


@functools.lru_cache(maxsize=1024)
def positional_count(fn: Callable[..., Any]) -> int:
    """How many positional arguments ``fn`` takes (:data:`VARIADIC` for ``*args``).

    Cached: handlers are few and called often. A callable whose signature
    cannot be read (some builtins) is treated as taking anything.
    """
    try:
        params = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return VARIADIC
    count = 0
    for p in params:
        if p.kind is p.VAR_POSITIONAL:
            return VARIADIC
        if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD):
            count += 1
    return count


@functools.lru_cache(maxsize=1024)
def takes_ack(fn: Callable[..., Any]) -> bool:
    """Whether ``fn`` declares a keyword-only ``ack`` parameter (``def h(sid, data, *, ack)``).

    Such a handler answers the client itself, through the
    :class:`~socketio_core.server.Ack` it is given, now, later or never;
    its return value is not sent. Keyword-only, so that it can never take
    one of the event's arguments by position.
    """
    try:
        param = inspect.signature(fn).parameters.get("ack")
    except (TypeError, ValueError):
        return False
    return param is not None and param.kind is param.KEYWORD_ONLY
