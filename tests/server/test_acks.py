"""Acknowledgements both ways: handler return values (sync and async), the ``ack=``
keyword, several values, server-side ``emit_with_ack`` and ``timeout(...).emit``, timeouts
on the virtual clock, and what a pending ack gets when the socket goes away."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest
from server_support import server_socket, settle

import socketwire
from socketwire.testing import TestClient


def acking_server() -> socketwire.Server:
    io = socketwire.Server()

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        socket.on("sum", lambda *numbers: sum(numbers))

        @socket.on("slow-double")
        async def slow_double(n: int) -> int:
            await asyncio.sleep(60)  # virtual: no wall-clock time
            return 2 * n

        @socket.on("pair")
        def pair(a: Any, b: Any, *, ack: Any) -> None:
            ack(b, a)  # answering by hand, with two values

        @socket.on("later")
        def later(value: Any, *, ack: Any) -> None:
            asyncio.get_running_loop().call_later(5, ack, {"later": value})

        @socket.on("nothing")
        def nothing() -> None:
            return None

        @socket.on("boom")
        def boom() -> None:
            raise RuntimeError("handler bug")

    return io


async def test_client_acks_get_the_handlers_answers() -> None:
    io = acking_server()
    async with TestClient(io) as client:
        assert await client.emit_with_ack("sum", 1, 2, 3) == 6
        loop = asyncio.get_running_loop()
        before = loop.time()
        assert await client.emit_with_ack("slow-double", 21) == 42
        assert loop.time() - before == pytest.approx(60, abs=0.01)
        assert await client.emit_with_ack("pair", "x", b"\x01") == (b"\x01", "x")
        assert await client.emit_with_ack("later", [1]) == {"later": [1]}
        assert await client.emit_with_ack("nothing") is None
        # acks of concurrent requests are matched by id, whatever order they come back in
        slow = asyncio.ensure_future(client.emit_with_ack("slow-double", 1))
        fast = asyncio.ensure_future(client.emit_with_ack("sum", 5, 5))
        assert await fast == 10 and not slow.done()
        assert await slow == 2


async def test_a_failing_handler_is_logged_and_sends_no_ack(
        caplog: pytest.LogCaptureFixture) -> None:
    io = acking_server()
    async with TestClient(io) as client:
        with pytest.raises(socketwire.AckTimeout):
            await client.timeout(10).emit_with_ack("boom")
        assert await client.emit_with_ack("sum", 1) == 1  # the connection carries on
    failures = [r for r in caplog.records if r.name.startswith("socketwire")
                and "boom" in r.getMessage()]
    assert failures, [r.getMessage() for r in caplog.records]
    caplog.clear()  # the expected error record: the hygiene check looks at the rest


async def test_server_emit_with_ack_and_its_timeout() -> None:
    io = socketwire.Server()
    async with TestClient(io) as client:
        client.on("name", lambda: "test-client")
        client.on("two", lambda: ("a", "b"))
        socket = server_socket(io, client)
        assert await socket.emit_with_ack("name") == "test-client"
        assert await socket.timeout(5).emit_with_ack("name") == "test-client"
        loop = asyncio.get_running_loop()
        before = loop.time()
        with pytest.raises(socketwire.AckTimeout):
            await socket.timeout(12).emit_with_ack("unanswered")
        assert loop.time() - before == pytest.approx(12, abs=0.01)

        got: list[tuple[Any, ...]] = []
        socket.timeout(3).emit("name", callback=lambda *a: got.append(a))
        socket.timeout(3).emit("unanswered", callback=lambda *a: got.append(a))
        socket.emit("name", callback=lambda *a: got.append(("plain", *a)))
        await asyncio.sleep(4)
        assert got[:2] == [(None, "test-client"), ("plain", "test-client")]
        assert isinstance(got[2][0], socketwire.AckTimeout) and len(got) == 3


async def test_pending_acks_when_the_socket_disconnects() -> None:
    io = socketwire.Server()
    async with TestClient(io) as client:
        socket = server_socket(io, client)
        awaited = asyncio.ensure_future(socket.emit_with_ack("never"))
        timed: list[Any] = []
        socket.timeout(100).emit("never", callback=lambda *a: timed.append(a))
        await settle()
        socket.disconnect()
        with pytest.raises(socketwire.Disconnected):
            await awaited
        assert len(timed) == 1 and isinstance(timed[0][0], socketwire.Disconnected)
        # emitting with a timed callback on a disconnected socket fails at once
        late: list[Any] = []
        socket.timeout(1).emit("x", callback=lambda *a: late.append(a))
        assert len(late) == 1 and isinstance(late[0][0], socketwire.Disconnected)
        with pytest.raises(socketwire.Disconnected):
            await socket.emit_with_ack("x")


async def test_an_ack_for_an_unknown_id_is_ignored() -> None:
    io = acking_server()
    async with TestClient(io) as client:
        socket = server_socket(io, client)
        answers: list[Any] = []
        socket.emit("question", callback=answers.append)
        assert client._pipe is not None
        # an ACK for an id the server never used, written on the wire by the client
        await client._pipe.client_side.send('439999["stray"]')
        assert await client.emit_with_ack("sum", 2, 2) == 4
        assert answers == [] and socket.connected
