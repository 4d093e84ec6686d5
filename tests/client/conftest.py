"""Fixtures for the Python client tests: the servers they talk to, and client bookkeeping.

``target`` is a running server with the scenario behaviour (see ``scenario_app`` and
``node_server.js``), parametrized over the socketwire server in both hostings and the official
Node socket.io 4.8 server; it can be restarted on the same port. ``clients`` makes
``AsyncClient`` objects and, at teardown, disconnects them and checks that none of the
client's tasks is left.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest

import socketwire
from servers import free_port, running

ROOT = Path(__file__).resolve().parents[2]
NODE_SERVER = Path(__file__).with_name("node_server.js")
TARGETS = ("standalone", "asgi", "node")
CLIENT_SOURCES = os.sep + os.path.join("socketwire", "client") + os.sep


def scenario_app(parser: str = "json") -> socketwire.Server:
    """The socketwire twin of node_server.js."""
    io = socketwire.Server(ping_interval=2, ping_timeout=3, parser=parser)
    records: dict[str, list[Any]] = {}

    def setup(nsp: socketwire.Namespace) -> None:
        def refuse_when_asked(socket: socketwire.Socket) -> None:
            refuse = socket.handshake.auth.get("refuse")
            if refuse:
                raise socketwire.ConnectionRefused(
                    "not authorized", {"code": 4001, "reason": refuse}
                )

        nsp.use(refuse_when_asked)

        @nsp.on("connection")
        def connection(socket: socketwire.Socket) -> None:
            socket.emit(
                "welcome", {"nsp": nsp.name, "auth": socket.handshake.auth, "id": socket.id}
            )

            @socket.on("echo")
            def echo(*args: Any) -> None:
                socket.emit("echo", *args)

            @socket.on("ack")
            def ack(*args: Any) -> tuple[Any, ...]:
                return args

            @socket.on("ask")
            def ask(*args: Any) -> None:
                def answered(err: Exception | None, *answers: Any) -> None:
                    socket.emit("answer", {"error": str(err)} if err else list(answers))

                socket.timeout(5).emit("question", *args, callback=answered)

            @socket.on("join")
            def join(room: str) -> bool:
                socket.join(room)
                return True

            @socket.on("to-room")
            def to_room(room: str, data: Any) -> None:
                nsp.to(room).emit("room", room, data)

            @socket.on("broadcast")
            def broadcast(data: Any) -> None:
                socket.broadcast.emit("broadcast", data)

            @socket.on("record")
            def record(key: str, value: Any) -> None:
                records.setdefault(f"{nsp.name} {key}", []).append(value)

            @socket.on("records")
            def get_records(key: str) -> list[Any]:
                return records.get(f"{nsp.name} {key}", [])

            @socket.on("count")
            async def count() -> int:
                return len(await nsp.fetch_sockets())

            @socket.on("server-disconnect")
            def server_disconnect() -> None:
                socket.disconnect()

            @socket.on("flaky")
            def flaky(key: str, *, ack: Any) -> None:
                # answers only from the second copy of an emit on (tests of retries)
                copies = records.setdefault(f"{nsp.name} flaky {key}", [])
                copies.append(key)
                if len(copies) >= 2:
                    ack(len(copies))

    setup(io.of("/"))
    setup(io.of("/custom"))
    return io


class NodeServer:
    """node_server.js as a child process on a fixed port; stopped by its PID."""

    def __init__(self, port: int, parser: str = "json") -> None:
        self.port = port
        self.parser = parser
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self.proc is None
        self.proc = subprocess.Popen(
            ["node", str(NODE_SERVER), str(self.port), self.parser],
            cwd=ROOT,
            stdout=subprocess.PIPE,
            start_new_session=True,
        )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline().decode()
        if not line.startswith("listening"):
            self.stop()
            raise RuntimeError(f"node server did not start: {line!r}")

    def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGKILL)  # a crash: connections just drop
        proc.wait(10)
        if proc.stdout is not None:
            proc.stdout.close()


class Target:
    """A running scenario server, which a test may restart on the same port."""

    def __init__(self, kind: str, parser: str = "json") -> None:
        self.kind = kind
        self.parser = parser
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self._stack: contextlib.AsyncExitStack | None = None
        self._node: NodeServer | None = None

    async def start(self) -> None:
        if self.kind == "node":
            self._node = NodeServer(self.port, self.parser)
            await asyncio.to_thread(self._node.start)
        else:
            stack = contextlib.AsyncExitStack()
            await stack.enter_async_context(
                running(scenario_app(self.parser), self.kind, port=self.port))
            self._stack = stack

    async def stop(self) -> None:
        if self._node is not None:
            node, self._node = self._node, None
            await asyncio.to_thread(node.stop)
        if self._stack is not None:
            stack, self._stack = self._stack, None
            await stack.aclose()

    async def restart(self, between: Callable[[], Any] | None = None) -> None:
        """Stop the server, run ``between()`` (awaited if needed), start it again."""
        await self.stop()
        if between is not None:
            result = between()
            if asyncio.iscoroutine(result):
                await result
        await self.start()


@pytest.fixture(params=TARGETS)
async def target(request: pytest.FixtureRequest) -> AsyncIterator[Target]:
    """The scenario server: socketwire (standalone, ASGI) or the official Node server."""
    t = Target(str(request.param))
    await t.start()
    try:
        yield t
    finally:
        await t.stop()


def client_tasks() -> list[asyncio.Task[Any]]:
    """The unfinished tasks running code of the socketwire client package."""
    found = []
    for task in asyncio.all_tasks():
        coro: Any = task.get_coro()
        code = getattr(coro, "cr_code", None)
        if code is not None and CLIENT_SOURCES in code.co_filename and not task.done():
            found.append(task)
    return found


@pytest.fixture
async def clients() -> AsyncIterator[Callable[..., socketwire.AsyncClient]]:
    """A factory of ``AsyncClient``; every client is disconnected at teardown, and the test
    fails if any client task outlives that."""
    made: list[socketwire.AsyncClient] = []

    def make(**options: Any) -> socketwire.AsyncClient:
        client = socketwire.AsyncClient(**options)
        made.append(client)
        return client

    yield make
    for client in made:
        await asyncio.wait_for(client.disconnect(), 10)
    await asyncio.sleep(0)
    assert client_tasks() == []
