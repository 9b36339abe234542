"""The servers ``run.py`` can benchmark: how each one is started.

Every entry follows the echo server's contract (shared/ECHO_SERVER.md: ``--port``,
``--ping-interval``, ``--log-level``, ``--driver``, ``--workers``) or, for the peers,
the same flags in their own scripts. Flags that arrive with other work
(``--driver asyncio``, ``--workers N``) can be taken from another checkout
(``--driver-tree``, ``--workers-tree``): ``-m`` and the ASGI runner put the working
directory first on ``sys.path``, so that checkout's packages shadow this one's.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent
ROOT = BENCH.parent
NODE_DIR = BENCH / "node"

SERVER_LABELS = {
    "ours": "ours (socketio_core)",
    "pysio": "python-socketio 5 (gevent)",
    "node": "Node socket.io 4.8",
    # --baseline-tree: our echo server from another checkout (an older commit),
    # run by the same interpreter, for before/after tables in one run.
    "base": "ours, baseline tree",
    "aio": "ours, asyncio driver",
    "asgi": "ours, ASGI app (uvicorn)",
    "pysio-asgi": "python-socketio 5 AsyncServer (uvicorn)",
    "w1": "ours --workers 1",
    "w2": "ours --workers 2",
}


@dataclass
class ServerSpec:
    name: str
    argv: list[str]
    cwd: Path


def executable(name: str, opts: argparse.Namespace) -> str:
    """The program a server entry runs (checked before a run starts)."""
    if name == "node":
        return str(opts.node)
    if name in ("pysio", "pysio-asgi"):
        return str(opts.peers_python)
    if name in ("aio", "asgi"):
        return str(getattr(opts, "driver_python", None) or opts.ours_python)
    return str(opts.ours_python)


def server_spec(name: str, port: int, ping_interval_ms: int | None, opts: argparse.Namespace) -> ServerSpec:
    ping = [] if ping_interval_ms is None else ["--ping-interval", str(ping_interval_ms)]
    echo = [opts.ours_python, "-m", "socketio_core.echo", "--port", str(port), "--log-level", "warning", *ping]
    driver_tree = Path(getattr(opts, "driver_tree", None) or ROOT)
    workers_tree = Path(getattr(opts, "workers_tree", None) or ROOT)
    if name == "ours":
        return ServerSpec(name, echo, ROOT)
    if name == "base":
        return ServerSpec(name, echo, Path(opts.baseline_tree))
    driver_python = executable("aio", opts)
    if name == "aio":
        return ServerSpec(name, [driver_python, *echo[1:], "--driver", "asyncio"], driver_tree)
    if name == "asgi":
        return ServerSpec(name, [driver_python, str(BENCH / "peers" / "ours_asgi_server.py"),
                                 "--port", str(port), "--log-level", "warning", *ping], driver_tree)
    if name in ("w1", "w2"):
        return ServerSpec(name, [*echo, "--workers", name[1:]], workers_tree)
    if name == "pysio":
        return ServerSpec(name, [opts.peers_python, str(BENCH / "peers" / "pysio_server.py"),
                                 "--port", str(port), *ping], BENCH)
    if name == "pysio-asgi":
        return ServerSpec(name, [opts.peers_python, str(BENCH / "peers" / "pysio_asgi_server.py"),
                                 "--port", str(port), *ping], BENCH)
    if name == "node":
        return ServerSpec(name, [opts.node, str(NODE_DIR / "sio_server.js"), "--port", str(port), *ping],
                          NODE_DIR)
    raise ValueError(name)
