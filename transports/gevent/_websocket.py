"""The server side of one WebSocket connection (RFC 6455), on wsproto.

Strategy: the opening handshake of a plain request read by our fast HTTP
parser is answered by :mod:`._ws_handshake`; anything else goes to wsproto
(taking the request already parsed plus the bytes read past it), which is also
the judge of every refusal and of permessage-deflate. wsproto validates
incoming frames: masking, control frames, fragmentation, UTF-8, the close
handshake. Outgoing data frames are built directly by :mod:`._frames`
(unmasked, so a broadcast can share them), except when permessage-deflate
is negotiated, which needs wsproto's compressor. Messages larger than
``max_message_size`` are refused while they are being read, before they are
assembled (close code 1009).
"""

from __future__ import annotations

import logging
from typing import Any, Callable, Iterable

from wsproto import ConnectionType
from wsproto.connection import Connection, ConnectionState
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Ping,
    Request,
    TextMessage,
)
from wsproto.extensions import PerMessageDeflate
from wsproto.handshake import H11Handshake
from wsproto.utilities import LocalProtocolError as WsLocalError
from wsproto.utilities import RemoteProtocolError as WsRemoteError

from engineio import Wire

from .._frames import OP_BINARY, OP_CLOSE, OP_PING, OP_PONG, OP_TEXT, FrameError, FrameReader, build_frame, frame_of
from .._request import ClientGone, HttpRequest, status_phrase
from ._http import HttpConnection, plain_socket_of
from .._ws_handshake import HandshakeFailed, plain_upgrade_response

__all__ = [
    "WebSocket", "accept_websocket", "websocket_response", "start_websocket", "reject_websocket",
    "HandshakeFailed",
]

log = logging.getLogger(__name__)

# Client frames are small; a 64 KB recv buffer costs a larger allocation per read.
_READ_SIZE = 16384
MESSAGE_TOO_BIG = 1009
PROTOCOL_ERROR = 1002


def websocket_response(
    http: HttpConnection, request: HttpRequest, *, compression: bool
) -> tuple[bytes, Connection | None]:
    """Judge an upgrade request: the 101 response to write, and wsproto's connection.

    A plain request that our own fast HTTP parser read (``http.h11`` is None
    on an :class:`HttpConnection`: HTTP/1.1, a grammar h11 accepts) is
    answered by :mod:`._ws_handshake` and the connection is None (our frame
    reader takes over). Everything else, and every refusal, is wsproto's
    ``H11Handshake``: a WSGI server's request, an h11-parsed head,
    permessage-deflate, subprotocols. Nothing is written here.

    Raises HandshakeFailed (the caller answers 400).
    """
    if type(http) is HttpConnection and http.h11 is None:
        response = plain_upgrade_response(request.method, request.headers, compression=compression)
        if response is not None:
            return response, None
    handshake = H11Handshake(ConnectionType.SERVER)
    try:
        handshake.initiate_upgrade_connection(request.headers, request.target)
        event = next(handshake.events(), None)
    except (WsRemoteError, WsLocalError) as exc:
        raise HandshakeFailed(str(exc)) from None
    if not isinstance(event, Request):
        raise HandshakeFailed("not a WebSocket handshake")
    extensions = [PerMessageDeflate()] if compression else []
    try:
        data = handshake.send(AcceptConnection(extensions=extensions))  # type: ignore[arg-type]
    except (WsLocalError, WsRemoteError) as exc:
        raise HandshakeFailed(str(exc)) from None
    conn = handshake.connection
    assert conn is not None
    return data, conn


def start_websocket(
    http: HttpConnection, conn: Connection | None, *, max_message_size: int
) -> "WebSocket":
    """The WebSocket over ``http``'s connection, once the 101 has been written.

    ``conn`` is what :func:`websocket_response` returned; None means our own
    frame reader (the WebSocket then holds no wsproto state either).
    """
    ws = WebSocket(http.sock, conn, max_message_size=max_message_size)  # type: ignore[arg-type]
    ws.feed(http.take_over())
    return ws


