"""The engineio collision: python-engineio beside us is refused at import, with one message.

Both ways it can be seen are simulated in a fresh interpreter with a
temporary folder on ``sys.path`` (``PYTHONPATH``): a foreign ``engineio``
package that loads instead of ours (shadowing, or python-engineio's files
over ours), and a ``python_engineio-*.dist-info`` beside ours. The real
thing, a virtualenv with both installed by pip, is
``tests/integration/test_engineio_collision.py``.
"""

from __future__ import annotations

import importlib.metadata
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from engineio._identity import MESSAGE, foreign_distribution

ROOT = Path(__file__).resolve().parents[2]

#: What python-engineio's __init__ looks like to us: an engineio without our marker.
FOREIGN_INIT = "from .server import Server\n"
FOREIGN_SERVER = "class Server:\n    pass\n"

_PROBE = """
import sys
try:
    __import__(sys.argv[1])
except ImportError as exc:
    print(type(exc).__name__, isinstance(exc, ImportError), exc, sep="|")
else:
    print("imported")
"""


def probe(module: str, *path: Path) -> str:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(str(p) for p in path)}
    return subprocess.run(
        [sys.executable, "-c", _PROBE, module], cwd="/", env=env, capture_output=True, text=True,
        check=True,
    ).stdout.strip()


def foreign_engineio(folder: Path, init: str = FOREIGN_INIT) -> Path:
    (folder / "engineio").mkdir(parents=True, exist_ok=True)
    (folder / "engineio" / "__init__.py").write_text(init)
    (folder / "engineio" / "server.py").write_text(FOREIGN_SERVER)
    return folder


def dist_info(folder: Path, name: str = "python_engineio-4.15.1.dist-info") -> Path:
    meta = folder / name
    meta.mkdir(parents=True)
    (meta / "METADATA").write_text("Metadata-Version: 2.1\nName: python-engineio\nVersion: 4.15.1\n")
    return meta


def assert_conflict(answer: str) -> None:
    name, is_import_error, message = answer.split("|", 2)
    assert name == "EngineioConflictError" and is_import_error == "True", answer
    assert message.startswith(MESSAGE), answer


def test_our_packages_import_in_a_clean_environment(tmp_path: Path) -> None:
    assert probe("socketio_core", ROOT) == "imported"
    assert probe("engineio", ROOT) == "imported"


def test_a_foreign_engineio_first_on_the_path_is_refused_by_socketio_core(tmp_path: Path) -> None:
    foreign = foreign_engineio(tmp_path / "site")
    answer = probe("socketio_core", foreign, ROOT)
    assert_conflict(answer)
    assert str(foreign / "engineio" / "__init__.py") in answer


def test_a_foreign_engineio_that_fails_to_import_is_still_named(tmp_path: Path) -> None:
    foreign = foreign_engineio(tmp_path / "site", "from .client import Client\n")
    answer = probe("socketio_core", foreign, ROOT)
    assert_conflict(answer)
    assert "importing engineio failed" in answer


def test_python_engineio_files_over_ours_are_refused(tmp_path: Path) -> None:
    """A non-editable install of both: one site-packages, their __init__.py over ours."""
    site = tmp_path / "site"
    for package in ("engineio", "socketio_core"):
        shutil.copytree(ROOT / package, site / package, ignore=shutil.ignore_patterns("__pycache__"))
    foreign_engineio(site)
    answer = probe("socketio_core", site)
    assert_conflict(answer)
    assert str(site / "engineio" / "__init__.py") in answer


@pytest.mark.parametrize("module", ["engineio", "socketio_core"])
def test_an_installed_python_engineio_distribution_is_refused(tmp_path: Path, module: str) -> None:
    """Ours loads (it is first on the path) but python-engineio is installed too."""
    meta = dist_info(tmp_path / "site")
    answer = probe(module, ROOT, tmp_path / "site")
    assert_conflict(answer)
    assert f"found {meta}" in answer


@pytest.mark.parametrize(
    "name",
    [
        "python_engineio-4.15.1.dist-info",
        "Python_EngineIO-4.0.egg-info",
        "python_engineio.egg-info",
        "python.engineio-4.0-py3.11.egg-info",
    ],
)
def test_foreign_distribution_agrees_with_importlib_metadata(tmp_path: Path, name: str) -> None:
    dist_info(tmp_path, name)
    (tmp_path / "python_socketio-5.0.dist-info").mkdir()
    (tmp_path / "python_engineio_extras-1.0.dist-info").mkdir()
    found = importlib.metadata.Distribution.discover(name="python-engineio", path=[str(tmp_path)])
    assert [d.metadata["Name"] for d in found] == ["python-engineio"]
    assert foreign_distribution([str(tmp_path)]) == str(tmp_path / name)


@pytest.mark.parametrize(
    "name",
    [
        "python_socketio-5.0.dist-info",
        "python_engineio_extras-1.0.dist-info",
        "engineio-1.0.dist-info",
        "python-engineio-3.0.dist-info",  # not a name pip writes; importlib.metadata skips it too
    ],
)
def test_other_distributions_are_not_taken_for_python_engineio(tmp_path: Path, name: str) -> None:
    dist_info(tmp_path, name)
    found = importlib.metadata.Distribution.discover(name="python-engineio", path=[str(tmp_path)])
    assert list(found) == []
    assert foreign_distribution([str(tmp_path), str(tmp_path / "missing"), ""]) is None
