"""The server side of one WebSocket connection (RFC 6455).

Strategy: the opening handshake of a plain request read by our fast HTTP
parser is answered by :mod:`._ws_handshake`; anything else goes to wsproto's
``H11Handshake`` (taking the request already parsed), which is the judge of
every refusal and of the permessage-deflate offer. After the 101 the frames
are ours (what they mean is :class:`.._ws_conn.FramedWebSocket`'s, shared
with every driver): :class:`.._frames.FrameReader` validates incoming ones (masking,
control frames, fragmentation, UTF-8, sizes) and outgoing data frames are
built directly (unmasked, so a broadcast can share them). When
permessage-deflate was agreed, :class:`.._deflate.MessageDeflate` inflates
the messages that arrive compressed and compresses the large ones we send.
Messages larger than ``max_message_size`` are refused while they are being
read, before they are assembled, and a compressed one stops inflating at that
size (close code 1009).

Fairness: a reacting WebSocket (read from the hub) hands over at most
``TURN_MESSAGES`` messages per loop turn, from at most one read; the rest
waits in the frame reader for the next turn (a zero-delay timer), and the
socket is not read meanwhile, so a flooding client is held back by TCP and
not by our memory. A reader greenlet (TLS, whose decrypted bytes may wait
inside the SSL object with no readability event) yields one loop turn after
as many messages.
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Iterable, Protocol

from gevent import get_hub

from engineio import Wire

from .._deflate import MessageDeflate
from .._request import ClientGone, HttpRequest
from .._ws_conn import FramedWebSocket
from .._ws_handshake import HandshakeFailed, refusal_response, upgrade_response
from ._http import HttpConnection, plain_socket_of
from ._turns import TURN_MESSAGES
from ._turns import next_turn as _next_turn

__all__ = [
    "WebSocket", "accept_websocket", "websocket_response", "start_websocket", "reject_websocket",
    "HandshakeFailed", "TURN_MESSAGES",
]

log = logging.getLogger(__name__)

# Client frames are small; a 64 KB recv buffer costs a larger allocation per read.
_READ_SIZE = 16384


def websocket_response(
    http: HttpConnection, request: HttpRequest, *, compression: bool
) -> tuple[bytes, MessageDeflate | None]:
    """Judge an upgrade request (:func:`transports._ws_handshake.upgrade_response`).

    The fast handshake applies to a plain request that our own fast HTTP
    parser read (``http.h11`` is None on an :class:`HttpConnection`).
    Raises HandshakeFailed (the caller answers 400).
    """
    fast = type(http) is HttpConnection and http.h11 is None
    return upgrade_response(request, fast=fast, compression=compression)


def start_websocket(
    http: HttpConnection, deflate: MessageDeflate | None, *, max_message_size: int
) -> "WebSocket":
    """The WebSocket over ``http``'s connection, once the 101 has been written.

    ``deflate`` is what :func:`websocket_response` returned.
    """
    ws = WebSocket(http.sock, deflate, max_message_size=max_message_size)
    ws.feed(http.take_over())
    return ws


def accept_websocket(
    http: HttpConnection, request: HttpRequest, *, max_message_size: int, compression: bool
) -> "WebSocket":
    """Answer the upgrade with 101 and return the WebSocket.

    Raises HandshakeFailed (the caller answers 400) or ClientGone.
    """
    data, deflate = websocket_response(http, request, compression=compression)
    http.write_raw(data)
    return start_websocket(http, deflate, max_message_size=max_message_size)


class WsHandler(Protocol):
    """What a reacting WebSocket hands its messages and its end to (an Engine.IO session)."""

    def on_ws_message(self, message: Wire) -> None: ...

    def on_ws_end(self) -> None: ...


class WebSocket(FramedWebSocket):
    """One server-side WebSocket after the 101, on a gevent socket.

    What frames mean is :class:`~transports._ws_conn.FramedWebSocket`'s;
    here they are read (from the hub, or by a reader greenlet) and written.
    """

    __slots__ = ("sock", "_io", "_raw", "_handler", "_release", "_then", "_later", "_turn")

    def __init__(
        self, sock: Any, deflate: MessageDeflate | None = None, *, max_message_size: int
    ) -> None:
        super().__init__(deflate, max_message_size=max_message_size)
        self.sock = sock
        #: Event-driven reading (:meth:`react`): the socket's read watcher, the
        #: plain socket under gevent's, and who hears of messages and the end
        #: (objects, not callbacks: a bound method or a closure per idle
        #: connection was ~0.4 KB, issue 19).
        self._io: Any = None
        self._raw: Any = None
        self._handler: WsHandler | None = None
        self._release: HttpConnection | None = None
        self._then: Callable[[], None] | None = None
        #: Reacting: the zero-delay timer that resumes a turn cut short by the budget.
        self._later: Any = None
        #: Reader greenlet: messages left before it yields a loop turn.
        self._turn = TURN_MESSAGES

    def receive(self) -> Wire | None:
        """The next complete message; None once the connection is over.

        Every ``TURN_MESSAGES`` messages it first yields one loop turn: under
        TLS a flooding client's records keep ``recv`` answering without ever
        waiting, so without this the reader greenlet would never let the
        hub serve anyone else.
        """
        reader = self.reader
        self._turn -= 1
        if not self._turn:
            self._turn = TURN_MESSAGES
            if getattr(self.sock, "_read_event", None) is not None:  # a gevent socket
                _next_turn()
        recv = _readable_then_recv(self.sock)
        while True:
            message = self._next_data()
            if message is not None or self.closed:
                return message
            try:
                data = recv(_READ_SIZE)
            except OSError:
                data = b""
            if not data:
                self._shutdown()
                return None
            reader.feed(data)
            data = b""  # an idle connection must not keep its last read alive

    # ------------------------------------------------ event-driven reading

    @property
    def can_react(self) -> bool:
        """Whether :meth:`react` works here: a plain gevent socket (not TLS)."""
        return plain_socket_of(self.sock) is not None and self.sock.timeout is None

    def react(
        self, handler: WsHandler, *, release: HttpConnection | None = None,
        then: Callable[[], None] | None = None,
    ) -> None:
        """Read from the hub: ``handler.on_ws_message(data)`` per message, then at the end
        ``handler.on_ws_end()``, ``release.released()`` and ``then()`` (each if given), once.

        No greenlet waits on the connection: the socket's own read watcher
        calls :meth:`_on_readable` in the hub, which reads what is there and
        hands every complete message over before returning. That saves two
        greenlet switches and a watcher start/stop per message over a
        reader greenlet, and the greenlet's saved stack per idle connection.
        ``on_ws_message`` must not block (it runs in the hub); application
        handlers belong on worker greenlets. Only when :attr:`can_react`.
        """
        self._handler = handler
        self._release = release
        self._then = then
        self._raw = plain_socket_of(self.sock)
        self._io = self.sock._read_event
        # Bytes that came with the handshake, or before an upgrade.
        if self._take_messages():
            self._io.start(self._on_readable)

    def _on_readable(self) -> None:
        try:
            data = self._raw.recv(_READ_SIZE)
        except BlockingIOError:  # a spurious wake-up
            return
        except OSError:
            data = b""
        if not data:
            self._shutdown()
            return
        reader = self.reader
        text = reader.single_text(data)
        if text is not None:  # the common read: one whole text message
            self._deliver(text)
            return
        reader.feed(data)
        del data  # an idle connection must not keep its last read alive
        self._take_messages()

    def _take_messages(self) -> bool:
        """Hand over the buffered messages, at most ``TURN_MESSAGES`` this turn.

        True when all are taken (the socket may be read again); False when
        the connection ended, or when the budget ran out: then the read
        watcher is stopped and a zero-delay timer takes the rest on the next
        loop turn, after the hub has polled every other socket.
        """
        budget = TURN_MESSAGES
        while budget:
            message = self._next_data()
            if message is None:
                return not self.closed
            self._deliver(message)
            budget -= 1
        if self.closed:
            return False
        self._io.stop()
        later = self._later
        if later is None:
            later = self._later = get_hub().loop.timer(0.0)
        later.start(self._on_later)
        return False

    def _on_later(self) -> None:
        """The next turn of a budget-cut read: more messages, then reading again once none wait."""
        if not self.closed and self._take_messages():
            self._io.start(self._on_readable)

    def _deliver(self, message: Wire) -> None:
        try:
            self._handler.on_ws_message(message)  # type: ignore[union-attr]
        except Exception:
            log.exception("WebSocket message handler failed")

    def throw(self, *exc_info: Any) -> None:
        """gevent cancels a closing socket's active watcher by throwing into its callback's owner."""
        self._shutdown()

    def try_send(self, data: bytes) -> bytes:
        """Write what the socket takes *now*; return the rest (b"" when all went).

        Never blocks, so one slow client cannot stall a broadcast to others.
        Raises OSError/ClientGone when the connection is gone.
        """
        if self.closed:
            raise ClientGone("WebSocket closed")
        try:
            raw = self._raw
            if raw is not None:  # reacting: the plain non-blocking socket, no wrapper
                sent = raw.send(data)
            else:
                sent = self.sock.send(data, 0, 0.0)  # gevent: timeout 0 means "don't wait"
        except BlockingIOError:
            return data
        except TypeError:  # not a gevent socket: a blocking write is all we have
            self._send_all(data)
            return b""
        if sent < len(data):
            self._torn = True  # until send_blocking has written the rest
            return data[sent:]
        return b""

    def send_frame_now(self, frame: bytes) -> bytes | None:
        """Write a ready frame on the plain socket without waiting: what it did not take, or None.

        None (nothing written) unless the connection is read from the hub (the
        plain non-blocking socket is at hand), uncompressed, and no torn write
        owns the socket; also when the socket takes nothing now (or fails: the
        general path then finds it out and ends the session). b"" when all
        went; else the rest, and the connection is torn until
        :meth:`send_blocking` writes it.
        """
        raw = self._raw
        if raw is None or self._torn or self.closed or self.deflate is not None:
            return None
        try:
            sent: int = raw.send(frame)
        except OSError:  # BlockingIOError too: nothing was written
            return None
        if sent < len(frame):
            self._torn = True
            return frame[sent:]
        return b""

    def send_blocking(self, data: bytes) -> None:
        """Write everything, waiting as long as it takes (the backlog writer's path)."""
        if self.closed:
            raise ClientGone("WebSocket closed")
        self._torn = True
        self.sock.sendall(data)
        self._torn = False

    def send(self, items: Iterable[Wire]) -> None:
        """Write messages, one frame each, in one write. Raises OSError/ClientGone."""
        if self.closed:
            raise ClientGone("WebSocket closed")
        self._send_all(self.encode(list(items)))

    def _send_all(self, data: bytes) -> None:
        # One send() usually takes everything; gevent's sendall costs a
        # getsockopt() and a memoryview loop per call, so it is the fallback.
        sent = self.sock.send(data)
        if sent < len(data):
            self.sock.sendall(data[sent:])

    def _write(self, data: bytes) -> None:
        """Write a control frame (pong, close) only if it can go out now, whole.

        Never waits: the caller may be this connection's reader, a handler or
        the scheduler, and a peer that stopped reading must stall none of them.
        While the backlog writer owns the socket, or when the socket takes
        nothing, the frame is dropped; a frame taken only in part would leave a
        torn frame on the wire, so the connection is dropped instead.
        """
        if self._torn or self.closed:
            return
        try:
            sent = self.sock.send(data, 0, 0.0)  # gevent: timeout 0 means "don't wait"
        except BlockingIOError:
            return
        except TypeError:  # not a gevent socket: a blocking write is all we have
            try:
                self._send_all(data)
            except OSError:
                self._shutdown()
            return
        except OSError:
            self._shutdown()
            return
        if sent < len(data):
            self._shutdown()

    def _shutdown(self) -> None:
        if self.closed:
            return
        self.closed = True
        io = self._io
        if io is not None:
            io.stop()
        if self._later is not None:
            self._later.stop()
        try:
            self.sock.shutdown(2)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass
        handler, release, then = self._handler, self._release, self._then
        self._handler = self._release = self._then = None
        try:
            if handler is not None:
                handler.on_ws_end()
            if release is not None:
                release.released()
            if then is not None:
                then()
        except Exception:
            log.exception("WebSocket end handler failed")


def _readable_then_recv(sock: Any) -> Any:
    """A recv that waits for readability *before* the system call.

    gevent's ``recv`` tries the call first; on an idle connection that is a
    failed system call and a raised exception per message. Waiting on the
    socket's own watcher first costs nothing extra (the hub polls anyway).
    Falls back to the plain ``recv`` for sockets without gevent's internals.
    """
    wait = getattr(sock, "_wait", None)
    raw = plain_socket_of(sock)
    if wait is None or raw is None or sock.timeout is not None:
        return sock.recv
    event = sock._read_event
    raw_recv = raw.recv

    def recv(size: int) -> bytes:
        wait(event)
        try:
            return raw_recv(size)  # type: ignore[no-any-return]
        except BlockingIOError:  # a spurious wake-up
            return sock.recv(size)  # type: ignore[no-any-return]

    return recv


def reject_websocket(http: HttpConnection, status: int, message: str) -> None:
    """Refuse an upgrade the way the reference server does (plain text, then close)."""
    try:
        http.write_raw(refusal_response(status, message))
    except ClientGone:
        pass
