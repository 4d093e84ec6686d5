"""Server-side helpers for the interop tests: what the socketwire server saw (awaitable), and
serving it so that clients are gone before it stops."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import socketwire
from servers import running

WAIT = 10.0


class Seen:
    """An append-only log of ``(kind, *values)`` tuples that tests can wait on."""

    def __init__(self) -> None:
        self.items: list[tuple[Any, ...]] = []
        self._waiters: list[asyncio.Future[None]] = []

    def add(self, kind: str, *values: Any) -> None:
        """Record one observation and wake the waiters."""
        self.items.append((kind, *values))
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    def of(self, kind: str) -> list[tuple[Any, ...]]:
        """The values recorded under ``kind`` (without the kind)."""
        return [item[1:] for item in self.items if item[0] == kind]

    async def wait(self, kind: str, count: int = 1, timeout: float = WAIT) -> list[tuple[Any, ...]]:
        """Wait until ``count`` observations of ``kind`` exist; returns them all."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while len(found := self.of(kind)) < count:
            fut: asyncio.Future[None] = loop.create_future()
            self._waiters.append(fut)
            try:
                await asyncio.wait_for(fut, max(0.0, deadline - loop.time()))
            except TimeoutError:
                raise AssertionError(
                    f"server: timed out waiting for {count} x {kind}; saw {self.items[-20:]}"
                ) from None
        return found


def install_basics(nsp: Any, seen: Seen) -> None:
    """Handlers most scenarios share, on a namespace (or the server's main one).

    Records ``connection`` (socket id, socket), ``disconnecting`` (id, reason, rooms) and
    ``disconnect`` (id, reason); answers ``whoami`` with ``[id, transport, rooms]``, ``join``
    and ``leave`` (one room or a list) with the rooms after the change, and ``fence`` acks.
    """

    @nsp.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        seen.add("connection", socket.id, socket)

        @socket.on("whoami")
        def whoami() -> list[Any]:
            return [socket.id, socket.transport, sorted(socket.rooms)]

        @socket.on("join")
        def join(rooms: str | list[str]) -> list[str]:
            socket.join(rooms)
            return sorted(socket.rooms)

        @socket.on("leave")
        def leave(room: str) -> list[str]:
            socket.leave(room)
            return sorted(socket.rooms)

        @socket.on("disconnecting")
        def disconnecting(reason: str) -> None:
            seen.add("disconnecting", socket.id, reason, sorted(socket.rooms))

        @socket.on("disconnect")
        def disconnect(reason: str) -> None:
            seen.add("disconnect", socket.id, reason)


async def poll_until(check: Any, timeout: float = WAIT, what: str = "condition") -> None:
    """For server state that has no event to await: re-check every 10 ms until true."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        if loop.time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.01)


@contextlib.asynccontextmanager
async def serving(
    io: socketwire.Server, hosting: str, close_clients: Callable[[], Awaitable[Any]]
) -> AsyncIterator[str]:
    """``servers.running``, with ``close_clients()`` awaited and every session gone before the
    server stops: uvicorn lets a waiting long-poll finish before shutting the app down."""
    async with running(io, hosting) as url:
        try:
            yield url
        finally:
            await close_clients()
            await poll_until(lambda: not io.engine.sessions, what="the sessions to close")
