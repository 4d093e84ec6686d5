"""The in-memory adapter through real sockets of the in-process TestClient: rooms and
their events, broadcast targeting (rooms, except, local, volatile) encoded once, acks,
fetch_sockets, socketsJoin / socketsLeave, disconnectSockets, and the session store of
connection state recovery. No network; a virtual clock (``VIRTUAL_CLOCK``)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

import pytest

import socketwire
from socketwire.adapters import InMemoryAdapter
from socketwire.adapters.base import BroadcastFlags, BroadcastOptions
from socketwire.protocol.parser import JsonParser
from socketwire.protocol.sio import SioPacket, SioType
from socketwire.testing import TestClient

VIRTUAL_CLOCK = True
NAMES = ("ann", "bob", "cat")


class CountingParser(JsonParser):
    """Socket.IO's JSON format, counting the EVENT packets it encodes."""

    def __init__(self) -> None:
        self.events: list[str] = []

    def encode(self, packet: SioPacket) -> list[str | bytes]:
        """Encode, noting the event name of an EVENT."""
        if packet.type is SioType.EVENT:
            self.events.append(str(packet.data[0]))
        return super().encode(packet)


@asynccontextmanager
async def clients_of(io: socketwire.Server, *names: str,
                     namespaces: list[str] | None = None) -> AsyncIterator[dict[str, TestClient]]:
    async with AsyncExitStack() as stack:
        out = {}
        for name in names or NAMES:
            # the clients encode with their own parser: the server's counts only its own work
            client = TestClient(io, namespaces=namespaces, auth={"name": name}, parser="json")
            out[name] = await stack.enter_async_context(client)
        yield out


def sid(client: TestClient, namespace: str = "/") -> str:
    value = client.get_sid(namespace)
    assert value is not None
    return value


async def settled(clients: dict[str, TestClient], event: str) -> dict[str, int]:
    """How many ``event`` each client got, once everything in flight has arrived."""
    await asyncio.sleep(0.001)  # virtual: returns when the loop is idle
    counts = {n: sum(1 for e, _ in c.received if e == event) for n, c in clients.items()}
    return {n: k for n, k in counts.items() if k}


async def test_rooms_follow_joins_leaves_and_disconnects() -> None:
    io = socketwire.Server()
    adapter = io.sockets.adapter
    assert isinstance(adapter, InMemoryAdapter)
    journal: list[tuple[str, ...]] = []
    for event in ("create-room", "delete-room", "join-room", "leave-room"):
        adapter.on(event, lambda *args, event=event: journal.append((event, *args)))
    async with clients_of(io, "ann", "bob") as clients:
        ann, bob = sid(clients["ann"]), sid(clients["bob"])
        # every socket is in the room named by its id
        assert adapter.rooms == {ann: {ann}, bob: {bob}}
        assert adapter.socket_rooms(ann) == {ann}
        journal.clear()
        io.sockets.sockets[ann].join(["x", "y"])
        io.sockets.sockets[bob].join("x")
        assert adapter.rooms["x"] == {ann, bob} and adapter.rooms["y"] == {ann}
        assert adapter.sids[ann] == {ann, "x", "y"}
        io.sockets.sockets[ann].join("x")  # joining twice changes nothing
        io.sockets.sockets[ann].leave("y")
        io.sockets.sockets[ann].leave("never-joined")
        assert "y" not in adapter.rooms
        assert journal == [("create-room", "x"), ("join-room", "x", ann),
                           ("create-room", "y"), ("join-room", "y", ann),
                           ("join-room", "x", bob),
                           ("leave-room", "y", ann), ("delete-room", "y")]
        journal.clear()
        await clients["ann"].disconnect()
        await asyncio.sleep(0.001)
        assert ann not in adapter.sids and adapter.rooms == {"x": {bob}, bob: {bob}}
        assert sorted(journal) == sorted([("leave-room", ann, ann), ("delete-room", ann),
                                          ("leave-room", "x", ann)])
    assert adapter.rooms == {} and adapter.sids == {}
    assert await adapter.all_rooms() == set()


