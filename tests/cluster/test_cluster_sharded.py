"""Mixed cluster, sharded pub/sub: a Node socket.io 4.8 server with @socket.io/redis-adapter's
``createShardedAdapter`` and a socketwire server with ``create_sharded_adapter`` over one Redis
7 (and over a Redis Cluster), the official socket.io-client connected to each. Every operation
is started on each side and checked on the other side's clients and sockets."""

from __future__ import annotations

import asyncio
from functools import partial

import pytest
from mixed_checks import check_broadcasts, check_everything_else, mixed

from redis_support import RedisCluster, RedisServer
from socketwire.adapters.redis.sharded import create_sharded_adapter

pytestmark = [pytest.mark.node, pytest.mark.usefixtures("redis_hygiene")]


def sharded(mode: str) -> partial[object]:
    return partial(create_sharded_adapter, subscription_mode=mode)


async def test_every_operation_both_ways_dynamic(redis_server: RedisServer) -> None:
    async with mixed("sharded", "dynamic", sharded("dynamic"),
                     redis_port=redis_server.port) as m:
        await check_broadcasts(m, "dynamic")
        await check_everything_else(m)


@pytest.mark.parametrize("mode", ["static", "dynamic-private"])
async def test_broadcasts_both_ways(redis_server: RedisServer, mode: str) -> None:
    async with mixed("sharded", mode, sharded(mode), redis_port=redis_server.port,
                     hosting="asgi") as m:
        await check_broadcasts(m, mode)
        answers = await m.py.io.timeout(3).emit_with_ack("q", "x")
        assert answers == ["x", "x"]
        r = await m.node.remote(m.cp["id"], "emit", event="q", args=["back"], timeout=3)
        assert r == {"err": None, "response": "back"}


async def test_every_operation_both_ways_on_a_redis_cluster(redis_cluster: RedisCluster) -> None:
    async with mixed("sharded", "dynamic", sharded("dynamic"),
                     cluster_ports=redis_cluster.ports) as m:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + 10
        while await m.node.server_count() != 2:
            assert loop.time() < deadline
            await asyncio.sleep(0.05)
        await check_broadcasts(m, "dynamic")
        await check_everything_else(m)
