"""Inbound flow control (R24): a client flooding events cannot start more than
``max_pending_handlers`` coroutine handlers at once; the rest wait, and none is lost.

Over polling the 200 answers also check that a long-poll answer carries at most 16 packets:
python-engineio clients drop a whole payload with more (and with it every ack in it)."""

from __future__ import annotations

import asyncio

import pytest
import socketio

import socketwire
from servers import TRANSPORTS, running

LIMIT = 8
EVENTS = 200


@pytest.mark.parametrize("transport", list(TRANSPORTS))
async def test_flood_is_held_back_and_nothing_is_lost(hosting: str, transport: str) -> None:
    io = socketwire.Server(max_pending_handlers=LIMIT)
    release = asyncio.Event()
    running_now = 0
    peak = 0
    seen: list[int] = []

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        @socket.on("work")
        async def work(n: int) -> int:
            nonlocal running_now, peak
            running_now += 1
            peak = max(peak, running_now)
            seen.append(n)
            await release.wait()
            running_now -= 1
            return n

    async with running(io, hosting) as url:
        client = socketio.AsyncClient(reconnection=False)
        answers: list[int] = []
        done = asyncio.Event()

        def answered(n: int) -> None:
            answers.append(n)
            if len(answers) == EVENTS:
                done.set()

        await client.connect(url, transports=TRANSPORTS[transport], wait_timeout=10)
        try:
            for n in range(EVENTS):
                await client.emit("work", n, callback=answered)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 10
            while len(seen) < LIMIT:
                assert loop.time() < deadline, f"only {len(seen)} handlers started"
                await asyncio.sleep(0.01)
            await asyncio.sleep(0.3)  # give a server without flow control time to start more
            if transport == "websocket":
                assert peak == LIMIT  # exactly the limit: the rest wait unread
                assert len(seen) == LIMIT
            # over polling a POST already read is delivered whole (python-socketio batches
            # its queue into one), then the POST's answer is held until handlers catch up
            release.set()
            try:
                await asyncio.wait_for(done.wait(), 20)
            except TimeoutError:
                raise AssertionError(f"{len(answers)} answers, {len(seen)} started") from None
            assert sorted(answers) == list(range(EVENTS))
            assert seen == list(range(EVENTS))  # in order, each once
        finally:
            release.set()
            await client.disconnect()
