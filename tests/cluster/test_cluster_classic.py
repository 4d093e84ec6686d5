"""Mixed cluster over one redis-server: two socketwire servers (standalone and ASGI hosts) with
socketwire's classic Redis adapter beside two Node socket.io 4.8 servers with
@socket.io/redis-adapter 8, the official socket.io-client connected to each. Every operation
is started once on a Python node and once on a Node node, and checked on every node's clients
(and servers)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import pytest
from cluster_support import NodeClusterServer, PyClusterServer, wait_for

from interop.jsdriver import JsDriver
from redis_support import RedisServer
from socketwire.adapters.redis import create_adapter

pytestmark = [pytest.mark.node, pytest.mark.usefixtures("redis_hygiene")]

NAMES = ("py1", "py2", "n1", "n2")
REQUEST_TIMEOUT = 1.5


@dataclass
class Cluster:
    servers: dict[str, Any]
    clients: JsDriver
    ids: dict[str, str]  # client name -> socket id (client "c_<server>")
    redis: RedisServer

    def other_kind(self, origin: str) -> str:
        """A server of the other kind than ``origin`` (not its twin)."""
        return "n2" if origin.startswith("py") else "py2"

    async def fence(self, origin: str, *names: str) -> None:
        """Broadcast a marker from ``origin`` and wait until ``names``' clients got it: what
        ``origin`` broadcast before has arrived by then (one publisher, in order)."""
        self.fence_count = getattr(self, "fence_count", 0) + 1
        await self.servers[origin].broadcast("fence", self.fence_count)
        for name in names or NAMES:
            await self.clients.wait_until(
                lambda n=name: [1 for a in self.clients.received(f"c_{n}", "fence")
                                if a == [self.fence_count]],
                what=f"fence {self.fence_count} on c_{name}")

    def got(self, server: str, event: str) -> list[list[Any]]:
        return self.clients.received(f"c_{server}", event)


@pytest.fixture
async def cluster(redis_server: RedisServer) -> AsyncIterator[Cluster]:
    port = redis_server.port
    py1 = PyClusterServer("py1", create_adapter(redis_server.url, request_timeout=REQUEST_TIMEOUT),
                          nsps=["/", "/chat"])
    py2 = PyClusterServer("py2", create_adapter(redis_server.url, request_timeout=REQUEST_TIMEOUT),
                          nsps=["/", "/chat"])
    clients = await JsDriver.start()
    nodes: list[NodeClusterServer] = []
    try:
        async with py1.serving("standalone"), py2.serving("asgi"):
            for name in ("n1", "n2"):
                nodes.append(await NodeClusterServer.launch(
                    name, redis_port=port, nsps=["/", "/chat"],
                    requestsTimeout=int(REQUEST_TIMEOUT * 1000)))
            servers: dict[str, Any] = {"py1": py1, "py2": py2, "n1": nodes[0], "n2": nodes[1]}
            ids = {}
            for name, server in servers.items():
                info = await clients.connect(f"c_{name}", server.url, "websocket",
                                             auth={"data": {"user": f"u_{name}"}},
                                             answers={"ask": {"reply": [f"c_{name}"]}})
                assert info["connected"], info
                ids[name] = info["id"]
            for name, server in servers.items():
                assert await server.server_count() == 4, name
            try:
                yield Cluster(servers, clients, ids, redis_server)
            finally:
                await clients.reset()
    finally:
        await clients.stop()
        for node in nodes:
            await node.close()


ORIGINS = pytest.mark.parametrize("origin", ["py1", "n1"])


async def join(cl: Cluster, server: str, *rooms: str) -> None:
    await cl.clients.emit_ack(f"c_{server}", "join", list(rooms))


@ORIGINS
async def test_broadcasts_rooms_except_volatile_local(cluster: Cluster, origin: str) -> None:
    cl, o = cluster, cluster.servers[origin]
    payload = [1, 2.5, "é", None, True, {"k": [1, {"n": None}]}, b"\x00\xffbin"]
    await o.broadcast("all", *payload)
    for name in NAMES:
        got = await cl.clients.wait(f"c_{name}", "event", "all")
        assert got[0]["args"] == payload, name

    await join(cl, "py2", "r")
    await join(cl, "n2", "r")
    await join(cl, "n1", "r2")
    await o.broadcast("to-r", "x", rooms="r")  # one room: its own channel
    await o.broadcast("to-r-r2", rooms=["r", "r2"])
    await o.broadcast("except-r", except_="r")
    await o.broadcast("r2-except-n1", rooms=["r", "r2"], except_=cl.ids["n1"])
    other = cl.other_kind(origin)
    await o.broadcast("private", "p", rooms=cl.ids[other])  # a socket id: a private message
    await o.broadcast("local-only", local=True)
    await cl.fence(origin)
    # volatile: dropped for a client whose transport is busy (Node: a WebSocket send still
    # in flight), so sent once every transport is idle
    await asyncio.sleep(0.1)
    await o.broadcast("volatile", volatile=True)
    await cl.fence(origin)

    def who(event: str) -> set[str]:
        return {n for n in NAMES if cl.got(n, event)}

    assert who("to-r") == {"py2", "n2"}
    assert cl.got("py2", "to-r") == [["x"]] and cl.got("n2", "to-r") == [["x"]]
    assert who("to-r-r2") == {"py2", "n2", "n1"}
    assert who("except-r") == {"py1", "n1"}
    assert who("r2-except-n1") == {"py2", "n2"}
    assert who("private") == {other} and cl.got(other, "private") == [["p"]]
    assert who("volatile") == set(NAMES)
    assert who("local-only") == {origin}
    for name in NAMES:  # each once, in order
        events = [m["event"] for m in cl.clients.events(f"c_{name}", "event")
                  if m["event"] != "fence"]
        assert len(events) == len(set(events)), (name, events)


@ORIGINS
async def test_namespaces_stay_apart(cluster: Cluster, origin: str) -> None:
    cl = cluster
    for name in ("py2", "n2"):
        await cl.clients.connect(f"chat_{name}", cl.servers[name].url, nsp="/chat",
                                 share=f"c_{name}")
    await cl.servers[origin].broadcast("chat-msg", "hi", nsp="/chat")
    for name in ("py2", "n2"):
        got = await cl.clients.wait(f"chat_{name}", "event", "chat-msg")
        assert got[0]["args"] == ["hi"]
    await cl.fence(origin)
    assert not any(cl.got(n, "chat-msg") for n in NAMES)


@ORIGINS
async def test_broadcast_with_acks_counts_every_server(cluster: Cluster, origin: str) -> None:
    cl, o = cluster, cluster.servers[origin]
    err, responses = await o.broadcast_ack("ask", "q", timeout=5)
    assert err is None
    assert sorted(responses) == sorted(f"c_{n}" for n in NAMES)
    await join(cl, "py2", "acks")
    await join(cl, "n2", "acks")
    err, responses = await o.broadcast_ack("ask", rooms="acks", timeout=5)
    assert err is None and sorted(responses) == ["c_n2", "c_py2"]
    # a client that never answers: the timeout, with the answers that came
    await cl.clients.call("answers", c="c_n2", answers={"ask": "never"})
    err, responses = await o.broadcast_ack("ask", rooms="acks", timeout=1)
    assert err == "operation has timed out"
    assert responses == ["c_py2"]


@ORIGINS
async def test_fetch_sockets_and_remote_sockets(cluster: Cluster, origin: str) -> None:
    cl, o = cluster, cluster.servers[origin]
    await join(cl, "py2", "f")
    await join(cl, "n2", "f")
    sockets = await o.fetch_sockets()
    assert [s["id"] for s in sockets] == sorted(cl.ids.values())
    by_id = {s["id"]: s for s in sockets}
    for name in NAMES:
        s = by_id[cl.ids[name]]
        assert s["data"] == {"server": name, "user": f"u_{name}"}, name
        assert s["handshake"]["auth"] == {"data": {"user": f"u_{name}"}}, name
        assert s["rooms"] == sorted({cl.ids[name], *(["f"] if name in ("py2", "n2") else [])})
    assert [s["id"] for s in await o.fetch_sockets(rooms="f")] == sorted(
        [cl.ids["py2"], cl.ids["n2"]])
    assert [s["id"] for s in await o.fetch_sockets(rooms="f", except_=cl.ids["n2"])] == [
        cl.ids["py2"]]
    assert [s["id"] for s in await o.fetch_sockets(local=True)] == [cl.ids[origin]]

    other = cl.other_kind(origin)
    sid = cl.ids[other]
    await o.remote(sid, "emit", event="remote-hello", args=[1, b"\x01"])
    assert (await cl.clients.wait(f"c_{other}", "event", "remote-hello"))[0]["args"] == [
        1, b"\x01"]
    answer = await o.remote(sid, "emit", event="ask", args=[], timeout=3)
    assert answer == {"err": None, "response": f"c_{other}"}
    await o.remote(sid, "join", rooms=["joined-remotely"])
    holder = cl.servers[other]
    await wait_for_rooms(holder, sid, lambda rooms: "joined-remotely" in rooms)
    await o.remote(sid, "leave", rooms="joined-remotely")
    await wait_for_rooms(holder, sid, lambda rooms: "joined-remotely" not in rooms)
    await o.remote(sid, "disconnect")
    got = await cl.clients.wait(f"c_{other}", "disconnect")
    assert got[0]["reason"] == "io server disconnect"


async def wait_for_rooms(server: Any, sid: str, check: Any) -> None:
    state: dict[str, list[str]] = {}

    async def poll() -> bool:
        state.update(await server.local_state())
        return bool(check(state.get(sid, [])))

    for _ in range(500):
        if await poll():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"rooms of {sid} on {server.name}: {state.get(sid)}")


@ORIGINS
async def test_sockets_join_leave_and_disconnect(cluster: Cluster, origin: str) -> None:
    cl, o = cluster, cluster.servers[origin]
    await join(cl, "py1", "g")
    await join(cl, "py2", "g")
    await join(cl, "n2", "g")
    await o.sockets_join("joined", rooms="g", except_=cl.ids["py1"])
    for name in ("py2", "n2"):
        await wait_for_rooms(cl.servers[name], cl.ids[name], lambda r: "joined" in r)
    await o.sockets_join(["all1", "all2"])
    for name in NAMES:  # the origin too: it applies its own request when Redis echoes it
        await wait_for_rooms(cl.servers[name], cl.ids[name],
                             lambda r: "all1" in r and "all2" in r)
    assert "joined" not in (await cl.servers["py1"].local_state())[cl.ids["py1"]]
    await o.sockets_leave("all1", rooms="g")
    for name in ("py1", "py2", "n2"):
        await wait_for_rooms(cl.servers[name], cl.ids[name], lambda r: "all1" not in r)
    assert "all1" in (await cl.servers["n1"].local_state())[cl.ids["n1"]]

    await o.disconnect_sockets(rooms="joined")
    for name in ("py2", "n2"):
        got = await cl.clients.wait(f"c_{name}", "disconnect")
        assert got[0]["reason"] == "io server disconnect", name
    await o.disconnect_sockets(close=True, rooms=cl.ids["py1"])
    await o.disconnect_sockets(close=True, rooms=cl.ids["n1"])
    reasons = {n: (await cl.clients.wait(f"c_{n}", "disconnect"))[0]["reason"]
               for n in ("py1", "n1")}
    assert reasons["py1"] == reasons["n1"], reasons  # the same on both kinds of server


@ORIGINS
async def test_server_side_emit_with_and_without_acks(cluster: Cluster, origin: str) -> None:
    cl, o = cluster, cluster.servers[origin]
    for server in cl.servers.values():
        await server.listen("sse")
        await server.listen("sse-ack", reply=[f"answer from {server.name}"])
    await o.server_side_emit("sse", 1, {"a": "b"}, [None])
    others = [n for n in NAMES if n != origin]
    for name in others:
        assert await cl.servers[name].wait_server_side("sse") == [[1, {"a": "b"}, [None]]]
    err, responses = await o.server_side_emit_ack("sse-ack", "question")
    assert err is None
    assert sorted(map(str, responses or [])) == sorted(
        str([f"answer from {n}"]) for n in others)
    for name in others:
        assert await cl.servers[name].wait_server_side("sse-ack") == [["question"]]
    assert not o.server_side("sse") and not o.server_side("sse-ack")  # never to itself

    # one server has no handler for it: Node's timeout error with the answers that came
    for name in others[:-1]:
        await cl.servers[name].listen("partial")
    err, responses = await o.server_side_emit_ack("partial")
    assert err == "timeout reached: only 2 responses received out of 3"
    assert len(responses or []) == 2


@ORIGINS
async def test_all_rooms_and_server_count(cluster: Cluster, origin: str) -> None:
    cl, o = cluster, cluster.servers[origin]
    await join(cl, "py2", "room-py2")
    await join(cl, "n2", "room-n2")
    rooms = await o.all_rooms()
    assert {"room-py2", "room-n2", *cl.ids.values()} <= set(rooms)
    assert await o.server_count() == 4
    await cl.servers["n2"].close()
    await wait_for(lambda: True)
    counts = {n: await cl.servers[n].server_count() for n in ("py1", "py2", "n1")}
    assert counts == {"py1": 3, "py2": 3, "n1": 3}
    rooms = await o.all_rooms()
    assert "room-py2" in rooms and "room-n2" not in rooms
