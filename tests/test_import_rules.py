"""House rule 1: the protocol packages do no I/O, so they import none of it.

Every module of ``engineio/`` and the sans-IO modules of ``socketio_core/``
(listed in SANS_IO_MODULES; the rest of socketio_core is the public server API,
which may use the transports) is parsed with ``ast`` and its imports checked
by top-level name. Relative imports (``from ._x import y``) are the package's
own modules and are allowed. ``engineio`` also must not reach up into the
layers built on it.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

#: socketio_core modules that must stay sans-IO (file names). Add new ones here.
SANS_IO_MODULES = {
    "_errors.py", "_packets.py", "_binary.py", "_parser.py", "_msgpack.py", "_orjson.py",
}

FORBIDDEN = {
    "socket", "ssl", "select", "selectors", "time", "threading", "_thread", "asyncio",
    "multiprocessing", "subprocess", "os", "random", "secrets", "logging", "gevent",
    "h11", "wsproto",
}

#: engineio is the bottom layer: nothing above it may be imported from it.
ENGINEIO_FORBIDDEN = FORBIDDEN | {"socketio_core", "transports"}

ROOT = Path(__file__).resolve().parent.parent


def imported_names(source: str, filename: str = "<test>") -> set[str]:
    """Top-level names of every absolute import in ``source``, at any nesting depth."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(source, filename)):
        if isinstance(node, ast.Import):
            names.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def _engineio_files() -> list[Path]:
    return sorted((ROOT / "engineio").glob("*.py"))


def _sans_io_socketio_files() -> list[Path]:
    return sorted(
        p for p in (ROOT / "socketio_core").glob("*.py") if p.name in SANS_IO_MODULES
    )


def _rel(path: Path) -> str:
    return str(path.relative_to(ROOT))


@pytest.mark.parametrize("path", _engineio_files(), ids=_rel)
def test_engineio_imports_no_io_and_no_upper_layer(path: Path) -> None:
    bad = imported_names(path.read_text("utf-8"), str(path)) & ENGINEIO_FORBIDDEN
    assert not bad, f"{_rel(path)} imports {sorted(bad)}"


@pytest.mark.parametrize("path", _sans_io_socketio_files(), ids=_rel)
def test_socketio_core_sans_io_modules_import_no_io(path: Path) -> None:
    bad = imported_names(path.read_text("utf-8"), str(path)) & FORBIDDEN
    assert not bad, f"{_rel(path)} imports {sorted(bad)}"


def test_the_rule_sees_the_modules() -> None:
    names = {p.name for p in _engineio_files()}
    assert {"__init__.py", "_packets.py", "_session.py", "_state.py"} <= names


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
