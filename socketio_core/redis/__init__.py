"""Scale-out over Redis: the adapter that joins servers into a cluster, the
recovery log that any of them can restore from, and the write-only
:class:`Emitter` for processes that are not servers (the ``redis`` extra).

The names load lazily: a process that only emits (``Emitter``) imports the
message codec alone, never the adapter, gevent or the server.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ._adapter import RedisAdapter, redact
    from ._emitter import RESERVED_EVENTS, BroadcastOperator, Emitter

__all__ = ["RedisAdapter", "redact", "Emitter", "BroadcastOperator", "RESERVED_EVENTS"]

_HOMES = {
    "RedisAdapter": "._adapter",
    "redact": "._adapter",
    "Emitter": "._emitter",
    "BroadcastOperator": "._emitter",
    "RESERVED_EVENTS": "._emitter",
}


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    return getattr(import_module(home, __name__), name)
