"""The supervisor's routing: each new TCP connection to the worker that owns its session.

The supervisor accepts every connection, reads only its first request head,
picks the worker that owns the head's Engine.IO sid (:mod:`._routing`; no
sid: the next worker in turn) and passes the descriptor, with the bytes
already read, to that worker (:mod:`._handoff`). The worker serves it as if
it had accepted it; the supervisor never touches the connection again. A
worker that reads, on a keep-alive connection, a request for another
worker's session passes the connection back, and it is routed again
(counted as ``handed_back``). The cost is one ``accept``, one ``recv`` and
one ``sendmsg`` per TCP connection, not per request.

A connection whose head is not complete on arrival waits (registered with
the supervisor's selector) until ``header_timeout``; one for which no worker
is ready (all restarting) waits until one is.
"""

from __future__ import annotations

import errno
import logging
import selectors
import socket
import _socket
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from ._handoff import HandoffReader, close_fd, pack_handoff, send_fd, unpack_handoff
from ._process import WorkerProcess
from ._routing import head_end, owner_of_head

__all__ = ["Router"]

log = logging.getLogger(__name__)

_READ = 65536


@dataclass(eq=False)
class _Pending:
    sock: _socket.socket
    address: Any
    deadline: float
    buf: bytes = b""
    done: bool = False


