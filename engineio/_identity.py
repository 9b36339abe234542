"""Which ``engineio`` is this? The one import-time check against python-engineio.

This project and python-engineio (python-socketio's dependency) both install a
top-level package named ``engineio``; the name is fixed by this project's
design. Installed into one environment, each breaks the other with an
unrelated ImportError or AttributeError, and pip says nothing. So the
collision is detected at import, both ways it can be seen, and reported with
one message (:data:`MESSAGE`) as :class:`EngineioConflictError`:

- the ``engineio`` that loads is not ours: it lacks :data:`MARKER`, which only
  our ``engineio/__init__.py`` defines (python-engineio's files overwrote
  ours, or its directory comes first on ``sys.path``). ``socketio_core``
  checks this, since our ``__init__`` never runs in that case;
- a ``python-engineio`` distribution is installed where this interpreter
  looks (:func:`foreign_distribution`): our ``engineio/__init__.py`` checks
  it, so both ``import engineio`` and ``import socketio_core`` fail with the
  message even while our files still win.

This is the one module of the sans-IO packages that reads the filesystem,
once, at import, to answer a question about the installation (never about a
connection). It lists directories with :func:`os.scandir` rather than
importing :mod:`importlib.metadata`, which would load ``socket`` and
``threading`` (and costs about as much as the whole protocol package); it
finds what ``importlib.metadata.distribution("python-engineio")`` finds in
plain directories on ``sys.path``: a ``*.dist-info`` or ``*.egg-info`` whose
normalised name is ``python_engineio``. ``tests/engineio/test_identity.py``
holds it to importlib.metadata.
"""

from __future__ import annotations

import os
import re
import sys

__all__ = ["MARKER", "MESSAGE", "EngineioConflictError", "check_environment", "foreign_distribution"]

#: The attribute only this project's ``engineio`` package defines.
MARKER = "__socketio_core_engineio__"

MESSAGE = (
    "another package named engineio (python-engineio) is installed in this environment; "
    "socketio-core needs its own; use a separate virtualenv"
)

#: The distribution name, normalised as PEP 503 / importlib.metadata compare it.
_FOREIGN = "python_engineio"
_SUFFIXES = (".dist-info", ".egg-info")


class EngineioConflictError(ImportError):
    """python-engineio's ``engineio`` and ours are installed in one environment.

    Raised by ``import socketio_core`` and ``import engineio`` (ours); the
    message is :data:`MESSAGE` followed by where the other package was seen.
    """

    def __init__(self, where: str) -> None:
        super().__init__(f"{MESSAGE} ({where})")
        self.where = where


def _normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "_", name).lower()


def foreign_distribution(path: list[str] | None = None) -> str | None:
    """The metadata directory of an installed python-engineio on ``path``, or None.

    ``path`` defaults to ``sys.path`` (``""`` meaning the working directory,
    as importlib.metadata reads it). Entries that are not directories (zip
    files, missing folders) are skipped.
    """
    for entry in sys.path if path is None else path:
        folder = entry or "."
        try:
            with os.scandir(folder) as names:
                for item in names:
                    lowered = item.name.lower()
                    if not lowered.endswith(_SUFFIXES) or not lowered.startswith("python"):
                        continue
                    stem = item.name[: item.name.rindex(".")]  # "python_engineio-4.9.0"
                    if _normalise(stem.split("-", 1)[0]) == _FOREIGN:
                        return os.path.join(folder, item.name)
        except OSError:
            continue
    return None


def check_environment() -> None:
    """Raise :class:`EngineioConflictError` if python-engineio is installed here."""
    found = foreign_distribution()
    if found is not None:
        raise EngineioConflictError(f"found {found}")
