"""Emitting: the public ``emit``, its one fast path, and the local delivery adapters call.

The third layer of :class:`~socketio_core.server.Server`.

**The general path.** ``emit`` normalises its targets to ``rooms``/``skip``
lists and hands them to the adapter (``Adapter.broadcast``, or
``broadcast_with_ack`` with a callback, or the recovery log when packets must
be recorded). The adapter decides which servers are concerned and calls back
into each one's :class:`LocalDelivery` (``deliver_local``...), which encodes
the packet once and writes it to this process's sockets.

**The fast path** (in :meth:`Delivery.emit`, beside the general path): one
target that is the sid of a socket of this process in that namespace, no
``skip``, and nothing to record in the recovery log. Then there is nobody
else to ask: the packet goes straight to that socket. It is also what gives a
single-sid emit with a callback its ``callback(*ack_args)`` form (a broadcast
gets ``{sid: answer}``). It declines anything else, and
``tests/socketio_core/server/test_emit_fast_path.py`` holds it to the general
path: same wire data to the same sockets, with a count of how often it answered.

**The broadcast fast path** (in :meth:`Delivery.deliver_local`, beside its
general loop): one text packet and no outgoing hooks, on a driver that
writes frames (gevent), for the first broadcast of a loop turn (the engine's
``claim_frame_turn``: later ones queue and share one write per recipient).
The WebSocket frame is built once and handed to each recipient's transport
(``EngineSocket.send_frame``), which writes it at once when its session is
open on WebSocket with nothing queued; any recipient that declines gets the
packet the general way. It is what keeps a broadcast's cost per recipient
near one ``send`` (issue 19).

Every other packet to a socket, on either path and for handler acks, is
written by :meth:`~._sockets.Socket.deliver`.

**Threads.** The server runs on one loop (a gevent hub, or an asyncio loop
under :class:`~socketio_core.AsyncServer`): its driver's
:class:`~transports._runtime.Runtime`. ``emit`` and the other cluster
operations called from another OS thread are handed to that loop's thread
(:meth:`Delivery.run_on_hub`), so they work from anywhere.
"""

from __future__ import annotations

import logging
from functools import partial
from time import monotonic
from typing import Any, Callable, Iterable, Protocol, Union

from transports import SharedBytes, SharedText, peer_text
from transports._frames import frame_of
from transports._runtime import Runtime, Workers

from ..protocol._connection import encode_for_engine
from ..protocol._encoder import encode_event_fast
from ..protocol._packets import Packet, PacketType
from ._acks import AckWaiter, Gather, TooManyPendingAcks
from ._adapter import SocketInfo
from ._engine_glue import EngineGlue
from ._sockets import Socket

__all__ = ["Delivery", "LocalDelivery", "Target"]

log = logging.getLogger(__name__)

#: A sid, a room, several of them, or None for everyone.
Target = Union[str, Iterable[str], None]

#: ``emit(data=...)`` not given (None is a value: it is sent as null).
_NO_DATA: Any = object()


def _text_frame(wire: Any) -> bytes | None:
    """The WebSocket frame of one text packet (built once, kept on a shared one), or None.

    None for binary, and for text UTF-8 cannot carry (lone surrogates: the
    session replaces them on the general path).
    """
    if not isinstance(wire, str):
        return None
    try:
        return frame_of(wire)
    except UnicodeEncodeError:
        return None


