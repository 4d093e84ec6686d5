"""The cluster core (socketwire.adapters.cluster) over an in-process bus: several socketwire
servers in one event loop, each with in-process clients, messages encoded with the real
codec (as the sharded adapter sends them) and delivered on the next loop iteration."""

from __future__ import annotations

import asyncio
import itertools
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest

import socketwire
from socketwire.adapters.cluster import ClusterAdapter, ClusterAdapterWithHeartbeat
from socketwire.protocol.cluster import ClusterMessage, MessageType, decode_message, encode_message
from socketwire.server.namespace import Namespace
from socketwire.server.remote import RemoteSocket
from socketwire.testing import TestClient


class Bus:
    """Every published payload goes to every adapter of the bus (the sender ignores its
    own), responses to the adapter they name. ``ghosts`` are servers counted but silent."""

    def __init__(self) -> None:
        self.adapters: list[Any] = []
        self.published: list[tuple[int, bytes]] = []
        self.ghosts = 0
        self.offsets = itertools.count(1)
        self.down = False

    def deliver(self, payload: bytes, offset: str | None) -> None:
        for adapter in list(self.adapters):
            adapter.on_message(decode_message(payload), offset)

    def respond(self, uid: str, payload: bytes) -> None:
        for adapter in list(self.adapters):
            if adapter.uid == uid:
                adapter.on_response(decode_message(payload))


class BusAdapter(ClusterAdapter):
    def __init__(self, nsp: Namespace, bus: Bus, with_offsets: bool = False) -> None:
        super().__init__(nsp)
        self.bus = bus
        self.with_offsets = with_offsets

    async def init(self) -> None:
        self.bus.adapters.append(self)

    async def close(self) -> None:
        if self in self.bus.adapters:
            self.bus.adapters.remove(self)

    def do_publish(self, message: ClusterMessage) -> str | None:
        if self.bus.down:  # dropped, as a Redis publish while Redis is down
            return None
        payload = encode_message(message)
        self.bus.published.append((message["type"], payload))
        offset = f"{next(self.bus.offsets)}-0" if self.with_offsets else None
        asyncio.get_running_loop().call_soon(self.bus.deliver, payload, offset)
        return offset

    def do_publish_response(self, requester_uid: str, response: ClusterMessage) -> None:
        payload = encode_message(response)
        asyncio.get_running_loop().call_soon(self.bus.respond, requester_uid, payload)

    async def count_servers(self) -> int:
        if self.bus.down:
            raise ConnectionError("the bus is down")
        return self.bus.ghosts + sum(
            1 for a in self.bus.adapters if a.nsp.name == self.nsp.name)


def setup_handlers(io: socketwire.Server, name: str) -> None:
    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        socket.data = {"server": name}
        socket.on("join", lambda room: socket.join(room))


async def make_cluster(
    bus: Bus, names: list[str], factory: Callable[[Namespace], Any] | None = None,
    **server_options: Any,
) -> list[socketwire.Server]:
    servers = []
    for name in names:
        io = socketwire.Server(adapter=factory or (lambda nsp: BusAdapter(nsp, bus)),
                               **server_options)
        setup_handlers(io, name)
        await io.startup()
        servers.append(io)
    return servers


@pytest.fixture
async def cluster() -> AsyncIterator[tuple[Bus, list[socketwire.Server], list[TestClient]]]:
    """Three servers a, b, c with one client each."""
    bus = Bus()
    servers = await make_cluster(bus, ["a", "b", "c"])
    clients = [TestClient(io) for io in servers]
    for client in clients:
        client.on("question", lambda q, _c=client: f"{q}?")
        await client.connect()
    yield bus, servers, clients
    for client in clients:
        await client.disconnect()
    for io in servers:
        await io.shutdown()


def sid_of(io: socketwire.Server) -> str:
    return next(iter(io.sockets.sockets))


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.005)


# ----------------------------------------------------------------------------- broadcasts


async def test_broadcast_reaches_every_server_once_encoded_once(cluster: Any) -> None:
    bus, (a, b, c), clients = cluster
    before = len(bus.published)
    a.emit("news", 1, {"two": [2]})
    for client in clients:
        assert await client.wait_for("news") == [1, {"two": [2]}]
    assert [t for t, _ in bus.published[before:]] == [MessageType.BROADCAST]  # one publish

    b.local.emit("only-b")
    assert await clients[1].wait_for("only-b") == []
    await asyncio.sleep(0.05)
    assert all(e != "only-b" for e, _ in clients[0].received + clients[2].received)