async def test_broadcast_targets_and_is_encoded_once() -> None:
    parser = CountingParser()
    io = socketwire.Server(parser=parser)
    adapter = io.sockets.adapter
    async with clients_of(io) as clients:
        s = {n: io.sockets.sockets[sid(c)] for n, c in clients.items()}
        s["ann"].join("a")
        s["bob"].join(["a", "b"])
        s["cat"].join("b")

        def send(event: str, **opts: Any) -> None:
            adapter.broadcast(SioPacket(SioType.EVENT, "/", [event, "payload"]),
                              BroadcastOptions(**opts))

        send("all")
        assert await settled(clients, "all") == {"ann": 1, "bob": 1, "cat": 1}
        send("in-a", rooms=frozenset({"a"}))
        assert await settled(clients, "in-a") == {"ann": 1, "bob": 1}
        send("in-a-or-b", rooms=frozenset({"a", "b"}))  # bob is in both: once
        assert await settled(clients, "in-a-or-b") == {"ann": 1, "bob": 1, "cat": 1}
        send("not-b", except_rooms=frozenset({"b"}))
        assert await settled(clients, "not-b") == {"ann": 1}
        send("a-not-b", rooms=frozenset({"a"}), except_rooms=frozenset({"b"}))
        assert await settled(clients, "a-not-b") == {"ann": 1}
        send("not-ann", except_rooms=frozenset({s["ann"].id}))
        assert await settled(clients, "not-ann") == {"bob": 1, "cat": 1}
        send("local", flags=BroadcastFlags(local=True))  # one server: everyone local
        assert await settled(clients, "local") == {"ann": 1, "bob": 1, "cat": 1}
        send("volatile", flags=BroadcastFlags(volatile=True))  # all can take it now
        assert await settled(clients, "volatile") == {"ann": 1, "bob": 1, "cat": 1}
        send("nobody", rooms=frozenset({"empty"}))
        assert await settled(clients, "nobody") == {}
    # each broadcast was encoded once, whatever the number of recipients (none: not at all)
    assert parser.events == ["all", "in-a", "in-a-or-b", "not-b", "a-not-b", "not-ann", "local",
                    "volatile"]


async def test_broadcast_with_ack_counts_and_collects() -> None:
    io = socketwire.Server()
    adapter = io.sockets.adapter
    async with clients_of(io) as clients:
        for name, client in clients.items():
            client.on("q", lambda name=name: name.upper())
        counts: list[int] = []
        answers: dict[str, list[Any]] = {}
        packet = SioPacket(SioType.EVENT, "/", ["q"], io.sockets.next_ack_id())
        adapter.broadcast_with_ack(packet, BroadcastOptions(except_rooms=frozenset(
            {sid(clients["cat"])})), counts.append, answers.__setitem__)
        await asyncio.sleep(0.001)
        assert counts == [2]
        assert answers == {sid(clients["ann"]): ["ANN"], sid(clients["bob"]): ["BOB"]}


async def test_fetch_sockets_by_room_with_their_state() -> None:
    io = socketwire.Server()
    io.on("connection", lambda socket: setattr(socket, "data", socket.handshake.auth))
    async with clients_of(io) as clients:
        io.sockets.sockets[sid(clients["ann"])].join("team")
        io.sockets.sockets[sid(clients["bob"])].join("team")
        everyone = await io.fetch_sockets()
        assert sorted(s.data["name"] for s in everyone) == list(NAMES)
        team = await io.in_("team").fetch_sockets()
        assert sorted(s.data["name"] for s in team) == ["ann", "bob"]
        assert all(isinstance(s, socketwire.Socket) and "team" in s.rooms for s in team)
        outside = await io.except_("team").fetch_sockets()
        assert [s.data["name"] for s in outside] == ["cat"]
        assert await io.in_("no-such-room").fetch_sockets() == []
        # what fetch_sockets returns are the live sockets: acting on them acts on the client
        team[0].emit("picked")
        picked = next(n for n, c in clients.items() if sid(c) == team[0].id)
        assert await clients[picked].wait_for("picked") == []


