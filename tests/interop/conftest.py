"""Fixtures of the interop tests: one Node driver of the official client per test module."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from jsdriver import JsDriver


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def driver() -> AsyncIterator[JsDriver]:
    """The Node process driving socket.io-client, started once per test module."""
    d = await JsDriver.start()
    try:
        yield d
    finally:
        await d.stop()


@pytest_asyncio.fixture(loop_scope="module")
async def js(driver: JsDriver) -> AsyncIterator[JsDriver]:
    """The module's Node driver, with no client sockets left over from other tests."""
    yield driver
    await driver.reset()
