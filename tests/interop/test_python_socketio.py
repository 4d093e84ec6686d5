"""The socketwire server with python-socketio's AsyncClient as an independent second client.

Key scenarios of test_js_client.py (connect, events, acks both ways, rooms, namespaces, binary,
connect_error data, server-side disconnect) on both hosts and over three transport settings.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
import pytest_asyncio
import socketio
from interop_support import Seen, install_basics, serving

import socketwire
from servers import TRANSPORTS

WAIT = 10.0

transports = pytest.mark.parametrize("transport", list(TRANSPORTS))


class Inbox:
    """Events a python-socketio client received, per event name, awaitable."""

    def __init__(self) -> None:
        self.seen = Seen()

    def catch(self, client: socketio.AsyncClient, event: str, namespace: str = "/") -> None:
        """Record every ``event`` on ``namespace`` as a tuple of its arguments."""

        async def handler(*args: Any) -> None:
            self.seen.add(f"{namespace} {event}", args)

        client.on(event, handler, namespace=namespace)

    async def get(self, event: str, count: int = 1, namespace: str = "/") -> list[tuple[Any, ...]]:
        """The argument tuples of the first ``count`` ``event``s (waits for them)."""
        return [args for (args,) in await self.seen.wait(f"{namespace} {event}", count, WAIT)]

    def all(self, event: str, namespace: str = "/") -> list[tuple[Any, ...]]:
        return [args for (args,) in self.seen.of(f"{namespace} {event}")]


@pytest_asyncio.fixture
async def clients() -> AsyncIterator[list[socketio.AsyncClient]]:
    """python-socketio clients made by the test; all disconnected at the end."""
    made: list[socketio.AsyncClient] = []
    yield made
    await disconnect_all(made)


async def disconnect_all(clients: list[socketio.AsyncClient]) -> None:
    for client in clients:
        await client.disconnect()


def new_client(clients: list[socketio.AsyncClient]) -> socketio.AsyncClient:
    client = socketio.AsyncClient(reconnection=False)
    clients.append(client)
    return client


async def connect(client: socketio.AsyncClient, url: str, transport: str, **kw: Any) -> None:
    await client.connect(url, transports=TRANSPORTS[transport], wait_timeout=WAIT, **kw)
    # python-engineio upgrades during connect(): the transport is final here
    assert client.transport() == ("polling" if transport == "polling" else "websocket")


@transports
async def test_connect_events_acks_and_binary(
    hosting: str, transport: str, clients: list[socketio.AsyncClient]
) -> None:
    io = socketwire.Server()
    seen = Seen()
    install_basics(io, seen)
    blob = bytes(range(256)) * 8

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        socket.emit("welcome", "hi", {"n": [1, None]})

        @socket.on("hello")
        def hello(a: Any, b: Any) -> None:
            seen.add("hello", a, b)
            socket.emit("hello back", b, a)

        socket.on("add", lambda a, b: a + b)
        socket.on("pair", lambda: ("x", {"y": b"\x00\xff"}))
        socket.on("upload", lambda doc: (len(doc["parts"][1]["deep"]), doc["file"]))

    async with serving(io, hosting, lambda: disconnect_all(clients)) as url:
        client = new_client(clients)
        inbox = Inbox()
        for event in ("welcome", "hello back", "download"):
            inbox.catch(client, event)
        client.on("ask", lambda a, b: ("answer", a + b))
        client.on("echo", lambda *args: args)
        await connect(client, url, transport)
        [(sid, sock)] = await seen.wait("connection")
        assert client.get_sid() == sid
        assert sock.transport == client.transport()

        assert await inbox.get("welcome") == [("hi", {"n": [1, None]})]
        await client.emit("hello", ({"x": "é"}, 3))
        assert await seen.wait("hello") == [({"x": "é"}, 3)]
        assert await inbox.get("hello back") == [(3, {"x": "é"})]

        # acks, client -> server (the handler's return value) and server -> client
        assert await client.call("add", (2, 3), timeout=WAIT) == 5
        assert await client.call("pair", timeout=WAIT) == ("x", {"y": b"\x00\xff"})
        assert await sock.emit_with_ack("ask", 1, 2, timeout=WAIT) == ("answer", 3)
        assert await sock.timeout(WAIT).emit_with_ack("echo", {"b": [b"\x01"]}) == {"b": [b"\x01"]}

        # binary both ways, nested
        doc = {"file": b"\x00\x01", "parts": [b"a", {"deep": blob}], "t": "ok"}
        assert await client.call("upload", doc, timeout=WAIT) == (len(blob), b"\x00\x01")
        sock.emit("download", {"blobs": [b"\x10", {"x": blob}]}, b"\xfe")
        assert await inbox.get("download") == [({"blobs": [b"\x10", {"x": blob}]}, b"\xfe")]


@transports
async def test_rooms_and_broadcasts(
    hosting: str, transport: str, clients: list[socketio.AsyncClient]
) -> None:
    io = socketwire.Server()
    seen = Seen()
    install_basics(io, seen)

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        socket.on("shout", lambda text: socket.broadcast.emit("m", f"shout {text}"))

    async with serving(io, hosting, lambda: disconnect_all(clients)) as url:
        names = "abc"
        inboxes = {n: Inbox() for n in names}
        socks = {}
        for n in names:
            client = new_client(clients)
            inboxes[n].catch(client, "m")
            inboxes[n].catch(client, "fence")
            await connect(client, url, transport)
            socks[n] = client
        ids = {n: socks[n].get_sid() for n in names}
        assert await socks["a"].call("join", ["r1", "r2"], timeout=WAIT) == sorted(
            [ids["a"], "r1", "r2"]
        )
        await socks["b"].call("join", "r1", timeout=WAIT)
        await socks["c"].call("join", "r2", timeout=WAIT)

        io.to("r1").emit("m", 1)
        io.to(["r1", "r2"]).emit("m", 2)  # a once
        io.except_("r1").emit("m", 3)
        io.to(ids["b"]).emit("m", 4)
        await socks["c"].emit("shout", "hey")
        await inboxes["a"].get("m", 3)
        assert await socks["a"].call("leave", "r1", timeout=WAIT) == sorted([ids["a"], "r2"])
        io.to("r1").emit("m", 5)
        io.emit("fence")
        for n in names:
            await inboxes[n].get("fence")
        got = {n: [args[0] for args in inboxes[n].all("m")] for n in names}
        assert got == {"a": [1, 2, "shout hey"], "b": [1, 2, 4, "shout hey", 5], "c": [2, 3]}


@transports
async def test_namespaces_on_one_connection(
    hosting: str, transport: str, clients: list[socketio.AsyncClient]
) -> None:
    io = socketwire.Server()
    seen, chat_seen, dyn_seen = Seen(), Seen(), Seen()
    install_basics(io, seen)
    chat = io.of("/chat")
    install_basics(chat, chat_seen)
    dynamic = io.of(re.compile(r"/room-\d+"))
    install_basics(dynamic, dyn_seen)

    @chat.on("connection")
    def chat_connection(socket: socketwire.Socket) -> None:
        socket.on("say", lambda text: f"{socket.nsp.name}: {text}")

    async with serving(io, hosting, lambda: disconnect_all(clients)) as url:
        client = new_client(clients)
        inbox = Inbox()
        for nsp in ("/", "/chat", "/room-7"):
            inbox.catch(client, "where", nsp)
        await connect(client, url, transport, namespaces=["/", "/chat", "/room-7"])
        [(main_id, main_sock)] = await seen.wait("connection")
        [(chat_id, chat_sock)] = await chat_seen.wait("connection")
        [(room_id, room_sock)] = await dyn_seen.wait("connection")
        assert (client.get_sid("/"), client.get_sid("/chat"), client.get_sid("/room-7")) == (
            main_id, chat_id, room_id
        )
        assert main_sock.conn is chat_sock.conn is room_sock.conn  # one Engine.IO session
        assert room_sock.nsp.name == "/room-7"

        assert await client.call("say", "hi", namespace="/chat", timeout=WAIT) == "/chat: hi"
        io.emit("where", "main")
        chat.emit("where", "chat")
        dynamic.emit("where", "room")
        assert await inbox.get("where", namespace="/") == [("main",)]
        assert await inbox.get("where", namespace="/chat") == [("chat",)]
        assert await inbox.get("where", namespace="/room-7") == [("room",)]

        # a namespace that does not exist is refused
        other = new_client(clients)
        refusals: asyncio.Queue[Any] = asyncio.Queue()
        other.on("connect_error", refusals.put_nowait, namespace="/nope")
        with pytest.raises(socketio.exceptions.ConnectionError):
            await other.connect(url, transports=TRANSPORTS[transport], namespaces=["/nope"],
                                wait_timeout=WAIT)
        assert (await asyncio.wait_for(refusals.get(), WAIT))["message"] == "Invalid namespace"


@transports
async def test_connect_error_data_and_server_disconnect(
    hosting: str, transport: str, clients: list[socketio.AsyncClient]
) -> None:
    io = socketwire.Server()
    seen = Seen()
    install_basics(io, seen)

    @io.use
    def check_token(socket: socketwire.Socket) -> None:
        if socket.handshake.auth.get("token") != "secret":
            raise socketwire.ConnectionRefused("not authorized", {"reason": "bad token"})

    async with serving(io, hosting, lambda: disconnect_all(clients)) as url:
        refused = new_client(clients)
        errors: asyncio.Queue[Any] = asyncio.Queue()
        refused.on("connect_error", errors.put_nowait)
        with pytest.raises(socketio.exceptions.ConnectionError):
            await refused.connect(url, transports=TRANSPORTS[transport], auth={"token": "no"},
                                  wait_timeout=WAIT)
        assert await asyncio.wait_for(errors.get(), WAIT) == {
            "message": "not authorized", "data": {"reason": "bad token"}
        }
        assert io.sockets.sockets == {}

        client = new_client(clients)
        reasons: asyncio.Queue[Any] = asyncio.Queue()
        client.on("disconnect", reasons.put_nowait)
        await connect(client, url, transport, auth={"token": "secret"})
        [(sid, sock)] = await seen.wait("connection")
        assert sock.handshake.auth == {"token": "secret"}
        sock.disconnect()
        assert await asyncio.wait_for(reasons.get(), WAIT) == client.reason.SERVER_DISCONNECT
        assert await seen.wait("disconnect") == [(sid, "server namespace disconnect")]
