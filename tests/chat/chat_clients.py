"""One small client interface over several real Socket.IO clients, for the chat contract tests.

* :class:`PySioClient`: python-socketio's ``AsyncClient``.
* :class:`SocketwireClient`: socketwire's own ``AsyncClient``.
* :class:`NodeClient`: the official ``socket.io-client``, in a Node process driven over
  stdin/stdout (``node_chat_client.js``); one process (:class:`NodeDriver`) hosts every client
  of a test.

Every client logs each event it receives, in order, and hands them out per event name.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import os
import signal
from collections import defaultdict
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any, Protocol

import socketio

import socketwire

ROOT = Path(__file__).resolve().parents[2]
NODE_CLIENT = Path(__file__).with_name("node_chat_client.js")
WAIT = 20.0  # seconds: generous, for a loaded machine; only reached when something is wrong


class Refused(Exception):
    """The server refused the connection (``connect_error``); ``args[0]`` is its message."""


class ChatClient(Protocol):
    """What the contract scenario needs from a client."""

    sid: str
    log: list[tuple[str, list[Any]]]

    async def connect(self, url: str, auth: Any, transports: list[str]) -> None: ...
    async def call(self, event: str, *args: Any) -> Any: ...
    async def emit(self, event: str, *args: Any) -> None: ...
    async def next(self, event: str) -> list[Any]: ...
    async def disconnect(self) -> None: ...


class _EventLog:
    def __init__(self) -> None:
        self.log: list[tuple[str, list[Any]]] = []
        self._queues: defaultdict[str, asyncio.Queue[list[Any]]] = defaultdict(asyncio.Queue)

    def record(self, event: str, args: list[Any]) -> None:
        self.log.append((event, args))
        self._queues[event].put_nowait(args)

    async def next(self, event: str) -> list[Any]:
        """The arguments of the next ``event`` received (waiting for it if needed)."""
        return await asyncio.wait_for(self._queues[event].get(), WAIT)


class PySioClient(_EventLog):
    """python-socketio's AsyncClient."""

    def __init__(self) -> None:
        super().__init__()
        self.sid = ""
        self.sio = socketio.AsyncClient(reconnection=False)
        self._refusal: str | None = None
        self.sio.on("*", self._any)
        self.sio.on("connect_error", self._connect_error)

    async def _any(self, event: str, *args: Any) -> None:
        self.record(event, list(args))

    async def _connect_error(self, data: Any = None) -> None:
        self._refusal = data.get("message") if isinstance(data, dict) else str(data)

    async def connect(self, url: str, auth: Any, transports: list[str]) -> None:
        try:
            await self.sio.connect(url, auth=auth, transports=transports, wait_timeout=int(WAIT))
        except socketio.exceptions.ConnectionError as exc:
            raise Refused(self._refusal or str(exc)) from None
        self.sid = self.sio.get_sid("/") or ""

    async def call(self, event: str, *args: Any) -> Any:
        return await self.sio.call(event, args, timeout=int(WAIT))

    async def emit(self, event: str, *args: Any) -> None:
        await self.sio.emit(event, args)

    async def disconnect(self) -> None:
        await self.sio.disconnect()


class SocketwireClient(_EventLog):
    """socketwire's own AsyncClient."""

    def __init__(self) -> None:
        super().__init__()
        self.sid = ""
        self.client = socketwire.AsyncClient(reconnection=False)
        self.client.on_any(self._any)

    def _any(self, event: str, *args: Any) -> None:
        self.record(event, list(args))

    async def connect(self, url: str, auth: Any, transports: list[str]) -> None:
        try:
            await self.client.connect(url, auth=auth, transports=transports, wait_timeout=WAIT)
        except socketwire.ConnectError as exc:
            raise Refused(exc.message) from None
        self.sid = self.client.get_sid("/") or ""

    async def call(self, event: str, *args: Any) -> Any:
        return await self.client.emit_with_ack(event, *args, timeout=WAIT)

    async def emit(self, event: str, *args: Any) -> None:
        self.client.emit(event, *args)

    async def disconnect(self) -> None:
        await self.client.disconnect()


class NodeDriver:
    """A Node process running ``node_chat_client.js``; hosts the :class:`NodeClient`s."""

    def __init__(self) -> None:
        self.proc: asyncio.subprocess.Process | None = None
        self._ids = itertools.count(1)
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._clients: dict[str, NodeClient] = {}
        self._reader: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            "node", str(NODE_CLIENT), cwd=ROOT, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, start_new_session=True, limit=16 * 1024 * 1024,
        )
        assert self.proc.stdout is not None
        self._reader = asyncio.ensure_future(self._read(self.proc.stdout))

    async def _read(self, stdout: asyncio.StreamReader) -> None:
        while line := await stdout.readline():
            message = json.loads(line)
            if "re" in message:
                fut = self._pending.pop(message["re"], None)
                if fut is not None and not fut.done():
                    fut.set_result(message)
            else:
                self._clients[message["client"]].record(message["event"], message["args"])
        for fut in self._pending.values():  # the process ended
            if not fut.done():
                fut.set_exception(RuntimeError("the Node client process exited"))

    async def request(self, **cmd: Any) -> dict[str, Any]:
        assert self.proc is not None and self.proc.stdin is not None
        re = next(self._ids)
        fut: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[re] = fut
        self.proc.stdin.write((json.dumps({"re": re, **cmd}) + "\n").encode())
        await self.proc.stdin.drain()
        return await asyncio.wait_for(fut, WAIT)

    def client(self) -> NodeClient:
        name = f"c{len(self._clients) + 1}"
        self._clients[name] = client = NodeClient(self, name)
        return client

    async def stop(self) -> None:
        proc, self.proc = self.proc, None
        if proc is None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            await proc.wait()
        if self._reader is not None:
            await asyncio.wait_for(self._reader, 10)


class NodeClient(_EventLog):
    """The official socket.io-client, through :class:`NodeDriver`."""

    def __init__(self, driver: NodeDriver, name: str) -> None:
        super().__init__()
        self.driver = driver
        self.name = name
        self.sid = ""

    async def connect(self, url: str, auth: Any, transports: list[str]) -> None:
        answer = await self.driver.request(
            op="connect", client=self.name, url=url, auth=auth, transports=transports
        )
        if "error" in answer:
            raise Refused(answer["error"])
        self.sid = answer["sid"]

    async def call(self, event: str, *args: Any) -> Any:
        answer = await self.driver.request(
            op="emit", client=self.name, event=event, args=list(args), ack=True
        )
        values = answer["ack"]
        return values[0] if len(values) == 1 else values

    async def emit(self, event: str, *args: Any) -> None:
        await self.driver.request(op="emit", client=self.name, event=event, args=list(args),
                                  ack=False)

    async def disconnect(self) -> None:
        await self.driver.request(op="disconnect", client=self.name)


@contextlib.asynccontextmanager
async def node_driver() -> AsyncIterator[NodeDriver]:
    """A running :class:`NodeDriver`, stopped (by its PID if need be) on exit."""
    driver = NodeDriver()
    await driver.start()
    try:
        yield driver
    finally:
        await driver.stop()