async def test_broadcast_rooms_except_and_binary(cluster: Any) -> None:
    _bus, (a, b, c), (ca, cb, cc) = cluster
    await cb.emit_with_ack("join", "room")
    await cc.emit_with_ack("join", "room")
    a.to("room").except_(sid_of(c)).emit("hello", b"\x00\x01", {"blob": b"xyz"})
    assert await cb.wait_for("hello") == [b"\x00\x01", {"blob": b"xyz"}]
    # a private message to a socket of another server
    a.to(sid_of(c)).emit("private", "for c")
    assert await cc.wait_for("private") == ["for c"]
    await asyncio.sleep(0.05)
    assert [e for e, _ in ca.received + cc.received if e == "hello"] == []
    assert [e for e, _ in ca.received + cb.received if e == "private"] == []


async def test_broadcast_with_acks_counted_across_servers(cluster: Any) -> None:
    _bus, (a, _b, _c), (_ca, _cb, cc) = cluster
    answers = await a.timeout(2).emit_with_ack("question", "q")
    assert answers == ["q?", "q?", "q?"]
    cc.off("question")
    cc.on("question", lambda q: None)  # answers, with nothing
    assert sorted(map(str, await a.timeout(2).emit_with_ack("question", "r"))) == [
        "None", "r?", "r?"]
    cc.off("question")  # now one client never answers
    cc.on("question", lambda q, *, ack: None)
    with pytest.raises(socketwire.BroadcastAckTimeout) as err:
        await a.timeout(0.3).emit_with_ack("question", "s")
    assert sorted(err.value.responses) == ["s?", "s?"]


async def test_sockets_join_leave_and_disconnect_across_servers(cluster: Any) -> None:
    _bus, (a, b, c), (_ca, _cb, cc) = cluster
    a.sockets_join("everyone")
    await until(lambda: all("everyone" in sock.rooms for io in (a, b, c)
                            for sock in io.sockets.sockets.values()))
    a.in_("everyone").except_(sid_of(b)).sockets_join(["x", "y"])
    await until(lambda: {"x", "y"} <= next(iter(c.sockets.sockets.values())).rooms)
    assert "x" not in next(iter(b.sockets.sockets.values())).rooms
    b.sockets_leave("everyone")
    await until(lambda: all("everyone" not in sock.rooms for io in (a, b, c)
                            for sock in io.sockets.sockets.values()))
    a.in_(sid_of(c)).disconnect_sockets()
    await until(lambda: not c.sockets.sockets)
    await until(lambda: not cc.connected)
    assert a.sockets.sockets and b.sockets.sockets


async def test_fetch_sockets_and_remote_sockets(cluster: Any) -> None:
    _bus, (a, b, c), (_ca, cb, _cc) = cluster
    found = await a.fetch_sockets()
    assert len(found) == 3
    local = [s for s in found if isinstance(s, socketwire.Socket)]
    remote = [s for s in found if isinstance(s, RemoteSocket)]
    assert len(local) == 1 and len(remote) == 2
    by_server = {s.data["server"]: s for s in remote}
    assert set(by_server) == {"b", "c"}
    rb = by_server["b"]
    assert rb.id == sid_of(b) and rb.rooms == {sid_of(b)}
    assert rb.handshake.address == "127.0.0.1" and rb.handshake.issued > 0

    rb.emit("direct", "to b")
    assert await cb.wait_for("direct") == ["to b"]
    assert await rb.timeout(2).emit_with_ack("question", "one") == "one?"
    rb.join("vip")
    await until(lambda: "vip" in b.sockets.sockets[rb.id].rooms)
    assert [s.id for s in await a.in_("vip").fetch_sockets()] == [rb.id]
    rb.leave("vip")
    await until(lambda: "vip" not in b.sockets.sockets[rb.id].rooms)
    assert await a.in_("vip").fetch_sockets() == []
    rb.disconnect()
    await until(lambda: not b.sockets.sockets)
    assert len(await c.fetch_sockets()) == 2
    assert len(await c.local.fetch_sockets()) == 1


async def test_fetch_sockets_times_out_with_nodes_message(cluster: Any) -> None:
    bus, (a, _b, _c), _clients = cluster
    bus.ghosts = 1  # a fourth server that never answers
    with pytest.raises(socketwire.ClusterTimeout,
                       match=r"^timeout reached: only 2 responses received out of 3$"):
        await a.timeout(0.2).fetch_sockets()
    assert a.sockets.adapter._requests == {}  # type: ignore[attr-defined]


