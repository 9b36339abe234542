"""The import path users already have for :class:`~socketio_core.redis.RedisAdapter`."""

from .redis import RedisAdapter, redact

__all__ = ["RedisAdapter", "redact"]
