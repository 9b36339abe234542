"""The Engine.IO glue: sessions in, handler calls out.

The second layer of :class:`~socketio_core.server.Server`. The driver's
engine (the gevent or the asyncio ``EngineServer``) calls three methods,
named after the Engine.IO events they answer so that nobody takes them for
the application's ``connect``/``disconnect`` handlers:

- :meth:`EngineGlue.engineio_session_opened`: a new session gets a
  :class:`~._sockets.Client` holding a sans-IO Socket.IO
  :class:`~socketio_core.protocol.Connection`;
- :meth:`EngineGlue.engineio_message`: a message is fed to that connection
  and its events become handler calls, each in a worker (a greenlet; under
  asyncio a call on the loop, and a task for an ``async def`` handler) so
  that a slow handler delays nobody;
- :meth:`EngineGlue.engineio_session_closed`: every socket of the client
  leaves (disconnect handlers run), pending ``call`` waiters are released.

The hot path is a plain EVENT: ``engineio_message`` -> ``_on_event`` ->
``workers.submit(_run_event)``, with no deadline bookkeeping (a plain event
changes no timer) and no listener loop unless an observer is registered.
Connecting a namespace (middlewares, the connect handler, connection state
recovery) and leaving one live here too, because they change the same
per-client state.
"""

from __future__ import annotations

import logging
import secrets
from functools import partial
from inspect import isawaitable
from time import monotonic, time
from types import CoroutineType
from typing import TYPE_CHECKING, Any, Callable, Coroutine

from engineio import CloseReason
from transports import peer_text
from transports._runtime import Runtime, Workers

from ..protocol._connection import (
    AckReceived,
    ConnectRequested,
    Connection,
    ConnectTimedOut,
    DisconnectRequested,
    EventReceived,
    legacy_socket_id,
    query_auth,
)
from ..protocol._errors import NotSerializableError, RemoteSocketIOError
from ..protocol._parser import Parser
from ..protocol._recovery import RecoveryStore, SavedSession
from ._acks import Ack, AckTable, ack_args
from ._adapter import Adapter
from ._calling import positional_count, takes_ack
from ._errorlog import FailureLog, handler_name
from ._registry import ConnectionRefusedError, HandlerRegistry
from ._sockets import Client, Handshake, InOrder, Socket

if TYPE_CHECKING:
    from transports import EngineServer, EngineSocket

__all__ = ["EngineGlue"]

log = logging.getLogger(__name__)

#: Reasons after which a socket's state is not kept for recovery: it left on purpose.
_DELIBERATE = ("client namespace disconnect", "server namespace disconnect")

#: Seconds between a WebSocket CONNECT reply and the packets emitted while the
#: socket connected (see ``EngineGlue._accept``): a delay only at connect time,
#: long enough for a client process on the same machine to read the reply alone.
CONNECT_REPLY_GAP = 0.005


def new_socket_id() -> str:
    return secrets.token_urlsafe(15)


