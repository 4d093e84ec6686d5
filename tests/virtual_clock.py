"""An asyncio event loop on a virtual clock, for layer tests over the in-process TestClient.

The loop is a real ``SelectorEventLoop``; only its clock is virtual. Whenever the loop has
nothing ready and would wait for its next timer, the clock jumps to that timer instead of
sleeping: ``asyncio.sleep(30)``, a 25 s heartbeat, an ack timeout or ``asyncio.timeout``
all take no wall-clock time, in the order real time would fire them. Anything ready (the
self-pipe of ``call_soon_threadsafe``) is still polled first, so nothing is lost; only
waits with nothing to wait for are skipped. Use it where no real socket is involved: a
network peer would not be waited for.

Folders opt in with the ``pytest_asyncio_loop_factories`` hook (see ``tests/server/
conftest.py``); ``loop.time()`` is then the clock, and :func:`virtual_monotonic` gives code
that reads ``time.monotonic()`` the same clock.
"""

from __future__ import annotations

import asyncio
import selectors
import time
from types import SimpleNamespace
from typing import Any

__all__ = ["VirtualClockLoop", "virtual_monotonic"]


class _SkippingSelector(selectors.DefaultSelector):
    """Polls without blocking; a wait that would block advances the loop's clock."""

    def __init__(self) -> None:
        super().__init__()
        self.loop: VirtualClockLoop | None = None

    def select(self, timeout: float | None = None) -> list[tuple[selectors.SelectorKey, int]]:
        ready = super().select(0)
        if ready or timeout == 0:
            return ready
        if timeout is None:  # nothing scheduled at all: only another thread can wake us
            return super().select(None)
        assert self.loop is not None
        self.loop.advance(timeout)
        return []


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """A selector event loop whose ``time()`` starts at 0 and moves only when the loop
    would otherwise sleep (or :meth:`advance` is called)."""

    def __init__(self) -> None:
        self._now = 0.0
        selector = _SkippingSelector()
        super().__init__(selector)
        selector.loop = self

    def time(self) -> float:
        """The virtual clock, in seconds."""
        return self._now

    def advance(self, seconds: float) -> None:
        """Move the clock forward (timers due by then run on the next iteration)."""
        self._now += max(0.0, seconds)


def virtual_monotonic(loop: asyncio.AbstractEventLoop) -> Any:
    """A stand-in for the ``time`` module whose ``monotonic()`` is ``loop.time()`` (for
    code that measures durations with ``time.monotonic``); ``time()`` stays real."""
    return SimpleNamespace(monotonic=loop.time, time=time.time)
