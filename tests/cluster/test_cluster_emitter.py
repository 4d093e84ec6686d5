"""Emitters in a mixed cluster: Node's @socket.io/redis-emitter reaching a socketwire server's
clients, socketwire's Emitter / SyncEmitter reaching a Node socket.io server's clients (and
both reaching both), and the two emitters writing the same messages."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from cluster_support import NodeClusterServer, NodeEmitter, PyClusterServer, wait_for
from redis.asyncio import Redis

from interop.jsdriver import DriverError, JsDriver
from redis_support import RedisServer
from socketwire.adapters.redis import create_adapter
from socketwire.emitter import Emitter, SyncEmitter
from socketwire.exceptions import LocalProtocolError
from socketwire.protocol import notepack

pytestmark = [pytest.mark.node, pytest.mark.usefixtures("redis_hygiene")]


@dataclass
class Setup:
    servers: dict[str, Any]
    clients: JsDriver
    ids: dict[str, str]
    node_emitter: NodeEmitter
    py_emitter: Emitter
    redis: RedisServer


@pytest.fixture
async def setup(redis_server: RedisServer) -> AsyncIterator[Setup]:
    py = PyClusterServer("py", create_adapter(redis_server.url), nsps=["/", "/chat"])
    clients = await JsDriver.start()
    node: NodeClusterServer | None = None
    node_emitter = await NodeEmitter.launch(redis_server.port)
    py_emitter = Emitter(redis_server.url)
    try:
        async with py.serving():
            node = await NodeClusterServer.launch("node", redis_port=redis_server.port,
                                                  nsps=["/", "/chat"])
            servers: dict[str, Any] = {"py": py, "node": node}
            ids = {}
            for name, server in servers.items():
                ids[name] = (await clients.connect(f"c_{name}", server.url, "websocket"))["id"]
                await clients.connect(f"chat_{name}", server.url, nsp="/chat", share=f"c_{name}")
            try:
                yield Setup(servers, clients, ids, node_emitter, py_emitter, redis_server)
            finally:
                await clients.reset()
    finally:
        await py_emitter.aclose()
        await node_emitter.stop()
        await clients.stop()
        if node is not None:
            await node.close()


EMITTERS = pytest.mark.parametrize("which", ["node", "py", "py-sync"])


class Adapter:
    """The three emitters behind one async interface."""

    def __init__(self, s: Setup, which: str) -> None:
        self.s, self.which = s, which

    async def emit(self, event: str, *args: Any, nsp: str = "/", rooms: Any = None,
                   except_: Any = None, volatile: bool = False) -> None:
        if self.which == "node":
            await self.s.node_emitter.emit(event, *args, nsp=nsp, rooms=rooms, except_=except_,
                                           volatile=volatile)
            return
        if self.which == "py":
            op: Any = self.s.py_emitter.of(nsp)
            if rooms:
                op = op.to(rooms)
            if except_:
                op = op.except_(except_)
            if volatile:
                op = op.volatile
            await op.emit(event, *args)
            return

        def blocking() -> None:
            with SyncEmitter(self.s.redis.url) as emitter:
                op: Any = emitter.of(nsp)
                if rooms:
                    op = op.to(rooms)
                if except_:
                    op = op.except_(except_)
                if volatile:
                    op = op.volatile
                op.emit(event, *args)

        await asyncio.to_thread(blocking)

    async def call(self, method: str, *args: Any, rooms: Any = None, **kwargs: Any) -> None:
        if self.which == "node":
            fn = getattr(self.s.node_emitter, method)
            if method == "server_side_emit":
                await fn(*args)
            else:
                await fn(*args, rooms=rooms, **kwargs)
            return
        if self.which == "py":
            target: Any = self.s.py_emitter.to(rooms) if rooms else self.s.py_emitter
            await getattr(target, method)(*args, **kwargs)
            return

        def blocking() -> None:
            with SyncEmitter(self.s.redis.url) as emitter:
                target: Any = emitter.to(rooms) if rooms else emitter
                getattr(target, method)(*args, **kwargs)

        await asyncio.to_thread(blocking)


async def rooms_of(server: Any, sid: str) -> list[str]:
    return (await server.local_state()).get(sid, [])


@EMITTERS
async def test_emitter_reaches_both_kinds_of_server(setup: Setup, which: str) -> None:
    s, em = setup, Adapter(setup, which)
    await em.emit("hello", 1, {"a": [True, None]}, b"\x00\xfe")
    for name in ("py", "node"):
        got = await s.clients.wait(f"c_{name}", "event", "hello")
        assert got[0]["args"] == [1, {"a": [True, None]}, b"\x00\xfe"], name
    await s.clients.emit_ack("c_py", "join", "r")
    await s.clients.emit_ack("c_node", "join", "r2")
    await em.emit("to-r", rooms="r")
    await em.emit("to-both", rooms=["r", "r2"], except_=s.ids["py"])
    await em.emit("private", rooms=s.ids["node"])
    await em.emit("chat", "x", nsp="/chat")
    await em.emit("fence")
    for name in ("py", "node"):
        await s.clients.wait(f"c_{name}", "event", "fence")
        await s.clients.wait(f"chat_{name}", "event", "chat")
    assert s.clients.received("c_py", "to-r") == [[]]
    assert s.clients.received("c_node", "to-r") == []
    assert s.clients.received("c_node", "to-both") == [[]]
    assert s.clients.received("c_py", "to-both") == []
    assert s.clients.received("c_node", "private") == [[]]
    assert s.clients.received("c_py", "private") == []
    assert s.clients.received("c_py", "chat") == [] and s.clients.received("c_node", "chat") == []


@EMITTERS
async def test_emitter_room_operations_and_server_side_emit(setup: Setup, which: str) -> None:
    s, em = setup, Adapter(setup, which)
    for server in s.servers.values():
        await server.listen("from-emitter")
    await em.call("sockets_join", "joined")
    for name, server in s.servers.items():
        await wait_for_async(lambda sv=server, n=name: rooms_of(sv, s.ids[n]),
                             lambda rooms: "joined" in rooms)
    await em.call("sockets_leave", "joined", rooms=s.ids["py"])
    await wait_for_async(lambda: rooms_of(s.servers["py"], s.ids["py"]),
                         lambda rooms: "joined" not in rooms)
    assert "joined" in await rooms_of(s.servers["node"], s.ids["node"])
    await em.call("server_side_emit", "from-emitter", {"n": 1})
    for server in s.servers.values():
        assert await server.wait_server_side("from-emitter") == [[{"n": 1}]]
    await em.call("disconnect_sockets", rooms="joined")
    got = await s.clients.wait("c_node", "disconnect")
    assert got[0]["reason"] == "io server disconnect"
    await em.call("disconnect_sockets", close=True)
    await s.clients.wait("c_py", "disconnect")


async def wait_for_async(get: Any, check: Any, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check(value := await get()):
        assert loop.time() < deadline, value
        await asyncio.sleep(0.01)


async def test_reserved_names_refused_by_both(setup: Setup) -> None:
    for name in ("connect", "disconnect", "disconnecting", "connect_error", "newListener",
                 "removeListener"):
        with pytest.raises(LocalProtocolError, match="reserved event name"):
            await setup.py_emitter.emit(name)
        with pytest.raises(DriverError, match="reserved event name"):
            await setup.node_emitter.emit(name)
    with SyncEmitter(setup.redis.url) as emitter, pytest.raises(LocalProtocolError):
        emitter.to("r").emit("connect")


async def test_both_emitters_write_the_same_messages(setup: Setup) -> None:
    raw = Redis(host="127.0.0.1", port=setup.redis.port)
    pubsub = raw.pubsub()
    await pubsub.psubscribe("socket.io*")
    got: list[tuple[str, Any]] = []

    async def read() -> None:
        async for msg in pubsub.listen():
            if msg["type"] == "pmessage":
                got.append((msg["channel"].decode(), notepack.loads_any(msg["data"])))

    reader = asyncio.ensure_future(read())
    try:
        ops: list[tuple[str, tuple[Any, ...], dict[str, Any]]] = [
            ("emit", ("ev", 1, b"\x01"), {"rooms": "r", "except_": "x", "volatile": True}),
            ("emit", ("ev2",), {"rooms": ["a", "b"], "nsp": "/chat"}),
            ("sockets_join", ("j",), {"rooms": "r"}),
            ("sockets_leave", (["j", "k"],), {}),
            ("disconnect_sockets", (), {"close": True, "rooms": "r"}),
            ("server_side_emit", ("sse", {"a": 1}), {}),
        ]
        for em_name in ("node", "py"):
            em = Adapter(setup, em_name)
            for method, args, kwargs in ops:
                if method == "emit":
                    await em.emit(*args, **kwargs)
                else:
                    await em.call(method, *args, **kwargs)
        await wait_for(lambda: len(got) >= 2 * len(ops), what="every message")
        node_msgs, py_msgs = got[:len(ops)], got[len(ops):]

        def normal(message: tuple[str, Any]) -> tuple[str, Any]:
            channel, body = message
            if isinstance(body, list):  # [uid, packet, opts]: same members, any key order
                return channel, [body[0], body[1], dict(sorted(body[2].items()))]
            return channel, dict(sorted(body.items()))

        assert [normal(m) for m in py_msgs] == [normal(m) for m in node_msgs]
    finally:
        reader.cancel()
        await pubsub.aclose()
        await raw.aclose()


async def test_emitter_with_an_existing_client(setup: Setup) -> None:
    client = Redis(host="127.0.0.1", port=setup.redis.port)
    emitter = Emitter(client)
    await emitter.to(setup.ids["node"]).emit("via-client")
    await emitter.aclose()  # not ours: stays open
    assert await client.ping()
    await client.aclose()
    await setup.clients.wait("c_node", "event", "via-client")
