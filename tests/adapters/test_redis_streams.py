"""The Redis streams adapter: in-process socketwire servers over a real redis-server, each
with its own connections and in-process clients."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import pytest
from redis.asyncio import Redis

import socketwire
from redis_support import RedisCluster, RedisServer
from socketwire.adapters.base import PersistedSession
from socketwire.adapters.redis.streams import RedisStreamsAdapter, create_streams_adapter
from socketwire.protocol.cluster import decode_session, encode_session
from socketwire.server.remote import RemoteSocket
from socketwire.testing import TestClient

Cluster = tuple[list[socketwire.Server], list[TestClient]]


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


@asynccontextmanager
async def streams_cluster(url: str, count: int = 2, server_options: dict[str, Any] | None = None,
                          **options: Any) -> AsyncIterator[Cluster]:
    servers = []
    for i in range(count):
        io = socketwire.Server(adapter=create_streams_adapter(url, **options),
                               **(server_options or {}))

        @io.on("connection")
        def connection(socket: socketwire.Socket, _name: str = "abc"[i]) -> None:
            socket.data = {"server": _name}
            socket.on("join", lambda room, _s=socket: _s.join(room))

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


@pytest.fixture
async def redis(redis_server: RedisServer) -> AsyncIterator[Redis]:
    client = Redis(host="127.0.0.1", port=redis_server.port)
    yield client
    await client.aclose()


def sid_of(io: socketwire.Server) -> str:
    return next(iter(io.sockets.sockets))


async def test_every_operation_between_two_servers(redis_server: RedisServer,
                                                   redis: Redis) -> None:
    async with streams_cluster(redis_server.url) as ((a, b), (ca, cb)):
        adapter = a.sockets.adapter
        assert isinstance(adapter, RedisStreamsAdapter)
        assert await adapter.server_count() == 2

        a.emit("news", 1, {"x": b"\x01"})
        assert await cb.wait_for("news") == [1, {"x": b"\x01"}]
        assert await ca.wait_for("news") == [1, {"x": b"\x01"}]
        await cb.emit_with_ack("join", "room")
        a.to("room").emit("in-room", "hi")
        assert await cb.wait_for("in-room") == ["hi"]
        a.to(sid_of(b)).emit("private", "psst")
        assert await cb.wait_for("private") == ["psst"]

        # what went to the stream: Node's entry fields, binary as base64 msgpack
        entries = await redis.xrange("socket.io")
        assert [e[1][b"type"] for e in entries] == [b"3", b"3", b"3"]
        first = entries[0][1]
        assert set(first) == {b"uid", b"nsp", b"type", b"data"}
        assert first[b"uid"] == adapter.uid.encode() and first[b"nsp"] == b"/"
        assert not first[b"data"].startswith(b"{")  # binary: base64 msgpack
        assert entries[1][1][b"data"].startswith(b'{"packet":{"type":2,"data":["in-room"')

        # transient messages do not go to the stream
        assert sorted(await a.timeout(2).emit_with_ack("question", "q")) == ["q!", "q!"]
        found = await a.fetch_sockets()
        remote = [s for s in found if isinstance(s, RemoteSocket)]
        assert [s.data for s in remote] == [{"server": "b"}]
        assert await remote[0].timeout(2).emit_with_ack("question", "r") == "r!"
        b.on("ping", lambda n: n + 1)
        assert await a.server_side_emit_with_ack("ping", 41) == [42]
        assert await redis.xlen("socket.io") == 3

        a.sockets_join("all")  # through the stream
        await until(lambda: "all" in b.sockets.sockets[sid_of(b)].rooms)
        a.sockets_leave("all")
        await until(lambda: "all" not in b.sockets.sockets[sid_of(b)].rooms)
        a.in_(sid_of(b)).disconnect_sockets()
        await until(lambda: not b.sockets.sockets)
        assert [e[1][b"type"] for e in (await redis.xrange("socket.io"))[3:]] == [
            b"4", b"5", b"6"]


async def test_stream_count_and_options(redis_server: RedisServer, redis: Redis) -> None:
    async with streams_cluster(redis_server.url, stream_name="app", stream_count=4,
                               max_len=5, channel_prefix="chan") as ((a, b), _clients):
        notifications = b.of("/notifications")
        got: list[Any] = []
        a.of("/notifications")
        async with TestClient(b, namespaces=["/notifications"]) as client:
            client.on("ev", got.append, namespace="/notifications")
            await until(lambda: len(notifications.sockets) == 1)
            await until(lambda: isinstance(a.of("/notifications").adapter, RedisStreamsAdapter))
            await asyncio.sleep(0.1)
            for i in range(250):
                a.of("/notifications").emit("ev", i)
            await until(lambda: bool(got) and got[-1] == 249)
            # in order; with MAXLEN ~ 5 entries trimmed before a reader got them are lost
            assert got == sorted(set(got)) and got[0] == 0
        # hashCode("/notifications") % 4 == -3, as JavaScript computes it
        assert await redis.exists("app--3") == 1
        # MAXLEN ~ 5: Redis trims whole nodes of 100 entries
        assert await redis.xlen("app--3") < 250
        assert await a.of("/notifications").adapter.server_count() == 2
        assert await redis.execute_command("PUBSUB NUMSUB", "chan#/notifications#") == [(
            b"chan#/notifications#", 2)]


async def test_redis_restart(redis_server: RedisServer) -> None:
    async with streams_cluster(redis_server.url, block_time=0.5) as ((a, b), (ca, cb)):
        await asyncio.to_thread(redis_server.restart, 0.3)
        a.local.emit("local-still-works")
        assert await ca.wait_for("local-still-works") == []
        loop = asyncio.get_running_loop()
        start = loop.time()
        while True:  # broadcasts flow again (the readers and subscriptions are back)
            a.emit("after", 1)
            try:
                await cb.wait_for("after", timeout=0.2)
                break
            except TimeoutError:
                assert loop.time() - start < 5
        assert loop.time() - start < 2.0
        while await a.sockets.adapter.server_count() != 2:  # pub/sub subscriptions back too
            assert loop.time() - start < 2.0
            await asyncio.sleep(0.02)
        b.on("ping", lambda: "pong")
        assert await a.server_side_emit_with_ack("ping") == ["pong"]


async def test_sessions_as_node_stores_them(redis_server: RedisServer, redis: Redis) -> None:
    async with streams_cluster(redis_server.url,
                               server_options={"connection_state_recovery": True}) as (
            (a, b), (ca, cb)):
        adapter = a.sockets.adapter
        assert isinstance(adapter, RedisStreamsAdapter)
        sid = sid_of(b)
        await cb.emit_with_ack("join", "room")
        a.emit("before", 0)
        offset = (await cb.wait_for("before"))[-1]
        assert offset.count("-") == 1  # the stream entry id
        session = PersistedSession(sid, "P" * 20, [sid, "room"], {"k": "v"})
        await adapter.persist_session(session)
        raw = await redis.get("sio:session:" + "P" * 20)
        assert decode_session(raw) == {"sid": sid, "pid": "P" * 20, "rooms": [sid, "room"],
                                       "data": {"k": "v"}}
        assert raw.decode() == encode_session(decode_session(raw))
        assert 119_000 < await redis.pttl("sio:session:" + "P" * 20) <= 120_000

        a.to("room").emit("missed", 1)
        a.to("other").emit("not-for-me", 2)
        a.except_("room").emit("excluded", 3)
        a.volatile.emit("volatile", 4)
        b.emit("missed", 5)
        await cb.wait_for("missed")
        await cb.wait_for("missed")
        restored = await b.sockets.adapter.restore_session("P" * 20, offset)
        assert restored is not None
        assert (restored.sid, restored.pid, restored.rooms, restored.data) == (
            sid, "P" * 20, [sid, "room"], {"k": "v"})
        assert [p[:-1] for p in restored.missed_packets] == [["missed", 1], ["missed", 5]]
        assert all(p[-1].count("-") == 1 for p in restored.missed_packets)
        # taken once; bad offsets and unknown sessions give nothing
        assert await b.sockets.adapter.restore_session("P" * 20, offset) is None
        await adapter.persist_session(session)
        for bad in ("", "abc", "1-2-3", "0-0"):
            assert await b.sockets.adapter.restore_session("P" * 20, bad) is None
        assert await b.sockets.adapter.restore_session("unknown", offset) is None


@pytest.mark.parametrize("recovery", [False, True], ids=["plain", "with-recovery"])
async def test_while_redis_is_down(redis_server: RedisServer, recovery: bool) -> None:
    async with streams_cluster(redis_server.url, block_time=0.5,
                               server_options={"connection_state_recovery": recovery}) as (
            (a, _b), (ca, _cb)):
        redis_server.stop()
        loop = asyncio.get_running_loop()
        start = loop.time()
        with pytest.raises(socketwire.ClusterTimeout, match="fetchSockets response"):
            await a.fetch_sockets()
        assert loop.time() - start < 1.0
        for i in range(50):  # local delivery goes on, promptly, in order
            a.emit("local", i)
        got = [(await ca.wait_for("local", timeout=3))[0] for _ in range(50)]
        assert got == list(range(50))
        assert loop.time() - start < 3.0
        redis_server.start()
        while True:
            a.emit("back", 1)
            try:
                await _cb.wait_for("back", timeout=0.2)
                break
            except TimeoutError:
                assert loop.time() - start < 10


async def test_on_a_redis_cluster(redis_cluster: RedisCluster) -> None:
    url = "redis+cluster://" + redis_cluster.url[len("redis://"):]
    async with streams_cluster(url, stream_count=3,
                               server_options={"connection_state_recovery": True}) as (
            (a, b), (ca, cb)):
        assert await a.sockets.adapter.server_count() == 2
        await cb.emit_with_ack("join", "room")
        a.to("room").emit("ev", 1)
        got = await cb.wait_for("ev")
        assert got[0] == 1
        assert sorted(await a.timeout(3).emit_with_ack("question", "q")) == ["q!", "q!"]
        assert len(await a.fetch_sockets()) == 2
        sid = sid_of(b)
        adapter = b.sockets.adapter
        await adapter.persist_session(PersistedSession(sid, "Q" * 20, [sid, "room"], {}))
        a.to("room").emit("missed", 2)
        await cb.wait_for("missed")
        restored = await adapter.restore_session("Q" * 20, got[-1])
        assert restored is not None
        assert [p[:-1] for p in restored.missed_packets] == [["missed", 2]]


async def test_sessions_of_a_shutdown_are_stored_before_the_connection_closes(
        redis_server: RedisServer, redis: Redis) -> None:
    io = socketwire.Server(adapter=create_streams_adapter(redis_server.url),
                           connection_state_recovery=True)
    await io.startup()
    clients = [TestClient(io) for _ in range(20)]
    for client in clients:
        await client.connect()
    pids = [s.pid for s in io.sockets.sockets.values()]
    assert len(pids) == 20 and all(pids)
    await io.shutdown()  # "server shutting down": every session persisted first
    for pid in pids:
        assert await redis.exists("sio:session:" + pid) == 1
    for client in clients:
        await client.disconnect()


async def test_only_plaintext_skips_the_binary_check(redis_server: RedisServer,
                                                     redis: Redis) -> None:
    async with streams_cluster(redis_server.url, only_plaintext=True) as ((a, _b), (_ca, cb)):
        a.emit("plain", {"n": 1})
        assert await cb.wait_for("plain") == [{"n": 1}]
        (entry,) = await redis.xrange("socket.io")
        assert entry[1][b"data"] == (b'{"packet":{"type":2,"data":["plain",{"n":1}]},'
                                     b'"opts":{"rooms":[],"except":[],"flags":{}}}')


def test_transient_messages_are_those_node_publishes() -> None:
    """Which messages Node's streams adapter sent over pub/sub rather than XADD (the vectors
    recorded from the Node package; responses always go over pub/sub)."""
    import json
    from pathlib import Path

    from socketwire.adapters.redis.streams import is_transient

    vectors = json.loads((Path(__file__).parents[1] / "vectors" / "cluster_messages.json")
                         .read_text())
    for case in vectors["streams"]:
        if case["message"]["type"] in (8, 10, 11, 12):
            continue  # responses: do_publish_response, always pub/sub
        assert is_transient(case["message"]) is (case["cmd"] == "PUBLISH"), case["name"]
