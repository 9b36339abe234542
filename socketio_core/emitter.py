"""The import path users already have for :class:`~socketio_core.redis.Emitter`.

The emitter needs no server and no gevent: it imports only the message codec.
"""

from .redis._emitter import RESERVED_EVENTS, BroadcastOperator, Emitter

__all__ = ["Emitter", "BroadcastOperator", "RESERVED_EVENTS"]
