"""Who is in which room, and how a broadcast reaches them: the adapter seam.

Every socket is in the room named by its own sid, so "to a sid" and "to a
room" are the same operation. :class:`Adapter` owns membership *and* the
operations that a multi-process adapter must relay (broadcasts, broadcast
acks, fetching sockets, making sockets join, leave or disconnect, messages
between servers); its default implementations act on this process only, by
calling back into the server through its one documented seam,
:class:`~socketio_core.server.LocalDelivery`. A Redis adapter overrides the
relayed operations and keeps the membership logic.

Room members are kept in insertion order (dicts), which makes delivery order
stable and testable.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, Iterable

if TYPE_CHECKING:
    from ..protocol._recovery import RecoveryStore
    from ._delivery import LocalDelivery

__all__ = ["Adapter", "MemoryAdapter", "SocketInfo"]


@dataclass(frozen=True, slots=True, kw_only=True)
class SocketInfo:
    """A socket as ``fetch_sockets`` reports it, wherever it is connected."""

    sid: str
    namespace: str
    rooms: frozenset[str]
    handshake: dict[str, Any] = field(default_factory=dict)
    data: dict[str, Any] = field(default_factory=dict)


class Adapter:
    """The interface the server uses. Membership methods act on local sockets;
    the cluster methods (``broadcast`` and below) reach every server."""

    #: The server that owns this adapter, as adapters may see it (set by :meth:`attach`).
    server: "LocalDelivery"
    #: ``fn(namespace, room, sid, joined)`` after each local membership change
    #: (observers such as the admin instrumentation); empty costs one test per change.
    membership_listeners: tuple[Callable[[str, str, str, bool], None], ...] = ()
    #: The drivers whose servers this adapter can serve (``Server`` is gevent,
    #: ``AsyncServer`` asyncio); an adapter with its own I/O names its own.
    runs_on: frozenset[str] = frozenset({"gevent", "asyncio"})

    def add_membership_listener(self, listener: Callable[[str, str, str, bool], None]) -> None:
        """Call ``listener(namespace, room, sid, joined)`` when a local socket joins or leaves a room."""
        self.membership_listeners = (*self.membership_listeners, listener)

    def remove_membership_listener(self, listener: Callable[[str, str, str, bool], None]) -> None:
        self.membership_listeners = tuple(f for f in self.membership_listeners if f != listener)

    def _membership_changed(self, namespace: str, room: str, sid: str, joined: bool) -> None:
        for listener in self.membership_listeners:
            listener(namespace, room, sid, joined)

    def attach(self, server: "LocalDelivery") -> None:
        """Called once by the server that owns this adapter."""
        self.server = server

    def close(self) -> None:
        """Release connections and greenlets (the server is stopping)."""

    def recovery_log(self, options: dict[str, Any]) -> "RecoveryStore":
        """The connection state recovery log for this adapter (``options`` as
        :class:`RecoveryLog` takes them): by default, in this process's memory."""
        from ..protocol._recovery import RecoveryLog

        return RecoveryLog(random_bytes=os.urandom, **options)

    # ---------------------------------------------------------- membership

    def add(self, namespace: str, sid: str, room: str) -> None:
        raise NotImplementedError

    def discard(self, namespace: str, sid: str, room: str) -> None:
        raise NotImplementedError

    def discard_all(self, namespace: str, sid: str) -> None:
        raise NotImplementedError

    def rooms_of(self, namespace: str, sid: str) -> set[str]:
        raise NotImplementedError

    def members(
        self, namespace: str, rooms: Iterable[str] | None, skip: Iterable[str] = ()
    ) -> list[str]:
        raise NotImplementedError

    def room_names(self, namespace: str) -> list[str]:
        raise NotImplementedError

    def membership_count(self) -> int:
        """Room memberships held, over all namespaces (a leak detector)."""
        raise NotImplementedError

    # ------------------------------------------------- cluster-wide operations

    def broadcast(
        self,
        namespace: str,
        data: list[Any],
        rooms: list[str] | None,
        skip: list[str],
        volatile: bool = False,
    ) -> None:
        """Emit EVENT ``data`` to the sockets in ``rooms`` (all when None) but ``skip``."""
        self.server.deliver_local(namespace, data, rooms, skip, volatile)

    def broadcast_with_ack(
        self,
        namespace: str,
        data: list[Any],
        rooms: list[str] | None,
        skip: list[str],
        callback: Callable[[dict[str, Any]], None],
        timeout: float | None,
        volatile: bool = False,
    ) -> None:
        """Like :meth:`broadcast`, then ``callback({sid: answer})`` once all answered or at timeout."""
        self.server.deliver_local_with_ack(namespace, data, rooms, skip, callback, timeout, volatile)

    def fetch_sockets(self, namespace: str, rooms: list[str] | None) -> list[SocketInfo]:
        return self.server.local_socket_infos(namespace, rooms)

    def fetch_sockets_then(
        self, namespace: str, rooms: list[str] | None, callback: Callable[[list[SocketInfo]], None]
    ) -> None:
        """:meth:`fetch_sockets` without waiting: ``callback(sockets)`` on the loop's
        thread once known (what ``await`` uses; here at once)."""
        callback(self.fetch_sockets(namespace, rooms))

    def sockets_join(self, namespace: str, rooms: list[str] | None, new_rooms: list[str]) -> None:
        self.server.local_sockets_join(namespace, rooms, new_rooms)

    def sockets_leave(self, namespace: str, rooms: list[str] | None, old_rooms: list[str]) -> None:
        self.server.local_sockets_leave(namespace, rooms, old_rooms)

    def disconnect_sockets(self, namespace: str, rooms: list[str] | None, close: bool) -> None:
        self.server.local_disconnect_sockets(namespace, rooms, close)

    def server_side_emit(
        self,
        event: str,
        args: list[Any],
        callback: Callable[[list[Any]], None] | None,
        timeout: float | None,
    ) -> None:
        """Send ``event`` to the *other* servers; alone, there is nobody to answer."""
        if callback is not None:
            callback([])

    def server_count(self) -> int:
        return 1


