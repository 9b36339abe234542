"""House rule 1: the protocol packages do no I/O, so they import none of it.

Two checks, one per way the rule can break:
- *what loads*: every module of ``engineio`` and ``socketio_core.protocol`` is
  imported in a fresh interpreter, and none of the I/O modules (nor
  :mod:`transports`) may appear in ``sys.modules`` afterwards. This catches an
  I/O import reached through a parent package's ``__init__`` or another module.
- *what is written*: each of those files is parsed with ``ast`` and its
  absolute imports checked by top-level name against a stricter list (no
  clock, no randomness, no logging either: those are arguments, house rule 2).
Both lists of modules are found on disk, so a new module is covered at once.
"""

from __future__ import annotations

import ast
import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

FORBIDDEN = {
    "socket", "ssl", "select", "selectors", "time", "threading", "_thread", "asyncio",
    "multiprocessing", "subprocess", "os", "random", "secrets", "logging", "gevent",
    "h11", "wsproto",
}

#: The protocol layers are the bottom: nothing above them may be imported from them.
UPPER_LAYERS = {"transports"}

#: What must not be loaded at all after importing a protocol module.
NOT_LOADED = ("gevent", "greenlet", "h11", "wsproto", "socket", "threading", "selectors", "transports")

ROOT = Path(__file__).resolve().parent.parent

SANS_IO_PACKAGES = ("engineio", "socketio_core.protocol")

#: The one named exception: ``engineio._identity`` lists the folders on
#: ``sys.path`` once, at import, to refuse an installed python-engineio (a
#: question about the installation, never about a connection). ``os`` is
#: loaded by every interpreter before ``site``, so this loads nothing new.
ALLOWED = {"engineio/_identity.py": {"os"}}


def sans_io_modules() -> list[str]:
    """Every module of the sans-IO packages, by dotted name, found on disk."""
    names = []
    for package in SANS_IO_PACKAGES:
        folder = ROOT.joinpath(*package.split("."))
        names.append(package)
        names.extend(f"{package}.{m.name}" for m in pkgutil.iter_modules([str(folder)]))
    return sorted(names)


def sans_io_files() -> list[Path]:
    return sorted(
        p for package in SANS_IO_PACKAGES for p in ROOT.joinpath(*package.split(".")).glob("*.py")
    )


_PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(sys.modules)))
"""


@pytest.mark.parametrize("module", sans_io_modules())
def test_importing_a_protocol_module_loads_no_io(module: str) -> None:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, module], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    loaded = set(json.loads(out))
    bad = sorted(
        name for name in loaded if name.split(".")[0] in NOT_LOADED
    )
    assert not bad, f"importing {module} loads {bad}"


def test_the_probe_would_see_an_io_import() -> None:
    """The subprocess check can fail: the gevent driver does load gevent."""
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, "transports.gevent"], cwd=ROOT, capture_output=True,
        text=True, check=True,
    ).stdout
    assert "gevent" in json.loads(out)


def test_every_protocol_module_is_covered() -> None:
    modules = set(sans_io_modules())
    assert {"engineio._session", "engineio._state", "socketio_core.protocol._connection",
            "socketio_core.protocol._recovery", "socketio_core.protocol._packets"} <= modules
    assert len(sans_io_files()) == len(modules)


def imported_names(source: str, filename: str = "<test>") -> set[str]:
    """Top-level names of every absolute import in ``source``, at any nesting depth."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", sans_io_files(), ids=_rel)
def test_protocol_sources_import_no_io_and_no_upper_layer(path: Path) -> None:
    forbidden = FORBIDDEN | UPPER_LAYERS
    if path.parent.name == "engineio":
        forbidden = forbidden | {"socketio_core"}  # engineio is the lowest layer
    bad = imported_names(path.read_text("utf-8"), str(path)) & forbidden - ALLOWED.get(_rel(path), set())
    assert not bad, f"{_rel(path)} imports {sorted(bad)}"


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("import os", {"os"}),
        ("import os.path", {"os"}),
        ("import time as t", {"time"}),
        ("import json, socket", {"json", "socket"}),
        ("from socket import socket", {"socket"}),
        ("from gevent.pool import Pool", {"gevent"}),
        ("def f():\n    import threading\n", {"threading"}),
        ("if TYPE_CHECKING:\n    from h11 import Request\n", {"h11"}),
        ("try:\n    import wsproto\nexcept ImportError:\n    pass\n", {"wsproto"}),
        ("from . import time", set()),
        ("from .time import x", set()),
        ("from ..socket import x", set()),
        ("import timeit", {"timeit"}),  # prefix of a forbidden name is not a match
    ],
)
def test_imported_names(source: str, expected: set[str]) -> None:
    assert imported_names(source) == expected


def test_the_allowed_exceptions_are_still_needed() -> None:
    """An exception that no longer applies must leave the list."""
    for rel, names in ALLOWED.items():
        assert names <= imported_names((ROOT / rel).read_text("utf-8")), rel
