"""The shared layer of ``transports`` loads no driver: a second one can live beside gevent's.

Every module directly under ``transports/`` (found on disk, so a new one is
covered at once) is imported in a fresh interpreter, and neither gevent nor
greenlet (nor the gevent driver) may be loaded afterwards.
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
DRIVER_ONLY = ("gevent", "greenlet", "transports.gevent")

_PROBE = """
import importlib, json, sys
importlib.import_module(sys.argv[1])
print(json.dumps(sorted(sys.modules)))
"""


def shared_modules() -> list[str]:
    found = pkgutil.iter_modules([str(ROOT / "transports")])
    return ["transports"] + sorted(f"transports.{m.name}" for m in found if not m.ispkg)


def _loaded(module: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", _PROBE, module], cwd=ROOT, capture_output=True, text=True, check=True
    ).stdout
    return set(json.loads(out))


@pytest.mark.parametrize("module", shared_modules())
def test_a_shared_module_loads_no_driver(module: str) -> None:
    loaded = _loaded(module)
    bad = sorted(n for n in loaded if n in DRIVER_ONLY or n.startswith(("gevent.", "transports.gevent.")))
    assert not bad, f"importing {module} loads {bad}"


def test_the_probe_would_see_the_driver() -> None:
    """The check can fail: the driver does load gevent."""
    assert "gevent" in _loaded("transports.gevent")


def test_the_root_still_gives_the_drivers_names() -> None:
    import transports
    from transports.gevent import EngineServer, HttpConnection

    assert transports.EngineServer is EngineServer
    assert transports.HttpConnection is HttpConnection
    with pytest.raises(AttributeError):
        transports.NoSuchName  # noqa: B018