#: A socket's rooms when they are exactly its own (``{sid}``), held implicitly.
_OWN_ONLY: frozenset[str] = frozenset()


class MemoryAdapter(Adapter):
    """Membership in this process's memory; the cluster operations are local.

    Every socket is in its own room, and almost always alone in it, so that
    room is implicit (issue 19: a set and a members dict per socket were
    ~0.5 KB of an idle connection): room ``r`` is kept in ``_rooms`` only
    when it is not some socket's own room with that socket alone in it.
    Precisely, a room ``r`` of a namespace has as members
    ``_rooms[ns][r]`` if that exists; otherwise ``{r}`` if socket ``r`` is
    in room ``r`` (the *implicit* own room); otherwise nobody. A socket's
    rooms are ``_socket_rooms[ns][sid]``: a set, or :data:`_OWN_ONLY`
    standing for ``{sid}``. An own room becomes explicit as soon as another
    socket joins it (the general path, with the owner listed first, where it
    joined first), and the owner may leave it as in python-socketio. Setting
    :attr:`implicit_own_rooms` False keeps every room explicit (the general
    path alone; the tests hold the two together).
    """

    #: Keep a socket's own room implicit while it is alone in it.
    implicit_own_rooms = True

    def __init__(self) -> None:
        # namespace -> room -> {sid: None} (an ordered set); no implicit own rooms
        self._rooms: dict[str, dict[str, dict[str, None]]] = {}
        # namespace -> sid -> its rooms (_OWN_ONLY: just its own)
        self._socket_rooms: dict[str, dict[str, set[str] | frozenset[str]]] = {}

    def _implicit(self, of_namespace: dict[str, dict[str, None]] | None,
                  sockets: dict[str, set[str] | frozenset[str]], room: str) -> bool:
        """Whether ``room`` is an implicit own room (its owner alone in it, not in ``_rooms``)."""
        if of_namespace is not None and room in of_namespace:
            return False
        mine = sockets.get(room)
        return mine is not None and (mine is _OWN_ONLY or room in mine)

    def add(self, namespace: str, sid: str, room: str) -> None:
        of_namespace = self._rooms.setdefault(namespace, {})
        sockets = self._socket_rooms.setdefault(namespace, {})
        mine = sockets.get(sid)
        if room == sid and room not in of_namespace and self.implicit_own_rooms:
            # The own room, nobody else in it: implicit (no members dict).
            if mine is None:
                sockets[sid] = _OWN_ONLY
                fresh = True
            elif mine is _OWN_ONLY:
                fresh = False
            else:
                fresh = sid not in mine
                mine.add(sid)  # type: ignore[union-attr]
        else:
            if room not in of_namespace and self._implicit(None, sockets, room):
                of_namespace[room] = {room: None}  # someone joins another's own room: explicit now
            members = of_namespace.setdefault(room, {})
            fresh = sid not in members
            members[sid] = None
            if mine is None:
                sockets[sid] = {room}
            elif mine is _OWN_ONLY:
                if room != sid:
                    sockets[sid] = {sid, room}
            else:
                mine.add(room)  # type: ignore[union-attr]
        if fresh and self.membership_listeners:
            self._membership_changed(namespace, room, sid, True)

    def discard(self, namespace: str, sid: str, room: str) -> None:
        left = False
        rooms = self._rooms.get(namespace)
        sockets = self._socket_rooms.get(namespace, {})
        mine = sockets.get(sid)
        if room == sid and self._implicit(rooms, sockets, room):
            left = True  # leaving one's implicit own room
        elif rooms is not None:
            members = rooms.get(room)
            if members is not None:
                left = sid in members
                members.pop(sid, None)
                if not members:
                    del rooms[room]
        if mine is _OWN_ONLY:
            if room == sid:
                sockets[sid] = set()
        elif mine is not None:
            mine.discard(room)  # type: ignore[union-attr]
        if left and self.membership_listeners:
            self._membership_changed(namespace, room, sid, False)

    def discard_all(self, namespace: str, sid: str) -> None:
        of_namespace = self._socket_rooms.get(namespace)
        if not of_namespace:
            return
        mine = of_namespace.pop(sid, ())
        left: Iterable[str] = (sid,) if mine is _OWN_ONLY else mine
        rooms = self._rooms.get(namespace, {})
        for room in left:
            members = rooms.get(room)
            if members is not None:
                members.pop(sid, None)
                if not members:
                    del rooms[room]
        if not of_namespace:
            del self._socket_rooms[namespace]
            self._rooms.pop(namespace, None)
        if left and self.membership_listeners:
            for room in left:
                self._membership_changed(namespace, room, sid, False)

    def rooms_of(self, namespace: str, sid: str) -> set[str]:
        mine = self._socket_rooms.get(namespace, {}).get(sid, ())
        return {sid} if mine is _OWN_ONLY else set(mine)

    def members(self, namespace: str, rooms: Iterable[str] | None, skip: Iterable[str] = ()) -> list[str]:
        """Sids in any of ``rooms`` (all sockets when None), minus those in ``skip`` rooms."""
        sockets = self._socket_rooms.get(namespace)
        if not sockets:
            return []
        of_namespace = self._rooms.get(namespace, {})
        if rooms is None:
            selected: Iterable[str] = sockets.keys()
        else:
            room_list = list(rooms)
            if len(room_list) == 1:
                room = room_list[0]
                found = of_namespace.get(room)
                if found is not None:
                    selected = found.keys()
                else:
                    selected = (room,) if self._implicit(None, sockets, room) else ()
            else:
                merged: dict[str, None] = {}
                for room in room_list:
                    found = of_namespace.get(room)
                    if found is not None:
                        merged.update(found)
                    elif self._implicit(None, sockets, room):
                        merged[room] = None
                selected = merged.keys()
        skip_list = list(skip)
        if not skip_list:
            return list(selected)
        excluded: set[str] = set()
        for room in skip_list:
            found = of_namespace.get(room)
            if found is not None:
                excluded.update(found)
            elif self._implicit(None, sockets, room):
                excluded.add(room)
        return [sid for sid in selected if sid not in excluded]

    def room_names(self, namespace: str) -> list[str]:
        """Every room with members: the explicit ones, then the implicit own rooms."""
        sockets = self._socket_rooms.get(namespace, {})
        of_namespace = self._rooms.get(namespace, {})
        return [*of_namespace, *(sid for sid in sockets if self._implicit(of_namespace, sockets, sid))]

    def membership_count(self) -> int:
        return sum(1 if rooms is _OWN_ONLY else len(rooms)
                   for ns in self._socket_rooms.values() for rooms in ns.values())
