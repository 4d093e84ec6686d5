"""Fixtures shared by the whole suite."""

from __future__ import annotations

import pytest

from servers import HOSTINGS


@pytest.fixture(params=HOSTINGS)
def hosting(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once per host: the standalone server and ASGI (uvicorn)."""
    return str(request.param)
