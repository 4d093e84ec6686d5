"""--workers: the workers form one Socket.IO cluster over local IPC (no Redis): every cluster
operation started on one worker reaches the sockets of the others.

The server (tests/workers/cluster_app.py) runs in a child process with 2 or 3 workers; the
clients are socketwire's AsyncClient over real sockets, placed on every worker (each asks
its worker's slot). Polling and WebSocket clients are mixed.
"""

from __future__ import annotations

import asyncio
import collections
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from workers_support import PYTHON, ROOT, WorkersServer

from socketwire.client import AsyncClient

APP = str(ROOT / "tests" / "workers" / "cluster_app.py")


@pytest.fixture(scope="module", params=[2, 3])
def server(request: pytest.FixtureRequest) -> Iterator[WorkersServer]:
    srv = WorkersServer.start([PYTHON, APP], int(request.param))
    try:
        yield srv
    finally:
        assert srv.stop() == 0
        assert not srv.errors(), srv.log()


class Client:
    """A connected client, the events it received, and its worker's slot."""

    def __init__(self, client: AsyncClient) -> None:
        self.io = client
        self.events: list[tuple[str, tuple[Any, ...]]] = []
        self.slot = -1
        self.id = ""
        self.changed = asyncio.Event()

        def record(event: str, *args: Any) -> None:
            self.events.append((event, args))
            self.changed.set()

        client.on_any(record)
        client.on("question", lambda q: f"{q}:{self.id}")

    def got(self, event: str) -> list[tuple[Any, ...]]:
        return [args for name, args in self.events if name == event]

    async def ask(self, event: str, *args: Any) -> Any:
        return await self.io.emit_with_ack(event, *args, timeout=10)

    async def wait_for(self, event: str, count: int = 1, timeout: float = 5.0) -> list[Any]:
        async with asyncio.timeout(timeout):
            while len(self.got(event)) < count:
                self.changed.clear()
                await self.changed.wait()
        return self.got(event)


@pytest.fixture
async def clients(server: WorkersServer) -> AsyncIterator[list[Client]]:
    """Two clients on every worker (polling and WebSocket), sorted by slot."""
    made: list[Client] = []
    per_slot: collections.Counter[int] = collections.Counter()
    kinds = [["polling"], ["websocket"], ["polling", "websocket"]]
    try:
        for attempt in range(200):
            if all(per_slot[s] >= 2 for s in range(server.count)):
                break
            c = Client(AsyncClient(reconnection=False))
            await c.io.connect(server.url, transports=kinds[attempt % 3])
            info = await c.ask("whoami")
            c.slot, c.id = info["slot"], info["id"]
            if per_slot[c.slot] >= 2:
                await c.io.disconnect()
                continue
            per_slot[c.slot] += 1
            made.append(c)
        assert all(per_slot[s] >= 2 for s in range(server.count)), per_slot
        made.sort(key=lambda c: c.slot)
        yield made
    finally:
        for c in made:
            await c.io.disconnect()


def on(clients: list[Client], slot: int) -> list[Client]:
    return [c for c in clients if c.slot == slot]


async def test_server_count(server: WorkersServer, clients: list[Client]) -> None:
    for c in clients:
        assert await c.ask("server-count") == server.count


async def test_broadcast_from_each_worker_reaches_all(server: WorkersServer,
                                                       clients: list[Client]) -> None:
    for slot in range(server.count):
        sender = on(clients, slot)[0]
        assert await sender.ask("broadcast", "news", "from", slot, b"\x00\x01") == slot
        for c in clients:
            got = await c.wait_for("news", slot + 1)
            assert got[slot] == ("from", slot, b"\x00\x01"), c.slot


async def test_socket_broadcast_skips_the_sender_only(clients: list[Client]) -> None:
    sender = clients[-1]
    sender.io.emit("others", "hey", 1)
    for c in clients:
        if c is not sender:
            assert await c.wait_for("hey") == [(1,)]
    await asyncio.sleep(0.2)
    assert sender.got("hey") == []


async def test_rooms_across_workers(server: WorkersServer, clients: list[Client]) -> None:
    members = [on(clients, s)[0] for s in range(server.count)]
    outsiders = [on(clients, s)[1] for s in range(server.count)]
    for m in members:
        assert "lobby" in await m.ask("join", "lobby")
    # from an outsider on every worker: only the members get it
    for slot, o in enumerate(outsiders):
        assert await o.ask("to-room", "lobby", "in-lobby", slot) == slot
    for m in members:
        assert sorted(await m.wait_for("in-lobby", server.count)) == [
            (s,) for s in range(server.count)]
    await asyncio.sleep(0.2)
    assert all(o.got("in-lobby") == [] for o in outsiders)
    # a socket id is a room too, whatever the worker
    target = members[-1]
    await members[0].ask("to-room", target.id, "private", "psst")
    assert await target.wait_for("private") == [("psst",)]


