"""The driver matrix of the Engine.IO integration tests."""

from __future__ import annotations

import pytest

from ._eio import DRIVERS


@pytest.fixture(scope="module", params=DRIVERS)
def eio_driver(request: pytest.FixtureRequest) -> str:
    """Which server a module's Engine.IO echo runs on (see ``_eio.DRIVERS``)."""
    return str(request.param)
