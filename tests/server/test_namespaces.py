"""Namespaces: the main one, named ones, dynamic ones (regex and callable), and several
namespaces multiplexed on one connection."""

from __future__ import annotations

import re
from typing import Any

import pytest
from server_support import events, server_socket, settle

import socketwire
from socketwire.testing import TestClient


async def test_each_namespace_has_its_own_handlers_and_sockets() -> None:
    io = socketwire.Server()
    seen: list[tuple[str, str]] = []
    for name in ("/", "/chat"):
        nsp = io.of(name)

        @nsp.on("connection")
        def connection(socket: socketwire.Socket, name: str = name) -> None:
            seen.append((name, socket.nsp.name))
            socket.on("where", lambda: socket.nsp.name)

    async with TestClient(io, namespaces=["/", "/chat"]) as client:
        assert sorted(seen) == [("/", "/"), ("/chat", "/chat")]
        assert await client.emit_with_ack("where") == "/"
        assert await client.emit_with_ack("where", namespace="/chat") == "/chat"
        # one socket per namespace, each with its own id, over the one connection
        main, chat = server_socket(io, client), server_socket(io, client, "/chat")
        assert main.id != chat.id and main.conn is chat.conn
        assert set(io.of("/").sockets) == {main.id} and set(io.of("/chat").sockets) == {chat.id}


async def test_of_adds_the_leading_slash_and_returns_the_same_namespace() -> None:
    io = socketwire.Server()
    assert io.of("news") is io.of("/news")
    assert io.of("/") is io.sockets


async def test_an_unknown_namespace_is_refused_and_others_still_work() -> None:
    io = socketwire.Server()
    io.on("connection", lambda socket: socket.on("ping", lambda: "pong"))
    client = TestClient(io)
    await client.connect()
    try:
        ghost = client.socket("/ghost")
        errors: list[Any] = []
        ghost.on("connect_error", errors.append)
        with pytest.raises(socketwire.ConnectError, match="Invalid namespace"):
            await ghost.connect()
        assert len(errors) == 1 and not ghost.connected
        assert "/ghost" not in io.namespaces
        assert await client.emit_with_ack("ping") == "pong"
    finally:
        await client.disconnect()


async def test_regex_namespace_creates_children_sharing_handlers_and_middlewares() -> None:
    io = socketwire.Server()
    workspaces = io.of(re.compile(r"/ws-\d+"))
    admitted: list[str] = []

    @workspaces.use
    def admit(socket: socketwire.Socket) -> None:
        admitted.append(socket.nsp.name)

    @workspaces.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        socket.on("name", lambda: socket.nsp.name)

    one = TestClient(io, namespaces=["/ws-1"])
    two = TestClient(io, namespaces=["/ws-2"])
    async with one, two:
        assert await one.emit_with_ack("name", namespace="/ws-1") == "/ws-1"
        assert await two.emit_with_ack("name", namespace="/ws-2") == "/ws-2"
        assert admitted == ["/ws-1", "/ws-2"]
        assert {"/ws-1", "/ws-2"} <= set(io.namespaces)
        # emitting on the parent reaches every child namespace's sockets
        workspaces.emit("all", 1)
        assert await one.wait_for("all", "/ws-1") == [1]
        assert await two.wait_for("all", "/ws-2") == [1]
        # a child is a namespace of its own: emitting there reaches only its sockets
        io.of("/ws-1").emit("only", "one")
        assert await one.wait_for("only", "/ws-1") == ["one"]
        await settle()
        assert events(two, "only", "/ws-2") == []

    with pytest.raises(socketwire.ConnectError, match="Invalid namespace"):
        await TestClient(io, namespaces=["/ws-x"]).connect()


async def test_callable_namespace_sees_the_name_and_the_auth() -> None:
    io = socketwire.Server()
    asked: list[tuple[str, dict[str, Any]]] = []

    def allowed(name: str, auth: dict[str, Any]) -> bool:
        asked.append((name, auth))
        return name.startswith("/team-") and auth.get("member") is True

    io.of(allowed).on("connection", lambda socket: socket.emit("welcome", socket.nsp.name))
    async with TestClient(io, namespaces=["/team-a"], auth={"member": True}) as member:
        assert await member.wait_for("welcome", "/team-a") == ["/team-a"]
    assert asked == [("/team-a", {"member": True})]
    # a name the callable refuses (here: for want of the right auth) is an unknown namespace
    with pytest.raises(socketwire.ConnectError, match="Invalid namespace"):
        await TestClient(io, namespaces=["/team-b"], auth={"member": False}).connect()


async def test_a_failing_namespace_callable_refuses_instead_of_crashing() -> None:
    io = socketwire.Server()

    def broken(name: str, auth: dict[str, Any]) -> bool:
        raise RuntimeError("bug in the application")

    io.of(broken)
    with pytest.raises(socketwire.ConnectError, match="Invalid namespace"):
        await TestClient(io, namespaces=["/anything"]).connect()
    async with TestClient(io) as client:  # the server carries on
        assert client.connected


async def test_namespace_emit_reaches_only_that_namespace() -> None:
    io = socketwire.Server()
    io.of("/a")
    io.of("/b")
    both = TestClient(io, namespaces=["/a", "/b"])
    async with both:
        io.of("/a").emit("news", "for a")
        assert await both.wait_for("news", "/a") == ["for a"]
        io.emit("news", "for main")  # the main namespace: not connected to it here
        await settle()
        assert events(both, "news", "/b") == []
        assert both.received_in("/") == []
