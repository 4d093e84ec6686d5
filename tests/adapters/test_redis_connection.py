"""socketwire.adapters.redis.connection against a real redis-server (and a Redis Cluster)."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster as AsyncRedisCluster

from redis_support import RedisCluster, RedisServer
from socketwire.adapters.redis import RedisConnection, RedisUnavailable

Pair = tuple[RedisConnection, RedisConnection]

pytestmark = pytest.mark.usefixtures("redis_hygiene")


class Inbox:
    """Messages received by callbacks, awaitable."""

    def __init__(self) -> None:
        self.items: list[tuple[str, bytes]] = []
        self._event = asyncio.Event()

    def __call__(self, channel: str, payload: bytes) -> None:
        self.items.append((channel, payload))
        self._event.set()

    async def wait(self, count: int, timeout: float = 5.0) -> list[tuple[str, bytes]]:
        async def loop() -> None:
            while len(self.items) < count:
                self._event.clear()
                await self._event.wait()

        await asyncio.wait_for(loop(), timeout)
        return self.items


@pytest.fixture
async def conns(redis_server: RedisServer) -> AsyncIterator[Pair]:
    a, b = RedisConnection(redis_server.url), RedisConnection(redis_server.url)
    await a.start()
    await b.start()
    try:
        yield a, b
    finally:
        await a.close()
        await b.close()


async def test_publish_subscribe_and_patterns(conns: Pair) -> None:
    a, b = conns
    plain, pattern = Inbox(), Inbox()
    await a.subscribe("chan#", plain)
    await a.psubscribe("room#*", pattern)
    assert b.publish("chan#", b"one")
    assert b.publish("room#x#", "two")
    assert b.publish("other", b"ignored")
    assert await plain.wait(1) == [("chan#", b"one")]
    assert await pattern.wait(1) == [("room#x#", b"two")]
    assert a.subscriptions() == {"channels": ["chan#"], "patterns": ["room#*"], "sharded": []}


async def test_one_connection_per_channel_whatever_the_callbacks(
    conns: Pair,
) -> None:
    a, b = conns
    first, second = Inbox(), Inbox()
    await a.subscribe("counted", first)
    await a.subscribe("counted", second)
    assert await b.numsub("counted") == 1
    await b.subscribe("counted", Inbox())
    assert await a.numsub("counted") == 2
    b.publish("counted", b"x")
    await first.wait(1)
    await second.wait(1)
    await a.unsubscribe("counted", first)
    assert await b.numsub("counted") == 2  # second still listens
    await a.unsubscribe("counted", second)
    assert await b.numsub("counted") == 1


async def test_order_is_kept_and_batches_flow(conns: Pair) -> None:
    a, b = conns
    inbox = Inbox()
    await a.subscribe("seq", inbox)
    for i in range(2000):
        b.publish("seq", str(i).encode())
    got = await inbox.wait(2000)
    assert [int(p) for _, p in got] == list(range(2000))
    assert b.stats.published >= 2000
    assert b.stats.dropped == 0


async def test_a_failing_callback_does_not_stop_the_reader(
    conns: Pair, caplog: pytest.LogCaptureFixture,
) -> None:
    a, b = conns
    inbox = Inbox()

    def broken(channel: str, payload: bytes) -> None:
        raise ValueError("bad message")

    await a.subscribe("c", broken)
    await a.subscribe("c", inbox)
    b.publish("c", b"1")
    b.publish("c", b"2")
    await inbox.wait(2)
    assert any("could not be handled" in r.getMessage() for r in caplog.records
               if r.levelno == logging.WARNING)


async def test_sharded_pubsub_standalone(conns: Pair) -> None:
    a, b = conns
    inbox = Inbox()
    await a.ssubscribe("shard#/#", inbox)
    assert await b.shardnumsub("shard#/#") == 1
    assert await b.numsub("shard#/#") == 0  # a different table from classic pub/sub
    b.spublish("shard#/#", b"s")
    assert await inbox.wait(1) == [("shard#/#", b"s")]
    await a.sunsubscribe("shard#/#")
    assert await b.shardnumsub("shard#/#") == 0


async def test_existing_client_is_reused_and_not_closed(redis_server: RedisServer) -> None:
    client = Redis(host="127.0.0.1", port=redis_server.port)
    conn = RedisConnection(client)
    await conn.start()
    inbox = Inbox()
    await conn.subscribe("mine", inbox)
    await client.publish("mine", b"hi")
    await inbox.wait(1)
    await conn.close()
    assert await client.ping()
    await client.aclose()


async def test_restart_resubscribes_counts_drops_and_logs_once(
    redis_server: RedisServer, caplog: pytest.LogCaptureFixture,
) -> None:
    a, b = RedisConnection(redis_server.url), RedisConnection(redis_server.url)
    await a.start()
    await b.start()
    try:
        plain, pattern, sharded = Inbox(), Inbox(), Inbox()
        await a.subscribe("req#/#", plain)
        await a.psubscribe("bc#/#*", pattern)
        await a.ssubscribe("sh#/#", sharded)
        loop = asyncio.get_running_loop()

        redis_server.stop()
        # both notice (the publisher at once or on its next ping; the subscriber when its
        # socket closes); while down, publishing fails fast and is counted
        deadline = loop.time() + 6
        while a.available or b.available:
            assert loop.time() < deadline, "the outage was not noticed"
            await asyncio.sleep(0.01)
        for i in range(50):
            assert not b.publish("req#/#", f"lost {i}".encode())
        assert b.stats.dropped >= 50
        with pytest.raises(RedisUnavailable):
            await b.numsub("req#/#")

        redis_server.start()  # same port, empty server: every subscription is gone there
        started = loop.time()
        while not (a.available and b.available):
            assert loop.time() - started < 2.0, "not back within 2 s"
            await asyncio.sleep(0.01)
        assert await b.numsub("req#/#") == 1
        assert await b.shardnumsub("sh#/#") == 1
        b.publish("req#/#", b"after")
        b.publish("bc#/#room#", b"after")
        b.spublish("sh#/#", b"after")
        assert await plain.wait(1) == [("req#/#", b"after")]
        assert await pattern.wait(1) == [("bc#/#room#", b"after")]
        assert await sharded.wait(1) == [("sh#/#", b"after")]
        assert loop.time() - started < 2.0
    finally:
        await a.close()
        await b.close()
    warnings = [r for r in caplog.records if r.name.startswith("socketwire")
                and r.levelno == logging.WARNING and "unreachable" in r.getMessage()]
    recoveries = [r for r in caplog.records if r.name.startswith("socketwire")
                  and "reachable again" in r.getMessage()]
    assert len(warnings) == 2  # one per RedisConnection, not one per message or connection
    assert len(recoveries) == 2
    assert a.stats.outages == 1 and b.stats.outages == 1


async def test_start_while_redis_is_down_then_connect(redis_server: RedisServer) -> None:
    redis_server.stop()
    conn = RedisConnection(redis_server.url)
    await conn.start(timeout=0.3)  # returns; keeps retrying behind
    inbox = Inbox()
    await conn.subscribe("later", inbox)
    assert not conn.publish("later", b"dropped")
    redis_server.start()
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 3
    while not conn.available:
        assert loop.time() < deadline
        await asyncio.sleep(0.01)
    conn.publish("later", b"ok")
    assert await inbox.wait(1) == [("later", b"ok")]
    await conn.close()


async def test_redis_cluster_sharded_and_classic(redis_cluster: RedisCluster) -> None:
    client: Any = AsyncRedisCluster(host="127.0.0.1", port=redis_cluster.ports[0])
    other: Any = AsyncRedisCluster(host="127.0.0.1", port=redis_cluster.ports[1])
    a, b = RedisConnection(client), RedisConnection(other)
    await a.start()
    await b.start()
    try:
        inbox, plain = Inbox(), Inbox()
        channels = [f"socket.io#/#room{i}#" for i in range(12)]  # spread over the slots
        for channel in channels:
            await a.ssubscribe(channel, inbox)
        owners = {a._sharded[name].name for name in a._sharded}
        assert len(owners) >= 2  # several nodes serve them
        for channel in channels:
            assert await b.shardnumsub(channel) == 1
            assert b.spublish(channel, channel.encode())
        got = await inbox.wait(len(channels))
        assert sorted(c for c, _ in got) == sorted(channels)
        assert all(c.encode() == p for c, p in got)

        await a.subscribe("socket.io-request#/#", plain)
        assert await b.numsub("socket.io-request#/#") == 1  # summed over the nodes
        b.publish("socket.io-request#/#", b"classic")
        assert await plain.wait(1) == [("socket.io-request#/#", b"classic")]
    finally:
        await a.close()
        await b.close()
        await client.aclose()
        await other.aclose()


async def test_sharded_channel_follows_its_slot_to_another_node(
    redis_cluster: RedisCluster,
) -> None:
    client: Any = AsyncRedisCluster(host="127.0.0.1", port=redis_cluster.ports[0])
    other: Any = AsyncRedisCluster(host="127.0.0.1", port=redis_cluster.ports[1])
    a, b = RedisConnection(client), RedisConnection(other)
    await a.start()
    await b.start()
    channel = "socket.io#/moving#"
    try:
        inbox = Inbox()
        await a.ssubscribe(channel, inbox)
        b.spublish(channel, b"before")
        await inbox.wait(1)
        old, new = redis_cluster.move_slot(channel)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 5
        while True:  # Redis drops the subscription on the old node; it is made on the new one
            b.spublish(channel, b"after")
            await asyncio.sleep(0.05)
            if any(p == b"after" for _, p in inbox.items):
                break
            assert loop.time() < deadline, "no delivery after the slot moved"
        assert new.command("PUBSUB", "SHARDNUMSUB", channel).split()[-1] == "1"
        assert old.command("PUBSUB", "SHARDNUMSUB", channel).split()[-1] == "0"
        assert a.subscriptions()["sharded"] == [channel]
    finally:
        redis_cluster.move_slot(channel)  # the module's cluster as found (another node)
        await a.close()
        await b.close()
        await client.aclose()
        await other.aclose()
