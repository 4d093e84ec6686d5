"""--workers with an explicit adapter: the workers join that cluster (here the classic Redis
adapter, a real redis-server) instead of the IPC one, and a second host's server (another
process, one worker) is part of the same cluster."""

from __future__ import annotations

import asyncio
import collections

from test_workers_cluster import APP, Client
from workers_support import PYTHON, WorkersServer

from redis_support import RedisServer
from socketwire.client import AsyncClient


async def test_workers_join_the_given_redis_cluster(redis_server: RedisServer) -> None:
    workers = WorkersServer.start([PYTHON, APP, "--redis", redis_server.url], 2)
    other = WorkersServer.start([PYTHON, APP, "--redis", redis_server.url], 1)
    clients: list[Client] = []
    try:
        per_slot: collections.Counter[int] = collections.Counter()
        for _ in range(100):
            if len(per_slot) == 2:
                break
            c = Client(AsyncClient(reconnection=False))
            await c.io.connect(workers.url, transports=["websocket"])
            info = await c.ask("whoami")
            c.slot, c.id = info["slot"], info["id"]
            per_slot[c.slot] += 1
            clients.append(c)
        assert len(per_slot) == 2
        far = Client(AsyncClient(reconnection=False))
        await far.io.connect(other.url, transports=["polling"])
        far.id = (await far.ask("whoami"))["id"]
        clients.append(far)
        for c in clients:
            assert await c.ask("adapter") == "RedisAdapter"
            assert await c.ask("server-count") == 3  # 2 workers + the other server
        clients[0].io.emit("broadcast", "news", "hello")
        for c in clients:
            assert await c.wait_for("news") == [("hello",)]
        found = await far.ask("fetch")
        assert sorted(f["id"] for f in found) == sorted(c.id for c in clients)
        answers = await clients[0].ask("server-side-ack")
        assert len(answers) == 2
    finally:
        for c in clients:
            await c.io.disconnect()
        assert workers.stop() == 0
        assert other.stop() == 0
    await asyncio.sleep(0)
    assert not workers.errors(), workers.log()
    assert not other.errors(), other.log()
