"""One Engine.IO session over asyncio connections: :class:`EngineSocket`.

The session logic (sending, the pump, what each event means, the WebSocket
and upgrade steps) is shared with every driver
(:class:`transports._esocket.EngineSocketBase`); this module adds how
WebSocket output reaches an asyncio WebSocket: the WebSocket takes the
session's frames (:meth:`write_frames`) and says whether a writer is still
busy with them; a busy writer calls :meth:`EngineSocket.writer_done` when it
can take more, and meanwhile new packets wait in the session's bounded
buffer, so a client that never catches up is dropped as a slow consumer.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable, Protocol

from engineio import CloseReason, Session, State, Wire

from .._esocket import EngineSocketBase, PollWaiter
from .._request import ClientGone

if TYPE_CHECKING:
    from ._engine import EngineServer

__all__ = ["EngineSocket", "PollWaiter", "AsyncWebSocket"]


class AsyncWebSocket(Protocol):
    """What a session needs of the asyncio driver's WebSockets (ours, or an ASGI server's)."""

    closed: bool

    async def receive(self) -> Wire | None: ...

    def send(self, items: Iterable[Wire]) -> None: ...

    def close(self, code: int = 1000, reason: str = "") -> None: ...

    def write_frames(self, esock: "EngineSocket") -> bool: ...


class EngineSocket(EngineSocketBase):
    """One live Engine.IO session and the asyncio connection(s) currently carrying it."""

    __slots__ = ()
    server: "EngineServer"
    ws: Any
    probe: Any

    def _flush_ws(self) -> None:
        if self._flushing:
            return  # a writer is busy; it picks the new packets up
        session: Session = self.session
        self._flushing = True
        try:
            busy = self.ws.write_frames(self)
        except (OSError, ClientGone):
            session.transport_closed(CloseReason.TRANSPORT_ERROR)
            busy = False
        if busy:
            return  # the writer calls writer_done
        self._flushing = False
        if session.state is State.CLOSED:
            self.pump()

    def writer_done(self, failed: bool = False) -> None:
        """The WebSocket's writer took everything it had: more may be written (or it failed)."""
        if failed:
            self.session.transport_closed(CloseReason.TRANSPORT_ERROR)
        self._flushing = False
        self.pump()
