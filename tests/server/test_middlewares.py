"""Connection middlewares (``io.use`` / ``nsp.use``: order, async, refusal with data, a
failing one) and packet middlewares (``socket.use``: rewriting, refusing, async)."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from server_support import server_socket, settle

import socketwire
from socketwire.testing import TestClient


async def test_connection_middlewares_run_in_order_before_the_connection() -> None:
    io = socketwire.Server()
    journal: list[str] = []

    @io.use
    def first(socket: socketwire.Socket) -> None:
        journal.append("first")
        socket.data = {"user": socket.handshake.auth.get("user")}

    @io.use
    async def second(socket: socketwire.Socket) -> None:
        await asyncio.sleep(2)  # a lookup taking time (virtual)
        journal.append("second")
        socket.data["checked"] = True

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        journal.append("connection")
        socket.emit("data", socket.data)

    async with TestClient(io, auth={"user": "ann"}) as client:
        assert await client.wait_for("data") == [{"user": "ann", "checked": True}]
    assert journal == ["first", "second", "connection"]


async def test_refusal_carries_message_and_data_and_no_socket_is_made() -> None:
    io = socketwire.Server()
    connected: list[str] = []

    @io.use
    def gate(socket: socketwire.Socket) -> None:
        if socket.handshake.auth.get("token") != "ok":
            raise socketwire.ConnectionRefused("not allowed", {"code": 4001})

    io.on("connection", lambda socket: connected.append(socket.id))
    with pytest.raises(socketwire.ConnectError) as info:
        await TestClient(io, auth={"token": "no"}).connect()
    assert (info.value.message, info.value.data) == ("not allowed", {"code": 4001})
    assert connected == [] and io.sockets.sockets == {}
    await settle()
    assert not io.engine.sessions  # the refused client's connection is gone too
    async with TestClient(io, auth={"token": "ok"}) as client:
        assert client.connected and len(connected) == 1


async def test_a_failing_middleware_refuses_without_telling_why(
        caplog: pytest.LogCaptureFixture) -> None:
    io = socketwire.Server()

    @io.use
    def buggy(socket: socketwire.Socket) -> None:
        raise KeyError("secret detail")

    with pytest.raises(socketwire.ConnectError) as info:
        await TestClient(io).connect()
    assert info.value.message == "Internal server error" and info.value.data is None
    assert "secret detail" not in repr(info.value)
    logged = [r for r in caplog.records if r.name.startswith("socketwire")
              and "middleware" in r.getMessage()]
    assert logged and logged[0].exc_info is not None
    caplog.clear()  # the expected error record


async def test_namespace_middlewares_apply_to_their_namespace_only() -> None:
    io = socketwire.Server()
    io.of("/open")
    locked = io.of("/locked")

    @locked.use
    def refuse(socket: socketwire.Socket) -> None:
        raise socketwire.ConnectionRefused("locked")

    client = TestClient(io, namespaces=["/open"])
    async with client:
        assert client.socket("/open").connected
        with pytest.raises(socketwire.ConnectError, match="locked"):
            await client.socket("/locked").connect()
        assert client.socket("/open").connected  # the other namespace is unaffected


async def test_packet_middlewares_rewrite_refuse_and_wait() -> None:
    io = socketwire.Server()
    errors: list[str] = []

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        @socket.use
        def upper(packet: list[Any]) -> None:
            if packet[0] == "shout":
                packet[1:] = [str(a).upper() for a in packet[1:]]

        @socket.use
        async def forbid(packet: list[Any]) -> None:
            await asyncio.sleep(1)
            if packet[0] == "forbidden":
                raise PermissionError("not for you")

        socket.on("error", lambda exc: errors.append(str(exc)))
        socket.on("shout", lambda text: text)
        socket.on("forbidden", lambda: "should not run")

    async with TestClient(io) as client:
        assert await client.emit_with_ack("shout", "hi") == "HI"
        with pytest.raises(socketwire.AckTimeout):
            await client.timeout(5).emit_with_ack("forbidden")
        assert errors == ["not for you"]
        # packets go through the middlewares in order: answers come back in order too
        answers = await asyncio.gather(*(client.emit_with_ack("shout", f"m{i}")
                                         for i in range(5)))
        assert answers == [f"M{i}" for i in range(5)]


async def test_a_recovered_socket_skips_connection_middlewares_by_default() -> None:
    io = socketwire.Server(connection_state_recovery=True)
    runs: list[bool] = []

    @io.use
    def count(socket: socketwire.Socket) -> None:
        runs.append(socket.recovered)

    client = TestClient(io, reconnection=True)
    async with client:
        first = server_socket(io, client).id
        client.drop()
        await asyncio.sleep(10)  # the client reconnects (virtual time: its backoff)
        assert client.connected and client.recovered
        assert server_socket(io, client).id == first
    assert runs == [False]
