"""The one base class of the errors the transports raise on purpose.

Each names what went wrong at the I/O edge (a frame that breaks RFC 6455, a
handshake that is not one, a client gone or misbehaving, a body over its
limit) and carries what the driver needs to answer; a driver can catch the
whole family with :class:`TransportError`. The protocol layers' errors are
separate families (:class:`engineio.ProtocolError`,
:class:`socketio_core.protocol.SocketIOError`).
"""

from __future__ import annotations

__all__ = ["TransportError"]


class TransportError(Exception):
    """Base class of :class:`FrameError`, :class:`HandshakeFailed`, :class:`ClientGone`, :class:`BodyTooLarge`."""
