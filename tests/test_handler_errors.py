"""A handler that raises, or returns what cannot be encoded, is logged with its event's name
and the client's connection stays: plain functions, coroutines and raising handlers alike."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

import pytest
import socketio

import socketwire
from servers import running


def build() -> socketwire.Server:
    io = socketwire.Server()

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        @socket.on("plain-unencodable")
        def plain_unencodable() -> object:
            return object()

        @socket.on("async-unencodable")
        async def async_unencodable() -> object:
            return object()

        @socket.on("raises")
        def raises() -> None:
            raise ValueError("handler broke")

        @socket.on("echo")
        def echo(value: Any) -> Any:
            return value

    return io


@pytest.mark.parametrize("transport", ["websocket", "polling"])
@pytest.mark.parametrize("event", ["plain-unencodable", "async-unencodable", "raises"])
async def test_failing_handler_is_logged_and_connection_stays(
    hosting: str, transport: str, event: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="socketwire")
    loop_errors: list[dict[str, Any]] = []
    asyncio.get_running_loop().set_exception_handler(lambda _loop, ctx: loop_errors.append(ctx))
    io = build()
    async with running(io, hosting) as url:
        client = socketio.AsyncClient(reconnection=False)
        disconnects: list[str] = []
        client.on("disconnect", lambda *reason: disconnects.append(str(reason)))
        await client.connect(url, transports=[transport])
        sid = client.get_sid("/")
        with pytest.raises(socketio.exceptions.TimeoutError):
            await client.call(event, timeout=0.5)  # no answer, as Node's would not answer
        # the same connection still works
        assert await client.call("echo", "still here", timeout=10) == "still here"
        assert client.get_sid("/") == sid and client.connected and not disconnects
        assert len(io.of("/").sockets) == 1
        await client.disconnect()
    records = [r for r in caplog.records if r.levelno >= logging.ERROR]
    assert len(records) == 1, [r.getMessage() for r in records]
    assert repr(event) in records[0].getMessage()
    assert records[0].exc_info is not None
    assert not loop_errors, loop_errors