async def test_sockets_join_and_leave_by_selection() -> None:
    io = socketwire.Server()
    adapter = io.sockets.adapter
    async with clients_of(io) as clients:
        ann, bob, cat = (sid(clients[n]) for n in NAMES)
        io.sockets.sockets[ann].join("a")
        io.in_("a").sockets_join(["b", "c"])
        assert adapter.rooms["b"] == {ann} and adapter.rooms["c"] == {ann}
        io.except_("a").sockets_join("others")
        assert adapter.rooms["others"] == {bob, cat}
        io.sockets_join("all")
        assert adapter.rooms["all"] == {ann, bob, cat}
        io.in_("others").sockets_leave("all")
        assert adapter.rooms["all"] == {ann}
        io.to(cat).sockets_leave(["others", "not-in-it"])
        assert adapter.rooms["others"] == {bob}
        io.sockets_leave(["a", "b", "c", "all", "others"])
        assert set(adapter.rooms) == {ann, bob, cat}  # only their own rooms are left
        # the rooms are the server's: emitting to them reaches the joined clients
        io.in_(bob).sockets_join("late")
        io.to("late").emit("late-news")
        assert await clients["bob"].wait_for("late-news") == []


async def test_disconnect_sockets_by_selection_and_close() -> None:
    io = socketwire.Server()
    io.of("/other")
    async with clients_of(io, namespaces=["/", "/other"]) as clients:
        ann, bob = sid(clients["ann"]), sid(clients["bob"])
        io.sockets.sockets[ann].join("kick")
        io.sockets.sockets[bob].join("kick")
        io.in_("kick").except_(bob).disconnect_sockets()
        await asyncio.sleep(0.001)
        assert set(io.sockets.sockets) == {bob, sid(clients["cat"])}
        # without close, the client's other namespace stays connected
        assert clients["ann"].socket("/other").connected
        assert not clients["ann"].socket("/").connected
        io.in_(bob).disconnect_sockets(close=True)
        await asyncio.sleep(0.001)
        assert not clients["bob"].socket("/other").connected  # the whole connection
        assert sid(clients["cat"], "/other") in io.of("/other").sockets
        assert len(io.engine.sessions) == 2  # ann's and cat's connections remain


async def test_session_store_restores_once_with_the_missed_packets(
        monkeypatch: pytest.MonkeyPatch) -> None:
    from socketwire.adapters import memory
    from socketwire.adapters.base import PersistedSession
    from virtual_clock import virtual_monotonic

    loop = asyncio.get_running_loop()
    monkeypatch.setattr(memory, "time", virtual_monotonic(loop))
    io = socketwire.Server(connection_state_recovery=socketwire.ConnectionStateRecovery(
        max_disconnection_duration=60))
    adapter = io.sockets.adapter
    assert isinstance(adapter, memory.SessionAwareAdapter)

    def event(name: str, **opts: Any) -> str:
        packet = SioPacket(SioType.EVENT, "/", [name])
        adapter.broadcast(packet, BroadcastOptions(**opts))
        return str(packet.data[-1])  # the offset the adapter appended

    first = event("before")
    await adapter.persist_session(PersistedSession("sid1", "pid1", ["sid1", "r"], {"k": 1}))
    event("to-r", rooms=frozenset({"r"}))
    event("to-s", rooms=frozenset({"s"}))
    event("not-r", except_rooms=frozenset({"r"}))
    event("all")
    restored = await adapter.restore_session("pid1", first)
    assert restored is not None
    assert (restored.sid, restored.rooms, restored.data) == ("sid1", ["sid1", "r"], {"k": 1})
    assert [p[0] for p in restored.missed_packets] == ["to-r", "all"]
    assert await adapter.restore_session("pid1", first) is None  # once only
    # an offset not from this adapter, or garbage: no session
    await adapter.persist_session(PersistedSession("sid2", "pid2", ["sid2"], None))
    assert await adapter.restore_session("pid2", "other.1") is None
    await adapter.persist_session(PersistedSession("sid2", "pid2", ["sid2"], None))
    assert await adapter.restore_session("pid2", "garbage") is None
    # no offset: what was broadcast since the session was persisted
    await adapter.persist_session(PersistedSession("sid3", "pid3", ["sid3"], None))
    event("after-3")
    restored = await adapter.restore_session("pid3", "")
    assert restored is not None and [p[0] for p in restored.missed_packets] == ["after-3"]
    # past the window the session is gone
    await adapter.persist_session(PersistedSession("sid4", "pid4", ["sid4"], None))
    await asyncio.sleep(61)
    assert await adapter.restore_session("pid4", "") is None
    assert await adapter.restore_session("unknown", "") is None
