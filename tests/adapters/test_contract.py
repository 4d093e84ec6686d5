"""The adapter contract between the server and its adapters (issue 8, step 1).

Lifecycle (``init`` / ``close`` in both hosts and the TestClient, namespaces created later
included), the entry point for other servers' ``server_side_emit``, the public ack
registration, ``socket_details`` and ``RemoteSocket``, and 20-character socket ids.
"""

from __future__ import annotations

import asyncio
import re
import string
from collections.abc import Callable
from typing import Any

import pytest
from starlette.applications import Starlette
from starlette.responses import PlainTextResponse
from starlette.routing import Route

import socketwire
from servers import running
from socketwire.adapters import InMemoryAdapter, SocketDetails, socket_details
from socketwire.adapters.base import Adapter
from socketwire.server.namespace import Namespace
from socketwire.server.remote import RemoteSocket
from socketwire.testing import TestClient


class RecordingAdapter(InMemoryAdapter):
    """The in-memory adapter, writing its lifecycle into a shared journal."""

    def __init__(self, nsp: Namespace, journal: list[tuple[str, str]]) -> None:
        super().__init__(nsp)
        self.journal = journal
        self.started = False

    async def init(self) -> None:
        await asyncio.sleep(0.01)  # a real adapter subscribes to channels here
        self.started = True
        self.journal.append(("init", self.nsp.name))

    async def close(self) -> None:
        self.journal.append(("close", self.nsp.name))


def recording_server() -> tuple[socketwire.Server, list[tuple[str, str]]]:
    journal: list[tuple[str, str]] = []

    def factory(nsp: Namespace) -> Adapter:
        return RecordingAdapter(nsp, journal)

    io = socketwire.Server(adapter=factory)
    io.of("/early")
    io.of(re.compile(r"/dyn-\w+"))
    return io, journal


async def until(predicate: Callable[[], bool], timeout: float = 5.0) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.01)


@pytest.mark.parametrize(("hosting", "with_other_app"),
                         [("standalone", False), ("asgi", False), ("asgi", True)],
                         ids=["standalone", "asgi", "asgi-with-other-app"])
async def test_hosts_start_and_close_every_adapter(hosting: str, with_other_app: bool) -> None:
    io, journal = recording_server()
    other = Starlette(routes=[Route("/hi", lambda r: PlainTextResponse("hi"))])
    async with running(io, hosting, other_app=other if with_other_app else None) as url:
        # namespaces existing at start are started before the first request is served
        assert sorted(journal) == [("init", "/"), ("init", "/early")]
        io.of("/late")  # created after start
        await until(lambda: ("init", "/late") in journal)
        client = socketwire.AsyncClient(reconnection=False)
        client.socket("/dyn-one")
        await client.connect(url, namespaces=["/dyn-one"], transports=["websocket"])
        await until(lambda: ("init", "/dyn-one") in journal)
        await client.disconnect()
        assert not any(kind == "close" for kind, _ in journal)
    closed = sorted(name for kind, name in journal if kind == "close")
    assert closed == ["/", "/dyn-one", "/early", "/late"]
    # the dynamic parent forwards to its children and has no adapter of the factory's
    assert {name for _, name in journal} == {"/", "/early", "/late", "/dyn-one"}


async def test_test_client_starts_the_adapters_once() -> None:
    io, journal = recording_server()
    async with TestClient(io), TestClient(io):
        assert sorted(journal) == [("init", "/"), ("init", "/early")]
    await io.shutdown()
    await io.shutdown()  # as uvicorn's shutdown and the lifespan's both do: closed once
    assert sorted(n for k, n in journal if k == "close") == ["/", "/early"]
    async with TestClient(io):  # a server shut down starts again
        assert journal.count(("init", "/")) == 2
    await io.shutdown()


# ------------------------------------------------------------ server-side emit entry point


def answers_of(nsp: Namespace, args: list[Any]) -> asyncio.Future[Any]:
    """Deliver ``args`` as another server's server_side_emit with ack; the future gets
    the answer."""
    fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

    def ack(value: Any) -> None:
        assert not fut.done(), "answered twice"
        fut.set_result(value)

    nsp.on_server_side_emit(args, ack)
    return fut


