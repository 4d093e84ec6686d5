"""AsyncClient lifecycle edge cases against a socketwire server over real sockets: heartbeat
loss, parse errors, buffering before the first connection, giving up, and stopping while
reconnecting (no stuck state, no task left)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

import socketwire
from servers import TRANSPORTS, free_port, running

TIMEOUT = 10
Factory = Callable[..., socketwire.AsyncClient]


def make_server(**options: Any) -> socketwire.Server:
    io = socketwire.Server(**options)
    records: list[Any] = []

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        socket.emit("welcome", {"header": socket.handshake.headers.get("x-token"),
                                "query": socket.handshake.query.get("room")})

        @socket.on("record")
        def record(value: Any) -> None:
            records.append(value)

        @socket.on("records")
        def get_records() -> list[Any]:
            return records

        @socket.on("garbage")
        def garbage() -> None:
            socket.conn.send("42{}")  # not a valid EVENT packet

        @socket.on("slow")
        async def slow() -> None:
            await asyncio.sleep(30)

    return io


async def next_event(client: socketwire.AsyncClient, event: str) -> Any:
    fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def handler(*args: Any) -> None:
        if not fut.done():
            fut.set_result(args[0] if len(args) == 1 else args)

    client.once(event, handler)
    return await asyncio.wait_for(fut, TIMEOUT)


@pytest.mark.parametrize("transport", list(TRANSPORTS))
async def test_ping_timeout_then_reconnect(transport: str, clients: Factory) -> None:
    io = make_server(ping_interval=0.3, ping_timeout=0.3)
    async with running(io) as url:
        client = clients(reconnection_delay=0.05, reconnection_delay_max=0.1)
        await client.connect(url, transports=TRANSPORTS[transport], wait_timeout=TIMEOUT)
        first = client.sid
        disconnected = asyncio.ensure_future(next_event(client, "disconnect"))
        reconnected = asyncio.ensure_future(next_event(client, "connect"))
        await asyncio.sleep(0)
        for session in io.engine.sessions.values():  # the server goes silent: no more pings
            assert session._timer is not None
            session._timer.cancel()
        assert await disconnected == "ping timeout"
        await reconnected
        assert client.connected and client.sid != first


async def test_parse_error_closes_then_reconnects(clients: Factory) -> None:
    io = make_server()
    async with running(io) as url:
        client = clients(reconnection_delay=0.05)
        await client.connect(url, transports=["websocket"], wait_timeout=TIMEOUT)
        disconnected = asyncio.ensure_future(next_event(client, "disconnect"))
        reconnected = asyncio.ensure_future(next_event(client, "connect"))
        client.emit("garbage")
        assert await disconnected == "parse error"
        await reconnected


async def test_buffered_before_connect_headers_query_and_lost_acks(clients: Factory) -> None:
    io = make_server()
    async with running(io) as url:
        client = clients()
        for i in range(3):
            client.emit("record", i)  # before connect(): buffered
        client.volatile.emit("record", "volatile")  # dropped
        welcome = asyncio.ensure_future(next_event(client, "welcome"))
        await client.connect(url + "/?room=blue", headers={"X-Token": "abc"},
                             transports=["polling", "websocket"], wait_timeout=TIMEOUT)
        assert await welcome == {"header": "abc", "query": "blue"}
        client.volatile.emit("record", 3)  # connected: sent
        assert await client.emit_with_ack("records") == [0, 1, 2, 3]
        with pytest.raises(socketwire.ConnectError, match="already connected"):
            await client.connect(url)

        # an ack still awaited when the connection drops fails at once
        pending = asyncio.ensure_future(client.emit_with_ack("slow"))
        await asyncio.sleep(0.1)
        for session in list(io.engine.sessions.values()):
            session.close("forced close")
        with pytest.raises(socketwire.Disconnected):
            await asyncio.wait_for(pending, TIMEOUT)


async def test_gives_up_after_the_attempts(clients: Factory) -> None:
    io = make_server()
    port = free_port()
    client = clients(reconnection_attempts=2, reconnection_delay=0.05)
    errors: list[socketwire.ConnectError] = []
    reasons: list[str] = []
    client.on("connect_error", errors.append)
    client.on("disconnect", reasons.append)
    async with running(io, port=port) as url:
        await client.connect(url, wait_timeout=TIMEOUT)
    await asyncio.wait_for(client.wait(), TIMEOUT)
    assert reasons in (["transport close"], ["transport error"])  # as the close races the poll
    assert [e.message for e in errors] == ["xhr poll error", "xhr poll error"]
    assert not client.connected


@pytest.mark.parametrize("when", ["down", "connecting"])
async def test_disconnect_while_reconnecting(when: str, clients: Factory) -> None:
    io = make_server()
    port = free_port()
    client = clients(reconnection_delay=0.2 if when == "down" else 0.01,
                     reconnection_delay_max=0.2, randomization_factor=0)
    errors: list[socketwire.ConnectError] = []
    client.on("connect_error", errors.append)
    async with running(io, port=port) as url:
        await client.connect(url, transports=["websocket"], wait_timeout=TIMEOUT)
    async with asyncio.timeout(TIMEOUT):
        while not errors:  # reconnecting to a closed port
            await asyncio.sleep(0.01)
    if when == "connecting":
        await asyncio.sleep(0.05)  # somewhere among attempts, sleeps and handshakes
    await asyncio.wait_for(client.disconnect(), TIMEOUT)
    await asyncio.wait_for(client.wait(), TIMEOUT)
    count = len(errors)
    async with running(io, port=port):
        await asyncio.sleep(0.5)  # the server is back: a stopped client must stay away
    assert len(errors) == count and not client.connected and not io.engine.sessions


async def test_connect_retry_waits_for_the_server(clients: Factory) -> None:
    io = make_server()
    port = free_port()
    client = clients(reconnection_delay=0.05, reconnection_delay_max=0.1)
    errors: list[socketwire.ConnectError] = []
    client.on("connect_error", errors.append)
    connecting = asyncio.ensure_future(
        client.connect(f"http://127.0.0.1:{port}", retry=True, wait_timeout=TIMEOUT)
    )
    async with asyncio.timeout(TIMEOUT):
        while len(errors) < 2:
            await asyncio.sleep(0.01)
    assert not connecting.done()
    async with running(io, port=port):
        await asyncio.wait_for(connecting, TIMEOUT)
        assert client.connected
        assert await client.emit_with_ack("records") == []
        await client.disconnect()


async def test_connect_timeout_leaves_nothing_behind(clients: Factory) -> None:
    io = make_server()

    async def never(socket: socketwire.Socket) -> None:
        await asyncio.Event().wait()  # a middleware that never decides

    io.use(never)
    async with running(io) as url:
        client = clients()
        with pytest.raises(socketwire.ConnectError, match="timeout"):
            await client.connect(url, wait_timeout=0.5)
        assert not client.connected
        await asyncio.wait_for(client.wait(), TIMEOUT)


async def test_failing_auth_callable_refuses_the_namespace(clients: Factory) -> None:
    io = make_server()
    async with running(io) as url:
        client = clients()

        def auth() -> dict[str, Any]:
            raise RuntimeError("no token at hand")

        with pytest.raises(socketwire.ConnectError, match="no token at hand"):
            await client.connect(url, auth=auth, transports=["websocket"], wait_timeout=TIMEOUT)
        await asyncio.wait_for(client.wait(), TIMEOUT)
        assert not client.connected
