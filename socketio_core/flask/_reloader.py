"""The development reloader of ``SocketIO.run(use_reloader=True)``.

Strategy, as Werkzeug's: the process the user started becomes a supervisor
that runs the same command line (``sys.orig_argv``) in a child process with
``SOCKETIO_CORE_RELOADER=1`` set, and starts it again whenever it exits with
:data:`RELOAD_EXIT_CODE`. The child serves; a watcher greenlet (not a thread:
the gevent hub keeps the main thread, signals included) compares the
modification times of every imported module's source and of ``extra_files``
once per ``interval``, and on a change the server stops cleanly (clients get a
close packet and reconnect to the next child) and the child exits with that
code. Any other exit ends the supervisor with the same code.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from typing import Any, Callable, Iterable

import gevent

__all__ = ["RELOAD_EXIT_CODE", "ENV_VAR", "is_child", "run_supervisor", "start_watcher", "watched_files"]

ENV_VAR = "SOCKETIO_CORE_RELOADER"
RELOAD_EXIT_CODE = 3


def is_child() -> bool:
    return os.environ.get(ENV_VAR) == "1"


def run_supervisor() -> int:
    """Run this program in a child until it exits for another reason than a reload."""
    args = [sys.executable, *sys.orig_argv[1:]]
    env = {**os.environ, ENV_VAR: "1"}
    print(" * Restarting with the socketio-core reloader", file=sys.stderr, flush=True)
    child: subprocess.Popen[bytes] | None = None

    def forward(signum: int, frame: Any) -> None:
        if child is not None and child.poll() is None:
            child.send_signal(signum)

    signal.signal(signal.SIGTERM, forward)
    while True:
        child = subprocess.Popen(args, env=env)
        while True:
            try:
                code = child.wait()
                break
            except KeyboardInterrupt:
                # Ctrl+C reached the child too (same process group): let it stop cleanly.
                continue
        if code != RELOAD_EXIT_CODE:
            return code


def watched_files(extra_files: Iterable[str] = ()) -> set[str]:
    """Source files of the imported modules outside the Python installation, plus ``extra_files``."""
    roots = tuple({os.path.realpath(p) + os.sep for p in (sys.prefix, sys.base_prefix, sys.exec_prefix)})
    files = {os.path.abspath(f) for f in extra_files}
    for module in list(sys.modules.values()):
        name = getattr(module, "__file__", None)
        if not isinstance(name, str):
            continue
        if name.endswith((".pyc", ".pyo")):
            name = name[:-1]
        if not name.endswith(".py"):
            continue
        real = os.path.realpath(name)
        if real.startswith(roots):
            continue  # the standard library and installed packages do not change while we run
        files.add(real)
    return files


def _mtimes(files: Iterable[str]) -> dict[str, float]:
    times = {}
    for path in files:
        try:
            times[path] = os.stat(path).st_mtime
        except OSError:
            times[path] = -1.0
    return times


def start_watcher(
    on_change: Callable[[str], None], *, extra_files: Iterable[str] = (), interval: float = 1.0
) -> Any:
    """Spawn the greenlet that calls ``on_change(path)`` once, at the first changed file."""
    extra = list(extra_files)

    def watch() -> None:
        files = watched_files(extra)
        module_count = len(sys.modules)
        known = _mtimes(files)
        while True:
            gevent.sleep(interval)
            if len(sys.modules) != module_count:  # modules imported since are watched from now on
                module_count = len(sys.modules)
                files = watched_files(extra)
            current = _mtimes(files)
            for path, mtime in current.items():
                if path in known and known[path] != mtime:
                    on_change(path)
                    return
            known = current

    return gevent.spawn(watch)
