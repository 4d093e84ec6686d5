"""The sharded Redis adapter: in-process socketwire servers over a real redis-server (and a
Redis Cluster), each with its own connections and in-process clients."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest

import socketwire
from redis_support import RedisCluster, RedisServer
from socketwire.adapters.redis.sharded import ShardedRedisAdapter, create_sharded_adapter
from socketwire.server.remote import RemoteSocket
from socketwire.testing import TestClient

Cluster = tuple[list[socketwire.Server], list[TestClient]]


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


@asynccontextmanager
async def sharded_cluster(url: str, count: int = 2, **options: Any) -> AsyncIterator[Cluster]:
    servers = []
    for i in range(count):
        io = socketwire.Server(adapter=create_sharded_adapter(url, **options))
        name = "abc"[i]

        @io.on("connection")
        def connection(socket: socketwire.Socket, _name: str = name) -> None:
            socket.data = {"server": _name}
            socket.on("join", lambda room, _s=socket: _s.join(room))
            socket.on("leave", lambda room, _s=socket: _s.leave(room))

        await io.startup()
        servers.append(io)
    clients = [TestClient(io) for io in servers]
    try:
        for client in clients:
            client.on("question", lambda q: f"{q}!")
            await client.connect()
        yield servers, clients
    finally:
        for client in clients:
            await client.disconnect()
        for io in servers:
            await io.shutdown()


def shard_channels(redis: RedisServer) -> set[str]:
    return set(redis.command("PUBSUB", "SHARDCHANNELS").split())


def sid_of(io: socketwire.Server) -> str:
    return next(iter(io.sockets.sockets))


async def test_every_operation_between_two_servers(redis_server: RedisServer) -> None:
    async with sharded_cluster(redis_server.url) as ((a, b), (ca, cb)):
        adapter = a.sockets.adapter
        assert isinstance(adapter, ShardedRedisAdapter)
        assert await adapter.server_count() == 2
        assert len(adapter.uid) == 16

        a.emit("news", 1, {"x": b"\x01"})
        assert await cb.wait_for("news") == [1, {"x": b"\x01"}]
        assert await ca.wait_for("news") == [1, {"x": b"\x01"}]

        await cb.emit_with_ack("join", "room")
        await until(lambda: "socket.io#/#room#" in shard_channels(redis_server))
        a.to("room").emit("in-room", "hi")
        assert await cb.wait_for("in-room") == ["hi"]
        a.to(sid_of(b)).emit("private", "psst")
        assert await cb.wait_for("private") == ["psst"]

        assert sorted(await a.timeout(2).emit_with_ack("question", "q")) == ["q!", "q!"]

        found = await a.fetch_sockets()
        remote = [s for s in found if isinstance(s, RemoteSocket)]
        assert [s.data for s in remote] == [{"server": "b"}]
        assert remote[0].rooms == {sid_of(b), "room"}
        assert await remote[0].timeout(2).emit_with_ack("question", "r") == "r!"

        a.sockets_join("all")
        await until(lambda: "all" in b.sockets.sockets[sid_of(b)].rooms)
        a.sockets_leave("all")
        await until(lambda: "all" not in b.sockets.sockets[sid_of(b)].rooms)

        b.on("ping", lambda n: n + 1)
        assert await a.server_side_emit_with_ack("ping", 41) == [42]
        seen: list[Any] = []
        a.on("note", seen.append)
        b.server_side_emit("note", "from b")
        await until(lambda: seen == ["from b"])

        a.in_(sid_of(b)).disconnect_sockets(close=True)
        await until(lambda: not b.sockets.sockets)


@pytest.mark.parametrize("mode", ["static", "dynamic", "dynamic-private"])
async def test_subscription_modes_and_room_channels(redis_server: RedisServer, mode: str) -> None:
    async with sharded_cluster(redis_server.url, subscription_mode=mode,
                               channel_prefix="app") as ((a, b), (_ca, cb)):
        uid_a = a.sockets.adapter.uid  # type: ignore[attr-defined]
        base = {"app#/#", f"app#/#{uid_a}#"}
        assert base <= shard_channels(redis_server)
        await cb.emit_with_ack("join", "lobby")
        sid = sid_of(b)
        if mode == "static":
            await asyncio.sleep(0.1)
            assert not any(c.endswith("lobby#") for c in shard_channels(redis_server))
        else:
            await until(lambda: "app#/#lobby#" in shard_channels(redis_server))
        assert (f"app#/#{sid}#" in shard_channels(redis_server)) is (mode == "dynamic-private")
        a.to("lobby").emit("ev", mode)
        assert await cb.wait_for("ev") == [mode]
        a.to(sid).emit("direct", mode)
        assert await cb.wait_for("direct") == [mode]
        await cb.emit_with_ack("leave", "lobby")
        if mode != "static":
            await until(lambda: "app#/#lobby#" not in shard_channels(redis_server))
    await until(lambda: not shard_channels(redis_server))  # everything unsubscribed


async def test_namespaces_have_their_own_channels(redis_server: RedisServer) -> None:
    async with sharded_cluster(redis_server.url) as ((a, b), _clients):
        got: list[Any] = []
        b.of("/chat").on("connection", lambda s: None)
        a.of("/chat")
        await until(lambda: "socket.io#/chat#" in shard_channels(redis_server))
        async with TestClient(b, namespaces=["/chat"]) as chat_client:
            chat_client.on("msg", got.append, namespace="/chat")
            await until(lambda: len(b.of("/chat").sockets) == 1)
            await until(lambda: "/chat" in {n for n in a.namespaces}
                        and a.of("/chat").adapter.rooms == {})
            a.of("/chat").emit("msg", "to chat")
            await until(lambda: got == ["to chat"])
            assert await a.of("/chat").adapter.server_count() == 2
            assert len(await a.of("/chat").fetch_sockets()) == 1


async def test_redis_restart_everything_comes_back(redis_server: RedisServer) -> None:
    async with sharded_cluster(redis_server.url) as ((a, b), (ca, cb)):
        await cb.emit_with_ack("join", "room")
        await until(lambda: "socket.io#/#room#" in shard_channels(redis_server))
        before = shard_channels(redis_server)  # main, room and both response channels
        assert len(before) == 4
        await asyncio.to_thread(redis_server.restart, 0.3)
        a.local.emit("local-still-works")  # no Redis needed for this server's clients
        assert await ca.wait_for("local-still-works") == []

        # within 2 s every subscription (room channels included) is back
        loop = asyncio.get_running_loop()
        start = loop.time()
        await until(lambda: shard_channels(redis_server) == before, timeout=5)
        assert loop.time() - start < 2.0
        for sender, receiver, room in ((a, cb, "room"), (b, ca, None)):
            while True:  # what is published while a publisher is still reconnecting is lost
                (sender.to(room) if room else sender.sockets).emit("after-restart", 1)
                try:
                    assert await receiver.wait_for("after-restart", timeout=0.2) == [1]
                    break
                except TimeoutError:
                    assert loop.time() - start < 2.0, "broadcasts not flowing 2 s after"
        assert await a.sockets.adapter.server_count() == 2


async def test_requests_fail_clearly_while_redis_is_down(redis_server: RedisServer) -> None:
    async with sharded_cluster(redis_server.url) as ((a, _b), (ca, _cb)):
        redis_server.stop()
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(socketwire.ClusterTimeout,
                           match="^timeout reached while waiting for fetchSockets response "
                                 r"\(Redis is unreachable\)$"):
            await a.fetch_sockets()
        with pytest.raises(socketwire.ClusterTimeout, match="serverSideEmit response"):
            await a.server_side_emit_with_ack("anyone")
        assert loop.time() - start < 1.0
        assert await a.sockets.adapter.server_count() == 1  # only this one can be reached
        a.emit("still-local", 1)  # dropped for Redis, delivered here
        assert await ca.wait_for("still-local") == [1]
        assert await a.timeout(1).emit_with_ack("question", "q") == ["q!"]
        redis_server.start()
        await until(lambda: a.sockets.adapter.conn.available, timeout=5)  # type: ignore


async def test_on_a_redis_cluster(redis_cluster: RedisCluster) -> None:
    url = "redis+cluster://" + redis_cluster.url[len("redis://"):]
    async with sharded_cluster(url, count=3) as ((a, b, c), (ca, cb, cc)):
        adapter = a.sockets.adapter
        assert await adapter.server_count() == 3  # type: ignore[attr-defined]
        # rooms hashing to slots on different nodes
        rooms = [f"room-{i}" for i in range(6)]
        for room in rooms:
            await cb.emit_with_ack("join", room)
            await cc.emit_with_ack("join", room)
        # a room channel is subscribed after the join (as Node does): wait for Redis to
        # count both subscribers on the node owning each channel
        for room in rooms:
            channel = f"socket.io#/#{room}#"
            async with asyncio.timeout(5):
                while await adapter.conn.shardnumsub(channel) != 2:  # type: ignore
                    await asyncio.sleep(0.02)
        for room in rooms:
            a.to(room).emit("ev", room)
        for client in (cb, cc):
            got = [(await client.wait_for("ev"))[0] for _ in rooms]
            assert sorted(got) == rooms
        assert sorted(await a.timeout(3).emit_with_ack("question", "q")) == ["q!"] * 3
        assert len(await a.fetch_sockets()) == 3
        b.on("ping", lambda: "b")
        c.on("ping", lambda: "c")
        assert sorted(await a.server_side_emit_with_ack("ping")) == ["b", "c"]
        a.emit("all", 1)
        for client in (ca, cb, cc):
            assert await client.wait_for("all") == [1]


def _move_slot(cluster: RedisCluster, channel: str) -> tuple[int, int]:
    """Give the slot of ``channel`` to another master (no keys to migrate); returns the
    client ports of the old and new owners."""
    slot = int(cluster.nodes[0].command("CLUSTER", "KEYSLOT", channel))
    ids = {node.port: _myid(node) for node in cluster.nodes}
    owner = next(n.port for n in cluster.nodes if _owns(n, slot))
    target = next(p for p in ids if p != owner)
    # the new owner first, then the old one, then the others
    for node in sorted(cluster.nodes, key=lambda n: (n.port != target, n.port != owner)):
        node.command("CLUSTER", "SETSLOT", str(slot), "NODE", ids[target])
    return owner, target


def _myid(node: RedisServer) -> str:
    return node.command("CLUSTER", "MYID").strip()


def _owns(node: RedisServer, slot: int) -> bool:
    for line in node.command("CLUSTER", "NODES").splitlines():
        parts = line.split()
        if "myself" not in parts[2]:
            continue
        for spec in parts[8:]:
            if "-" in spec and not spec.startswith("["):
                lo, hi = (int(x) for x in spec.split("-"))
                if lo <= slot <= hi:
                    return True
            elif spec.isdigit() and int(spec) == slot:
                return True
    return False


async def test_on_a_redis_cluster_after_resharding(redis_cluster: RedisCluster) -> None:
    """The slot of the namespace's channel moves to another node: Redis unsubscribes the
    servers there (a server-initiated SUNSUBSCRIBE); they subscribe again on the new owner."""
    url = "redis+cluster://" + redis_cluster.url[len("redis://"):]
    async with sharded_cluster(url, count=2) as ((a, b), (ca, cb)):
        a.emit("before", 1)
        assert await cb.wait_for("before") == [1]
        _move_slot(redis_cluster, "socket.io#/#")
        try:
            loop = asyncio.get_running_loop()
            start = loop.time()
            while True:
                a.emit("after", 2)
                try:
                    await cb.wait_for("after", timeout=0.3)
                    break
                except TimeoutError:
                    assert loop.time() - start < 5, "no delivery after the slot moved"
            assert await a.sockets.adapter.server_count() == 2  # type: ignore[attr-defined]
        finally:
            _move_slot(redis_cluster, "socket.io#/#")  # leave the module's cluster as found


@pytest.mark.parametrize("mode", ["static", "dynamic", "dynamic-private"])
def test_channels_are_those_nodes_adapter_chose(mode: str) -> None:
    """The channel of every message of the vectors, as Node's sharded adapter published it
    (tests/vectors/cluster_messages.json, recorded from the Node package)."""
    import json
    from pathlib import Path

    from socketwire.adapters.redis import RedisConnection

    vectors = json.loads((Path(__file__).parents[1] / "vectors" / "cluster_messages.json")
                         .read_text())
    io = socketwire.Server(adapter=create_sharded_adapter(
        RedisConnection("redis://127.0.0.1:1/0"), subscription_mode=mode))  # never connected
    adapter = io.sockets.adapter
    assert isinstance(adapter, ShardedRedisAdapter)
    cases = [c for c in vectors["sharded"] if c["mode"] == mode and not c.get("response")]
    assert len(cases) == 19
    for case in cases:
        message = json.loads(json.dumps(case["message"]))
        message["uid"] = adapter.uid
        expected = case["channel"].replace("UID", adapter.uid)
        assert adapter.channel_for(message) == expected, case["name"]
