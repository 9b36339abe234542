"""The supervisor: one listening socket, N worker processes, sticky routing, the bus.

Routing. The supervisor accepts every TCP connection and passes it, with
its first request head, to the worker that owns the head's Engine.IO sid
(:mod:`._router`); no request is ever answered by a worker that does not
own its session.

The supervisor also holds the workers' bus (:mod:`._bus`): one Unix stream
socket per worker, for the cluster adapter between workers.

Processes. Workers are forked from the supervisor (the application's
handlers come with them), each with a slot number (``worker=N`` in its log
lines) and a wid never reused (the sid prefix). A worker that dies is
forked again at once (with a pause if it keeps dying at start); its clients'
sessions died with it, their next requests are answered "Session ID
unknown" by whichever worker gets them, and they reconnect (recovering
their state where connection state recovery is on). SIGTERM/SIGINT: stop
accepting, SIGTERM every worker (each closes its sessions properly), wait
for them (SIGKILL after ``stop_timeout``), exit. SIGHUP: replace the workers
one at a time (the new one first, then the old one is drained), the
listening socket stays open throughout.

No event-loop library here: a plain ``selectors`` loop, so that forking a
worker from it leaves the child nothing to clean up but file descriptors.
"""

from __future__ import annotations

import logging
import os
import selectors
import signal
import socket
import time
from collections import deque
from typing import Any, Callable

from ._bus import BusFrameError, Hub, Peer
from ._handoff import WorkerContext
from ._process import WorkerProcess, kill
from ._router import Router

__all__ = ["Supervisor", "WorkerContext"]

log = logging.getLogger(__name__)

_READ = 65536
#: A worker that dies this soon after it started is restarted after a pause.
_EARLY_DEATH = 2.0
_RESTART_PAUSE = 1.0


