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

Every packet to a socket, on either path and for handler acks, is written by
:meth:`~._sockets.Socket.deliver`.

**Threads.** The server runs on one gevent hub; ``emit`` and the other
cluster operations called from another OS thread are handed to that hub's
thread (:meth:`Delivery.run_on_hub`), so they work from anywhere.
"""

from __future__ import annotations

import logging
from functools import partial
from time import monotonic
from typing import Any, Callable, Iterable, Protocol, Union

import gevent
from gevent import monkey

from transports import SharedBytes, SharedText, WorkerPool

from ..protocol._connection import encode_for_engine
from ..protocol._encoder import encode_event_fast
from ..protocol._packets import Packet, PacketType
from ._acks import AckWaiter, Gather, TooManyPendingAcks
from ._adapter import SocketInfo
from ._engine_glue import EngineGlue
from ._sockets import Socket

__all__ = ["Delivery", "LocalDelivery", "Target"]

log = logging.getLogger(__name__)

_real_get_ident: Callable[[], int] = monkey.get_original("_thread", "get_ident")

#: A sid, a room, several of them, or None for everyone.
Target = Union[str, Iterable[str], None]


class LocalDelivery(Protocol):
    """The server as its adapter sees it: the one interface adapters call back into.

    An adapter relays cluster-wide operations (a broadcast, fetching or moving
    sockets, a message between servers) to every server concerned; on each,
    it acts on that process's sockets only through these methods. All of them
    must be called on the server's hub thread (see :meth:`in_hub_thread` and
    ``hub``); ``workers`` runs blocking work (a handler, waiting on Redis) off it.
    """

    @property
    def workers(self) -> WorkerPool: ...

    @property
    def hub(self) -> Any:
        """The gevent hub running the server (None until it is bound)."""

    def in_hub_thread(self) -> bool: ...

    def deliver_local(
        self, namespace: str, data: list[Any], rooms: list[str] | None, skip: list[str],
        volatile: bool = False,
    ) -> int:
        """Emit EVENT ``data`` to this process's sockets in ``rooms`` (all when None) but
        those in ``skip``; ``volatile`` leaves out sockets that cannot take it at once.
        Returns how many sockets were addressed."""

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

    _hub: Any
    _hub_thread: int | None
    _encode: Callable[[Packet], list[Any]]

    # ------------------------------------------------------------ the hub

    @property
    def hub(self) -> Any:
        """The gevent hub running this server (None until it is bound)."""
        return self._hub

    def bind_hub(self) -> None:
        """Run this server on the calling OS thread's gevent hub from now on.

        ``start``, ``run`` and ``wsgi_app`` do it; an integration that serves
        from a thread of its own (Flask's test client, a WSGI server) calls it
        from that thread. Emits from any other thread are handed to this hub.
        """
        self._hub = gevent.get_hub()
        self._hub_thread = _real_get_ident()

    def in_hub_thread(self) -> bool:
        """Whether the caller runs on the hub's OS thread (True before any hub is bound)."""
        return self._hub_thread is None or _real_get_ident() == self._hub_thread

    def run_on_hub(self, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> None:
        """From another OS thread: have ``fn(*args, **kwargs)`` run soon on the hub's thread."""

        def run() -> None:
            try:
                fn(*args, **kwargs)
            except TooManyPendingAcks as exc:  # the calling thread has moved on: say it here
                log.warning("emit from another thread dropped: %s", exc)

        self._hub.loop.run_callback_threadsafe(run)

    # -------------------------------------------------------------- emitting

    def emit(
        self,
        event: str,
        *args: Any,
        to: Target = None,
        room: Target = None,
        skip: Target = None,
        skip_sid: Target = None,
        namespace: str = "/",
        callback: Callable[..., Any] | None = None,
        timeout: float | None = None,
        volatile: bool = False,
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
        """
        if not self.in_hub_thread():
            self.run_on_hub(
                self.emit, event, *args, to=to, room=room, skip=skip, skip_sid=skip_sid,
                namespace=namespace, callback=callback, timeout=timeout, volatile=volatile,
            )
            return
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
