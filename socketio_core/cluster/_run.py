"""``Server.run(host, port, workers=N)``: one Socket.IO server, N processes, one port.

The process side is the gevent driver's (``transports.gevent.serve_workers``:
the supervisor, sticky routing, restarts, drain, reload). This module adds
what Socket.IO needs: each worker leaves the adapter it was built with (made
in the parent, before the fork) for one of its own that joins the others.

- ``Server()`` (the default in-memory adapter): :class:`~._adapter.WorkersAdapter`,
  over the supervisor's bus; no Redis.
- ``Server(adapter=RedisAdapter(url))`` (``message_queue=`` in Flask): a new
  ``RedisAdapter`` with the same settings per worker (:class:`~._live.WorkerRedisAdapter`,
  which also knows the bus), so the workers of this machine and the servers of
  other machines form one cluster.

Connection state recovery keeps its options and moves to the new adapter's
log (the hub's, or Redis's): shared by all workers either way.
"""

from __future__ import annotations

import errno
import os
import sys
from typing import TYPE_CHECKING, Any, Callable

from transports import HttpApp
from transports.gevent import BusConnection, WorkerContext, serve_workers

from ..redis._adapter import RedisAdapter
from ..server import Adapter, MemoryAdapter
from ._adapter import WorkersAdapter, WorkersRecoveryLog
from ._live import KeptRecoveryLog, LiveSessions, WorkerRedisAdapter

if TYPE_CHECKING:
    from ..server import Server

__all__ = ["run_workers"]

_RECOVERY_OPTIONS = ("max_disconnection_duration", "max_packets", "max_bytes", "skip_middlewares")


def _adapter_factory(adapter: Adapter) -> Callable[[BusConnection], Adapter]:
    """How a worker makes its own adapter like ``adapter``; ValueError for one it cannot copy."""
    if type(adapter) is MemoryAdapter:
        return lambda connection: WorkersAdapter(connection)
    if isinstance(adapter, RedisAdapter) and not isinstance(adapter, WorkersAdapter):
        a = adapter
        return lambda connection: WorkerRedisAdapter(
            connection, a.url, channel_prefix=a.channel_prefix, request_timeout=a.request_timeout,
            startup_timeout=a.startup_timeout, backoff_min=a.backoff_min,
            backoff_max=a.backoff_max, redis_options=a.redis_options,
        )
    raise ValueError(
        f"workers=N needs the default adapter or a RedisAdapter, not {type(adapter).__name__}: "
        "each worker must make its own"
    )


def run_workers(
    server: "Server",
    host: str,
    port: int,
    workers: int,
    *,
    app: HttpApp | None = None,
    on_listening: Callable[[tuple[str, int]], None] | None = None,
    **kwargs: Any,
) -> None:
    """Serve ``server`` from ``workers`` processes until SIGTERM/SIGINT (see the module note).

    Raises SystemExit (one line) when the port cannot be bound, ValueError
    for TLS (terminate it in front: the supervisor reads request heads) or an
    adapter a worker cannot make its own.
    """
    if kwargs.get("certfile") or kwargs.get("keyfile"):
        raise ValueError("workers=N does not terminate TLS: put a TLS proxy in front")
    unknown = set(kwargs) - {"certfile", "keyfile"}
    if unknown:
        raise TypeError(f"run() got unexpected keyword argument(s) {sorted(unknown)}")
    make_adapter = _adapter_factory(server.adapter)
    recovery = server.recovery
    options = ({name: getattr(recovery, name) for name in _RECOVERY_OPTIONS if hasattr(recovery, name)}
               if recovery is not None else None)
    listeners = server.adapter.membership_listeners
    http = server.http_server(app)

    def setup(ctx: WorkerContext, connection: BusConnection) -> Callable[[], None]:
        server.bind_hub()
        adapter = make_adapter(connection)
        adapter.membership_listeners = listeners
        server.adapter = adapter
        live: LiveSessions | None = None
        if options is not None:
            server.recovery = recovery_log = adapter.recovery_log(dict(options))
            # The hub keeps a copy of every live session: a killed worker's clients recover.
            if isinstance(adapter, WorkersAdapter) and isinstance(recovery_log, WorkersRecoveryLog):
                live = LiveSessions(server, adapter, recovery_log)
            elif isinstance(adapter, WorkerRedisAdapter) and isinstance(recovery_log, KeptRecoveryLog):
                live = LiveSessions(server, adapter, recovery_log, connection)
            if live is not None:
                live.attach()
        adapter.attach(server)

        def teardown() -> None:
            adapter.close()
            if live is not None:
                live.close()

        return teardown

    if on_listening is None:
        def on_listening(address: tuple[str, int]) -> None:
            print(f" * Socket.IO server running on http://{address[0]}:{address[1]} with "
                  f"{workers} workers (Press CTRL+C to quit)", file=sys.stderr, flush=True)

    server.adapter.close()  # the parent only supervises; each worker joins with its own
    try:
        serve_workers(http, host, port, workers, setup=setup, on_listening=on_listening)
    except OSError as exc:
        raise SystemExit(
            f"socketio-core: cannot listen on {host}:{port}: "
            f"{os.strerror(exc.errno) if exc.errno else exc}"
            + (" (another server is running there: stop it or choose another port)"
               if exc.errno == errno.EADDRINUSE else "")
        ) from None