class Supervisor:
    """Runs ``workers`` processes behind one listening socket (see the module note).

    ``worker_main(context)`` runs in each forked worker and serves until
    told to stop; ``on_listening(address)`` is called once every worker is
    ready (the port has accepted connections since it was bound).
    """

    def __init__(
        self,
        worker_main: Callable[[WorkerContext], None],
        workers: int,
        *,
        header_timeout: float = 10.0,
        max_header_bytes: int = 16 * 1024,
        stop_timeout: float = 10.0,
        on_listening: Callable[[tuple[str, int]], None] | None = None,
    ) -> None:
        if workers < 1:
            raise ValueError("workers must be at least 1")
        self.worker_main = worker_main
        self.count = workers
        self.header_timeout = header_timeout
        self.max_header_bytes = max_header_bytes
        self.stop_timeout = stop_timeout
        self.on_listening = on_listening
        self.hub = Hub(time.time, on_ready=self._on_ready)
        self._sel = selectors.DefaultSelector()
        self._listener: socket.socket | None = None
        self._slots: list[WorkerProcess | None] = [None] * workers
        self._by_wid: dict[int, WorkerProcess] = {}
        self._by_pid: dict[int, WorkerProcess] = {}
        self._next_wid = 1
        self.router = Router(self._sel, self._slots, self._by_wid,
                             header_timeout=header_timeout, max_header_bytes=max_header_bytes)
        self._stopping = False
        self._stop_deadline = 0.0
        self._reload: deque[int] = deque()
        self._replacing: dict[int, WorkerProcess] = {}  # new wid -> the worker it replaces
        self._restart_at: dict[int, float] = {}
        self._announced = False
        self._next_sweep = 0.0
        self._wake_r, self._wake_w = socket.socketpair()
        #: Bus frames per worker held while a batch of events is handled (see _loop_once).
        self._bus_batch: dict[WorkerProcess, bytearray] | None = None
        #: Workers restarted after they died (logged at exit).
        self.restarts = 0

    # ------------------------------------------------------------- binding

    def bind(self, host: str, port: int, backlog: int = 2048) -> tuple[str, int]:
        """Listen (before any worker exists, so a busy port fails here); returns the address."""
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        listener = socket.socket(family, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if hasattr(socket, "TCP_DEFER_ACCEPT"):
            # Linux: accept() returns once the client's first bytes arrived, so
            # the first recv() usually has the whole head and the connection
            # is routed at once, never registered with the selector.
            listener.setsockopt(socket.IPPROTO_TCP, socket.TCP_DEFER_ACCEPT, 1)
        try:
            listener.bind((host, port))
            listener.listen(backlog)
        except OSError:
            listener.close()
            raise
        listener.setblocking(False)
        self._listener = listener
        address = listener.getsockname()
        self.address = (str(address[0]), int(address[1]))
        return self.address

    # ---------------------------------------------------------------- loop

    def serve(self) -> None:
        """Fork the workers and supervise until SIGTERM/SIGINT; returns when all have exited."""
        assert self._listener is not None, "bind() first"
        self._wake_r.setblocking(False)
        self._wake_w.setblocking(False)
        previous = {sig: signal.signal(sig, _no_op) for sig in
                    (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGHUP)}
        old_wakeup = signal.set_wakeup_fd(self._wake_w.fileno(), warn_on_full_buffer=False)
        self._sel.register(self._wake_r, selectors.EVENT_READ, self._on_signal)
        self._sel.register(self._listener, selectors.EVENT_READ, self.router.on_accept)
        try:
            for slot in range(self.count):
                self._spawn(slot)
            while not (self._stopping and not self._by_pid):
                self._loop_once()
        finally:
            signal.set_wakeup_fd(old_wakeup)
            for sig, handler in previous.items():
                signal.signal(sig, handler)
            self._close_all()
        log.info("supervisor: stopped (%d connections routed, %d handed back by a worker "
                 "for another worker's session, %d restarts)",
                 self.router.routed, self.router.handed_back, self.restarts)

    def _loop_once(self) -> None:
        now = time.monotonic()
        timeout = 1.0
        head_deadline = self.router.next_deadline()
        if head_deadline is not None:
            timeout = min(timeout, max(0.0, head_deadline - now))
        if self._restart_at:
            timeout = min(timeout, max(0.0, min(self._restart_at.values()) - now))
        if self._stopping:
            timeout = min(timeout, max(0.0, self._stop_deadline - now))
        next_claim = self.hub.answer_late_claims()
        if next_claim is not None:
            timeout = min(timeout, max(0.0, next_claim - time.time()))
        # Bus frames for the workers are collected over this batch of events
        # and written once per worker after it (a burst of broadcasts read
        # together leaves together: see BusConnection.send_later).
        self._bus_batch = {}
        try:
            for key, mask in self._sel.select(timeout):
                if key.fd < 0 or getattr(key.fileobj, "fileno", lambda: 0)() < 0:
                    # closed by an earlier event of this batch (a reaped worker)
                    continue
                try:
                    key.data(key.fileobj, mask)
                except Exception:  # a bug: log it, never let it end the supervisor
                    log.exception("supervisor: handling an event failed")
        finally:
            batch, self._bus_batch = self._bus_batch, None
            for worker, frames in batch.items():
                self._bus_write(worker, bytes(frames))
        now = time.monotonic()
        self.router.expire(now)
        for slot, when in list(self._restart_at.items()):
            if when <= now and not self._stopping:
                del self._restart_at[slot]
                self._spawn(slot)
        if now >= self._next_sweep:
            self._next_sweep = now + 30.0
            self.hub.sweep()
        if self._stopping and now >= self._stop_deadline:
            for worker in self._by_pid.values():
                log.warning("supervisor: worker=%d (pid %d) did not stop in %g s: killing it",
                            worker.slot, worker.pid, self.stop_timeout)
                kill(worker.pid, signal.SIGKILL)
            self._stop_deadline = now + 3600

    # ------------------------------------------------------------- signals

    def _on_signal(self, sock: Any, mask: int) -> None:
        try:
            data = self._wake_r.recv(512)
        except BlockingIOError:
            return
        for signum in data:
            if signum == signal.SIGCHLD:
                self._reap()
            elif signum in (signal.SIGTERM, signal.SIGINT):
                self.stop()
            elif signum == signal.SIGHUP:
                self.reload()

    def stop(self) -> None:
        """Stop accepting, ask every worker to drain and exit."""
        if self._stopping:
            return
        log.info("supervisor: stopping %d worker(s)", len(self._by_pid))
        self._stopping = True
        self._stop_deadline = time.monotonic() + self.stop_timeout
        self._restart_at.clear()
        self._reload.clear()
        if self._listener is not None:
            self._sel.unregister(self._listener)
            self._listener.close()
            self._listener = None
        for worker in self._by_pid.values():
            self._drain(worker)

    def reload(self) -> None:
        """Replace every worker, one at a time; the listening socket stays open."""
        if self._stopping or self._reload or self._replacing:
            log.info("supervisor: a reload is already under way")
            return
        log.info("supervisor: reloading %d worker(s) one by one", self.count)
        self._reload.extend(range(self.count))
        self._reload_next()

    def _reload_next(self) -> None:
        while self._reload and not self._stopping:
            slot = self._reload.popleft()
            old = self._slots[slot]
            if old is None or not old.alive:
                continue  # being restarted anyway: its new worker is new code already
            new = self._spawn(slot)
            self._replacing[new.wid] = old
            return

    def _reap(self) -> None:
        while True:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                return
            if pid == 0:
                return
            worker = self._by_pid.pop(pid, None)
            if worker is None:
                continue
            self._worker_gone(worker, status)

    def _worker_gone(self, worker: WorkerProcess, status: int) -> None:
        worker.alive = False
        self._by_wid.pop(worker.wid, None)
        for sock in (worker.handoff, worker.bus):
            try:
                self._sel.unregister(sock)
            except (KeyError, ValueError):
                pass
            sock.close()
        self._bus_gone(worker)
        how = (f"signal {signal.Signals(-os.waitstatus_to_exitcode(status)).name}"
               if os.WIFSIGNALED(status) else f"code {os.waitstatus_to_exitcode(status)}")
        replaced = worker.draining or self._stopping
        (log.info if replaced else log.warning)(
            "supervisor: worker=%d (pid %d) exited with %s%s", worker.slot, worker.pid, how,
            "" if replaced else "; restarting it",
        )
        self.router.reroute_backlog(worker)
        for new_wid, old in list(self._replacing.items()):
            if old is worker:  # died before its replacement was ready: nothing to drain
                del self._replacing[new_wid]
        if self._slots[worker.slot] is worker:
            self._slots[worker.slot] = None
            if not self._stopping:
                self.restarts += 1
                early = time.monotonic() - worker.started < _EARLY_DEATH
                self._restart_at[worker.slot] = time.monotonic() + (_RESTART_PAUSE if early else 0.0)
        if not self._replacing:
            self._reload_next()

    # ------------------------------------------------------------- workers

    def _spawn(self, slot: int) -> WorkerProcess:
        wid = self._next_wid
        self._next_wid += 1
        handoff, child_handoff = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
        bus, child_bus = socket.socketpair(socket.AF_UNIX, socket.SOCK_STREAM)
        family = self._listener.family if self._listener is not None else socket.AF_INET
        pid = os.fork()
        if pid == 0:  # the worker
            code = 1
            try:
                handoff.close()
                bus.close()
                self._forget_in_child()
                self.worker_main(WorkerContext(slot, wid, self.count, child_handoff, child_bus, family))
                code = 0
            except SystemExit as exc:
                code = exc.code if isinstance(exc.code, int) else 1
            except BaseException:
                log.exception("worker=%d failed", slot)
            finally:
                logging.shutdown()
                os._exit(code)
        child_handoff.close()
        child_bus.close()
        handoff.setblocking(False)
        bus.setblocking(False)
        peer = Peer(send=lambda frame: None, name=f"worker={slot}")
        worker = WorkerProcess(slot, wid, pid, handoff, bus, peer, time.monotonic())
        peer.send = lambda frame, w=worker: self._bus_send(w, frame)  # type: ignore[misc]
        self.hub.connect(peer)
        self._sel.register(handoff, selectors.EVENT_READ, lambda s, m, w=worker: self.router.on_handoff(w, m))
        self._sel.register(bus, selectors.EVENT_READ, lambda s, m, w=worker: self._on_bus(w, m))
        self._by_pid[pid] = worker
        self._by_wid[wid] = worker
        self._slots[slot] = worker
        log.info("supervisor: worker=%d started (pid %d)", slot, pid)
        return worker

    def _forget_in_child(self) -> None:
        """In a new worker: drop every descriptor and handler of the supervisor's."""
        signal.set_wakeup_fd(-1)
        for sig in (signal.SIGCHLD, signal.SIGTERM, signal.SIGINT, signal.SIGHUP):
            signal.signal(sig, signal.SIG_DFL)
        self._sel.close()
        for sock in [self._listener, self._wake_r, self._wake_w]:
            if sock is not None:
                sock.close()
        for worker in self._by_pid.values():
            worker.handoff.close()
            worker.bus.close()
            for _, client in worker.backlog:
                client.close()
        self.router.close_all()

    def _drain(self, worker: WorkerProcess) -> None:
        """SIGTERM: the worker closes its sessions (saving them for recovery) and exits."""
        worker.draining = True
        self.hub.drain_started(worker.peer)
        kill(worker.pid, signal.SIGTERM)

    def _on_ready(self, peer: Peer) -> None:
        worker = next((w for w in self._by_pid.values() if w.peer is peer), None)
        if worker is None:
            return
        worker.ready = True
        log.info("supervisor: worker=%d ready (pid %d)", worker.slot, worker.pid)
        old = self._replacing.pop(worker.wid, None)
        if old is not None and old.alive:
            self._drain(old)  # its exit moves the reload on
        self.router.route_waiting()
        if not self._announced and all(w is not None and w.ready for w in self._slots):
            self._announced = True
            log.info("supervisor: %d workers serving on %s:%d", self.count, *self.address)
            if self.on_listening is not None:
                self.on_listening(self.address)

    # ------------------------------------------------------------ the bus

    def _bus_send(self, worker: WorkerProcess, frame: bytes) -> None:
        if not worker.alive:
            return
        batch = self._bus_batch
        if batch is not None:  # within a batch of events: written after it
            held = batch.get(worker)
            if held is None:
                batch[worker] = bytearray(frame)
            else:
                held += frame
            return
        self._bus_write(worker, frame)

    def _bus_write(self, worker: WorkerProcess, frame: bytes) -> None:
        if not worker.alive:
            return
        if worker.bus_out:
            worker.bus_out += frame
            return
        try:
            sent = worker.bus.send(frame)
        except BlockingIOError:
            sent = 0
        except OSError:
            return  # gone: its exit is reaped separately
        if sent < len(frame):
            worker.bus_out += frame[sent:]
            self._sel.modify(worker.bus, selectors.EVENT_READ | selectors.EVENT_WRITE,
                             lambda s, m, w=worker: self._on_bus(w, m))

    def _bus_gone(self, worker: WorkerProcess) -> None:
        """``worker``'s bus ended: the hub saves the sessions it had not (see ``_bus.Hub.disconnect``)."""
        kept = self.hub.disconnect(worker.peer)
        if kept:
            log.warning("supervisor: worker=%d (pid %d) ended without saving its sessions: "
                        "%d kept for recovery", worker.slot, worker.pid, kept)

    def _on_bus(self, worker: WorkerProcess, mask: int) -> None:
        if mask & selectors.EVENT_WRITE and worker.bus_out:
            try:
                sent = worker.bus.send(worker.bus_out)
                del worker.bus_out[:sent]
            except BlockingIOError:
                pass
            except OSError:
                worker.bus_out.clear()
            if not worker.bus_out and worker.alive:
                self._sel.modify(worker.bus, selectors.EVENT_READ,
                                 lambda s, m, w=worker: self._on_bus(w, m))
        if not mask & selectors.EVENT_READ:
            return
        try:
            data = worker.bus.recv(_READ)
        except BlockingIOError:
            return
        except OSError:
            data = b""
        if not data:
            self._sel.unregister(worker.bus)
            self._bus_gone(worker)  # the process exit is reaped by SIGCHLD
            return
        try:
            for op, header, body in worker.reader.feed(data):
                self.hub.handle(worker.peer, op, header, body)
        except (BusFrameError, KeyError, TypeError, ValueError) as exc:
            log.error("supervisor: worker=%d sent a bad bus frame (%r): dropping its bus", worker.slot, exc)
            self._sel.unregister(worker.bus)
            self._bus_gone(worker)

    def _close_all(self) -> None:
        self.router.close_all()
        if self._listener is not None:
            self._listener.close()
        self._sel.close()
        self._wake_r.close()
        self._wake_w.close()


def _no_op(signum: int, frame: Any) -> None:
    """Signals are read from the wake-up socket by the loop; the handler itself does nothing."""
