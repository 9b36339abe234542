"""The real collision: python-engineio and this project installed by pip in one virtualenv.

A throwaway virtualenv (no pip of its own: this venv's pip installs into it
with ``--python``, from pip's cache), this clone installed editable and
python-engineio beside it, exactly as a user would end up. Both imports must
fail with the one message, never a stray AttributeError. The same cases,
simulated without pip, are in ``tests/engineio/test_identity.py``.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from engineio._identity import MESSAGE

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def shared_venv(tmp_path_factory: pytest.TempPathFactory) -> Path:
    venv = tmp_path_factory.mktemp("collision") / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "-q", "--no-deps",
         "-e", str(ROOT), "python-engineio"],
        check=True, capture_output=True, text=True, timeout=240,
    )
    return python


def run(python: Path, code: str, *path: Path) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    if path:
        env["PYTHONPATH"] = os.pathsep.join(map(str, path))
    return subprocess.run([str(python), "-c", code], cwd="/", env=env, capture_output=True, text=True)


@pytest.mark.timeout(300)
def test_both_installed_by_pip_refuse_to_import(shared_venv: Path) -> None:
    # As installed: python-engineio's engineio comes first in site-packages.
    out = run(shared_venv, "import socketio_core")
    assert out.returncode == 1
    last = out.stderr.strip().splitlines()[-1]
    assert "EngineioConflictError: " + MESSAGE in last, out.stderr
    assert "AttributeError" not in out.stderr
    # Ours first on the path: ours loads, and sees python-engineio's metadata.
    for code in ("import engineio", "import socketio_core"):
        out = run(shared_venv, code, ROOT)
        last = out.stderr.strip().splitlines()[-1]
        assert "EngineioConflictError: " + MESSAGE in last and "python_engineio-" in last, out.stderr
    # The error is an ImportError, for code that guards its imports.
    out = run(shared_venv, "try:\n import socketio_core\nexcept ImportError as e:\n print(type(e).__mro__[1].__name__)")
    assert out.stdout.strip() == "ImportError", out.stderr
