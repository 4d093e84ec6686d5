"""Checks shared by the mixed-cluster tests of the cluster-core adapters (sharded, streams):
a Node socket.io 4.8 server and a socketwire server over one Redis, the official client
connected to each, every operation started on each side."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from cluster_support import (
    NodeClusterServer,
    PyClusterServer,
    wait_counted,
    wait_for,
    wait_subscribers,
)

import socketwire
from interop.jsdriver import JsDriver
from socketwire.server.remote import RemoteSocket

__all__ = ["Mixed", "check_broadcasts", "check_everything_else", "mixed"]


@dataclass
class Mixed:
    node: NodeClusterServer
    py: PyClusterServer
    clients: JsDriver
    cn: dict[str, Any]  # the client of the Node server ({"id": ...})
    cp: dict[str, Any]  # the client of the socketwire server
    shard_port: int | None  # a Redis port to check subscriptions on (single Redis only)


@asynccontextmanager
async def mixed(kind: str, mode: str | None, py_adapter: Callable[[str], Any], *,
                redis_port: int | None = None, cluster_ports: list[int] | None = None,
                py_options: dict[str, Any] | None = None, hosting: str = "standalone",
                **node_options: Any) -> AsyncIterator[Mixed]:
    """A Node server with adapter ``kind`` and a socketwire server with
    ``py_adapter(redis_url)`` (served by ``hosting``), a client of each connected."""
    if cluster_ports:
        url = f"redis+cluster://127.0.0.1:{cluster_ports[0]}"
    else:
        url = f"redis://127.0.0.1:{redis_port}/0"
    py = PyClusterServer("py", py_adapter(url), **(py_options or {}))
    clients = await JsDriver.start()
    try:
        async with py.serving(hosting):
            node = await NodeClusterServer.launch(
                "node", adapter=kind, mode=mode, redis_port=redis_port,
                cluster_ports=cluster_ports, requestsTimeout=3000, **node_options)
            try:
                if redis_port is not None and (node_options.get("streams") or {}).get(
                        "useShardedPubSub"):
                    await wait_subscribers(redis_port, "socket.io#/#", 2, sharded=True)
                elif redis_port is not None:
                    await wait_counted(redis_port, kind, 2)
                cn = await clients.connect("cn", node.url, "websocket", auth={"data": {"u": 1}})
                cp = await clients.connect("cp", py.url, "websocket", auth={"data": {"u": 2}})
                assert cn["connected"] and cp["connected"]
                assert len(cn["id"]) == len(cp["id"]) == 20
                yield Mixed(node, py, clients, cn, cp, redis_port)
            finally:
                await node.close()
    finally:
        await clients.stop()


async def got(m: Mixed, c: str, event: str, count: int = 1) -> list[list[Any]]:
    return [e["args"] for e in await m.clients.wait(c, "event", event, count=count)]


async def join(m: Mixed, c: str, room: str) -> None:
    await m.clients.emit_ack(c, "join", room)


async def settle_room(m: Mixed, mode: str | None, room: str, servers: int) -> None:
    """Sharded dynamic modes subscribe a room channel after the join (Node without waiting
    for Redis): wait until Redis counts ``servers`` subscribers (other kinds need nothing)."""
    if mode is None or mode == "static":
        return
    connection = m.py.io.sockets.adapter.conn  # cluster-aware SHARDNUMSUB
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while await connection.shardnumsub(f"socket.io#/#{room}#") != servers:
        assert loop.time() < deadline, f"room channel of {room}"
        await asyncio.sleep(0.02)


async def check_broadcasts(m: Mixed, mode: str | None = None) -> None:
    """Broadcasts to everyone, rooms, socket ids and local ones, each way (``mode``: the
    sharded subscription mode)."""
    io = m.py.io
    # everyone, both ways, binary included
    io.emit("from-py", 1, {"b": b"\x00\xff"})
    await m.node.broadcast("from-node", "two", b"\x01")
    for c in ("cn", "cp"):
        assert await got(m, c, "from-py") == [[1, {"b": b"\x00\xff"}]]
        assert await got(m, c, "from-node") == [["two", b"\x01"]]
    # a room with one member on each side, another member only on Node's side
    await join(m, "cn", "both")
    await join(m, "cp", "both")
    await join(m, "cn", "node-only")
    await settle_room(m, mode, "both", 2)
    await settle_room(m, mode, "node-only", 1)
    io.to("node-only").emit("py-to-node-only", 3)
    await m.node.broadcast("node-to-both", 4, rooms="both", except_=m.cn["id"])
    io.to("both").emit("py-to-both", 5)
    assert await got(m, "cn", "py-to-node-only") == [[3]]
    assert await got(m, "cp", "node-to-both") == [[4]]
    assert await got(m, "cn", "py-to-both") == [[5]]
    assert await got(m, "cp", "py-to-both") == [[5]]
    # private messages: a socket id is a room of 20 characters
    io.to(m.cn["id"]).emit("py-private", "to cn")
    await m.node.broadcast("node-private", "to cp", rooms=m.cp["id"])
    assert await got(m, "cn", "py-private") == [["to cn"]]
    assert await got(m, "cp", "node-private") == [["to cp"]]
    # a local broadcast stays local
    io.local.emit("py-local")
    await m.node.broadcast("node-local", local=True)
    assert await got(m, "cp", "py-local") == [[]]
    assert await got(m, "cn", "node-local") == [[]]
    await asyncio.sleep(0.2)
    for c, event in (("cp", "node-to-both"), ("cp", "py-to-node-only"), ("cn", "node-to-both"),
                     ("cn", "py-local"), ("cp", "node-local"), ("cp", "py-private"),
                     ("cn", "node-private")):
        assert len(m.clients.received(c, event)) == (1 if (c, event) == ("cp", "node-to-both")
                                                     else 0), (c, event)


async def check_everything_else(m: Mixed) -> None:
    """Acks, fetch_sockets, RemoteSocket operations, sockets_join/leave, server-side emits,
    server counts and disconnect_sockets, each way."""
    io = m.py.io
    node = m.node
    # broadcasts with acks, counted across both servers
    answers = await io.timeout(3).emit_with_ack("q", "from py")
    assert answers == ["from py", "from py"]
    err, responses = await node.broadcast_ack("q", "from node")
    assert err is None and responses == ["from node", "from node"]

    # fetch_sockets both ways
    found = await io.fetch_sockets()
    remote = next(s for s in found if isinstance(s, RemoteSocket))
    local = next(s for s in found if isinstance(s, socketwire.Socket))
    assert (remote.id, local.id) == (m.cn["id"], m.cp["id"])
    assert remote.data == {"server": "node", "u": 1}
    assert remote.handshake.auth == {"data": {"u": 1}}
    assert remote.handshake.query.get("EIO") == "4" and remote.handshake.issued > 0
    assert m.cn["id"] in remote.rooms and "both" in remote.rooms
    seen = await node.fetch_sockets()
    assert [s["id"] for s in seen] == sorted([m.cn["id"], m.cp["id"]])
    mine = next(s for s in seen if s["id"] == m.cp["id"])
    assert mine["data"] == {"server": "py", "u": 2}
    assert mine["handshake"] == {"auth": {"data": {"u": 2}},
                                 "query": mine["handshake"]["query"]}
    assert mine["handshake"]["query"]["EIO"] == "4"
    assert "both" in mine["rooms"]
    assert [s.id for s in await io.in_("node-only").fetch_sockets()] == [m.cn["id"]]
    assert [s["id"] for s in await node.fetch_sockets(rooms="both", except_=m.cn["id"])] == [
        m.cp["id"]]

    # RemoteSocket operations both ways
    remote.emit("remote-emit", 1)
    assert await got(m, "cn", "remote-emit") == [[1]]
    assert await remote.timeout(3).emit_with_ack("q", "single") == "single"
    remote.join("joined-by-py")
    await _until_rooms(node, m.cn["id"], lambda rooms: "joined-by-py" in rooms)
    remote.leave("joined-by-py")
    await _until_rooms(node, m.cn["id"], lambda rooms: "joined-by-py" not in rooms)
    await node.remote(m.cp["id"], "emit", event="node-remote-emit", args=[2])
    assert await got(m, "cp", "node-remote-emit") == [[2]]
    r = await node.remote(m.cp["id"], "emit", event="q", args=["back"], timeout=3)
    assert r == {"err": None, "response": "back"}
    await node.remote(m.cp["id"], "join", rooms=["joined-by-node"])
    await wait_for(lambda: "joined-by-node" in py_rooms(m))
    await node.remote(m.cp["id"], "leave", rooms=["joined-by-node"])
    await wait_for(lambda: "joined-by-node" not in py_rooms(m))

    # sockets_join / sockets_leave both ways
    io.sockets_join("all-py")
    await node.sockets_join("all-node")
    await wait_for(lambda: {"all-py", "all-node"} <= py_rooms(m))
    await _until_rooms(node, m.cn["id"], lambda rooms: {"all-py", "all-node"} <= set(rooms))
    io.in_("all-node").sockets_leave("all-node")
    await node.sockets_leave("all-py")
    await wait_for(lambda: not {"all-py", "all-node"} & py_rooms(m))
    await _until_rooms(node, m.cn["id"], lambda rooms: not {"all-py", "all-node"} & set(rooms))

    # server-side emits both ways, with and without acks
    await node.listen("hello-node", reply="node answers")
    received: list[tuple[Any, ...]] = []

    @io.on("hello-py")
    def hello_py(*args: Any) -> str:
        received.append(args)
        return "py answers"

    io.server_side_emit("hello-node", 1, b"\x02")
    assert await node.wait_server_side("hello-node") == [[1, b"\x02"]]
    assert await io.server_side_emit_with_ack("hello-node", 2) == ["node answers"]
    await node.server_side_emit("hello-py", "x")
    await wait_for(lambda: received == [("x",)])
    err, responses = await node.server_side_emit_ack("hello-py", "y")
    assert err is None and responses == ["py answers"]
    assert received[-1] == ("y",)
    assert await node.server_count() == 2
    assert await io.sockets.adapter.server_count() == 2

    # disconnect_sockets both ways (the Node client first, then the socketwire one)
    io.in_(m.cn["id"]).disconnect_sockets()
    await m.clients.wait("cn", "disconnect")
    await node.disconnect_sockets(close=True, rooms=m.cp["id"])
    await m.clients.wait("cp", "disconnect")
    await wait_for(lambda: not io.sockets.sockets)


def py_rooms(m: Mixed) -> set[str]:
    """The rooms of the socketwire server's client socket."""
    sock = m.py.io.sockets.sockets.get(m.cp["id"])
    return set(sock.rooms) if sock is not None else set()