async def test_server_side_emit_with_and_without_ack(cluster: Any) -> None:
    bus, (a, b, c), _clients = cluster
    got: list[tuple[str, tuple[Any, ...]]] = []
    for name, io in (("a", a), ("b", b), ("c", c)):
        io.on("hello", lambda *args, _n=name: got.append((_n, args)))

    a.server_side_emit("hello", 1, "two", {"3": b"\x03"})
    await until(lambda: len(got) == 2)
    assert sorted(got) == [("b", (1, "two", {"3": b"\x03"})), ("c", (1, "two", {"3": b"\x03"}))]

    @b.on("ping")
    def pong_b(n: int) -> str:
        return f"b{n}"

    @c.on("ping")
    async def pong_c(n: int) -> dict[str, Any]:
        await asyncio.sleep(0.01)
        return {"c": n, "bin": b"\x00"}

    answers = await a.server_side_emit_with_ack("ping", 7)
    assert sorted(answers, key=str) == sorted(["b7", {"c": 7, "bin": b"\x00"}], key=str)

    c.off("ping")  # c no longer answers: Node's message, the answers that came
    with pytest.raises(socketwire.ClusterTimeout) as err:
        await a.timeout(0.2).server_side_emit_with_ack("ping", 8)
    assert str(err.value) == "timeout reached: only 1 responses received out of 2"
    assert err.value.responses == ["b8"]
    assert (err.value.received, err.value.expected) == (1, 2)


async def test_requests_fail_at_once_when_the_bus_is_down(cluster: Any) -> None:
    bus, (a, _b, _c), (ca, _cb, _cc) = cluster
    bus.down = True
    with pytest.raises(socketwire.ClusterTimeout,
                       match=r"^timeout reached while waiting for fetchSockets response "
                             r"\(the bus is down\)$"):
        await a.fetch_sockets()
    with pytest.raises(socketwire.ClusterTimeout, match="serverSideEmit response"):
        await a.server_side_emit_with_ack("anyone")
    assert await a.sockets.adapter.server_count() == 1
    # a broadcast with acks completes with this server's clients
    assert await a.timeout(1).emit_with_ack("question", "x") == ["x?"]
    bus.down = False
    assert len(await a.fetch_sockets()) == 3


async def test_server_side_emit_alone_and_namespaces() -> None:
    bus = Bus()
    a, b = await make_cluster(bus, ["a", "b"])
    seen: list[Any] = []
    b.of("/chat").on("ev", lambda x: seen.append(("chat", x)))
    b.on("ev", lambda x: seen.append(("main", x)))
    a.of("/chat")  # the namespace must exist on the sender too
    await until(lambda: len(bus.adapters) == 4)  # "/" and "/chat" on both
    a.of("/chat").server_side_emit("ev", 1)
    await until(lambda: seen == [("chat", 1)])
    assert await a.of("/chat").server_side_emit_with_ack("ev", 2) == [None]
    for io in (a, b):
        await io.shutdown()
    (alone,) = await make_cluster(Bus(), ["alone"])
    assert await alone.server_side_emit_with_ack("ev") == []
    await alone.shutdown()


async def test_own_foreign_and_malformed_messages_are_ignored(cluster: Any) -> None:
    _bus, (a, _b, _c), (ca, _cb, _cc) = cluster
    adapter = a.sockets.adapter
    assert isinstance(adapter, ClusterAdapter)
    uid = adapter.uid
    good = {"packet": {"type": 2, "data": ["echoed"]}, "opts": {"rooms": [], "except": []}}
    adapter.on_message({"uid": uid, "nsp": "/", "type": 3, "data": good})
    adapter.on_message({"uid": "other", "nsp": "/elsewhere", "type": 3, "data": good})
    for bad in (None, [], "x", {"packet": None}, {"packet": {"type": 2, "data": "x"}},
                {"packet": {"type": 2, "data": ["e"]}, "opts": "nope"},
                {"opts": [], "rooms": "r"}, {"close": True}, {"packet": "no list"}):
        for kind in range(0, 15):
            adapter.on_message({"uid": "other", "nsp": "/", "type": kind, "data": bad})
            adapter.on_response({"uid": "other", "nsp": "/", "type": kind, "data": bad})
    adapter.on_response({"uid": "other", "nsp": "/", "type": 8,
                         "data": {"requestId": "unknown", "sockets": []}})
    await asyncio.sleep(0.05)
    assert [e for e, _ in ca.received if e == "echoed"] == []
    assert ca.connected


