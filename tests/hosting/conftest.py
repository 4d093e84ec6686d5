"""Fixtures shared by the standalone host's tests."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from socketwire.hosting.standalone import StandaloneServer


@pytest.fixture
async def servers() -> AsyncIterator[list[StandaloneServer]]:
    """Standalone servers a test started (it appends them), closed at its end."""
    started: list[StandaloneServer] = []
    yield started
    for server in started:
        await server.close()
