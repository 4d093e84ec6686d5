"""Broadcast operators: ``to`` / ``in_`` / ``except_`` (unions, exclusions, one delivery per
socket), the sender left out by ``socket.broadcast`` and ``socket.to``, immutability, and
broadcasts expecting acks."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import pytest
from server_support import events, server_socket, settle

import socketwire
from socketwire.testing import TestClient

NAMES = ("ann", "bob", "cat", "dan")


@asynccontextmanager
async def crowd(io: socketwire.Server) -> AsyncIterator[dict[str, TestClient]]:
    """Four connected clients, by name."""
    async with AsyncExitStack() as stack:
        clients = {}
        for name in NAMES:
            clients[name] = await stack.enter_async_context(TestClient(io))
        yield clients


def sockets(io: socketwire.Server, clients: dict[str, TestClient]) -> dict[str, socketwire.Socket]:
    return {name: server_socket(io, client) for name, client in clients.items()}


async def receivers(clients: dict[str, TestClient], event: str) -> dict[str, list[list[Any]]]:
    """Who received ``event``, and how often, once everything has settled."""
    await settle()
    return {name: events(c, event) for name, c in clients.items() if events(c, event)}


async def test_rooms_union_and_exclusions() -> None:
    io = socketwire.Server()
    async with crowd(io) as clients:
        s = sockets(io, clients)
        s["ann"].join(["red", "blue"])
        s["bob"].join("red")
        s["cat"].join("blue")
        io.to("red").emit("one", 1)
        assert await receivers(clients, "one") == {"ann": [[1]], "bob": [[1]]}
        # a union: a socket in both rooms gets the packet once
        io.to("red").to("blue").emit("two", 2)
        assert await receivers(clients, "two") == {"ann": [[2]], "bob": [[2]], "cat": [[2]]}
        io.in_(["red", "blue"]).emit("three")
        assert await receivers(clients, "three") == {"ann": [[]], "bob": [[]], "cat": [[]]}
        # exclusions win over rooms
        io.to("red").except_("blue").emit("four")
        assert await receivers(clients, "four") == {"bob": [[]]}
        io.except_("red").emit("five")
        assert await receivers(clients, "five") == {"cat": [[]], "dan": [[]]}
        # a socket id is a room of one: a private message
        io.to(s["dan"].id).emit("six", "psst")
        assert await receivers(clients, "six") == {"dan": [["psst"]]}
        io.to("nobody-here").emit("seven")
        assert await receivers(clients, "seven") == {}


async def test_socket_operators_leave_the_sender_out() -> None:
    io = socketwire.Server()
    async with crowd(io) as clients:
        s = sockets(io, clients)
        s["ann"].join("team")
        s["bob"].join("team")
        s["ann"].broadcast.emit("hello")
        assert await receivers(clients, "hello") == {n: [[]] for n in ("bob", "cat", "dan")}
        s["ann"].to("team").emit("huddle")  # ann is in the room, but sends
        assert await receivers(clients, "huddle") == {"bob": [[]]}
        s["ann"].except_("team").emit("outside")
        assert await receivers(clients, "outside") == {"cat": [[]], "dan": [[]]}
        # the namespace operator does not leave anyone out
        io.to("team").emit("all-team")
        assert await receivers(clients, "all-team") == {"ann": [[]], "bob": [[]]}


async def test_operators_are_immutable() -> None:
    io = socketwire.Server()
    base = io.to("a")
    wider = base.to("b")
    narrower = base.except_("c")
    flagged = base.volatile.timeout(3).compress(False)
    assert base.options.rooms == frozenset({"a"})
    assert base.options.except_rooms == frozenset()
    assert not base.options.flags.volatile and base.options.flags.timeout is None
    assert wider.options.rooms == frozenset({"a", "b"})
    assert narrower.options.except_rooms == frozenset({"c"})
    assert flagged.options.flags.volatile and flagged.options.flags.timeout == 3
    assert not flagged.options.flags.compress
    assert io.local.options.flags.local


async def test_reserved_event_names_cannot_be_broadcast() -> None:
    io = socketwire.Server()
    for name in ("connect", "connect_error", "disconnect", "disconnecting", "newListener"):
        with pytest.raises(socketwire.LocalProtocolError):
            io.emit(name)
        with pytest.raises(socketwire.LocalProtocolError):
            io.to("room").emit(name)


async def test_binary_and_nested_payloads_reach_every_recipient_intact() -> None:
    io = socketwire.Server()
    async with crowd(io) as clients:
        payload = {"blob": b"\x00\x01\xff", "list": [1, "two", None, {"three": 3.5}]}
        io.emit("data", payload, b"raw")
        got = await receivers(clients, "data")
        assert got == {name: [[payload, b"raw"]] for name in NAMES}


async def test_broadcast_acks_gather_every_answer() -> None:
    io = socketwire.Server()
    async with crowd(io) as clients:
        for name, client in clients.items():
            client.on("survey", lambda n, name=name: f"{name}:{n}")
        answers = await io.timeout(5).emit_with_ack("survey", 7)
        assert sorted(answers) == [f"{n}:7" for n in NAMES]
        # with a callback, and to a room
        s = sockets(io, clients)
        s["bob"].join("r")
        s["cat"].join("r")
        done: asyncio.Future[tuple[Any, Any]] = asyncio.get_running_loop().create_future()
        io.to("r").timeout(5).emit("survey", 8, callback=lambda err, res: done.set_result(
            (err, res)))
        err, res = await done
        assert err is None and sorted(res) == ["bob:8", "cat:8"]
        # nobody targeted: answered at once, with no answers
        assert await io.to("empty").timeout(5).emit_with_ack("survey", 9) == []


async def test_broadcast_ack_timeout_names_who_did_not_answer() -> None:
    io = socketwire.Server()
    async with crowd(io) as clients:
        clients["ann"].on("poll", lambda: "yes")
        clients["bob"].on("poll", lambda: "no")
        # cat and dan have no handler: they never answer
        loop = asyncio.get_running_loop()
        started = loop.time()
        with pytest.raises(socketwire.BroadcastAckTimeout) as info:
            await io.timeout(30).emit_with_ack("poll")
        assert loop.time() - started == pytest.approx(30, abs=0.01)  # the virtual clock
        assert sorted(info.value.responses) == ["no", "yes"]
        s = sockets(io, clients)
        assert sorted(info.value.missing) == sorted([s["cat"].id, s["dan"].id])


async def test_a_recipient_that_leaves_is_reported_missing() -> None:
    io = socketwire.Server()
    async with crowd(io) as clients:
        for name in ("ann", "bob", "cat"):
            clients[name].on("q", lambda: "a")
        dan = server_socket(io, clients["dan"]).id
        pending = asyncio.ensure_future(io.timeout(10).emit_with_ack("q"))
        await clients["dan"].disconnect()  # dan never answers, and leaves
        with pytest.raises(socketwire.BroadcastAckTimeout) as info:
            await pending
        assert info.value.responses == ["a", "a", "a"]
        assert info.value.missing == [dan]