class LocalDelivery(Protocol):
    """The server as its adapter sees it: the one interface adapters call back into.

    An adapter relays cluster-wide operations (a broadcast, fetching or moving
    sockets, a message between servers) to every server concerned; on each,
    it acts on that process's sockets only through these methods. All of them
    must be called on the server's loop thread (see :meth:`in_hub_thread` and
    ``hub``); ``workers`` runs application code (a handler) off the caller's
    stack, and an adapter with threads of its own hands their results to the
    loop with ``runtime.call_soon_threadsafe``.
    """

    @property
    def workers(self) -> Workers: ...

    @property
    def runtime(self) -> Runtime:
        """How code runs on the server's driver: results handed to its loop from
        other threads, timers, waitables (gevent or asyncio alike)."""

    @property
    def hub(self) -> Any:
        """The gevent hub (or asyncio loop) running the server (None until it is bound)."""

    def in_hub_thread(self) -> bool: ...

    def deliver_local(
        self, namespace: str, data: list[Any], rooms: list[str] | None, skip: list[str],
        volatile: bool = False,
    ) -> int:
        """Emit EVENT ``data`` to this process's sockets in ``rooms`` (all when None) but
        those in ``skip``; ``volatile`` leaves out sockets that cannot take it at once.
        Returns how many sockets were addressed."""

    def broadcasts_follow(self) -> None:
        """Several ``deliver_local`` calls follow in this turn of the loop (a burst of
        messages from the other servers): they queue, so that each local recipient
        gets one write for all of them (see ``queue_frames_this_turn``)."""

    def deliver_local_with_ack(
        self, namespace: str, data: list[Any], rooms: list[str] | None, skip: list[str],
        callback: Callable[[dict[str, Any]], None], timeout: float | None, volatile: bool = False,
    ) -> int:
        """Like :meth:`deliver_local`, then ``callback({sid: answer})`` once every local
        recipient answered or left, or after ``timeout`` seconds. Returns how many
        sockets were sent the event (and may answer)."""

    def local_socket_infos(self, namespace: str, rooms: list[str] | None) -> list[SocketInfo]:
        """The connected sockets of this process in ``rooms`` (all when None)."""

    def local_sockets_join(self, namespace: str, rooms: list[str] | None, new_rooms: list[str]) -> None:
        """Make this process's sockets in ``rooms`` join ``new_rooms``."""

    def local_sockets_leave(self, namespace: str, rooms: list[str] | None, old_rooms: list[str]) -> None:
        """Make this process's sockets in ``rooms`` leave ``old_rooms`` (never their own sid room)."""

    def local_disconnect_sockets(self, namespace: str, rooms: list[str] | None, close: bool) -> None:
        """Disconnect this process's sockets in ``rooms``; ``close`` ends their whole clients."""

    def handle_server_event(self, event: str, args: list[Any]) -> Any:
        """Run this server's handler of an event another server sent with ``server_side_emit``;
        its return value is this server's answer (None without a handler)."""


