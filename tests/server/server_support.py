"""Helpers for the server layer's tests (virtual clock: see ``tests/virtual_clock.py``)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import socketwire
from socketwire.testing import TestClient


async def settle() -> None:
    """Let everything already under way finish: on the virtual clock, a short sleep returns
    only once the loop has nothing ready (no wall-clock time passes)."""
    await asyncio.sleep(0.001)


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    """Wait (on the virtual clock) until ``predicate()`` holds."""
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.001)


def server_socket(io: socketwire.Server, client: TestClient,
                  namespace: str = "/") -> socketwire.Socket:
    """The server's socket for ``client`` on ``namespace``."""
    sid = client.get_sid(namespace)
    assert sid is not None, f"not connected to {namespace}"
    return io.of(namespace).sockets[sid]


def events(client: TestClient, name: str, namespace: str = "/") -> list[list[Any]]:
    """The arguments of every ``name`` event ``client`` received on ``namespace``."""
    return [args for event, args in client.received_in(namespace) if event == name]