class Router:
    """Routes connections over the supervisor's workers (see the module note).

    ``slots`` and ``by_wid`` are the supervisor's own tables, read here and
    changed only by the supervisor (spawn, exit).
    """

    def __init__(
        self,
        sel: selectors.BaseSelector,
        slots: list[WorkerProcess | None],
        by_wid: dict[int, WorkerProcess],
        *,
        header_timeout: float,
        max_header_bytes: int,
    ) -> None:
        self._sel = sel
        self._slots = slots
        self._by_wid = by_wid
        self.header_timeout = header_timeout
        self.max_header_bytes = max_header_bytes
        self._turn = 0
        self._pending: deque[_Pending] = deque()
        self._reader = HandoffReader()
        #: Connections waiting for any ready worker (all restarting).
        self._waiting: deque[tuple[bytes, _socket.socket]] = deque()
        #: Counters: connections routed from accept, and routed again after
        #: a worker handed them back.
        self.routed = 0
        self.handed_back = 0

    # ------------------------------------------------------------ accepting

    def on_accept(self, listener: Any, mask: int) -> None:
        """Accept what is waiting; route each connection whose head is there at once.

        The lean path of every new connection (its cost is the routing cost
        per connection, benchmarks/workers_bench.py): the descriptor from
        ``_accept`` (not ``accept()``, whose wrapper reads the family and
        type back through enum conversions), a C socket object made from known
        values (not the ``socket.socket`` wrapper: its Python ``__init__`` and
        ``close`` are calls per connection for nothing used here), no
        ``setblocking`` (each read is ``MSG_DONTWAIT``: the worker's gevent
        socket makes the descriptor non-blocking), and a
        :class:`_Pending` only for a head that is not complete yet.
        """
        accept = listener._accept
        family = listener.family
        deadline = 0.0
        for _ in range(64):
            try:
                fd, address = accept()
            except BlockingIOError:
                return
            except OSError as exc:
                if exc.errno in (errno.EMFILE, errno.ENFILE):
                    log.warning("supervisor: out of file descriptors: %s", exc.strerror)
                return
            sock = _socket.socket(family, socket.SOCK_STREAM, 0, fd)
            try:
                data = sock.recv(_READ, socket.MSG_DONTWAIT)
            except BlockingIOError:
                data = None
            except OSError:
                data = b""
            if data and (head_end(data) >= 0 or len(data) > self.max_header_bytes):
                self.routed += 1
                self.route(pack_handoff(address, data), sock, data=data)
                continue
            if data == b"":
                sock.close()
                continue
            if not deadline:
                deadline = time.monotonic() + self.header_timeout
            pending = _Pending(sock, address, deadline, data or b"")
            self._pending.append(pending)
            self._sel.register(sock, selectors.EVENT_READ, lambda s, m, p=pending: self._read_head(p))

    def _read_head(self, pending: _Pending) -> bool:
        """Read what is there; True once the connection is routed or closed."""
        try:
            data = pending.sock.recv(_READ, socket.MSG_DONTWAIT)
        except BlockingIOError:
            return False
        except OSError:
            data = b""
        if data:
            pending.buf += data
            if head_end(pending.buf) < 0 and len(pending.buf) <= self.max_header_bytes:
                return False
        pending.done = True
        self._sel.unregister(pending.sock)
        if not data:
            pending.sock.close()
            return True
        self.routed += 1
        self.route(pack_handoff(pending.address, pending.buf), pending.sock, data=pending.buf)
        return True

    def next_deadline(self) -> float | None:
        """When the oldest connection without a complete head times out (monotonic)."""
        return self._pending[0].deadline if self._pending else None

    def expire(self, now: float) -> None:
        """Forget routed heads and close connections that sent none within ``header_timeout``."""
        while self._pending and (self._pending[0].done or self._pending[0].deadline <= now):
            pending = self._pending.popleft()
            if not pending.done:
                pending.done = True
                try:
                    self._sel.unregister(pending.sock)
                except (KeyError, ValueError):
                    pass
                pending.sock.close()

    # -------------------------------------------------------------- routing

    def route(self, message: bytes, client: _socket.socket, *, exclude: WorkerProcess | None = None,
              data: bytes | None = None) -> None:
        """Pass ``client`` (with ``message``) to its session's worker, else to the next in turn.

        ``data``: the bytes in ``message`` when the caller has them (not unpacked again).
        """
        if data is None:
            _, data = unpack_handoff(message)
        owner = self._by_wid.get(owner_of_head(data[:self.max_header_bytes]) or 0)
        worker = owner if owner is not None and owner is not exclude else self._next_worker()
        if worker is None:
            self._waiting.append((message, client))
            return
        self._handoff(worker, message, client)

    def route_waiting(self) -> None:
        """A worker became ready: route what waited for one."""
        waiting, self._waiting = self._waiting, deque()
        for message, client in waiting:
            self.route(message, client)

    def reroute_backlog(self, worker: WorkerProcess) -> None:
        """``worker`` exited: what it had not taken yet goes to another (its sessions are gone)."""
        backlog, worker.backlog = worker.backlog, deque()
        for message, client in backlog:
            self.route(message, client, exclude=worker)

    def _next_worker(self) -> WorkerProcess | None:
        """New sessions in turn over the ready workers that are not draining."""
        count = len(self._slots)
        for _ in range(count):
            self._turn = (self._turn + 1) % count
            worker = self._slots[self._turn]
            if worker is not None and worker.ready and not worker.draining:
                return worker
        return None

    def _handoff(self, worker: WorkerProcess, message: bytes, client: _socket.socket) -> None:
        if worker.backlog:
            worker.backlog.append((message, client))
            return
        try:
            send_fd(worker.handoff, message, client.fileno())
        except BlockingIOError:
            worker.backlog.append((message, client))
            self._sel.modify(worker.handoff, selectors.EVENT_READ | selectors.EVENT_WRITE,
                             lambda s, m, w=worker: self.on_handoff(w, m))
            return
        except OSError as exc:
            log.warning("supervisor: handing a connection to worker=%d failed: %s", worker.slot, exc)
        client.close()  # the worker has its own descriptor now

    def on_handoff(self, worker: WorkerProcess, mask: int) -> None:
        """``worker``'s handoff socket: room for its backlog, or connections it hands back."""
        if mask & selectors.EVENT_WRITE:
            while worker.backlog:
                message, client = worker.backlog[0]
                try:
                    send_fd(worker.handoff, message, client.fileno())
                except BlockingIOError:
                    break
                except OSError:
                    pass
                worker.backlog.popleft()
                client.close()
            if not worker.backlog:
                self._sel.modify(worker.handoff, selectors.EVENT_READ,
                                 lambda s, m, w=worker: self.on_handoff(w, m))
        if not mask & selectors.EVENT_READ:
            return
        for _ in range(64):  # connections handed back: a keep-alive client changed sessions
            try:
                got = self._reader.read(worker.handoff)
            except OSError:  # nothing waits (BlockingIOError), or the socket failed
                return
            if got is None:
                return  # the worker closed its end: its exit is reaped by SIGCHLD
            message, fds = got
            for extra in fds[1:]:
                close_fd(extra)
            if not fds:
                continue
            client = socket.socket(fileno=fds[0])  # (rare: detected, not passed)
            client.setblocking(False)
            self.handed_back += 1
            log.debug("supervisor: worker=%d handed a connection back", worker.slot)
            self.route(message, client, exclude=worker)

    # -------------------------------------------------------------- closing

    def close_all(self) -> None:
        """Close every connection not handed to a worker yet (the supervisor is ending)."""
        for pending in self._pending:
            if not pending.done:
                pending.sock.close()
        for _, client in self._waiting:
            client.close()
        self._pending.clear()
        self._waiting.clear()