class EngineGlue(HandlerRegistry):
    """Engine.IO sessions to Socket.IO sockets and handler calls; see the module docstring."""

    # Set by Server.__init__.
    runtime: Runtime
    engine: EngineServer
    parser: Parser
    adapter: Adapter
    recovery: RecoveryStore | None
    workers: Workers
    connect_timeout: float
    max_namespaces: int
    max_pending_acks: int
    #: Every socket of this process, by sid.
    _sockets: dict[str, Socket]
    logger: logging.Logger
    _debug: bool
    always_connect: bool
    #: Sockets whose first packets wait behind their CONNECT reply (a few
    #: milliseconds; see ``_accept``): the Flask test client waits for 0.
    output_held: int
    #: False: one client's event handlers run one at a time, in order (python-socketio's option).
    async_handlers: bool
    #: Handler failures: named, the first few with tracebacks, then counted.
    failures: FailureLog
    #: (workers, runtime, and the callbacks every client keeps): see ``_client_callbacks``.
    _shared_client_callbacks: tuple[Any, ...] | None = None

    # ------------------------------------------------------ Engine.IO handler

    def engineio_session_opened(self, esock: EngineSocket) -> None:
        """A new Engine.IO session: give it a Socket.IO connection."""
        # An Engine.IO v3 client speaks Socket.IO protocol 4 (PROTOCOL.md 3.2).
        legacy = esock.session.protocol == 3
        conn = Connection(
            monotonic(),
            connect_timeout=self.connect_timeout,
            parser=self.parser,
            max_namespaces=self.max_namespaces,
            protocol=4 if legacy else 5,
        )
        submit, run_coroutine, call_later, process = self._client_callbacks()
        run_handler: Callable[..., None]
        finish_handler: Callable[[Coroutine[Any, Any, Any]], None]
        if self.async_handlers:
            run_handler, finish_handler = submit, run_coroutine
        else:
            order = InOrder(submit, run_coroutine)
            run_handler, finish_handler = order.submit, order.hold
        client = Client(
            esock, conn, process, AckTable(self.max_pending_acks, submit, call_later),
            run_handler, finish_handler,
        )
        esock.context = client
        self.engine.scheduler.schedule(client, conn.next_deadline())
        for listener in self._listeners:
            listener.client_connected(esock)
        if legacy:
            # Protocol 4 clients are joined to / unasked; their auth is the handshake query.
            conn.connect_root(query_auth(esock.request.query))
            self._process(client)

    def _client_callbacks(self) -> tuple[Callable[..., None], Callable[..., None], Callable[..., Any],
                                         Callable[[Client], None]]:
        """The server's callbacks every client keeps: bound once, shared by all of them.

        A bound method made per client was 64 bytes each, four of them per
        idle connection (issue 19). Made again if the workers or the runtime
        were replaced.
        """
        cached = self._shared_client_callbacks
        workers, runtime = self.workers, self.runtime
        if cached is None or cached[0] is not workers or cached[1] is not runtime:
            cached = self._shared_client_callbacks = (
                workers, runtime, workers.submit, runtime.run_coroutine, runtime.call_later, self._process,
            )
        return cached[2], cached[3], cached[4], cached[5]

    def engineio_message(self, esock: EngineSocket, data: str | bytes) -> None:
        """An Engine.IO message: decode it and act on what it completes."""
        client: Client = esock.context
        if self._listeners:
            for listener in self._listeners:
                listener.message_received(esock, data)
        try:
            event = client.conn.receive_event(data)
        except RemoteSocketIOError as exc:
            log.info("client %s broke the protocol: %s", esock.sid, exc.reason)
            self._process(client)
            esock.close(CloseReason.PARSE_ERROR)
            return
        if event is not None:
            self._on_event(client, event)  # the hot path: no deadline changes
            return
        self._process(client)

    def engineio_session_closed(self, esock: EngineSocket, reason: str) -> None:
        """The Engine.IO session ended: every socket of its client leaves."""
        client: Client = esock.context
        for listener in self._listeners:
            listener.client_disconnected(esock, reason)
        if client is None:
            return
        for sock in list(client.sockets.values()):
            self._socket_gone(sock, reason)
        client.acks.release()  # a call() waiting for this client stops waiting now
        self.engine.scheduler.cancel(client)
        esock.context = None

    def _process(self, client: Client) -> None:
        conn = client.conn
        while True:
            event = conn.next_event()
            if event is None:
                break
            # ``type(event) is X`` (one check for the commonest event) lets the
            # type checker narrow the union next_event returns.
            if type(event) is EventReceived:
                self._on_event(client, event)
            elif type(event) is AckReceived:
                client.acks.answer(event.ack_id, tuple(event.args))
            elif type(event) is ConnectRequested:
                self._start_connect(client, event.namespace, event.auth, event.auth_sent)
            elif type(event) is DisconnectRequested:
                sock = client.sockets.get(event.namespace)
                if sock is not None:
                    self._socket_gone(sock, "client namespace disconnect")
            elif type(event) is ConnectTimedOut:
                log.info("client %s joined no namespace in time", client.esock.sid)
                client.esock.close()
        self.engine.scheduler.schedule(client, conn.next_deadline())

    def _on_event(self, client: Client, event: EventReceived) -> None:
        sock = client.sockets.get(event.namespace)
        if sock is not None:
            if self._debug:
                self.logger.debug(
                    'received event "%s" from %s [%s]', peer_text(str(event.data[0])), sock.sid,
                    peer_text(sock.namespace),
                )
            if self._listeners:
                for listener in self._listeners:
                    listener.event_received(sock.namespace, sock.sid, event.data)
            client.run_handler(self._run_event, sock, event.data, event.ack_id)

    # ---------------------------------------------------------------- events

    def _run_event(self, sock: Socket, data: list[Any], ack_id: int | None) -> None:
        """In a worker: the event's handler (or the catch-all), then its ack.

        An ``async def`` handler (AsyncServer) returns a coroutine: it is
        finished by :meth:`_finish_event` in a task, and answers from there.
        """
        event = data[0]
        key = sock.key
        handler = self._handler(key, event) if isinstance(event, str) else None
        try:
            if handler is not None:
                if takes_ack(handler):
                    result = handler(sock.sid, *data[1:], ack=self._ack_for(sock, ack_id))
                    ack_id = None  # the handler answers through its Ack
                else:
                    result = handler(sock.sid, *data[1:])
            else:
                handler = self._handler(key, "*")
                if handler is None:
                    return
                if takes_ack(handler):
                    result = handler(event, sock.sid, *data[1:], ack=self._ack_for(sock, ack_id))
                    ack_id = None
                else:
                    result = handler(event, sock.sid, *data[1:])
        except Exception:
            self._event_failed(sock, event, handler)
            return
        if type(result) is CoroutineType:
            sock.client.finish_handler(self._finish_event(result, sock, ack_id, event, handler))
            return
        if ack_id is not None and not sock.gone:
            self._send_ack(sock, ack_id, result, event, handler)

    async def _finish_event(
        self, pending: Coroutine[Any, Any, Any], sock: Socket, ack_id: int | None, event: Any, handler: Any
    ) -> None:
        """An ``async def`` handler's end: its value is the ack, as a plain handler's return."""
        try:
            result = await pending
        except Exception:
            self._event_failed(sock, event, handler)
            return
        if ack_id is not None and not sock.gone:
            self._send_ack(sock, ack_id, result, event, handler)

    def _event_failed(self, sock: Socket, event: Any, handler: Any) -> None:
        self.failures.failed(
            'event "%s" [%s] from %s: handler %s raised', peer_text(str(event)),
            peer_text(sock.namespace), sock.sid, handler_name(handler),
        )

    def _send_ack(self, sock: Socket, ack_id: int, result: Any, event: Any, handler: Any) -> None:
        try:
            wires = sock.client.conn.ack(sock.namespace, ack_id, ack_args(result))
        except NotSerializableError as exc:
            self.logger.error(
                'event "%s" [%s] from %s, handler %s: ack value is not %s-serialisable: %s',
                peer_text(str(event)), peer_text(sock.namespace), sock.sid, handler_name(handler),
                exc.codec, exc.type_name or exc,
            )
            return
        sock.deliver(wires)

    def _ack_for(self, sock: Socket, ack_id: int | None) -> Ack | None:
        """The :class:`Ack` a handler with an ``ack`` parameter answers with (None: none asked)."""
        if ack_id is None:
            return None

        def send(args: list[Any]) -> None:
            if not self.in_hub_thread():
                self.run_on_hub(send, args)
                return
            if not sock.gone:
                sock.deliver(sock.client.conn.ack(sock.namespace, ack_id, args))

        return Ack(send)

    def in_hub_thread(self) -> bool:
        """Whether the caller runs on the hub's OS thread (the server overrides it)."""
        return True

    def run_on_hub(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """Have ``fn`` run on the hub's thread (the server overrides it)."""
        fn(*args, **kwargs)

    # ------------------------------------------------------------ connecting

    def _start_connect(self, client: Client, namespace: str, auth: Any, auth_sent: bool = True) -> None:
        if not isinstance(auth, dict):
            auth = {}
        key = self._resolve_namespace(namespace, auth)
        if key is None:
            client.esock.send_many(client.conn.refuse_unknown(namespace))
            return
        request = client.esock.request
        # headers and query stay in the request (compact) until someone reads them
        handshake = Handshake(
            address=request.remote_addr[0] if request.remote_addr else "",
            secure=request.secure,
            url=request.target,
            issued=time(),
            auth=auth,
            auth_sent=auth_sent,
            request=request,
        )
        legacy = client.conn.protocol == 4
        if self.recovery is not None and not legacy and isinstance(auth.get("pid"), str) and isinstance(
            auth.get("offset"), str
        ):
            # At once for a log in memory; a log elsewhere (Redis) answers later on
            # the loop's thread, and nothing waits for it meanwhile (either driver).
            self.recovery.restore_then(
                auth["pid"], auth["offset"], monotonic(),
                partial(self._restored_then_open, client, namespace, key, auth, handshake),
            )
            return
        self._open_socket(client, namespace, key, auth, handshake, None)

    def _restored_then_open(
        self, client: Client, namespace: str, key: str, auth: dict[str, Any], handshake: Handshake,
        restored: tuple[SavedSession, list[list[Any]]] | None,
    ) -> None:
        assert self.recovery is not None
        if client.esock.closed or namespace in client.sockets:
            if restored is not None:
                self.recovery.save(restored[0])  # gone meanwhile: keep its state for a later try
            return
        self._open_socket(client, namespace, key, auth, handshake, restored)

    def _open_socket(
        self,
        client: Client,
        namespace: str,
        key: str,
        auth: dict[str, Any],
        handshake: Handshake,
        restored: tuple[SavedSession, list[list[Any]]] | None,
    ) -> None:
        if restored is not None and restored[0].sid in self._sockets:
            restored = None  # that socket is still here (a duplicate claim)
        legacy = client.conn.protocol == 4
        if legacy:
            sid = legacy_socket_id(namespace, client.esock.sid)
        else:
            sid = restored[0].sid if restored is not None else new_socket_id()
        sock = Socket(sid, namespace, key, client, handshake)
        client.sockets[namespace] = sock
        self._sockets[sock.sid] = sock
        self.adapter.add(namespace, sock.sid, sock.sid)
        if self.recovery is not None:
            sock.pid = restored[0].pid if restored is not None else self.recovery.new_pid()
        if restored is not None:
            saved, missed = restored
            sock.recovered = True
            sock.data = saved.data
            for room in saved.rooms:
                self.adapter.add(namespace, sock.sid, room)
            self.runtime.run_coroutine(self._run_connect(sock, key, auth, missed))
            return
        self.runtime.run_coroutine(self._run_connect(sock, key, auth))

    async def _run_connect(
        self, sock: Socket, key: str, auth: dict[str, Any], missed: list[list[Any]] | None = None
    ) -> None:
        """Middlewares and the connect handler, then CONNECT or CONNECT_ERROR.

        Written once as a coroutine for both drivers: under gevent it runs in
        a worker greenlet and never suspends (a blocking middleware switches
        greenlets inside it); under asyncio it is a task, and ``async def``
        middlewares and connect handlers are awaited.
        """
        refusal: ConnectionRefusedError | None = None
        skip_middlewares = missed is not None and self.recovery is not None and self.recovery.skip_middlewares
        client = sock.client
        accepted_first = self.always_connect and missed is None
        if accepted_first:
            # python-socketio's always_connect: CONNECT first, then the handler,
            # whose refusal becomes a DISCONNECT.
            if sock.gone or client.esock.closed:
                self._forget_socket(sock)
                return
            self._accept(sock, None)
        handler: Any = None
        try:
            for middleware in () if skip_middlewares else self._middlewares.get(key, ()):
                handler = middleware
                outcome = middleware(sock.sid, sock.handshake)
                if outcome is not None and isawaitable(outcome):  # None: no ABC check
                    await outcome
            handler = self._handler(key, "connect")
            if handler is not None:
                arity = positional_count(handler)
                args = (sock.sid, sock.handshake, auth)[: max(1, min(arity, 3))]
                outcome = handler(*args)
                if outcome is not None and isawaitable(outcome):
                    outcome = await outcome
                if outcome is False:
                    refusal = ConnectionRefusedError()
        except ConnectionRefusedError as exc:
            refusal = exc
        except Exception:
            self.failures.failed(
                "connect to [%s] from %s: handler %s raised (the client is refused with "
                '"Internal server error")', peer_text(sock.namespace), sock.sid, handler_name(handler),
            )
            refusal = ConnectionRefusedError("Internal server error")
        if refusal is not None:
            self.logger.info(
                "connection refused: %s [%s] (Engine.IO %s): %s", sock.sid, peer_text(sock.namespace),
                client.esock.sid, refusal.message,
            )
        if accepted_first:
            if refusal is not None and sock.connected:
                self._disconnect_socket(sock, close=False)
            return
        if sock.gone or client.esock.closed:
            self._forget_socket(sock)
            return
        if refusal is not None:
            self._forget_socket(sock)
            client.esock.send_many(client.conn.refuse(sock.namespace, refusal.message, refusal.data))
            return
        self._accept(sock, missed)

    def _accept(self, sock: Socket, missed: list[list[Any]] | None) -> None:
        """Send CONNECT, then what was emitted to the socket while it connected."""
        client = sock.client
        if self.logger.isEnabledFor(logging.INFO):  # its arguments cost more than the test
            self.logger.info(
                "connect: %s [%s] (Engine.IO %s, %s)%s", sock.sid, peer_text(sock.namespace), client.esock.sid,
                client.esock.transport, " recovered" if sock.recovered else "",
            )
        wires = client.conn.accept(sock.namespace, sock.sid, sock.pid)
        sock.connected = True
        for listener in self._listeners:
            listener.socket_connected(sock.namespace, sock.sid)
        esock = client.esock
        esock.send_many(wires)
        if missed:
            sock.pending = [w for data in missed for w in client.conn.event(sock.namespace, data)] + (
                sock.pending or [])
        if not sock.pending:
            sock.writable = True
        elif esock.transport == "websocket":
            # What the connect handler emitted follows the CONNECT reply a
            # moment later, in writes of its own: a client that dispatches
            # every frame of one TCP read at once and listens for the next
            # frame only after handling one (the ws package the conformance
            # suite pins) would lose the frames read together with the reply.
            # Emits meanwhile queue behind them, in order.
            esock.flush()
            self.output_held += 1
            self.runtime.call_later(CONNECT_REPLY_GAP, self._release_held, sock)
        else:
            self._release(sock)  # polling: the client reads one payload at a time

    def _release_held(self, sock: Socket) -> None:
        self.output_held -= 1
        self._release(sock)

    @staticmethod
    def _release(sock: Socket) -> None:
        """Send what waited behind the CONNECT reply; from now on packets go straight out."""
        if sock.gone or sock.writable:
            return
        pending, sock.pending = sock.pending, None
        sock.writable = True
        if pending:
            sock.client.esock.send_many(pending)

    # --------------------------------------------------------------- leaving

    def _forget_socket(self, sock: Socket) -> None:
        sock.gone = True
        sock.connected = False
        sock.pending = None
        client = sock.client
        if client.sockets.get(sock.namespace) is sock:
            del client.sockets[sock.namespace]
        self._sockets.pop(sock.sid, None)
        self.adapter.discard_all(sock.namespace, sock.sid)

    def _socket_gone(self, sock: Socket, reason: str) -> None:
        """``sock`` leaves: its state saved for recovery if it may come back, then its disconnect handler."""
        was_connected = sock.connected
        if self.recovery is not None and was_connected and sock.pid is not None and reason not in _DELIBERATE:
            self.recovery.save(SavedSession(
                sid=sock.sid,
                pid=sock.pid,
                namespace=sock.namespace,
                rooms=self.adapter.rooms_of(sock.namespace, sock.sid) - {sock.sid},
                data=sock.data,
                saved_at=monotonic(),
            ))
        if was_connected:
            for listener in self._listeners:
                listener.socket_disconnected(sock.namespace, sock.sid, reason)
        self._forget_socket(sock)
        if not was_connected:
            return
        if self.logger.isEnabledFor(logging.INFO):
            self.logger.info("disconnect: %s [%s] (Engine.IO %s): %s", sock.sid, peer_text(sock.namespace),
                             sock.client.esock.sid, reason)
        handler = self._handler(sock.key, "disconnect")
        if handler is not None:
            args = (sock.sid, reason)[: max(1, min(positional_count(handler), 2))]
            self.workers.submit(handler, *args)

    def _disconnect_socket(self, sock: Socket, close: bool) -> None:
        """The server sends ``sock`` away (DISCONNECT), and closes its whole client if ``close``."""
        client = sock.client
        if sock.connected:
            client.esock.send_many(client.conn.disconnect(sock.namespace))
        self._socket_gone(sock, "server namespace disconnect")
        if close:
            client.esock.close()
