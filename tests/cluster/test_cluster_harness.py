"""The Node side of the mixed-cluster harness on its own: two Node socket.io servers with
@socket.io/redis-adapter (classic) and the redis-emitter over a private redis-server, the
official client on each. If this fails, the mixed tests cannot be trusted."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from cluster_support import NodeClusterServer, NodeEmitter, wait_subscribers

from interop.jsdriver import JsDriver
from redis_support import RedisServer

pytestmark = pytest.mark.node


@pytest.fixture
async def clients() -> AsyncIterator[JsDriver]:
    driver = await JsDriver.start()
    try:
        yield driver
    finally:
        await driver.stop()


async def test_two_node_servers_and_the_emitter(redis_server: RedisServer,
                                                clients: JsDriver) -> None:
    a = await NodeClusterServer.launch("a", redis_port=redis_server.port)
    b = await NodeClusterServer.launch("b", redis_port=redis_server.port)
    emitter = await NodeEmitter.launch(redis_server.port)
    try:
        assert await a.server_count() == 2
        ca = await clients.connect("ca", a.url, "websocket", auth={"data": {"user": "x"}})
        cb = await clients.connect("cb", b.url, "websocket")
        await clients.emit_ack("cb", "join", "room1")

        await a.broadcast("hello", 1, {"k": "v"}, b"\x00\x01")
        await clients.wait("ca", "event", "hello")
        got = await clients.wait("cb", "event", "hello")
        assert got[0]["args"] == [1, {"k": "v"}, b"\x00\x01"]

        await a.broadcast("only-room1", rooms="room1")
        await clients.wait("cb", "event", "only-room1")
        sockets = await a.fetch_sockets()
        assert [s["id"] for s in sockets] == sorted([ca["id"], cb["id"]])
        remote = next(s for s in sockets if s["id"] == ca["id"])
        assert remote["data"] == {"server": "a", "user": "x"}

        await b.listen("ping-servers", reply=["b says hi"])
        err, responses = await a.server_side_emit_ack("ping-servers", 42)
        assert err is None and responses == [["b says hi"]]
        assert (await b.wait_server_side("ping-servers")) == [[42]]

        await emitter.emit("from-emitter", "x", rooms="room1")
        got = await clients.wait("cb", "event", "from-emitter")
        assert got[0]["args"] == ["x"]
        assert not clients.received("ca", "from-emitter")
        assert "room1" in await a.all_rooms()
    finally:
        await emitter.stop()
        await a.close()
        await b.close()


@pytest.mark.parametrize("kind,mode", [
    ("sharded", "static"), ("sharded", "dynamic"), ("sharded", "dynamic-private"),
    ("streams", None),
])
async def test_other_adapter_kinds_launch_and_broadcast(
    redis_server: RedisServer, clients: JsDriver, kind: str, mode: str | None,
) -> None:
    a = await NodeClusterServer.launch("a", adapter=kind, mode=mode, redis_port=redis_server.port)
    b = await NodeClusterServer.launch("b", adapter=kind, mode=mode, redis_port=redis_server.port)
    try:
        assert await a.server_count() == 2
        cb = await clients.connect("cb", b.url, "websocket")
        await clients.emit_ack("cb", "join", "r")
        if kind == "sharded" and mode != "static":
            await wait_subscribers(redis_server.port, "socket.io#/#r#")
        await a.broadcast("to-room", "x", rooms="r")
        await a.broadcast("to-socket", "y", rooms=cb["id"])
        assert (await clients.wait("cb", "event", "to-room"))[0]["args"] == ["x"]
        assert (await clients.wait("cb", "event", "to-socket"))[0]["args"] == ["y"]
        assert [s["id"] for s in await a.fetch_sockets(rooms="r")] == [cb["id"]]
    finally:
        await a.close()
        await b.close()