async def test_broadcast_with_acks_across_workers(clients: list[Client]) -> None:
    answers = await clients[0].ask("ask-all", "q")
    assert answers == sorted((f"q:{c.id}" for c in clients), key=repr)


async def test_fetch_sockets_and_remote_sockets(server: WorkersServer,
                                                clients: list[Client]) -> None:
    for c in clients:
        found = await c.ask("fetch")
        assert [f["id"] for f in found] == sorted(x.id for x in clients)
        assert {f["id"]: f["data"]["slot"] for f in found} == {x.id: x.slot for x in clients}
    first, last = clients[0], clients[-1]
    assert first.slot != last.slot
    assert await first.ask("remote-emit", last.id, "direct", {"a": 1}) is True
    assert await last.wait_for("direct") == [({"a": 1},)]
    assert await first.ask("remote-join", last.id, "vip") is True
    await asyncio.sleep(0.1)
    assert [f["id"] for f in await first.ask("fetch", "vip")] == [last.id]
    assert "vip" in (await last.ask("whoami"))["rooms"]


async def test_sockets_join_and_leave_across_workers(server: WorkersServer,
                                                     clients: list[Client]) -> None:
    origin = clients[0]
    origin.io.emit("sockets-join", "everyone")
    await asyncio.sleep(0.2)
    for c in clients:
        assert "everyone" in (await c.ask("whoami"))["rooms"]
    origin.io.emit("sockets-leave", "everyone")
    await asyncio.sleep(0.2)
    for c in clients:
        assert "everyone" not in (await c.ask("whoami"))["rooms"]


async def test_disconnect_sockets_across_workers(server: WorkersServer,
                                                 clients: list[Client]) -> None:
    doomed = [on(clients, s)[1] for s in range(server.count)]
    for d in doomed:
        await d.ask("join", "doomed")
    gone: dict[str, asyncio.Future[str]] = {}
    for d in doomed:
        fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        gone[d.id] = fut
        d.io.on("disconnect", lambda reason, fut=fut: fut.done() or fut.set_result(reason))
    clients[0].io.emit("disconnect-room", "doomed")
    for d in doomed:
        assert await asyncio.wait_for(gone[d.id], 5) == "io server disconnect"
    survivors = [c for c in clients if c not in doomed]
    for c in survivors:
        assert (await c.ask("whoami"))["id"] == c.id


async def test_server_side_emit_across_workers(server: WorkersServer,
                                               clients: list[Client]) -> None:
    origin = on(clients, 0)[0]
    origin.io.emit("server-side")
    for c in clients:
        if c.slot != 0:
            assert await c.wait_for("server-hello") == [(0, c.slot)]
    await asyncio.sleep(0.2)
    assert all(c.got("server-hello") == [] for c in on(clients, 0))
    for slot in range(server.count):
        answers = await on(clients, slot)[0].ask("server-side-ack")
        assert answers == [s for s in range(server.count) if s != slot]


async def test_admin_ui_sees_every_worker() -> None:
    """A dashboard (python-socketio on /admin) connected to one worker gets server_stats from
    every worker (serverId host#pid, as Node's admin UI in a cluster) and the sockets of all."""
    import socketio

    server = WorkersServer.start([PYTHON, APP, "--admin"], 2)
    users: list[Client] = []
    dashboard = socketio.AsyncClient(reconnection=False)
    stats: list[dict[str, Any]] = []
    all_sockets: list[list[dict[str, Any]]] = []
    dashboard.on("server_stats", lambda s: stats.append(s), namespace="/admin")
    dashboard.on("all_sockets", lambda s: all_sockets.append(s), namespace="/admin")
    try:
        per_slot: collections.Counter[int] = collections.Counter()
        while len(per_slot) < 2:
            c = Client(AsyncClient(reconnection=False))
            await c.io.connect(server.url, transports=["websocket"])
            info = await c.ask("whoami")
            c.slot, c.id = info["slot"], info["id"]
            per_slot[c.slot] += 1
            users.append(c)
        await dashboard.connect(server.url, namespaces=["/admin"], transports=["websocket"])
        pids = set(server.workers())
        async with asyncio.timeout(10):
            while {s["pid"] for s in stats} != pids or not all_sockets:
                await asyncio.sleep(0.1)
        ids = {s["serverId"] for s in stats}
        assert len(ids) == 2, ids
        assert all(s["serverId"].endswith(f"#{s['pid']}") for s in stats), ids
        users_by_pid: collections.Counter[int] = collections.Counter()
        for c in users:
            users_by_pid[(await c.ask("whoami"))["pid"]] += 1
        latest = {s["pid"]: s for s in stats}
        for pid, n in users_by_pid.items():
            main = next(x for x in latest[pid]["namespaces"] if x["name"] == "/")
            assert main["socketsCount"] == n
        listed = {s["id"] for s in all_sockets[-1] if s["nsp"] == "/"}
        assert listed == {c.id for c in users}
    finally:
        await dashboard.disconnect()
        for c in users:
            await c.io.disconnect()
        assert server.stop() == 0
    assert not server.errors(), server.log()
