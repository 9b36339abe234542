"""``socketio.test_client(app)``: a Socket.IO client for tests, in memory, through the real stack.

Strategy: no network and no patched send function. The client opens a
connected pair of sockets (``socketpair``: kernel memory, no port) and hands
one end to the server's own :class:`transports.Server` connection loop,
exactly like an accepted TCP connection; on its end it speaks HTTP and
WebSocket with wsproto's client (the upgrade request carries the query
string, the headers and the Flask test client's cookies), then Engine.IO v4
(open packet, pongs) and Socket.IO v5 with this package's codec. So h11, the
WebSocket handshake and frames, :class:`engineio.Session`, the Socket.IO
connection state machine and the Flask dispatch all run as in production.

Handlers run in the server's worker greenlets, so the calls of this client
wait until the server is quiet before they return: no unread bytes on either
end of the pair, no task queued or running in the worker pool (bounded by
``timeout``). That makes it as synchronous as Flask-SocketIO's test client:
after ``emit`` returns, the handler has run and what it sent is in
:meth:`get_received`. Work handed over from another OS thread is seen once
that thread is done (join it first).
"""

from __future__ import annotations

import itertools
import json
from time import monotonic
from typing import TYPE_CHECKING, Any, Callable

import gevent
import gevent.lock
import gevent.socket
from gevent import monkey
from gevent.event import AsyncResult, Event
from werkzeug.test import EnvironBuilder
from wsproto import ConnectionType, WSConnection
from wsproto.events import (
    AcceptConnection,
    BytesMessage,
    CloseConnection,
    Message,
    Ping,
    RejectConnection,
    RejectData,
    Request,
    TextMessage,
)

from transports import HttpConnection

from ..protocol._decoder import PacketDecoder
from ..protocol._errors import LocalSocketIOError
from ..protocol._encoder import encode_packet
from ..protocol._packets import Packet, PacketType

if TYPE_CHECKING:
    import flask

    from . import SocketIO

__all__ = ["SocketIOTestClient"]

_select = monkey.get_original("select", "select")


def _readable(sock: Any) -> bool:
    try:
        fileno = sock.fileno()
        if fileno < 0:
            return False
        return bool(_select([fileno], [], [], 0)[0])
    except (OSError, ValueError):
        return False


def _as_type_error(exc: BaseException) -> BaseException:
    """Data that cannot be serialised raises TypeError, as with Flask-SocketIO."""
    if isinstance(exc, TypeError):
        return exc
    if isinstance(exc, LocalSocketIOError) and isinstance(exc.__cause__, (TypeError, ValueError)):
        error = TypeError(str(exc))
        error.__cause__ = exc
        return error
    return exc


