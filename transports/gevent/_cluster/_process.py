"""The supervisor's record of one worker process, shared by its lifecycle and its router."""

from __future__ import annotations

import os
import _socket
import socket
from collections import deque
from dataclasses import dataclass, field

from ._bus import BusReader, Peer

__all__ = ["WorkerProcess", "kill"]


@dataclass(eq=False)
class WorkerProcess:
    """One forked worker as the supervisor sees it (identity: the object, not its fields)."""

    slot: int
    wid: int
    pid: int
    handoff: socket.socket
    bus: socket.socket
    peer: Peer
    started: float
    reader: BusReader = field(default_factory=BusReader)
    bus_out: bytearray = field(default_factory=bytearray)
    #: Handoffs the socket did not take yet (the worker is slow): (message, client socket).
    backlog: deque[tuple[bytes, _socket.socket]] = field(default_factory=deque)
    ready: bool = False
    draining: bool = False
    alive: bool = True


def kill(pid: int, sig: int) -> None:
    """``os.kill`` that ignores a process already gone (it is reaped separately)."""
    try:
        os.kill(pid, sig)
    except ProcessLookupError:
        pass