async def test_server_side_emit_reaches_server_and_namespace_handlers() -> None:
    io = socketwire.Server()
    seen: list[tuple[str, tuple[Any, ...]]] = []

    @io.on("hello")
    def hello(*args: Any) -> None:
        seen.append(("/", args))

    @io.of("/chat").on("hello")
    async def chat_hello(a: Any, b: Any) -> None:
        seen.append(("/chat", (a, b)))

    io.of("/").on_server_side_emit(["hello", 1, {"x": [2]}])
    io.of("/chat").on_server_side_emit(["hello", "only-one"])  # padded with None
    await until(lambda: len(seen) == 2)
    assert seen == [("/", (1, {"x": [2]})), ("/chat", ("only-one", None))]


async def test_server_side_emit_answers_by_return_async_return_or_ack() -> None:
    io = socketwire.Server()

    @io.on("sync")
    def sync(n: int) -> int:
        return n + 1

    @io.on("async")
    async def later(n: int) -> dict[str, int]:
        await asyncio.sleep(0.01)
        return {"n": n * 2}

    @io.on("kw")
    def with_ack(n: int, *, ack: Callable[..., None]) -> str:
        ack(f"got {n}", "ignored second value")
        ack("too late")
        return "return value ignored"

    second: list[Any] = []

    @io.on("sync")
    def second_handler(n: int) -> int:
        second.append(n)  # also called, but only the first handler answers
        return -1

    assert await answers_of(io.sockets, ["sync", 1]) == 2
    assert second == [1]
    assert await answers_of(io.sockets, ["async", 4]) == {"n": 8}
    assert await answers_of(io.sockets, ["kw", 7]) == "got 7"


async def test_server_side_emit_ignores_reserved_and_unknown_events() -> None:
    io = socketwire.Server()
    connected: list[Any] = []
    io.on("connection", connected.append)
    for name in ("connection", "connect", "new_namespace"):
        io.sockets.on_server_side_emit([name, "not a socket"], lambda _v: connected.append(_v))
    io.sockets.on_server_side_emit(["nobody-listens"], lambda _v: connected.append(_v))
    io.sockets.on_server_side_emit([])
    io.sockets.on_server_side_emit([42])
    await asyncio.sleep(0.01)
    assert connected == []


async def test_server_side_emit_refuses_reserved_names_and_is_empty_alone() -> None:
    io = socketwire.Server()
    for name in ("connect", "connection", "new_namespace"):
        with pytest.raises(socketwire.LocalProtocolError, match="reserved event name"):
            io.server_side_emit(name)
        with pytest.raises(socketwire.LocalProtocolError, match="reserved event name"):
            await io.server_side_emit_with_ack(name)
    io.server_side_emit("alone", 1)  # no other server: nothing happens
    assert await io.server_side_emit_with_ack("alone") == []
    assert await io.timeout(0.1).server_side_emit_with_ack("alone") == []
    assert await io.of("/x").server_side_emit_with_ack("alone") == []


# ---------------------------------------------------------------- socket ids, details


async def test_socket_ids_are_20_url_safe_characters() -> None:
    io = socketwire.Server()
    ids: list[str] = []
    io.on("connection", lambda s: ids.append(s.id))
    alphabet = set(string.ascii_letters + string.digits + "-_")
    for _ in range(20):
        async with TestClient(io):
            pass
    assert len(set(ids)) == 20
    assert all(len(i) == 20 and set(i) <= alphabet for i in ids)
    from socketwire.server.connection import ServerConnection

    many = {ServerConnection.new_socket_id() for _ in range(2000)}
    assert len(many) == 2000 and {len(i) for i in many} == {20}
    await io.shutdown()


async def connected_socket(io: socketwire.Server, client: TestClient) -> socketwire.Socket:
    sockets = list(io.sockets.sockets.values())
    assert len(sockets) == 1
    return sockets[0]


async def test_socket_details_has_nodes_shape() -> None:
    io = socketwire.Server()
    async with TestClient(io, auth={"token": "t"}, headers={"X-Test": "1"},
                          query={"q": "v"}) as client:
        sock = await connected_socket(io, client)
        sock.join(["a", "b"])
        sock.data = {"user": "ann", "n": [1, 2]}
        details = socket_details(sock)
        assert list(details) == ["id", "handshake", "rooms", "data"]
        assert details["id"] == sock.id
        assert sorted(details["rooms"]) == sorted([sock.id, "a", "b"])
        assert details["data"] == {"user": "ann", "n": [1, 2]}
        hs = details["handshake"]
        assert list(hs) == ["headers", "time", "address", "xdomain", "secure", "issued",
                            "url", "query", "auth"]
        assert "sessionStore" not in hs
        assert hs["headers"]["x-test"] == "1"
        assert hs["query"]["q"] == "v" and hs["auth"] == {"token": "t"}
        assert hs["address"] == "127.0.0.1" and hs["secure"] is False
        assert isinstance(hs["issued"], int) and hs["time"].endswith("GMT")
        # JSON-clean: it travels through a cluster as is
        from socketwire.protocol import jsoncodec

        assert jsoncodec.loads(jsoncodec.dumps(details)) == details
    await io.shutdown()


