"""Redis restarted in the middle of a mixed cluster (two socketwire servers with the classic
adapter, two Node socket.io servers with @socket.io/redis-adapter, a client on each): local
delivery goes on during the outage, cluster requests fail with a clear timeout error, every
server is back and broadcasts flow again within 2 s of Redis coming back, with one warning per
server (not per message), no error log and no exception reaching the loop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from typing import Any

import pytest
from cluster_support import NodeClusterServer, PyClusterServer

from interop.jsdriver import JsDriver
from redis_support import RedisServer
from socketwire import ClusterTimeout
from socketwire.adapters.redis import create_adapter

pytestmark = [pytest.mark.node, pytest.mark.usefixtures("redis_hygiene")]

NAMES = ("py1", "py2", "n1", "n2")


@pytest.fixture
async def cluster(redis_server: RedisServer) -> AsyncIterator[tuple[dict[str, Any], JsDriver]]:
    py1 = PyClusterServer("py1", create_adapter(redis_server.url, request_timeout=1.0))
    py2 = PyClusterServer("py2", create_adapter(redis_server.url, request_timeout=1.0))
    clients = await JsDriver.start()
    nodes: list[NodeClusterServer] = []
    try:
        async with py1.serving("standalone"), py2.serving("asgi"):
            for name in ("n1", "n2"):
                nodes.append(await NodeClusterServer.launch(name, redis_port=redis_server.port,
                                                            requestsTimeout=1000))
            servers: dict[str, Any] = {"py1": py1, "py2": py2, "n1": nodes[0], "n2": nodes[1]}
            for name, server in servers.items():
                await clients.connect(f"c_{name}", server.url, "websocket")
            try:
                yield servers, clients
            finally:
                await clients.reset()
    finally:
        await clients.stop()
        for node in nodes:
            await node.close()


async def flowing_everywhere(servers: dict[str, Any], clients: JsDriver, tag: str,
                             timeout: float) -> float:
    """Every server broadcasts a probe every 50 ms until every client got a probe from every
    server; returns how long that took."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    seq = 0

    def complete() -> bool:
        for name in NAMES:
            got = {args[0] for args in clients.received(f"c_{name}", tag)}
            if got != set(NAMES):
                return False
        return True

    while not complete():
        assert loop.time() - started < timeout, {
            n: sorted({a[0] for a in clients.received(f"c_{n}", tag)}) for n in NAMES}
        for name, server in servers.items():
            await server.broadcast(tag, name, seq)
        seq += 1
        await asyncio.sleep(0.05)
    return loop.time() - started


@pytest.mark.parametrize("down_for", [0.0, 1.5])
async def test_redis_restart_mixed_cluster(
    cluster: tuple[dict[str, Any], JsDriver], redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture, down_for: float,
) -> None:
    servers, clients = cluster
    await flowing_everywhere(servers, clients, "before", timeout=5)

    redis_server.stop()
    py1: PyClusterServer = servers["py1"]
    conn = py1.nsp().adapter.conn
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 5
    while conn.available:
        assert loop.time() < deadline
        await asyncio.sleep(0.01)
    # local delivery keeps working, on both kinds of server
    await py1.broadcast("local-during-outage", 1)
    await servers["n1"].broadcast("local-during-outage", 2)
    assert (await clients.wait("c_py1", "event", "local-during-outage"))[0]["args"] == [1]
    assert (await clients.wait("c_n1", "event", "local-during-outage"))[0]["args"] == [2]
    # cluster requests fail at once with a clear timeout error
    started = loop.time()
    with pytest.raises(ClusterTimeout, match="Redis is unreachable"):
        await py1.io.fetch_sockets()
    with pytest.raises(ClusterTimeout, match="Redis is unreachable"):
        await py1.io.timeout(1).server_side_emit_with_ack("anyone")
    assert loop.time() - started < 1.0
    for i in range(100):  # many messages: still one warning per server
        await py1.broadcast("dropped", i)
    await asyncio.sleep(down_for)

    redis_server.start()
    took = await flowing_everywhere(servers, clients, "after", timeout=2.0)
    assert took < 2.0
    for name, server in servers.items():
        assert await server.server_count() == 4, name
    for node in ("n1", "n2"):
        assert not [m for m in servers[node].log if m.get("kind") in ("exited", "driver_error")]
    # the requests work again
    assert len(await py1.io.fetch_sockets()) == 4

    warnings = [r for r in caplog.records if r.name == "socketwire.adapters.redis"
                and r.levelno == logging.WARNING]
    assert len(warnings) == 2, [r.getMessage() for r in warnings]  # one per Python server
    recovered = [r for r in caplog.records if "reachable again" in r.getMessage()]
    assert len(recovered) == 2
    assert conn.stats.dropped >= 100
