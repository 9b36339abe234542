"""``workers=N`` for Socket.IO: the adapter between the workers of one machine and ``run_workers``.

The processes, the sticky routing and the supervisor's bus are the gevent
driver's (``transports.gevent.serve_workers``); here: the cluster adapter
over that bus (:class:`WorkersAdapter`, the Redis adapter's logic with
another link) and :func:`run_workers`, behind ``Server.run(..., workers=N)``.
See README "Workers".
"""

from __future__ import annotations

from ._adapter import WorkersAdapter, WorkersRecoveryLog
from ._run import run_workers

__all__ = ["WorkersAdapter", "WorkersRecoveryLog", "run_workers"]