async def test_remote_socket_from_details_goes_through_the_adapter() -> None:
    """A RemoteSocket for a socket of this server (the in-memory adapter reaches it the way
    a cluster adapter reaches another server's): every operation arrives."""
    io = socketwire.Server()

    @io.on("connection")
    def on_connection(socket: socketwire.Socket) -> None:
        socket.on("question", lambda q: f"answer to {q}")

    async with TestClient(io) as client:
        client.on("question", lambda q: f"client says {q}")
        sock = await connected_socket(io, client)
        sock.data = {"k": "v"}
        remote = RemoteSocket(io.sockets, socket_details(sock))
        assert (remote.id, remote.data, remote.rooms) == (sock.id, {"k": "v"}, {sock.id})
        assert remote.handshake == sock.handshake
        assert remote.handshake.time == sock.handshake.time

        remote.emit("news", 1, {"b": True})
        assert await client.wait_for("news") == [1, {"b": True}]
        # an ack answers with one value, as Socket.emit_with_ack
        assert await remote.timeout(2).emit_with_ack("question", "q1") == "client says q1"
        got: list[Any] = []
        remote.timeout(2).emit("question", "q2", callback=lambda err, v: got.append((err, v)))
        await until(lambda: bool(got))
        assert got == [(None, "client says q2")]

        remote.join(["r1", "r2"])
        assert sock.rooms == {sock.id, "r1", "r2"}
        remote.leave("r1")
        assert sock.rooms == {sock.id, "r2"}
        assert remote.disconnect() is remote
        await until(lambda: not sock.connected)
    await io.shutdown()


async def test_fetch_sockets_wraps_remote_details() -> None:
    """``fetch_sockets`` gives Socket objects for local sockets and RemoteSocket objects
    for the details an adapter reports for other servers."""
    remote_details: SocketDetails = {
        "id": "A" * 20, "rooms": ["A" * 20, "room"], "data": {"from": "node"},
        "handshake": {"headers": {"host": "x"}, "time": "t", "address": "::1",
                      "xdomain": False, "secure": True, "issued": 1700000000000,
                      "url": "/socket.io/?EIO=4", "query": {"EIO": "4"}, "auth": {}},
    }

    class WithOneRemote(InMemoryAdapter):
        async def fetch_sockets(self, opts: Any) -> list[Any]:
            return [*await super().fetch_sockets(opts), remote_details]

    io = socketwire.Server(adapter=WithOneRemote)
    async with TestClient(io):
        found = await io.fetch_sockets()
        assert [type(s).__name__ for s in found] == ["Socket", "RemoteSocket"]
        remote = found[1]
        assert isinstance(remote, RemoteSocket)
        assert remote.id == "A" * 20 and remote.rooms == {"A" * 20, "room"}
        assert remote.handshake.secure is True and remote.handshake.address == "::1"
        assert remote.handshake.issued == 1700000000000
        assert remote.data == {"from": "node"}
    await io.shutdown()


def test_handshake_from_bad_details_is_empty_not_an_error() -> None:
    from socketwire.server.socket import Handshake

    hs = Handshake.from_details({"headers": "nope", "issued": "x", "secure": "yes"})
    assert (hs.headers, hs.issued, hs.secure, hs.address) == ({}, 0, False, "")
    assert Handshake.from_details(None).query == {}


async def test_all_rooms_alone_are_this_servers_rooms() -> None:
    io = socketwire.Server()
    async with TestClient(io):
        sock = list(io.sockets.sockets.values())[0]
        sock.join("lobby")
        assert await io.sockets.adapter.all_rooms() == {sock.id, "lobby"}
    await io.shutdown()


async def test_concurrent_startups_wait_for_the_adapters() -> None:
    io, journal = recording_server()
    adapters = [io.sockets.adapter, io.of("/early").adapter]
    first = asyncio.ensure_future(io.startup())
    await asyncio.sleep(0)  # the first one is now waiting in an adapter's init

    async def second() -> list[bool]:
        await io.startup()  # returns only once the adapters are started
        return [a.started for a in adapters]  # type: ignore[attr-defined]

    assert await second() == [True, True]
    await first
    assert sorted(journal) == [("init", "/"), ("init", "/early")]
    await io.shutdown()
