"""The direct lane of socketwire's uvicorn WebSocket protocol: complete messages handed to
socketwire's ASGI app at once instead of through the receive queue. Under every uvicorn
WebSocket protocol (socketwire's, uvicorn's websockets-sansio and wsproto ones) a flood that
makes the engine pause reading keeps every event, in the order sent."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import pytest
import socketio
import uvicorn

import socketwire
from servers import free_port
from socketwire.hosting.asgi import ASGIApp, uvicorn_config

EVENTS = 120
LIMIT = 4


@contextlib.asynccontextmanager
async def serving(io: socketwire.Server, ws: str | None) -> AsyncIterator[tuple[str, Any]]:
    """``io`` under uvicorn with WebSocket protocol ``ws`` (None: socketwire's)."""
    port = free_port()
    options = {} if ws is None else {"ws": ws}
    userver = uvicorn.Server(uvicorn_config(ASGIApp(io), "127.0.0.1", port, **options))
    task = asyncio.ensure_future(userver.serve())
    while not userver.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}", userver
    finally:
        userver.should_exit = True
        await asyncio.wait_for(task, 10)


@pytest.mark.parametrize("ws", [None, "websockets-sansio", "wsproto"])
async def test_paused_flood_keeps_order(ws: str | None) -> None:
    io = socketwire.Server(max_pending_handlers=LIMIT)
    release = asyncio.Event()
    seen: list[int] = []
    lanes: list[bool] = []

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        @socket.on("work")
        async def work(n: int) -> int:
            seen.append(n)
            await release.wait()
            return n

        @socket.on("note")
        def note(n: int) -> int:
            seen.append(n)
            return n

        @socket.on("lane")
        def lane() -> None:
            lanes.extend(getattr(p, "socketwire_direct", None) is not None
                         for p in userver.server_state.connections)

    async with serving(io, ws) as (url, userver):
        client = socketio.AsyncClient(reconnection=False)
        answers: list[int] = []
        done = asyncio.Event()

        def answered(n: int) -> None:
            answers.append(n)
            if len(answers) == EVENTS:
                done.set()

        await client.connect(url, transports=["websocket"], wait_timeout=10)
        try:
            await client.emit("lane")
            for n in range(EVENTS):
                # every third event holds a handler slot: past LIMIT the engine pauses reading
                await client.emit("work" if n % 3 == 0 else "note", n, callback=answered)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 10
            while len([n for n in seen if n % 3 == 0]) < LIMIT:
                assert loop.time() < deadline, f"only {len(seen)} events handled"
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.2)
            assert len([n for n in seen if n % 3 == 0]) == LIMIT  # held back
            release.set()
            await asyncio.wait_for(done.wait(), 15)
        finally:
            await client.disconnect()
    # a coroutine handler starts after the plain ones of the same read: each kind in order
    assert [n for n in seen if n % 3] == [n for n in range(EVENTS) if n % 3]
    assert [n for n in seen if n % 3 == 0] == list(range(0, EVENTS, 3))
    assert sorted(answers) == list(range(EVENTS))
    # the lane is socketwire's protocol's alone; the others go through receive()
    assert lanes == [ws is None]