def accept_websocket(
    http: HttpConnection, request: HttpRequest, *, max_message_size: int, compression: bool
) -> "WebSocket":
    """Answer the upgrade with 101 and return the WebSocket.

    Raises HandshakeFailed (the caller answers 400) or ClientGone.
    """
    data, conn = websocket_response(http, request, compression=compression)
    http.write_raw(data)
    return start_websocket(http, conn, max_message_size=max_message_size)


class WebSocket:
    """One server-side WebSocket after the 101.

    Without extensions, frames are read by :class:`FrameReader` and written
    as prebuilt bytes; with permessage-deflate, wsproto does both.
    """

    __slots__ = (
        "sock", "conn", "reader", "deflate", "closed", "close_code", "_pending", "max_message_size",
        "_torn", "_io", "_raw", "_on_message", "_on_end",
    )

    def __init__(self, sock: Any, conn: Connection, *, max_message_size: int) -> None:
        self.sock = sock
        self.conn = conn
        self.max_message_size = max_message_size
        self.deflate = bool(getattr(conn, "_extensions", None))
        self.reader: FrameReader | None = None if self.deflate else FrameReader(max_message_size)
        if not self.deflate:
            self.conn = None  # type: ignore[assignment]  # frames are ours; release wsproto's state
        self.closed = False
        self.close_code: int | None = None
        self._pending: list[str | bytes] = []
        #: A write is only partly on the wire and the backlog writer owns the
        #: rest: no other frame may be written before it ends, or it would land
        #: inside that one (and a second greenlet waiting on the socket raises).
        self._torn = False
        #: Event-driven reading (:meth:`react`): the socket's read watcher, the
        #: plain socket under gevent's, and the owner's callbacks.
        self._io: Any = None
        self._raw: Any = None
        self._on_message: Callable[[Wire], None] | None = None
        self._on_end: Callable[[], None] | None = None

    def feed(self, data: bytes) -> None:
        if data:
            if self.reader is not None:
                self.reader.feed(data)
            else:
                self.conn.receive_data(data)

    def receive(self) -> Wire | None:
        """The next complete message; None once the connection is over."""
        reader = self.reader
        if reader is None:
            return self._receive_wsproto()
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

    def _next_data(self) -> Wire | None:
        """The next data message already buffered, acting on control frames before it.

        None when more bytes are needed or the connection ended (a protocol
        error closes it, a close frame is answered).
        """
        reader = self.reader
        assert reader is not None
        while not self.closed:
            try:
                message = reader.next_message()
            except FrameError as exc:
                log.info("WebSocket protocol error: %s", exc.reason)
                self.close(exc.code, exc.reason)
                return None
            if message is None:
                return None
            opcode, payload = message
            if opcode == OP_TEXT or opcode == OP_BINARY:
                return payload
            if opcode == OP_PING:
                self._write(build_frame(OP_PONG, payload))  # type: ignore[arg-type]
            elif opcode == OP_CLOSE:
                self._on_close_frame(payload)  # type: ignore[arg-type]
        return None

    # ------------------------------------------------ event-driven reading

    @property
    def can_react(self) -> bool:
        """Whether :meth:`react` works here: our frame reader over a plain gevent socket."""
        return (
            self.reader is not None
            and plain_socket_of(self.sock) is not None
            and self.sock.timeout is None
        )

    def react(self, on_message: Callable[[Wire], None], on_end: Callable[[], None]) -> None:
        """Read from the hub: ``on_message(data)`` per message, ``on_end()`` once at the end.

        No greenlet waits on the connection: the socket's own read watcher
        calls :meth:`_on_readable` in the hub, which reads what is there and
        hands every complete message over before returning. That saves two
        greenlet switches and a watcher start/stop per message over a
        reader greenlet, and the greenlet's saved stack per idle connection.
        ``on_message`` must not block (it runs in the hub); application
        handlers belong on worker greenlets. Only when :attr:`can_react`.
        """
        self._on_message = on_message
        self._on_end = on_end
        self._raw = plain_socket_of(self.sock)
        self._io = self.sock._read_event
        self._take_messages()  # bytes that came with the handshake, or before an upgrade
        if not self.closed:
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
        assert reader is not None
        text = reader.single_text(data)
        if text is not None:  # the common read: one whole text message
            self._deliver(text)
            return
        reader.feed(data)
        del data  # an idle connection must not keep its last read alive
        self._take_messages()

    def _take_messages(self) -> None:
        while True:
            message = self._next_data()
            if message is None:
                return
            self._deliver(message)

    def _deliver(self, message: Wire) -> None:
        try:
            self._on_message(message)  # type: ignore[misc]
        except Exception:
            log.exception("WebSocket message handler failed")

    def throw(self, *exc_info: Any) -> None:
        """gevent cancels a closing socket's active watcher by throwing into its callback's owner."""
        self._shutdown()

    def _on_close_frame(self, payload: bytes) -> None:
        code = 1005
        if len(payload) >= 2:
            code = int.from_bytes(payload[:2], "big")
        self.close_code = code
        if len(payload) == 1:
            reply = build_frame(OP_CLOSE, (1002).to_bytes(2, "big"))
        else:
            reply = build_frame(OP_CLOSE, payload[:2])
        self._write(reply)
        self._shutdown()

    def _receive_wsproto(self) -> Wire | None:
        parts = self._pending
        size = sum(len(p) for p in parts)
        while not self.closed:
            try:
                for event in self.conn.events():
                    if isinstance(event, (TextMessage, BytesMessage)):
                        parts.append(bytes(event.data) if isinstance(event, BytesMessage) else event.data)
                        size += len(event.data)
                        if size > self.max_message_size:
                            self.close(MESSAGE_TOO_BIG, "message too big")
                            return None
                        if event.message_finished:
                            self._pending = []
                            if isinstance(event, TextMessage):
                                return "".join(parts)  # type: ignore[arg-type]
                            return b"".join(parts)  # type: ignore[arg-type]
                    elif isinstance(event, Ping):
                        self._write(self.conn.send(event.response()))
                    elif isinstance(event, CloseConnection):
                        self.close_code = event.code
                        if self.conn.state is ConnectionState.REMOTE_CLOSING:
                            self._write(self.conn.send(event.response()))
                        self._shutdown()
                        return None
            except WsRemoteError as exc:
                log.info("WebSocket protocol error: %s", exc)
                self.close(PROTOCOL_ERROR, "protocol error")
                return None
            try:
                data = self.sock.recv(_READ_SIZE)
            except OSError:
                data = b""
            if not data:
                self._shutdown()
                return None
            self.conn.receive_data(data)
        return None

    def encode(self, items: list[Wire]) -> bytes:
        """The bytes of ``items``, one frame per message."""
        if self.deflate:
            return b"".join(
                self.conn.send(TextMessage(data=i) if isinstance(i, str) else BytesMessage(data=i))
                for i in items
            )
        if len(items) == 1:
            return frame_of(items[0])
        return b"".join([frame_of(i) for i in items])

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
        if self.deflate:
            data = b"".join(
                self.conn.send(TextMessage(data=i) if isinstance(i, str) else BytesMessage(data=i))
                for i in items
            )
        else:
            data = b"".join([frame_of(i) for i in items])
        self._send_all(data)

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

    def close(self, code: int = 1000, reason: str = "") -> None:
        """Send a close frame (if the connection is still open) and drop the connection."""
        if self.closed:
            return
        if self.deflate:
            try:
                if self.conn.state is ConnectionState.OPEN:
                    self._write(self.conn.send(CloseConnection(code=code, reason=reason)))
            except WsLocalError:
                pass
        else:
            self._write(build_frame(OP_CLOSE, code.to_bytes(2, "big") + reason.encode("utf-8")[:120]))
        self._shutdown()

    def _shutdown(self) -> None:
        if self.closed:
            return
        self.closed = True
        io = self._io
        if io is not None:
            io.stop()
        try:
            self.sock.shutdown(2)
        except OSError:
            pass
        try:
            self.sock.close()
        except OSError:
            pass
        on_end, self._on_end, self._on_message = self._on_end, None, None
        if on_end is not None:
            try:
                on_end()
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
    body = message.encode()
    head = (
        f"HTTP/1.1 {status} {status_phrase(status).decode()}\r\nConnection: close\r\n"
        f"Content-type: text/html\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode()
    try:
        http.write_raw(head + body)
    except ClientGone:
        pass

