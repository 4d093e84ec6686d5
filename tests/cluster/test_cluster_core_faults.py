"""Redis restarted under a mixed cluster of the cluster-core adapters (sharded, in each
subscription mode, and streams): a Node socket.io 4.8 server and a socketwire server, a
client on each. socketwire's local delivery goes on during the outage; within 2 s of Redis
coming back every server's broadcasts reach both clients again (room channels included), with
one warning per outage and no error log."""

from __future__ import annotations

import asyncio
import logging
from functools import partial
from typing import Any

import pytest
from mixed_checks import Mixed, mixed

from redis_support import RedisServer
from socketwire.adapters.redis.sharded import create_sharded_adapter
from socketwire.adapters.redis.streams import create_streams_adapter

pytestmark = [pytest.mark.node, pytest.mark.usefixtures("redis_hygiene")]


async def flowing(m: Mixed, tag: str, timeout: float, room: str | None = None) -> float:
    """Both servers broadcast a probe every 50 ms until both clients got one from each."""
    loop = asyncio.get_running_loop()
    started = loop.time()
    seq = 0

    def complete() -> bool:
        return all({args[0] for args in m.clients.received(c, tag)} == {"py", "node"}
                   for c in ("cn", "cp"))

    while not complete():
        assert loop.time() - started < timeout, {
            c: sorted({a[0] for a in m.clients.received(c, tag)}) for c in ("cn", "cp")}
        (m.py.io.to(room) if room else m.py.io.sockets).emit(tag, "py", seq)
        await m.node.broadcast(tag, "node", seq, rooms=room)
        seq += 1
        await asyncio.sleep(0.05)
    return loop.time() - started


KINDS: list[tuple[str, str | None, Any]] = [
    ("sharded", "static", partial(create_sharded_adapter, subscription_mode="static")),
    ("sharded", "dynamic", partial(create_sharded_adapter, subscription_mode="dynamic")),
    ("sharded", "dynamic-private",
     partial(create_sharded_adapter, subscription_mode="dynamic-private")),
    ("streams", None, partial(create_streams_adapter, block_time=1.0)),
]


@pytest.mark.parametrize(("kind", "mode", "factory"), KINDS,
                         ids=[f"{k}-{m}" if m else k for k, m, _ in KINDS])
async def test_redis_restart(redis_server: RedisServer, caplog: pytest.LogCaptureFixture,
                             kind: str, mode: str | None, factory: Any) -> None:
    async with mixed(kind, mode, factory, redis_port=redis_server.port) as m:
        await m.clients.emit_ack("cn", "join", "team")
        await m.clients.emit_ack("cp", "join", "team")
        await flowing(m, "before", timeout=5, room="team")

        redis_server.stop()
        await asyncio.sleep(0.3)
        # socketwire delivers to its own clients at once (Node's cluster adapters wait for
        # the publish, which node-redis queues until Redis is back)
        m.py.io.emit("local-during-outage", 1)
        assert (await m.clients.wait("cp", "event", "local-during-outage"))[0]["args"] == [1]
        for i in range(100):  # many messages, one warning
            m.py.io.emit("dropped", i)

        redis_server.start()
        took = await flowing(m, "after", timeout=2.0)
        assert took < 2.0
        # room channels (dynamic modes) were subscribed again too
        await flowing(m, "after-room", timeout=2.0, room="team")
        # each side counts the other again once its next heartbeat after the restart is read
        async with asyncio.timeout(10):
            while await m.node.server_count() != 2:
                await asyncio.sleep(0.2)
            while await m.py.io.sockets.adapter.server_count() != 2:
                await asyncio.sleep(0.2)
    warnings = [r for r in caplog.records if r.name == "socketwire.adapters.redis"
                and r.levelno == logging.WARNING]
    assert len(warnings) == 1, [r.getMessage() for r in warnings]  # per outage, not message
