"""``workers=N``: N gevent worker processes behind one port, with sticky routing.

- :mod:`._routing`: which worker owns a request (the Engine.IO sid's prefix);
- :mod:`._supervisor`: the process that listens, forks the workers, relays
  their bus, and restarts, drains and reloads them;
- :mod:`._router`: the supervisor's routing of each new connection to its
  session's worker; :mod:`._handoff`: the message that carries a connection's
  descriptor between processes; :mod:`._process`: the supervisor's record of
  a worker;
- :mod:`._bus`: the supervisor's pub/sub hub and recovery log for the
  cluster adapter between workers (no Redis);
- :mod:`._worker`: a worker process: the ordinary server, fed by the supervisor.

See README "Workers".
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Callable

from ._bus import Hub
from ._routing import owner_of_sid, sid_factory
from ._supervisor import Supervisor, WorkerContext
from ._worker import BusConnection, serve_worker

if TYPE_CHECKING:
    from .._server import Server

__all__ = ["serve_workers", "Supervisor", "WorkerContext", "BusConnection", "Hub",
           "owner_of_sid", "sid_factory"]


def serve_workers(
    http_server: "Server",
    host: str,
    port: int,
    workers: int,
    *,
    setup: Callable[[WorkerContext, BusConnection], Callable[[], None] | None] | None = None,
    on_listening: Callable[[tuple[str, int]], None] | None = None,
    stop_timeout: float = 10.0,
) -> None:
    """Serve ``http_server`` (built, not started) from ``workers`` processes until SIGTERM/SIGINT.

    Binds ``host:port`` here (raises OSError when it cannot), then forks the
    workers; ``setup(context, bus)`` runs in each before it serves (and may
    return what to run after it stopped);
    ``on_listening(address)`` once all of them are ready. TLS is not
    supported (the supervisor reads the first request head to route it):
    terminate TLS in front.
    """
    limits = http_server.limits
    supervisor = Supervisor(
        lambda ctx: serve_worker(ctx, http_server, setup),
        workers,
        header_timeout=limits.header_timeout,
        max_header_bytes=limits.max_header_bytes,
        stop_timeout=stop_timeout,
        on_listening=on_listening,
    )
    supervisor.bind(host, port)
    supervisor.serve()
