"""Packets keep flowing over polling while the WebSocket upgrade runs (as Node's engine does).

A steady stream in both directions starts the moment a client connects, so the upgrade happens
in its middle; every connection checks that nothing was lost, duplicated or reordered, that
the upgrade really happened, and that a 50 ms ack timeout right after connecting is met.
Driven with the official socket.io-client 4.8 (Node) and with socketwire's AsyncClient.
"""

from __future__ import annotations

import asyncio
from typing import Any

import interop_support
import pytest
from interop_support import poll_until
from jsdriver import JsDriver

import socketwire

pytestmark = [pytest.mark.node, pytest.mark.asyncio(loop_scope="module")]

TICKS = 150  # server -> client events per connection, one every ~2 ms from the connection on
UPS = 120  # client -> server events per connection
CONNECTIONS = 6  # upgrades per test


def streaming_server() -> tuple[socketwire.Server, dict[str, list[Any]]]:
    """A server that streams ``tick`` (plus a ``vtick`` volatile twin) to each new socket and
    records every ``up`` it receives, per socket id."""
    io = socketwire.Server()
    got: dict[str, list[Any]] = {}
    tasks: set[asyncio.Task[None]] = set()

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        got[socket.id] = []

        @socket.on("up")
        def up(n: int) -> None:
            got[socket.id].append(n)

        @socket.on("quick")
        def quick(n: int) -> int:
            return n + 1

        async def stream() -> None:
            for i in range(TICKS):
                if not socket.connected:
                    return
                socket.emit("tick", i)
                socket.volatile.emit("vtick", i)
                if i % 3 == 0:
                    await asyncio.sleep(0.002)

        task = asyncio.ensure_future(stream())
        tasks.add(task)
        task.add_done_callback(tasks.discard)

    return io, got


def check_volatile(values: list[Any]) -> None:
    """Volatile packets may be dropped, never duplicated or reordered."""
    assert values == sorted(set(values)), values


async def test_official_client_stream_across_upgrades(js: JsDriver, hosting: str) -> None:
    io, got = streaming_server()
    early_met: list[bool] = []
    async with interop_support.serving(io, hosting, js.reset) as url:
        for k in range(CONNECTIONS):
            c = f"s{k}"
            early = {"event": "quick", "args": [41], "timeout": 50}
            info = await js.connect(c, url, "upgrade", early=early)
            assert info["connected"] is True
            sid = info["id"]
            [quick] = await js.wait(c, "early_ack")
            early_met.append(quick.get("args") == [42])
            await js.call("stream", c=c, event="up", count=UPS, every_ms=1)
            await js.wait(c, "upgrade")
            await js.wait(c, "event", "tick", count=TICKS)
            assert [a[0] for a in js.received(c, "tick")] == list(range(TICKS))
            check_volatile([a[0] for a in js.received(c, "vtick")])
            await poll_until(lambda sid=sid: len(got[sid]) >= UPS, what="the client's stream")
            assert got[sid] == list(range(UPS))
            assert (await js.state(c))["transport"] == "websocket"
    # the 50 ms deadline is met (it never was while answers waited for the upgrade, ~120 ms);
    # one miss in six is tolerated, for a machine loaded by other work
    assert early_met.count(False) <= 1, early_met


async def test_asyncclient_stream_across_upgrades(hosting: str) -> None:
    io, got = streaming_server()
    met: list[bool] = []
    async with interop_support.serving(io, hosting, _nothing) as url:
        for _ in range(CONNECTIONS):
            ticks: list[int] = []
            vticks: list[int] = []
            client = socketwire.AsyncClient(reconnection=False)
            client.on("tick", ticks.append)
            client.on("vtick", vticks.append)
            await client.connect(url)
            try:
                # the CONNECT reply came at once: a 50 ms ack deadline right after is met
                try:
                    met.append(await client.timeout(0.05).emit_with_ack("quick", 1) == 2)
                except socketwire.AckTimeout:
                    met.append(False)
                for i in range(UPS):
                    client.emit("up", i)
                    if i % 4 == 0:
                        await asyncio.sleep(0.001)
                await poll_until(lambda t=ticks: len(t) >= TICKS, what="the server's stream")
                assert ticks == list(range(TICKS))
                check_volatile(vticks)
                sid = client.sid
                assert sid is not None
                await poll_until(lambda sid=sid: len(got[sid]) >= UPS, what="the client's stream")
                assert got[sid] == list(range(UPS))
                await poll_until(lambda c=client: c.transport == "websocket", what="the upgrade")
            finally:
                await client.disconnect()
    assert met.count(False) <= 1, met  # one miss in six tolerated on a loaded machine


async def _nothing() -> None:
    return None