async def _until_rooms(node: NodeClusterServer, sid: str, check: Any) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + 10
    while not check((await node.local_state()).get(sid, [])):
        assert loop.time() < deadline, f"rooms of {sid} on Node"
        await asyncio.sleep(0.02)


class SwitchProxy:
    """A TCP proxy on a free loopback port forwarding to one backend port at a time: a
    load balancer moving a client from one server to another (``switch`` cuts every open
    connection, so the client reconnects, to the new backend)."""

    def __init__(self, target: int) -> None:
        self.target = target
        self.port = 0
        self._server: asyncio.base_events.Server | None = None
        self._writers: set[asyncio.StreamWriter] = set()

    @property
    def url(self) -> str:
        """``http://127.0.0.1:PORT``."""
        return f"http://127.0.0.1:{self.port}"

    async def __aenter__(self) -> SwitchProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = int(self._server.sockets[0].getsockname()[1])
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._cut()
        assert self._server is not None
        self._server.close()
        await self._server.wait_closed()

    def switch(self, target: int) -> None:
        """Send new connections to ``target`` and cut the open ones."""
        self.target = target
        self._cut()

    def _cut(self) -> None:
        for writer in list(self._writers):
            writer.close()
        self._writers.clear()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        except OSError:
            writer.close()
            return
        self._writers.update((writer, up_writer))

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            try:
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            except (OSError, RuntimeError):
                pass
            finally:
                dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers.difference_update((writer, up_writer))
