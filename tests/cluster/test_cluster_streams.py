"""Mixed cluster, Redis streams: a Node socket.io 4.8 server with
@socket.io/redis-streams-adapter 0.3 and a socketwire server with ``create_streams_adapter``
over one Redis, the official socket.io-client connected to each. Every operation is started
on each side; ``streamCount`` > 1 routes namespaces to the same streams on both sides; with
connection state recovery a client moved from one server to the other (through a proxy, as a
load balancer would) recovers its id, rooms and the events it missed, both ways."""

from __future__ import annotations

import contextlib
from functools import partial
from typing import Any

import pytest
from cluster_support import PyClusterServer
from mixed_checks import SwitchProxy, check_broadcasts, check_everything_else, mixed
from redis.asyncio import Redis

from interop.jsdriver import JsDriver
from redis_support import RedisServer
from socketwire.adapters.redis.streams import create_streams_adapter
from socketwire.protocol.cluster import stream_name

pytestmark = [pytest.mark.node, pytest.mark.usefixtures("redis_hygiene")]


def port_of(url: str) -> int:
    return int(url.rsplit(":", 1)[1])


@pytest.mark.parametrize(("sharded_pubsub", "hosting"),
                         [(False, "standalone"), (True, "asgi")],
                         ids=["pubsub-standalone", "sharded-pubsub-asgi"])
async def test_every_operation_both_ways(redis_server: RedisServer, sharded_pubsub: bool,
                                         hosting: str) -> None:
    async with mixed("streams", None,
                     partial(create_streams_adapter, use_sharded_pubsub=sharded_pubsub),
                     redis_port=redis_server.port, hosting=hosting,
                     streams={"useShardedPubSub": sharded_pubsub}) as m:
        await check_broadcasts(m)
        await check_everything_else(m)


async def test_stream_count_routes_namespaces_alike(redis_server: RedisServer) -> None:
    nsps = ["/", "/notifications", "/chat"]
    async with mixed("streams", None, partial(create_streams_adapter, stream_count=4),
                     redis_port=redis_server.port, py_options={"nsps": nsps}, nsps=nsps,
                     streams={"streamCount": 4}) as m:
        for nsp in nsps[1:]:
            cn = await m.clients.connect(f"cn{nsp}", m.node.url, "websocket", nsp=nsp)
            cp = await m.clients.connect(f"cp{nsp}", m.py.url, "websocket", nsp=nsp)
            assert cn["connected"] and cp["connected"]
            m.py.io.of(nsp).emit("from-py", nsp)
            await m.node.broadcast("from-node", nsp, nsp=nsp)
        for c, event in (("cn/chat", "from-py"), ("cn/chat", "from-node"), ("cp/chat", "from-py"),
                         ("cp/chat", "from-node"), ("cp/notifications", "from-py"),
                         ("cp/notifications", "from-node"), ("cn/notifications", "from-node")):
            assert (await m.clients.wait(c, "event", event))[0]["args"] == [c[2:]]
        # Node 0.3.1 reads only socket.io-0 .. socket.io-3 but writes a namespace whose
        # hashCode is negative to socket.io--N: its own servers never get /notifications
        # from one another, and socketwire, writing where Node writes, not either
        await m.clients.wait("cp/chat", "event", "from-node")
        assert m.clients.received("cn/notifications", "from-py") == []
        # both sides wrote to the streams of Node's hashCode (JavaScript's signed remainder)
        redis = Redis(host="127.0.0.1", port=redis_server.port)
        try:
            keys = {k.decode() for k in await redis.keys("socket.io*")}
            for nsp in nsps[1:]:
                entries = await redis.xrange(stream_name("socket.io", 4, nsp))
                assert {e[1][b"nsp"].decode() for e in entries} == {nsp}
                uids = {e[1][b"uid"] for e in entries}
                assert m.py.io.of(nsp).adapter.uid.encode() in uids
                assert len(uids) == 2  # both servers wrote there
        finally:
            await redis.aclose()
        assert keys == {stream_name("socket.io", 4, nsp) for nsp in nsps[1:]}
        assert "socket.io--3" in keys  # /notifications: a negative remainder