class Delivery(EngineGlue):
    """``emit`` and the :class:`LocalDelivery` methods; see the module docstring."""

    #: Whether a broadcast may take its fast path (:meth:`_deliver_frame`); the
    #: differential test turns it off for the reference twin.
    direct_frames = True

    runtime: Runtime
    _hub: Any
    _hub_thread: int | None
    #: The runtime's callables, bound once (see bind_hub): no indirection per emit.
    _get_ident: Callable[[], int]
    _call_soon_threadsafe: Callable[..., None]
    _encode: Callable[[Packet], list[Any]]
    logger: logging.Logger
    #: Whether the per-event and per-emit DEBUG lines are on; read from the logger
    #: by :meth:`refresh_log_levels` (at construction and when serving starts),
    #: so the hot paths test one attribute instead of asking the logger.
    _debug = False

    def refresh_log_levels(self) -> None:
        """Re-read whether this server's logger is at DEBUG (the per-event lines).

        Called at construction and by ``bind_hub`` (``run``, ``start``,
        ``wsgi_app``); call it after changing the logger's level while serving.
        """
        self._debug = self.logger.isEnabledFor(logging.DEBUG)

    def _log_emit(self, event: Any, target: Any, namespace: str) -> None:
        if target is None:
            whom = "all"
        elif isinstance(target, str):
            whom = target
        else:
            whom = ",".join(map(str, target))
        self.logger.debug('emitting event "%s" to %s [%s]', peer_text(str(event)), whom, namespace)

    # ------------------------------------------------------------ the hub

    @property
    def hub(self) -> Any:
        """The gevent hub (or asyncio loop) running this server (None until it is bound)."""
        return self._hub

    def bind_hub(self) -> None:
        """Run this server on the calling OS thread's hub (or asyncio loop) from now on.

        ``start``, ``run`` and ``wsgi_app`` do it; an integration that serves
        from a thread of its own (Flask's test client, a WSGI server) calls it
        from that thread. Emits from any other thread are handed to this loop.
        """
        runtime = self.runtime
        runtime.bind()
        self._hub = runtime.loop
        self._hub_thread = runtime.thread
        self._get_ident = runtime.get_ident
        self._call_soon_threadsafe = runtime.call_soon_threadsafe
        self.refresh_log_levels()

    def in_hub_thread(self) -> bool:
        """Whether the caller runs on the loop's OS thread (True before any loop is bound)."""
        return self._hub_thread is None or self._get_ident() == self._hub_thread

    def run_on_hub(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """From another OS thread: have ``fn(*args, **kwargs)`` run soon on the hub's thread."""

        def run() -> None:
            try:
                fn(*args, **kwargs)
            except TooManyPendingAcks as exc:  # the calling thread has moved on: say it here
                log.warning("emit from another thread dropped: %s", exc)

        self._call_soon_threadsafe(run)

    # -------------------------------------------------------------- emitting

    def emit(
        self,
        event: str,
        *args: Any,
        to: Target = None,
        room: Target = None,
        skip: Target = None,
        skip_sid: Target = None,
        namespace: str | None = "/",
        callback: Callable[..., Any] | None = None,
        timeout: float | None = None,
        volatile: bool = False,
        data: Any = _NO_DATA,
        ignore_queue: bool = False,
    ) -> None:
        """Send ``event`` with ``args`` to ``to`` (a sid, a room, a list; None = everyone).

        ``skip`` leaves out sids or rooms. With ``callback``, a single target
        sid calls ``callback(*ack_args)``; a broadcast calls
        ``callback({sid: answer})`` once every recipient answered or after
        ``timeout`` seconds; a single target's ack not in within ``timeout``
        is forgotten (``callback`` is never called). A client that already owes
        ``max_pending_acks`` acks raises :class:`TooManyPendingAcks` (logged when
        called from another thread). ``volatile`` drops the packet for clients
        that cannot take it at once. Safe to call from any thread.

        python-socketio's spellings work too: ``room=``/``skip_sid=``,
        ``data=`` (one argument; a tuple is spread into several, as
        python-socketio does; a positional tuple stays one JSON array), ``namespace=None``
        and ``ignore_queue=True`` (this process's sockets only, not through
        the adapter). Raises :class:`~socketio_core.exceptions.NotSerializableError`
        (a TypeError) here, in the caller's thread, for data the parser cannot encode.
        """
        if data is not _NO_DATA:
            args = (*args, *data) if type(data) is tuple else (*args, data)
        if namespace is None:
            namespace = "/"
        if not self.in_hub_thread():
            # Encode once here so that bad data fails in the caller's code, not later in the hub.
            self._encode(Packet(type=PacketType.EVENT, namespace=namespace, data=[event, *args]))
            self.run_on_hub(
                self.emit, event, *args, to=to, room=room, skip=skip, skip_sid=skip_sid,
                namespace=namespace, callback=callback, timeout=timeout, volatile=volatile,
                ignore_queue=ignore_queue,
            )
            return
        if self._debug:
            self._log_emit(event, to if to is not None else room, namespace)
        target = room if to is None else to
        excluded = skip_sid if skip is None else skip
        simple = type(target) is str and excluded is None
        if simple:
            one: Any = target  # the commonest call: nothing to normalise
        else:
            rooms = None if target is None else ([target] if isinstance(target, str) else list(target))
            skipped = [] if excluded is None else ([excluded] if isinstance(excluded, str) else list(excluded))
            one = rooms[0] if rooms is not None and len(rooms) == 1 and not skipped else None
        data = [event, *args]
        if one is not None and (self.recovery is None or volatile or callback is not None):
            # The fast path: one socket of this process, named by its sid.
            sock = self._sockets.get(one)
            if sock is not None and sock.namespace == namespace:
                client = sock.client
                if volatile and not client.esock.writable_now:
                    return
                ack_id = None
                if callback is not None:
                    client.acks.check_room(one)  # TooManyPendingAcks, before anything is sent
                    ack_id = client.conn.new_ack_id()
                    client.acks.add(ack_id, callback, timeout)
                if self._outgoing_hooks:
                    self._run_hooks(sock, data)
                sock.deliver(client.conn.event(namespace, data, ack_id))
                return
        if simple:
            rooms, skipped = [one], []
        if ignore_queue:
            if callback is not None:
                self.deliver_local_with_ack(namespace, data, rooms, skipped, callback, timeout, volatile)
            else:
                self.deliver_local(namespace, data, rooms, skipped, volatile)
            return
        # The general path: the adapter finds the recipients, on every server.
        if self.recovery is not None and not volatile and callback is None:
            # Every recoverable packet goes through the log (direct emits too).
            self.recovery.broadcast(self.adapter, namespace, data, rooms, skipped, monotonic())
        elif callback is not None:
            self.adapter.broadcast_with_ack(namespace, data, rooms, skipped, callback, timeout, volatile)
        else:
            self.adapter.broadcast(namespace, data, rooms, skipped, volatile)

    def _run_hooks(self, sock: Socket, data: list[Any]) -> None:
        for hook in self._outgoing_hooks:
            try:
                hook(sock.sid, sock.namespace, data[0], data[1:])
            except Exception:
                log.exception("outgoing hook failed")

    # ------------------------------------------- local delivery, for adapters

    def broadcasts_follow(self) -> None:
        """See :meth:`LocalDelivery.broadcasts_follow`."""
        self.engine.queue_frames_this_turn()

    def deliver_local(
        self,
        namespace: str,
        data: list[Any],
        rooms: list[str] | None,
        skip: list[str],
        volatile: bool = False,
    ) -> int:
        """See :meth:`LocalDelivery.deliver_local`."""
        sids = self.adapter.members(namespace, rooms, skip)
        if not sids:
            return 0
        fast = encode_event_fast(namespace, data, None) if self._encode is encode_for_engine else None
        if fast is not None:
            wires: list[Any] = [fast]
        else:
            wires = self._encode(Packet(type=PacketType.EVENT, namespace=namespace, data=data))
        if len(sids) > 1:
            # Encoded once; the WebSocket frame is built by the first writer and shared.
            wires = [SharedText(w) if isinstance(w, str) else SharedBytes(w) for w in wires]
        sockets = self._sockets
        hooks = self._outgoing_hooks
        if not hooks and len(wires) == 1 and self.direct_frames:
            frame = _text_frame(wires[0])
            if frame is not None and self.engine.claim_frame_turn():
                self._deliver_frame(sids, wires, frame, volatile)
                return len(sids)
        # The general path: every recipient's session queues the packet.
        for sid in sids:
            sock = sockets.get(sid)
            if sock is None:
                continue
            if volatile and not sock.client.esock.writable_now:
                continue
            if hooks:
                self._run_hooks(sock, data)
            sock.deliver(wires)
        return len(sids)

    def _deliver_frame(self, sids: list[str], wires: list[Any], frame: bytes, volatile: bool) -> None:
        """The broadcast fast path, beside the general loop of :meth:`deliver_local`.

        One text packet, no outgoing hooks, a driver that writes frames: the
        frame, built once, goes straight to each recipient's transport
        (:meth:`~transports.EngineSocket.send_frame`: written now when its
        session is open on WebSocket with nothing queued and its writer idle,
        so nothing sent before can be overtaken). A recipient that declines
        (polling, upgrading, output queued or being written, compression,
        still connecting) gets the packet the general way, in the same order.
        ``tests/socketio_core/server/test_broadcast_frames.py`` holds the two
        paths to the same bytes on every client and counts the fast answers.
        """
        sockets = self._sockets
        for sid in sids:
            sock = sockets.get(sid)
            if sock is None:
                continue
            if sock.writable and sock.client.esock.send_frame(frame):
                continue
            if volatile and not sock.client.esock.writable_now:
                continue
            sock.deliver(wires)

    def deliver_local_with_ack(
        self,
        namespace: str,
        data: list[Any],
        rooms: list[str] | None,
        skip: list[str],
        callback: Callable[[dict[str, Any]], None],
        timeout: float | None,
        volatile: bool = False,
    ) -> int:
        """See :meth:`LocalDelivery.deliver_local_with_ack`."""
        sids = self.adapter.members(namespace, rooms, skip)
        gather = Gather(sids, callback)
        hooks = self._outgoing_hooks
        sent = 0
        for sid in sids:
            sock = self._sockets.get(sid)
            if sock is None or (volatile and not sock.client.esock.writable_now):
                gather.waiting.discard(sid)  # no answer can come
                continue
            client = sock.client
            if len(client.acks) >= client.acks.limit:
                gather.waiting.discard(sid)  # it owes too many acks: counted as not answering
                continue
            sent += 1
            ack_id = client.conn.new_ack_id()
            # Each recipient's ack expires on its own (a timer of the hub's loop,
            # no greenlet): the gathering ends when every one answered, went
            # away or ran out of time.
            client.acks.add(ack_id, AckWaiter(partial(gather.answer, sid), partial(gather.gone, sid)),
                            timeout)
            if hooks:
                self._run_hooks(sock, data)
            sock.deliver(client.conn.event(namespace, data, ack_id))
        if not gather.waiting:
            gather.finish()
        return sent

    def local_socket_infos(self, namespace: str, rooms: list[str] | None) -> list[SocketInfo]:
        """See :meth:`LocalDelivery.local_socket_infos`."""
        infos = []
        for sid in self.adapter.members(namespace, rooms):
            sock = self._sockets.get(sid)
            if sock is not None and sock.connected:
                hs = sock.handshake
                infos.append(SocketInfo(
                    sid=sid,
                    namespace=namespace,
                    rooms=frozenset(self.adapter.rooms_of(namespace, sid)),
                    handshake={"headers": hs.headers, "query": hs.query, "address": hs.address,
                               "secure": hs.secure, "url": hs.url, "issued": hs.issued,
                               "auth": hs.auth},
                    data=dict(sock.data),
                ))
        return infos

    def local_sockets_join(self, namespace: str, rooms: list[str] | None, new_rooms: list[str]) -> None:
        """See :meth:`LocalDelivery.local_sockets_join`."""
        for sid in self.adapter.members(namespace, rooms):
            for room in new_rooms:
                self.adapter.add(namespace, sid, room)

    def local_sockets_leave(self, namespace: str, rooms: list[str] | None, old_rooms: list[str]) -> None:
        """See :meth:`LocalDelivery.local_sockets_leave`."""
        for sid in self.adapter.members(namespace, rooms):
            for room in old_rooms:
                if room != sid:
                    self.adapter.discard(namespace, sid, room)

    def local_disconnect_sockets(self, namespace: str, rooms: list[str] | None, close: bool) -> None:
        """See :meth:`LocalDelivery.local_disconnect_sockets`."""
        for sid in self.adapter.members(namespace, rooms):
            sock = self._sockets.get(sid)
            if sock is not None and sock.namespace == namespace:
                self._disconnect_socket(sock, close)

    def handle_server_event(self, event: str, args: list[Any]) -> Any:
        """See :meth:`LocalDelivery.handle_server_event`."""
        handler = self._server_handlers.get(event)
        if handler is None:
            return None
        return handler(*args)
