"""Who is in which room, per namespace: the in-memory adapter.

Every socket is in the room named by its own sid, so "to a sid" and "to a
room" are the same operation. Room members are kept in insertion order
(dicts), which makes broadcast delivery order stable and testable. The
adapter is the one seam a multi-process adapter (Redis) replaces.
"""

from __future__ import annotations

from typing import Iterable

__all__ = ["Adapter", "MemoryAdapter"]


class Adapter:
    """The interface the server uses; see :class:`MemoryAdapter` for the semantics."""

    def add(self, namespace: str, sid: str, room: str) -> None:
        raise NotImplementedError

    def discard(self, namespace: str, sid: str, room: str) -> None:
        raise NotImplementedError

    def discard_all(self, namespace: str, sid: str) -> None:
        raise NotImplementedError

    def rooms_of(self, namespace: str, sid: str) -> set[str]:
        raise NotImplementedError

    def members(self, namespace: str, rooms: Iterable[str] | None, skip: Iterable[str] = ()) -> list[str]:
        raise NotImplementedError

    def close_room(self, namespace: str, room: str) -> list[str]:
        raise NotImplementedError

    def room_names(self, namespace: str) -> list[str]:
        raise NotImplementedError

    def membership_count(self) -> int:
        """Room memberships held, over all namespaces (a leak detector)."""
        raise NotImplementedError


class MemoryAdapter(Adapter):
    def __init__(self) -> None:
        # namespace -> room -> {sid: None} (an ordered set)
        self._rooms: dict[str, dict[str, dict[str, None]]] = {}
        # namespace -> sid -> rooms
        self._socket_rooms: dict[str, dict[str, set[str]]] = {}

    def add(self, namespace: str, sid: str, room: str) -> None:
        self._rooms.setdefault(namespace, {}).setdefault(room, {})[sid] = None
        self._socket_rooms.setdefault(namespace, {}).setdefault(sid, set()).add(room)

    def discard(self, namespace: str, sid: str, room: str) -> None:
        rooms = self._rooms.get(namespace)
        if rooms is not None:
            members = rooms.get(room)
            if members is not None:
                members.pop(sid, None)
                if not members:
                    del rooms[room]
        of_socket = self._socket_rooms.get(namespace, {}).get(sid)
        if of_socket is not None:
            of_socket.discard(room)

    def discard_all(self, namespace: str, sid: str) -> None:
        of_namespace = self._socket_rooms.get(namespace)
        if not of_namespace:
            return
        for room in of_namespace.pop(sid, ()):
            members = self._rooms[namespace].get(room)
            if members is not None:
                members.pop(sid, None)
                if not members:
                    del self._rooms[namespace][room]
        if not of_namespace:
            del self._socket_rooms[namespace]
            self._rooms.pop(namespace, None)

    def rooms_of(self, namespace: str, sid: str) -> set[str]:
        return set(self._socket_rooms.get(namespace, {}).get(sid, ()))

    def members(self, namespace: str, rooms: Iterable[str] | None, skip: Iterable[str] = ()) -> list[str]:
        """Sids in any of ``rooms`` (all sockets when None), minus those in ``skip`` rooms."""
        of_namespace = self._rooms.get(namespace)
        if not of_namespace:
            return []
        if rooms is None:
            selected: Iterable[str] = self._socket_rooms.get(namespace, {}).keys()
        else:
            room_list = list(rooms)
            if len(room_list) == 1:
                selected = of_namespace.get(room_list[0], {}).keys()
            else:
                merged: dict[str, None] = {}
                for room in room_list:
                    merged.update(of_namespace.get(room, {}))
                selected = merged.keys()
        skip_list = list(skip)
        if not skip_list:
            return list(selected)
        excluded: set[str] = set()
        for room in skip_list:
            excluded.update(of_namespace.get(room, {}))
        return [sid for sid in selected if sid not in excluded]

    def close_room(self, namespace: str, room: str) -> list[str]:
        members = list(self._rooms.get(namespace, {}).get(room, {}))
        for sid in members:
            self.discard(namespace, sid, room)
        return members

    def room_names(self, namespace: str) -> list[str]:
        return list(self._rooms.get(namespace, {}))

    def membership_count(self) -> int:
        return sum(len(rooms) for ns in self._socket_rooms.values() for rooms in ns.values())
