"""Fixtures for the adapter tests: loop and log hygiene on every test; modules setting
``VIRTUAL_CLOCK = True`` (the in-process TestClient ones) run on ``virtual_clock``'s loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Mapping
from typing import Any

import pytest

from virtual_clock import VirtualClockLoop


def pytest_asyncio_loop_factories(config: pytest.Config,
                                  item: pytest.Item) -> Mapping[str, Any]:
    """A virtual clock for modules asking for one; asyncio's own loop for the rest (the
    Redis and cluster tests talk to real servers, which a virtual clock would not wait for)."""
    module = getattr(item, "module", None)
    if getattr(module, "VIRTUAL_CLOCK", False):
        return {"virtual_clock": VirtualClockLoop}
    return {"asyncio": asyncio.new_event_loop}


@pytest.fixture(autouse=True)
async def hygiene(caplog: pytest.LogCaptureFixture) -> AsyncIterator[list[dict[str, Any]]]:
    """Fail the test if an exception reached the event loop's exception handler, or if
    socketwire logged an ERROR record."""
    caplog.set_level(logging.INFO, logger="socketwire")
    loop = asyncio.get_running_loop()
    contexts: list[dict[str, Any]] = []
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, ctx: contexts.append(ctx))
    try:
        yield contexts
    finally:
        loop.set_exception_handler(previous)
    assert not contexts, contexts
    errors = [f"{r.name}: {r.getMessage()}" for r in caplog.records
              if r.levelno >= logging.ERROR and r.name.startswith("socketwire")]
    assert not errors, errors
