"""Fixtures shared by the whole suite."""

from __future__ import annotations

import pytest

from servers import HOSTINGS

# real redis-server fixtures (redis_server, redis_cluster) for every test folder
pytest_plugins = ["redis_support"]


@pytest.fixture(params=HOSTINGS)
def hosting(request: pytest.FixtureRequest) -> str:
    """Each test using this runs once per host: the standalone server and ASGI (uvicorn)."""
    return str(request.param)
