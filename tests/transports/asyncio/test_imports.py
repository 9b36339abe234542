"""Importing the asyncio driver loads no gevent: an asyncio application never pays for it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
_PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(sys.modules)))
"""


def _loaded(module: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, module], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return set(json.loads(out))


def _gevent_modules(loaded: set[str]) -> list[str]:
    return sorted(
        n for n in loaded
        if n in ("gevent", "greenlet") or n.startswith(("gevent.", "transports.gevent"))
    )


def test_the_asyncio_driver_loads_no_gevent() -> None:
    loaded = _loaded("transports.asyncio")
    assert "transports.asyncio._asgi" in loaded
    assert not _gevent_modules(loaded)


def test_the_probe_would_see_gevent() -> None:
    """The check can fail: the gevent driver does load it."""
    assert _gevent_modules(_loaded("transports.gevent"))
