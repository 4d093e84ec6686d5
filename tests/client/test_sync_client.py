"""The blocking Client, driven from a plain thread against a socketwire server."""

from __future__ import annotations

import asyncio
import queue
import threading
from typing import Any

import pytest

import socketwire
from servers import running


def make_server() -> socketwire.Server:
    io = socketwire.Server()

    def setup(nsp: socketwire.Namespace) -> None:
        @nsp.on("connection")
        def connection(socket: socketwire.Socket) -> None:
            @socket.on("echo")
            def echo(*args: Any) -> None:
                socket.emit("echo", *args)

            @socket.on("add")
            def add(a: int, b: int) -> int:
                return a + b

            @socket.on("ask")
            async def ask(value: Any) -> None:
                socket.emit("answer", await socket.emit_with_ack("question", value, timeout=5))

            @socket.on("server-disconnect")
            def server_disconnect() -> None:
                socket.disconnect()

    setup(io.of("/"))
    setup(io.of("/admin"))
    return io


def client_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "socketwire-client"]


async def test_blocking_client_from_a_thread(hosting: str) -> None:
    io = make_server()
    async with running(io, hosting) as url:

        def script() -> None:
            client = socketwire.Client(reconnection=False)
            got: queue.Queue[Any] = queue.Queue()
            handler_threads: list[threading.Thread] = []

            @client.on("echo")
            def echo(*args: Any) -> None:
                handler_threads.append(threading.current_thread())
                if args == ("bounce",):
                    client.emit("echo", "bounced")  # from the loop thread: no deadlock
                got.put(args)

            @client.on("question")
            def question(value: int) -> int:
                return value * 2

            client.on("answer", got.put)
            assert not client.connected
            client.connect(url, namespaces=["/", "/admin"], transports=["websocket"],
                           wait_timeout=10)
            assert client.connected and client.sid and client.transport == "websocket"
            assert sorted(client.namespaces) == ["/", "/admin"]

            client.emit("echo", 1, b"\x00\x01")
            assert got.get(timeout=10) == (1, b"\x00\x01")
            client.emit("echo", "bounce")
            assert got.get(timeout=10) == ("bounce",)
            assert got.get(timeout=10) == ("bounced",)
            assert {t.name for t in handler_threads} == {"socketwire-client"}
            assert threading.current_thread() not in handler_threads

            assert client.emit_with_ack("add", 2, 3) == 5
            assert client.timeout(5).emit_with_ack("add", 1, 1) == 2
            with pytest.raises(socketwire.AckTimeout):
                client.timeout(0.2).emit_with_ack("ignored")
            client.emit("ask", 21)
            assert got.get(timeout=10) == 42

            admin = client.socket("/admin")
            assert admin.connected and admin.id != client.sid
            assert admin.emit_with_ack("add", 10, 5) == 15
            assert client.emit_with_ack("add", 1, 2, namespace="/admin") == 3

            client.disconnect()
            assert not client.connected
            assert client.loop is None  # the loop thread is gone

            # a new connection starts a new loop thread; wait() returns when it is over
            with socketwire.Client(reconnection=True) as again:
                reasons: list[str] = []
                again.on("disconnect", reasons.append)
                again.connect(url, transports=["polling"], wait_timeout=10)
                assert again.emit_with_ack("add", 4, 4) == 8
                again.emit("server-disconnect")
                again.wait()
                assert reasons == ["io server disconnect"]
                assert not again.connected

        await asyncio.wait_for(asyncio.to_thread(script), 60)
    assert client_threads() == []


async def test_blocking_connect_error() -> None:
    io = socketwire.Server()

    def refuse(socket: socketwire.Socket) -> None:
        raise socketwire.ConnectionRefused("go away", {"why": "test"})

    io.use(refuse)
    async with running(io) as url:

        def script() -> None:
            client = socketwire.Client()
            with pytest.raises(socketwire.ConnectError) as info:
                client.connect(url, wait_timeout=10)
            assert (info.value.message, info.value.data) == ("go away", {"why": "test"})
            client.disconnect()

        await asyncio.wait_for(asyncio.to_thread(script), 30)
    assert client_threads() == []
