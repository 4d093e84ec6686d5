"""Fixtures for the robustness tests (reliability.md §4): loop and log hygiene on every test.

The raw wire peers live in ``tests/conformance/rawpeer.py`` and are shared with the
conformance cases.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "conformance"))
pytest.register_assert_rewrite("rawpeer", "support")

from rawpeer import LoopErrors, node_reference, socketwire_errors, watch_loop  # noqa: E402

__all__ = ["node_reference"]


@pytest.fixture(autouse=True)
async def hygiene(caplog: pytest.LogCaptureFixture) -> AsyncIterator[LoopErrors]:
    """Fail the test if an exception reached the event loop's exception handler, or if
    socketwire logged an ERROR record."""
    caplog.set_level(logging.INFO, logger="socketwire")
    async for errors in watch_loop():
        yield errors
    assert not errors.contexts, errors.contexts
    # caplog.records in a fixture teardown holds only the teardown phase: check the call too
    assert not socketwire_errors(caplog.get_records("setup") + caplog.get_records("call")
                                 + caplog.records)