class _Pipe:
    """One Engine.IO connection over WebSocket, on a socket pair served by the server."""

    def __init__(self, client: "SocketIOTestClient", target: str, headers: list[tuple[str, str]]) -> None:
        self.client = client
        server = client.socketio._server()
        server_end, self.sock = gevent.socket.socketpair()
        self.server_end = server_end
        http_server = server.http_server()
        self.limits = http_server.limits
        self.serving = gevent.spawn(self._serve, http_server, server_end)
        self.ws = WSConnection(ConnectionType.CLIENT)
        self.lock = gevent.lock.RLock()
        self.accepted: AsyncResult[bool] = AsyncResult()
        self.opened = Event()
        self.closed = False
        self.reject_status: int | None = None
        self.reject_body = b""
        self.eio_sid: str | None = None
        self._parts: list[Any] = []
        self.reader = gevent.spawn(self._read)
        self._write(self.ws.send(Request(
            host="localhost",
            target=target,
            extra_headers=[(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers],
        )))

    @staticmethod
    def _serve(http_server: Any, sock: Any) -> None:
        http = HttpConnection(sock, ("127.0.0.1", 0), http_server.limits)
        try:
            http_server.serve_connection(http)
        finally:
            http.close()

    def _write(self, data: bytes) -> None:
        if not data:
            return
        with self.lock:
            try:
                self.sock.sendall(data)
            except OSError:
                self._gone()

    def send_text(self, text: str) -> None:
        self._write(self.ws.send(Message(data=text)))

    def send_bytes(self, data: bytes) -> None:
        self._write(self.ws.send(Message(data=data)))

    def _read(self) -> None:
        try:
            while True:
                try:
                    data = self.sock.recv(65536)
                except OSError:
                    data = b""
                if not data:
                    self.ws.receive_data(None)
                else:
                    self.ws.receive_data(data)
                for event in self.ws.events():
                    self._on_event(event)
                if not data:
                    return
        finally:
            self._gone()

    def _on_event(self, event: Any) -> None:
        if isinstance(event, AcceptConnection):
            self.accepted.set(True)
        elif isinstance(event, RejectConnection):
            self.reject_status = event.status_code
            if not event.has_body:
                self.accepted.set(False)
        elif isinstance(event, RejectData):
            self.reject_body += bytes(event.data)
            if event.body_finished:
                self.accepted.set(False)
        elif isinstance(event, (TextMessage, BytesMessage)):
            self._parts.append(event.data)
            if event.message_finished:
                parts, self._parts = self._parts, []
                if isinstance(event, TextMessage):
                    self._on_engine_text("".join(parts))
                else:
                    self.client._on_binary(b"".join(parts))
        elif isinstance(event, Ping):
            self._write(self.ws.send(event.response()))
        elif isinstance(event, CloseConnection):
            try:
                self._write(self.ws.send(event.response()))
            except Exception:
                pass
            self._gone()

    def _on_engine_text(self, text: str) -> None:
        kind, payload = text[:1], text[1:]
        if kind == "0":
            try:
                self.eio_sid = json.loads(payload).get("sid")
            except ValueError:
                pass
            self.opened.set()
        elif kind == "2":
            self.send_text("3" + payload)  # pong
        elif kind == "4":
            self.client._on_text(payload)
        elif kind == "1":
            self._gone()

    def _gone(self) -> None:
        if self.closed:
            return
        self.closed = True
        if not self.accepted.ready():
            self.accepted.set(False)
        self.opened.set()
        try:
            self.sock.close()
        except OSError:
            pass
        self.client._transport_closed()

    def close(self) -> None:
        if self.closed:
            return
        try:
            self._write(self.ws.send(CloseConnection(code=1000)))
        except Exception:
            pass
        self.reader.join(timeout=2)
        self._gone()

    def busy(self) -> bool:
        return not self.closed and (_readable(self.sock) or _readable(self.server_end))


class SocketIOTestClient:
    """A Socket.IO client for tests (Flask-SocketIO's API), connected through the real stack.

    ``emit(event, *args, callback=False, namespace=None)`` returns the ack's
    value when ``callback=True``; ``send(data, json=False, ...)``;
    ``get_received(namespace=None)`` returns (and forgets) the packets
    received in that namespace as ``{"name", "args", "namespace"}`` dicts
    (``args`` is the list of arguments, or the data itself for ``message``
    and ``json``); ``is_connected(namespace=None)``; ``connect`` /
    ``disconnect`` per namespace (the WebSocket closes when the last one
    leaves). ``on(event, handler, namespace=None)`` also calls
    ``handler(*args)`` for the server's ``event`` (it is still queued) and
    sends its return value as the ack the server may wait for (``call``,
    ``emit(..., callback=...)``).
    ``connect_error(namespace)`` is the data of a refused connection.
    """

    def __init__(
        self,
        app: "flask.Flask",
        socketio: "SocketIO",
        namespace: str | None = None,
        query_string: str | None = None,
        headers: dict[str, str] | None = None,
        auth: dict[str, Any] | None = None,
        flask_test_client: Any = None,
        timeout: float = 5.0,
    ) -> None:
        self.app = app
        self.socketio = socketio
        self.flask_test_client = flask_test_client
        self.timeout = timeout
        self.queue: list[dict[str, Any]] = []
        self.acks: dict[int, AsyncResult[list[Any]]] = {}
        self.connected: dict[str, bool] = {}
        self.sids: dict[str, str] = {}
        self._connect_results: dict[str, AsyncResult[bool]] = {}
        self._connect_errors: dict[str, Any] = {}
        self._handlers: dict[tuple[str, str], Callable[..., Any]] = {}
        self._ids = itertools.count(1)
        self._decoder = PacketDecoder()
        self._pipe: _Pipe | None = None
        #: Whether the event being emitted asked for an ack (the Flask layer
        #: then checks that the handler's return value can be sent).
        self.expects_ack = False
        #: Errors of handlers run for this client's events, not yet raised.
        self._errors: list[BaseException] = []
        self.connect(namespace, query_string=query_string, headers=headers, auth=auth)

    # ---------------------------------------------------------- transport

    def _open(self, query_string: str | None, headers: dict[str, str] | None) -> _Pipe:
        server = self.socketio._server()
        server.bind_hub()  # the test's thread runs the server from now on
        query = query_string or ""
        if query.startswith("?"):
            query = query[1:]
        path = server.engine.path
        target = f"{path}?EIO=4&transport=websocket" + (f"&{query}" if query else "")
        header_list = list((headers or {}).items())
        if self.flask_test_client is not None:
            environ = EnvironBuilder(path, headers=list((headers or {}).items())).get_environ()
            if hasattr(self.flask_test_client, "_add_cookies_to_wsgi"):
                self.flask_test_client._add_cookies_to_wsgi(environ)
            elif hasattr(self.flask_test_client, "cookie_jar"):  # Werkzeug < 2.3
                self.flask_test_client.cookie_jar.inject_wsgi(environ)
            if environ.get("HTTP_COOKIE"):
                header_list = [(k, v) for k, v in header_list if k.lower() != "cookie"]
                header_list.append(("Cookie", environ["HTTP_COOKIE"]))
        self._decoder = PacketDecoder()
        pipe = _Pipe(self, target, header_list)
        if not pipe.accepted.get(timeout=self.timeout):
            raise ConnectionError(
                f"WebSocket handshake refused: {pipe.reject_status} {pipe.reject_body.decode(errors='replace')}"
            )
        pipe.opened.wait(self.timeout)
        if pipe.closed or pipe.eio_sid is None:
            raise ConnectionError("the server closed the connection during the handshake")
        server.environ[pipe.eio_sid] = self._environ(query, headers)
        return pipe

    def _environ(self, query: str, headers: dict[str, str] | None) -> dict[str, Any]:
        """What handlers see as ``request``: Flask-SocketIO's test client environ.

        Only what the test passed (the query string, the headers, the Flask
        test client's cookies), not the WebSocket upgrade's own headers and
        ``EIO``/``transport`` parameters.
        """
        from ._dispatch import TEST_CLIENT_KEY

        url = self.socketio._server().engine.path + (f"?{query}" if query else "")
        environ = EnvironBuilder(url, headers=list((headers or {}).items())).get_environ()
        environ["flask.app"] = self.app
        environ["REMOTE_ADDR"] = "127.0.0.1"  # the in-memory peer (Werkzeug leaves it unset)
        if self.flask_test_client is not None:
            if hasattr(self.flask_test_client, "_add_cookies_to_wsgi"):
                self.flask_test_client._add_cookies_to_wsgi(environ)
            elif hasattr(self.flask_test_client, "cookie_jar"):  # Werkzeug < 2.3
                self.flask_test_client.cookie_jar.inject_wsgi(environ)
        environ[TEST_CLIENT_KEY] = self
        return environ

    def _handler_failed(self, exc: BaseException) -> None:
        """A handler run for this client raised: the emit waiting on it raises it."""
        self._errors.append(exc)
        for result in self.acks.values():
            if not result.ready():
                result.set_exception(exc)

    def _raise_handler_error(self) -> None:
        if not self._errors:
            return
        exc, self._errors = self._errors[0], []
        raise _as_type_error(exc)

    def _transport_closed(self) -> None:
        for ns in list(self.connected):
            self.connected[ns] = False
        for result in self._connect_results.values():
            if not result.ready():
                result.set(False)

    def _send_packet(self, packet: Packet) -> None:
        pipe = self._pipe
        if pipe is None or pipe.closed:
            raise RuntimeError("not connected")
        text, attachments = encode_packet(packet)
        pipe.send_text("4" + text)
        for attachment in attachments:
            pipe.send_bytes(attachment)

    # ------------------------------------------------------------ receiving

    def _on_text(self, text: str) -> None:
        try:
            packet = self._decoder.receive_text(text)
        except Exception as exc:  # a server bug: show it in the test
            self.queue.append({"name": "<protocol error>", "args": [str(exc), text], "namespace": "/"})
            return
        if packet is not None:
            self._on_packet(packet)

    def _on_binary(self, data: bytes) -> None:
        packet = self._decoder.receive_binary(data)
        if packet is not None:
            self._on_packet(packet)

    def _on_packet(self, packet: Packet) -> None:
        ns = packet.namespace
        kind = packet.type
        if kind is PacketType.CONNECT:
            self.connected[ns] = True
            self.sids[ns] = (packet.data or {}).get("sid", "")
            self._connect_results.setdefault(ns, AsyncResult()).set(True)
        elif kind is PacketType.CONNECT_ERROR:
            self.connected[ns] = False
            self._connect_errors[ns] = packet.data
            self._connect_results.setdefault(ns, AsyncResult()).set(False)
        elif kind is PacketType.DISCONNECT:
            self.connected[ns] = False
        elif kind in (PacketType.EVENT, PacketType.BINARY_EVENT):
            name, args = packet.data[0], list(packet.data[1:])
            if name in ("message", "json"):
                self.queue.append({"name": name, "args": args[0] if args else None, "namespace": ns})
            else:
                self.queue.append({"name": name, "args": args, "namespace": ns})
            handler = self._handlers.get((name, ns))
            if handler is not None:
                gevent.spawn(self._answer, handler, args, ns, packet.id)
        elif kind in (PacketType.ACK, PacketType.BINARY_ACK):
            result = self.acks.get(packet.id) if packet.id is not None else None
            if result is not None:
                result.set(list(packet.data))

    def _answer(self, handler: Callable[..., Any], args: list[Any], ns: str, ack_id: int | None) -> None:
        value = handler(*args)
        if ack_id is not None:
            data = [] if value is None else list(value) if isinstance(value, tuple) else [value]
            self._send_packet(Packet(type=PacketType.ACK, namespace=ns, data=data, id=ack_id))

    # ------------------------------------------------------------- settling

    def _busy(self) -> bool:
        server = self.socketio._server()
        workers = server.workers
        if workers.pending or workers.workers != workers.idle_count or server.output_held:
            return True
        pipe = self._pipe
        return pipe is not None and pipe.busy()

    def _settle(self, timeout: float | None = None) -> None:
        """Yield to the server until nothing is in flight (or ``timeout`` passes)."""
        deadline = monotonic() + (self.timeout if timeout is None else timeout)
        gevent.sleep(0.001)
        quiet = 0
        spins = 0
        while quiet < 3 and monotonic() < deadline:
            spins += 1
            gevent.sleep(0 if spins < 50 else 0.002)
            if self._busy():
                quiet = 0
            else:
                quiet += 1

    # ----------------------------------------------------------------- API

    def connect(
        self,
        namespace: str | None = None,
        query_string: str | None = None,
        headers: dict[str, str] | None = None,
        auth: dict[str, Any] | None = None,
    ) -> None:
        """Join ``namespace`` (opening the connection first if needed); see :meth:`is_connected`."""
        ns = namespace or "/"
        if self._pipe is None or self._pipe.closed:
            self._pipe = self._open(query_string, headers)
        result: AsyncResult[bool] = AsyncResult()
        self._connect_results[ns] = result
        self._connect_errors.pop(ns, None)
        self._send_packet(Packet(type=PacketType.CONNECT, namespace=ns, data=auth))
        try:
            result.get(timeout=self.timeout)
        except gevent.Timeout:
            pass
        self._settle()

    def disconnect(self, namespace: str | None = None) -> None:
        """Leave ``namespace``; raises RuntimeError if not connected to it."""
        ns = namespace or "/"
        if not self.is_connected(ns):
            raise RuntimeError("not connected")
        self._send_packet(Packet(type=PacketType.DISCONNECT, namespace=ns))
        self.connected[ns] = False
        self._settle()
        if not any(self.connected.values()):
            self.close()

    def close(self) -> None:
        """Close the connection (every namespace at once)."""
        pipe = self._pipe
        if pipe is not None and not pipe.closed:
            pipe.close()
            self._settle()

    def is_connected(self, namespace: str | None = None) -> bool:
        pipe = self._pipe
        return bool(self.connected.get(namespace or "/")) and pipe is not None and not pipe.closed

    def connect_error(self, namespace: str | None = None) -> Any:
        """The CONNECT_ERROR data (``{"message": ..., "data"?: ...}``) of a refused connect, or None."""
        return self._connect_errors.get(namespace or "/")

    def get_sid(self, namespace: str | None = None) -> str | None:
        return self.sids.get(namespace or "/")

    @property
    def sid(self) -> str | None:
        return self.get_sid("/")

    @property
    def eio_sid(self) -> str | None:
        return None if self._pipe is None else self._pipe.eio_sid

    def on(self, event: str, handler: Callable[..., Any], namespace: str | None = None) -> None:
        """Also call ``handler(*args)`` for the server's ``event``; its return value is the ack."""
        self._handlers[(event, namespace or "/")] = handler

    def emit(
        self, event: str, *args: Any, callback: bool = False, namespace: str | None = None, **kwargs: Any
    ) -> Any:
        """Emit ``event``; with ``callback=True`` wait for the ack and return its value
        (one argument as itself, several as a list).

        Like Flask-SocketIO's test client: other keywords (``broadcast``,
        ``to`` ...: server-side options) are ignored; data that cannot be
        sent raises TypeError; an exception raised by the event's handler
        (or an ack value the server cannot send) is raised here.
        Raises RuntimeError if not connected.
        """
        ns = namespace or "/"
        if not self.is_connected(ns):
            raise RuntimeError(f"not connected to namespace {ns}")
        packet = Packet(type=PacketType.EVENT, namespace=ns, data=[event, *args])
        try:
            encode_packet(packet)
        except Exception as exc:
            raise _as_type_error(exc) from None
        ack_id = None
        result: AsyncResult[list[Any]] | None = None
        if callback:
            ack_id = next(self._ids)
            result = self.acks[ack_id] = AsyncResult()
            packet = Packet(type=PacketType.EVENT, namespace=ns, data=[event, *args], id=ack_id)
        self._errors = []
        self.expects_ack = callback
        try:
            self._send_packet(packet)
            if result is None:
                self._settle()
                self._raise_handler_error()
                return None
            try:
                answer = result.get(timeout=self.timeout) or []
            except gevent.Timeout:
                raise TimeoutError(f"no ack for {event!r} within {self.timeout} s") from None
            except Exception as exc:
                self._errors = []
                raise _as_type_error(exc) from None
            finally:
                self.acks.pop(ack_id, None)  # type: ignore[arg-type]
            self._settle()
            self._raise_handler_error()
            return answer[0] if len(answer) == 1 else answer
        finally:
            self.expects_ack = False

    def send(
        self, data: Any, json: bool = False, callback: bool = False, namespace: str | None = None,
        **kwargs: Any,
    ) -> Any:
        """Send a ``message`` (or, with ``json=True``, a ``json``) event (other keywords are ignored)."""
        event = "json" if json else "message"
        return self.emit(event, data, callback=callback, namespace=namespace)

    def get_received(self, namespace: str | None = None) -> list[dict[str, Any]]:
        """What the server sent to ``namespace`` since the last call (and forget it)."""
        self._settle()
        ns = namespace or "/"
        received = [item for item in self.queue if item["namespace"] == ns]
        self.queue = [item for item in self.queue if item["namespace"] != ns]
        return received

    def __enter__(self) -> "SocketIOTestClient":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()

