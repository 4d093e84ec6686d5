"""Disconnection at the server layer: who says it, the reason each side gets, the
``disconnecting`` / ``disconnect`` order, closing one namespace or the whole connection,
bulk disconnects, the connect timeout, a client breaking the protocol, and shutdown."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import urlencode

from server_support import server_socket, settle, until

import socketwire
from socketwire.engine.http import HttpRequest, HttpResponse
from socketwire.testing import TestClient, _Pipe


def journaled_server() -> tuple[socketwire.Server, list[tuple[str, str, Any]]]:
    """A server whose sockets write ``(event, namespace, detail)`` to a journal."""
    io = socketwire.Server()
    journal: list[tuple[str, str, Any]] = []

    def setup(nsp: socketwire.Namespace) -> None:
        @nsp.on("connection")
        def connection(socket: socketwire.Socket) -> None:
            socket.join("lobby")
            socket.on("disconnecting", lambda reason: journal.append(
                ("disconnecting", nsp.name, (reason, sorted(socket.rooms - {socket.id})))))
            socket.on("disconnect", lambda reason: journal.append(
                ("disconnect", nsp.name, (reason, sorted(socket.rooms)))))

    setup(io.of("/"))
    setup(io.of("/side"))
    return io, journal


def client_reasons(client: TestClient, namespace: str = "/") -> list[str]:
    reasons: list[str] = []
    client.socket(namespace).on("disconnect", reasons.append)
    return reasons


async def test_client_leaving_a_namespace() -> None:
    io, journal = journaled_server()
    client = TestClient(io, namespaces=["/", "/side"])
    async with client:
        await client.socket("/side").disconnect()
        await until(lambda: len(journal) == 2)
        assert journal == [
            ("disconnecting", "/side", ("client namespace disconnect", ["lobby"])),
            ("disconnect", "/side", ("client namespace disconnect", [])),
        ]
        assert client.socket("/").connected  # the connection and "/" carry on
        assert io.of("/side").adapter.rooms == {}
        assert "lobby" in io.of("/").adapter.rooms


async def test_server_disconnecting_one_namespace_or_the_whole_connection() -> None:
    io, journal = journaled_server()
    client = TestClient(io, namespaces=["/", "/side"])
    main_reasons = client_reasons(client, "/")
    side_reasons = client_reasons(client, "/side")
    async with client:
        server_socket(io, client, "/side").disconnect()
        await until(lambda: side_reasons != [])
        assert side_reasons == ["io server disconnect"] and client.socket("/").connected
        assert journal[-1] == ("disconnect", "/side", ("server namespace disconnect", []))
        server_socket(io, client, "/").disconnect(close=True)
        await until(lambda: main_reasons != [])
        assert main_reasons == ["io server disconnect"]
        await settle()
        assert not io.engine.sessions  # close=True also ended the Engine.IO session
        assert not client.connected


async def test_a_dropped_connection_is_a_transport_close_for_every_namespace() -> None:
    io, journal = journaled_server()
    client = TestClient(io, namespaces=["/", "/side"])
    reasons = client_reasons(client)
    await client.connect()
    client.drop()
    await until(lambda: len(journal) == 4 and reasons != [])
    assert sorted(e[:2] for e in journal) == [("disconnect", "/"), ("disconnect", "/side"),
                                             ("disconnecting", "/"), ("disconnecting", "/side")]
    assert {e[2][0] for e in journal} == {"transport close"}
    assert reasons == ["transport close"]
    await client.disconnect()


async def test_bulk_disconnects_by_room() -> None:
    io, journal = journaled_server()
    clients = [TestClient(io) for _ in range(3)]
    for c in clients:
        await c.connect()
    try:
        server_socket(io, clients[0]).join("vip")
        io.in_("vip").disconnect_sockets()
        await until(lambda: not clients[0].connected)
        assert all(c.connected for c in clients[1:])
        io.disconnect_sockets(close=True)
        await until(lambda: not any(c.connected for c in clients))
        await settle()
        assert not io.engine.sessions and io.sockets.sockets == {}
        assert [e[2][0] for e in journal if e[0] == "disconnect"] == [
            "server namespace disconnect"] * 3
    finally:
        for c in clients:
            await c.disconnect()


async def test_an_engine_session_that_never_connects_a_namespace_is_closed() -> None:
    io = socketwire.Server(connect_timeout=30)
    await io.startup()
    query = {"EIO": "4", "transport": "websocket"}
    outcome = await io.open_websocket(HttpRequest("GET", io.path, query, {"host": "t"},
                                                  query_string=urlencode(query)))
    assert not isinstance(outcome, HttpResponse)
    pipe = _Pipe()  # a bare Engine.IO peer: it opens the session and says nothing more
    pipe.handler = outcome.attach(pipe.server_side)
    assert (await pipe.inbox.get() or "").startswith("0{")  # the Engine.IO open packet
    loop = asyncio.get_running_loop()
    start = loop.time()
    await until(lambda: pipe.closed, timeout=60)
    assert 30 <= loop.time() - start < 31
    assert not io.engine.sessions
    await io.shutdown()


async def test_a_client_breaking_the_protocol_is_cut_off_alone() -> None:
    io, journal = journaled_server()
    io.on("connection", lambda socket: socket.on("ping", lambda: "pong"))
    rude, polite = TestClient(io), TestClient(io)
    async with rude, polite:
        rude_id = server_socket(io, rude).id
        assert rude._pipe is not None
        await rude._pipe.client_side.send("4this is not a packet")
        await until(lambda: not rude.connected)
        assert ("disconnect", "/", ("parse error", [])) in journal
        assert rude_id not in io.sockets.sockets
        assert await polite.emit_with_ack("ping") == "pong"


async def test_shutdown_disconnects_everyone_with_its_reason() -> None:
    io, journal = journaled_server()
    client = TestClient(io, namespaces=["/", "/side"])
    reasons = client_reasons(client)
    await client.connect()
    await io.shutdown()
    await until(lambda: reasons != [])
    assert reasons == ["transport close"]
    assert {e[2][0] for e in journal} == {"server shutting down"}
    assert len(journal) == 4
    await client.disconnect()