async def recover_across(m: Any, first: str, second: str, emitter_of_missed: Any) -> None:
    """A client connected through a proxy to ``first`` (a URL) joins a room and gets an
    event; the proxy moves it to ``second``; what was broadcast meanwhile arrives there
    before ``connect``, with the same id and rooms."""
    clients: JsDriver = m.clients
    async with SwitchProxy(port_of(first)) as proxy:
        c = await clients.connect("moving", proxy.url, "websocket")
        assert c["connected"]
        sid = c["id"]
        await clients.emit_ack("moving", "join", "team")
        await emitter_of_missed("before", 1, rooms="team")
        before = await clients.wait("moving", "event", "before")
        assert before[0]["args"][0] == 1 and len(before[0]["args"]) == 2  # + the offset
        proxy.switch(port_of(second))
        await clients.wait("moving", "disconnect")
        await emitter_of_missed("missed", 2, rooms="team")
        await emitter_of_missed("missed", 3)
        await emitter_of_missed("not-for-team", 4, rooms="others")
        connects = await clients.wait("moving", "connect", count=2, timeout=15)
        again = connects[1]
        assert again["recovered"] is True and again["id"] == sid
        missed = [e["args"][:-1] for e in clients.events("moving", "event", "missed")]
        assert missed == [[2], [3]]
        assert not clients.received("moving", "not-for-team")
        await emitter_of_missed("after", 5, rooms="team")  # its rooms came back
        assert (await clients.wait("moving", "event", "after"))[0]["args"][0] == 5
        await clients.call("disconnect", c="moving")


RECOVERY = {"maxDisconnectionDuration": 60_000, "skipMiddlewares": True}


async def test_a_client_recovers_on_the_other_server_node_to_python(
        redis_server: RedisServer) -> None:
    async with mixed("streams", None, create_streams_adapter, redis_port=redis_server.port,
                     py_options={"connection_state_recovery": True}, recovery=RECOVERY) as m:
        async def py_broadcast(event: str, *args: Any, rooms: str | None = None) -> None:
            (m.py.io.to(rooms) if rooms else m.py.io.sockets).emit(event, *args)

        async def node_broadcast(event: str, *args: Any, rooms: str | None = None) -> None:
            await m.node.broadcast(event, *args, rooms=rooms)

        # events from both servers, whoever holds the client at the time
        async def either(event: str, *args: Any, rooms: str | None = None) -> None:
            sender = node_broadcast if event in ("before", "not-for-team") else py_broadcast
            await sender(event, *args, rooms=rooms)

        await recover_across(m, m.node.url, m.py.url, either)


async def test_a_client_recovers_on_the_other_server_python_to_node(
        redis_server: RedisServer) -> None:
    async with mixed("streams", None, create_streams_adapter, redis_port=redis_server.port,
                     py_options={"connection_state_recovery": True}, recovery=RECOVERY) as m:
        async def either(event: str, *args: Any, rooms: str | None = None) -> None:
            if event in ("missed", "after"):
                await m.node.broadcast(event, *args, rooms=rooms)
            else:
                (m.py.io.to(rooms) if rooms else m.py.io.sockets).emit(event, *args)

        await recover_across(m, m.py.url, m.node.url, either)


async def test_rolling_restart_clients_recover_on_another_socketwire_server(
        redis_server: RedisServer) -> None:
    """Server a shuts down (a deploy); its clients reconnect through the balancer to b and
    recover there: the sessions a persisted while shutting down are in Redis."""
    a = PyClusterServer("a", create_streams_adapter(redis_server.url),
                        connection_state_recovery=True)
    b = PyClusterServer("b", create_streams_adapter(redis_server.url),
                        connection_state_recovery=True)
    clients = await JsDriver.start()
    try:
        async with b.serving():
            stack = contextlib.AsyncExitStack()
            await stack.enter_async_context(a.serving())
            try:
                async with SwitchProxy(port_of(a.url)) as proxy:
                    c = await clients.connect("c", proxy.url, "websocket")
                    await clients.emit_ack("c", "join", "team")
                    a.io.to("team").emit("first", 1)
                    await clients.wait("c", "event", "first")
                    proxy.target = port_of(b.url)  # new connections go to b
                    await stack.aclose()  # a shuts down: "server shutting down"
                    await clients.wait("c", "disconnect")
                    b.io.to("team").emit("missed", 2)
                    connects = await clients.wait("c", "connect", count=2, timeout=15)
                    assert connects[1]["recovered"] is True and connects[1]["id"] == c["id"]
                    missed = clients.events("c", "event", "missed")
                    assert [e["args"][:-1] for e in missed] == [[2]]
                    assert set(b.io.sockets.sockets[c["id"]].rooms) == {c["id"], "team"}
            finally:
                await stack.aclose()
    finally:
        await clients.stop()