async def test_offsets_appended_with_connection_state_recovery() -> None:
    bus = Bus()
    a, b = await make_cluster(bus, ["a", "b"],
                              factory=lambda nsp: BusAdapter(nsp, bus, with_offsets=True),
                              connection_state_recovery=True)
    async with TestClient(a) as ca, TestClient(b) as cb:
        a.emit("stored", 1)
        got_a = await ca.wait_for("stored")
        got_b = await cb.wait_for("stored")
        assert got_a == got_b and got_a[0] == 1 and got_a[1].endswith("-0")
        a.volatile.emit("not-stored", 2)
        assert await cb.wait_for("not-stored") == [2]
        assert await ca.wait_for("not-stored") == [2]
    for io in (a, b):
        await io.shutdown()


class LateOffsetAdapter(BusAdapter):
    """A transport that learns each offset a little later (as XADD's reply)."""

    def do_publish(self, message: ClusterMessage) -> Any:
        offset = super().do_publish(message)
        future = asyncio.get_running_loop().create_future()
        asyncio.get_running_loop().call_later(0.02, future.set_result, offset)
        return future


async def test_local_deliveries_keep_their_order_while_offsets_are_pending() -> None:
    bus = Bus()
    (a,) = await make_cluster(bus, ["a"],
                              factory=lambda nsp: LateOffsetAdapter(nsp, bus, with_offsets=True),
                              connection_state_recovery=True)
    async with TestClient(a) as client:
        a.emit("ev", "stored-1")
        a.volatile.emit("ev", "volatile")  # no offset, but not before the first
        a.local.emit("ev", "local")
        a.emit("ev", "stored-2")
        await until(lambda: len([e for e, _ in client.received if e == "ev"]) == 4)
        got = [args for e, args in client.received if e == "ev"]
        assert [g[0] for g in got] == ["stored-1", "volatile", "local", "stored-2"]
        assert [len(g) for g in got] == [2, 1, 1, 2]  # offsets: published, not volatile (Node)
    await a.shutdown()


# ------------------------------------------------------------------------------ heartbeats


class BusHeartbeatAdapter(ClusterAdapterWithHeartbeat):
    def __init__(self, nsp: Namespace, bus: Bus) -> None:
        super().__init__(nsp, heartbeat_interval=0.05, heartbeat_timeout=0.3)
        self.bus = bus

    async def init(self) -> None:
        self.bus.adapters.append(self)
        await super().init()

    async def close(self) -> None:
        await super().close()
        await asyncio.sleep(0)
        if self in self.bus.adapters:
            self.bus.adapters.remove(self)

    def do_publish(self, message: ClusterMessage) -> None:
        if self not in self.bus.adapters:  # a crashed server sends nothing
            return None
        self.bus.published.append((message["type"], encode_message(message)))
        asyncio.get_running_loop().call_soon(self.bus.deliver, encode_message(message), None)
        return None

    def do_publish_response(self, requester_uid: str, response: ClusterMessage) -> None:
        asyncio.get_running_loop().call_soon(self.bus.respond, requester_uid,
                                             encode_message(response))


async def test_heartbeat_adapter_counts_servers_and_notices_departures() -> None:
    bus = Bus()
    a, b, c = await make_cluster(bus, ["a", "b", "c"],
                                 factory=lambda nsp: BusHeartbeatAdapter(nsp, bus))
    adapter_a = a.sockets.adapter
    await until(lambda: adapter_a.known_server_count() == 3)
    assert await adapter_a.server_count() == 3
    kinds = {t for t, _ in bus.published}
    assert {MessageType.INITIAL_HEARTBEAT, MessageType.HEARTBEAT} <= kinds

    for io in (b, c):
        io.on("ping", lambda: "pong")
    assert await a.server_side_emit_with_ack("ping") == ["pong", "pong"]

    await c.shutdown()  # says goodbye
    assert MessageType.ADAPTER_CLOSE in {t for t, _ in bus.published}
    await until(lambda: adapter_a.known_server_count() == 2)

    b.off("ping")  # silent now: Node's heartbeat-variant message
    with pytest.raises(socketwire.ClusterTimeout, match="^timeout reached: missing 1 responses$"):
        await a.timeout(0.1).server_side_emit_with_ack("ping")

    # b crashes (no goodbye, no heartbeats): a request waiting for it ends when b is gone
    pending = asyncio.ensure_future(a.timeout(5).server_side_emit_with_ack("ping"))
    bus.adapters.remove(b.sockets.adapter)
    assert await asyncio.wait_for(pending, 2) == []
    assert adapter_a.known_server_count() == 1
    for io in (a, b):
        await io.shutdown()
