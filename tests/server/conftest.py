"""The server layer's own tests: every test runs on a virtual clock (``virtual_clock``) over
the in-process TestClient, and fails if an exception reached the event loop or socketwire
logged an error."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest

from virtual_clock import VirtualClockLoop


def pytest_asyncio_loop_factories(config: pytest.Config,
                                  item: pytest.Item) -> Mapping[str, Any]:
    """Every async test here runs on a :class:`VirtualClockLoop`."""
    return {"virtual_clock": VirtualClockLoop}


@pytest.fixture(autouse=True)
async def hygiene(caplog: pytest.LogCaptureFixture) -> AsyncIterator[None]:
    """No exception may reach the loop's handler and socketwire may log no ERROR."""
    caplog.set_level(logging.INFO, logger="socketwire")
    loop = asyncio.get_running_loop()
    assert isinstance(loop, VirtualClockLoop)
    contexts: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, ctx: contexts.append(ctx))
    try:
        yield
    finally:
        loop.set_exception_handler(previous)
    assert not contexts, contexts
    errors = [f"{r.name}: {r.getMessage()}" for r in caplog.records
              if r.levelno >= logging.ERROR and r.name.startswith("socketwire")]
    assert not errors, errors
