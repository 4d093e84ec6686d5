"""A first end-to-end check with python-socketio's client as an independent peer."""

from __future__ import annotations

import asyncio

import pytest
import socketio

import socketwire
from servers import TRANSPORTS, running


@pytest.mark.parametrize("transport", list(TRANSPORTS))
async def test_echo_ack_broadcast_with_python_socketio(hosting: str, transport: str) -> None:
    io = socketwire.Server()

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        @socket.on("echo")
        def echo(data: object) -> None:
            socket.emit("echo", data)

        @socket.on("add")
        def add(a: int, b: int) -> int:
            return a + b

        @socket.on("shout")
        async def shout(text: str) -> None:
            io.emit("shout", text.upper())

    async with running(io, hosting) as url:
        client = socketio.AsyncClient()
        got: asyncio.Queue[object] = asyncio.Queue()
        client.on("echo", got.put_nowait)
        client.on("shout", got.put_nowait)
        await client.connect(url, transports=TRANSPORTS[transport])
        await client.emit("echo", {"x": [1, "é", None]})
        assert await asyncio.wait_for(got.get(), 5) == {"x": [1, "é", None]}
        assert await client.call("add", (2, 3), timeout=5) == 5
        await client.emit("shout", "hi")
        assert await asyncio.wait_for(got.get(), 5) == "HI"
        await client.emit("echo", b"\x00\x01binary")
        assert await asyncio.wait_for(got.get(), 5) == b"\x00\x01binary"
        await client.disconnect()


async def test_close_disconnects_with_server_shutting_down(hosting: str) -> None:
    io = socketwire.Server()
    reasons: asyncio.Queue[str] = asyncio.Queue()

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        socket.on("disconnect", reasons.put_nowait)

    async with running(io, hosting) as url:
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(url, transports=["websocket"])
        await io.close()
        assert await asyncio.wait_for(reasons.get(), 5) == "server shutting down"
        await client.disconnect()
