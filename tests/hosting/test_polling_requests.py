"""Polling requests on the standalone host over raw TCP: answers ready at once and answers that
wait keep their order on a keep-alive connection, the keep-alive deadline moves with every
answer, and a finished session is freed as soon as it is over (no reference cycle left for the
garbage collector)."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import weakref
from collections.abc import AsyncIterator
from typing import Any

import pytest

import socketwire
from socketwire.hosting.standalone import StandaloneServer, serve

BASE = "/socket.io/?EIO=4&transport=polling"


class Peer:
    """One keep-alive HTTP/1.1 connection, requests written raw."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @staticmethod
    def request(method: str, target: str, body: str = "") -> bytes:
        head = f"{method} {target} HTTP/1.1\r\nHost: x\r\n"
        if method == "POST":
            head += f"Content-Type: text/plain;charset=UTF-8\r\nContent-Length: {len(body)}\r\n"
        return (head + "\r\n" + body).encode()

    async def answer(self) -> tuple[bytes, str]:
        """The next response: its head and its body."""
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 5)
        length = int(head.split(b"Content-Length: ")[1].split(b"\r\n")[0])
        return head, (await self.reader.readexactly(length)).decode()

    async def ask(self, method: str, target: str, body: str = "") -> str:
        self.writer.write(self.request(method, target, body))
        head, text = await self.answer()
        assert head.startswith(b"HTTP/1.1 200 "), head
        return text

    async def open(self) -> str:
        text = await self.ask("GET", BASE)
        return text.split('"sid":"')[1].split('"')[0]

    async def close(self) -> None:
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()


@pytest.fixture
async def peers() -> AsyncIterator[list[Peer]]:
    opened: list[Peer] = []
    yield opened
    for peer in opened:
        await peer.close()


async def _peer(port: int, peers: list[Peer]) -> Peer:
    peer = Peer(*await asyncio.open_connection("127.0.0.1", port))
    peers.append(peer)
    return peer


async def test_ready_and_waiting_answers_keep_their_order(
    servers: list[StandaloneServer], peers: list[Peer]
) -> None:
    """Pipelined on one connection: a GET that must wait (nothing to send yet) holds back the
    POST behind it, even though that one could be answered at once; requests whose answers are
    ready go out in the order they came."""
    io = socketwire.Server(ping_interval=0.3, ping_timeout=5.0)
    server = await serve(io, "127.0.0.1", 0)
    servers.append(server)
    peer = await _peer(server.port, peers)
    sid = await peer.open()
    target = f"{BASE}&sid={sid}"
    peer.writer.write(peer.request("GET", target) + peer.request("POST", target, "40"))
    _, first = await peer.answer()
    _, second = await peer.answer()
    assert (first, second) == ("2", "ok")  # the ping (after 0.3 s), then the POST's answer
    # all three ready at once: answered in order, within the same read
    peer.writer.write(peer.request("POST", target, "3") + peer.request("GET", target)
                      + peer.request("POST", target, "1"))
    answers = [(await peer.answer())[1] for _ in range(3)]
    assert answers[0] == "ok" and answers[1].startswith("40{") and answers[2] == "ok"
    assert sid not in io.engine.sessions


async def test_keepalive_deadline_moves_with_each_answer(
    servers: list[StandaloneServer], peers: list[Peer]
) -> None:
    """Requests 0.25 s apart on a connection with a 0.4 s keep-alive timeout: each answer
    starts the timeout again (the connection stays open past 0.4 s after the first), and it
    is closed once left idle."""
    server = await serve(socketwire.Server(), "127.0.0.1", 0, http_keepalive_timeout=0.4)
    servers.append(server)
    peer = await _peer(server.port, peers)
    loop = asyncio.get_running_loop()
    for _ in range(4):
        sid = await peer.open()
        assert await peer.ask("POST", f"{BASE}&sid={sid}", "1") == "ok"
        await asyncio.sleep(0.25)
    last = loop.time()
    assert await asyncio.wait_for(peer.reader.read(), 5) == b""  # closed by the server
    assert 0.1 < loop.time() - last < 2.0


async def test_finished_session_is_freed_without_the_garbage_collector(
    servers: list[StandaloneServer], peers: list[Peer]
) -> None:
    """A socket whose handlers close over it (the usual way to write them), through a whole
    polling session: once the client closed it, nothing keeps it, so it is gone at once
    rather than after a garbage collection."""
    io = socketwire.Server()
    sockets: list[weakref.ref[Any]] = []

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        sockets.append(weakref.ref(socket))

        @socket.on("echo")
        def echo(*args: Any) -> None:
            socket.emit("echo", *args)

    server = await serve(io, "127.0.0.1", 0)
    servers.append(server)
    peer = await _peer(server.port, peers)
    gc.collect()
    gc.disable()
    try:
        sid = await peer.open()
        target = f"{BASE}&sid={sid}"
        assert await peer.ask("POST", target, "40") == "ok"
        assert (await peer.ask("GET", target)).startswith("40{")
        assert await peer.ask("POST", target, '42["echo","x"]') == "ok"
        assert await peer.ask("GET", target) == '42["echo","x"]'
        assert await peer.ask("POST", target, "1") == "ok"
        await asyncio.sleep(0.05)
        assert len(sockets) == 1
        assert sockets[0]() is None, gc.get_referrers(sockets[0]())
    finally:
        gc.enable()
