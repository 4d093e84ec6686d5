"""socketwire.testing.TestClient: an in-process client for a socketwire Server."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

import socketwire
from socketwire.testing import TestClient


def make_server(**options: Any) -> socketwire.Server:
    io = socketwire.Server(**options)

    @io.use
    def check_token(socket: socketwire.Socket) -> None:
        if socket.handshake.auth.get("token") == "bad":
            raise socketwire.ConnectionRefused("bad token", {"hint": "try another"})

    def setup(nsp: socketwire.Namespace) -> None:
        @nsp.on("connection")
        def connection(socket: socketwire.Socket) -> None:
            socket.emit("hello", {
                "nsp": nsp.name,
                "auth": socket.handshake.auth,
                "header": socket.handshake.headers.get("x-test"),
                "query": socket.handshake.query.get("q"),
                "transport": socket.transport,
            })

            @socket.on("echo")
            def echo(*args: Any) -> None:
                socket.emit("echo", *args)

            @socket.on("add")
            def add(a: int, b: int) -> int:
                return a + b

            @socket.on("ask")
            async def ask(value: Any) -> None:
                answer = await socket.emit_with_ack("question", value, timeout=5)
                socket.emit("answer", answer)

            @socket.on("join")
            def join(room: str) -> None:
                socket.join(room)

            @socket.on("shout")
            def shout(room: str, text: str) -> None:
                socket.to(room).emit("shout", text.upper())

            @socket.on("kick")
            def kick() -> None:
                socket.disconnect()

    setup(io.of("/"))
    setup(io.of("/admin"))
    return io


async def test_events_acks_and_records() -> None:
    io = make_server()
    async with TestClient(io, auth={"user": "ann"}, headers={"X-Test": "yes"},
                          query={"q": "1"}) as client:
        hello = await client.wait_for("hello")
        assert hello == [{"nsp": "/", "auth": {"user": "ann"}, "header": "yes", "query": "1",
                          "transport": "websocket"}]
        assert client.connected and client.sid

        client.emit("echo", "hi", 2, b"\x00bytes")
        assert await client.wait_for("echo") == ["hi", 2, b"\x00bytes"]
        assert await client.emit_with_ack("add", 2, 3) == 5
        with pytest.raises(socketwire.AckTimeout):
            await client.timeout(0.1).emit_with_ack("nobody-answers")

        @client.on("question")
        def question(value: int) -> int:
            return value + 1

        client.emit("ask", 41)
        assert await client.wait_for("answer") == [42]
        assert client.received == [
            ("hello", hello),
            ("echo", ["hi", 2, b"\x00bytes"]),
            ("question", [41]),
            ("answer", [42]),
        ]
        with pytest.raises(TimeoutError):
            await client.wait_for("answer", timeout=0.1)  # already returned once
    assert not client.connected


async def test_namespaces_rooms_and_refusal() -> None:
    io = make_server()
    alice = TestClient(io, namespaces=["/", "/admin"])
    bob = TestClient(io, namespaces=["/admin"])
    async with alice, bob:
        assert (await alice.wait_for("hello", "/admin"))[0]["nsp"] == "/admin"
        assert (await bob.wait_for("hello", "/admin"))[0]["nsp"] == "/admin"
        assert alice.get_sid("/") != alice.get_sid("/admin")
        assert await bob.emit_with_ack("add", 1, 1, namespace="/admin") == 2
        bob.emit("join", "ops", namespace="/admin")
        alice.emit("shout", "ops", "hello ops", namespace="/admin")
        assert await bob.wait_for("shout", "/admin") == ["HELLO OPS"]
        assert alice.received_in("/admin") == [("hello", alice.received_in("/admin")[0][1])]
        assert [e for e, _ in alice.received] == ["hello"]

    refused = TestClient(io, auth={"token": "bad"})
    errors: list[socketwire.ConnectError] = []
    refused.on("connect_error", errors.append)
    with pytest.raises(socketwire.ConnectError) as info:
        await refused.connect()
    assert (info.value.message, info.value.data) == ("bad token", {"hint": "try another"})
    assert len(errors) == 1 and not refused.connected

    with pytest.raises(socketwire.ConnectError, match="Invalid namespace"):
        await TestClient(io, namespaces=["/missing"]).connect()


async def test_server_disconnect_and_heartbeat() -> None:
    io = make_server(ping_interval=0.1, ping_timeout=0.2)
    client = TestClient(io)
    reasons: list[str] = []
    client.on("disconnect", reasons.append)
    await client.connect()
    await asyncio.sleep(1.0)  # several heartbeats: the client answers the server's pings
    assert client.connected and reasons == []
    assert await client.emit_with_ack("add", 1, 2) == 3
    client.emit("kick")
    await asyncio.wait_for(client.wait(), 5)
    assert reasons == ["io server disconnect"]
    assert not io.engine.sessions  # the in-memory connection is closed on both sides


async def test_server_shutdown_is_a_transport_close() -> None:
    io = make_server()
    client = TestClient(io)
    reasons: list[str] = []
    client.on("disconnect", reasons.append)
    await client.connect()
    await io.shutdown()
    await asyncio.wait_for(client.wait(), 5)
    assert reasons == ["transport close"]
