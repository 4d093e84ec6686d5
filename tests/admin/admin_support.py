"""Helpers for the admin UI tests: an instrumented server, and two kinds of admin clients
(python-socketio's AsyncClient and the official socket.io-client driven in Node) behind the
same small interface."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import json
import os
import shutil
import signal
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import socketio

import socketwire
from servers import running
from socketwire.admin import Instrumentation, instrument

ROOT = Path(__file__).resolve().parents[2]
NODE_DRIVER = Path(__file__).with_name("node_admin_client.mjs")
WAIT = 15.0  # a deadlock guard, not a performance figure: the machine may be loaded
USER = "admin"
PASSWORD = "s3cret-pass"
CREDENTIALS = {"username": USER, "password": PASSWORD}
ALL_FEATURES = ["EMIT", "JOIN", "LEAVE", "DISCONNECT", "MJOIN", "MLEAVE", "MDISCONNECT",
                "AGGREGATED_EVENTS", "ALL_EVENTS"]
SOCKET_KEYS = {"id", "clientId", "transport", "nsp", "data", "handshake", "rooms"}
HANDSHAKE_KEYS = {"address", "headers", "query", "issued", "secure", "time", "url", "xdomain"}
STATS_KEYS = {"serverId", "hostname", "pid", "uptime", "clientsCount", "pollingClientsCount",
              "aggregatedEvents", "namespaces"}

have_node = (shutil.which("node") is not None
             and (ROOT / "node_modules" / "socket.io-client").is_dir())


def build_server() -> socketwire.Server:
    """A server with a few user handlers the tests drive."""
    io = socketwire.Server(ping_interval=20, ping_timeout=20)

    @io.on("connection")
    def on_connection(sock: socketwire.Socket) -> None:
        sock.join("lobby")

        @sock.on("hello")
        def hello(value: Any) -> str:
            sock.emit("world", value)
            return "ack"

        @sock.on("shout")
        def shout(value: Any) -> None:
            io.emit("news", value)

        @sock.on("set-name")
        def set_name(name: Any) -> str:
            sock.data["name"] = name
            return "ok"

    return io


@contextlib.asynccontextmanager
async def admin_server(
    hosting: str = "standalone", **options: Any
) -> AsyncIterator[tuple[socketwire.Server, Instrumentation, str]]:
    """An instrumented server (basic auth with CREDENTIALS unless ``auth`` is given)."""
    io = build_server()
    options.setdefault("auth", {"type": "basic", **CREDENTIALS})
    inst = instrument(io, **options)
    try:
        async with running(io, hosting) as url:
            yield io, inst, url
    finally:
        inst.close()


class ServerProbe:
    """Server-side view of what the admin namespace received, to know when commands ran."""

    def __init__(self, io: socketwire.Server, namespace: str = "/admin") -> None:
        self.received: list[list[Any]] = []
        self.sent: list[tuple[str, str, list[Any]]] = []
        self._changed = asyncio.Event()
        self.namespace = namespace
        io.hooks.event_received.append(self._on_received)
        io.hooks.event_sent.append(self._on_sent)

    def _on_received(self, sock: socketwire.Socket, data: list[Any]) -> None:
        if sock.nsp.name == self.namespace:
            self.received.append(list(data))
            self._changed.set()

    def _on_sent(self, sock: socketwire.Socket, data: list[Any]) -> None:
        self.sent.append((sock.nsp.name, sock.id, list(data)))

    async def commands_handled(self, count: int) -> None:
        """Wait until the admin namespace received ``count`` events (their handlers, which
        run right after the hook, are then done)."""
        async with asyncio.timeout(WAIT):
            while len(self.received) < count:
                self._changed.clear()
                await self._changed.wait()
        await asyncio.sleep(0)


class AdminClient:
    """What both client kinds offer: connect, the events received, emit, close."""

    kind = "?"

    def __init__(self) -> None:
        self.events: list[tuple[str, list[Any]]] = []
        self._changed = asyncio.Event()

    def _record(self, event: str, args: list[Any]) -> None:
        self.events.append((event, args))
        self._changed.set()

    def names(self) -> list[str]:
        """The names of the events received so far, in order."""
        return [name for name, _ in self.events]

    def of(self, event: str) -> list[list[Any]]:
        """The argument lists of every ``event`` received so far."""
        return [args for name, args in self.events if name == event]

    async def wait_for(self, event: str,
                       pred: Callable[[list[Any]], bool] = lambda args: True) -> list[Any]:
        """The first ``event`` whose arguments satisfy ``pred`` (waiting for it)."""
        async with asyncio.timeout(WAIT):
            while True:
                for name, args in self.events:
                    if name == event and pred(args):
                        return args
                self._changed.clear()
                await self._changed.wait()

    async def connect(self, url: str, auth: dict[str, Any] | None,
                      transports: list[str] | None = None, namespace: str = "/admin") -> str | None:
        """Connect to the admin namespace; ``None`` on success, else the error message."""
        raise NotImplementedError

    async def emit(self, event: str, *args: Any) -> None:
        raise NotImplementedError

    async def close(self) -> None:
        raise NotImplementedError


class PyAdminClient(AdminClient):
    """python-socketio's AsyncClient."""

    kind = "python-socketio"

    def __init__(self) -> None:
        super().__init__()
        self.client = socketio.AsyncClient(reconnection=False)
        self.namespace = "/admin"
        self.error: Any = None

    async def connect(self, url: str, auth: dict[str, Any] | None,
                      transports: list[str] | None = None, namespace: str = "/admin") -> str | None:
        self.namespace = namespace

        async def catch_all(event: str, *args: Any) -> None:
            self._record(event, list(args))

        async def on_error(data: Any) -> None:
            self.error = data

        self.client.on("*", catch_all, namespace=namespace)
        self.client.on("connect_error", on_error, namespace=namespace)
        try:
            await self.client.connect(url, namespaces=[namespace], auth=auth,
                                      transports=transports or ["polling", "websocket"],
                                      wait_timeout=WAIT)
        except socketio.exceptions.ConnectionError as exc:
            data = self.error
            if isinstance(data, dict) and "message" in data:
                return str(data["message"])
            return str(data) if data is not None else str(exc)
        return None

    async def emit(self, event: str, *args: Any) -> None:
        await self.client.emit(event, args if len(args) != 1 else args[0],
                               namespace=self.namespace)

    async def close(self) -> None:
        await self.client.disconnect()


def _from_wire(value: Any) -> Any:
    if isinstance(value, list):
        return [_from_wire(v) for v in value]
    if isinstance(value, dict):
        if set(value) == {"$bin"}:
            return base64.b64decode(value["$bin"])
        return {k: _from_wire(v) for k, v in value.items()}
    return value


class NodeAdminClient(AdminClient):
    """The official socket.io-client 4.8, in a Node child process (stopped by PID)."""

    kind = "socket.io-client"

    def __init__(self) -> None:
        super().__init__()
        self.proc: asyncio.subprocess.Process | None = None
        self.reader: asyncio.Task[None] | None = None
        self.status: list[dict[str, Any]] = []

    async def _start(self) -> None:
        self.proc = await asyncio.create_subprocess_exec(
            "node", str(NODE_DRIVER), cwd=ROOT, stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE, start_new_session=True,
        )
        self.reader = asyncio.ensure_future(self._read())
        await self._wait_status(lambda s: s.get("kind") == "ready")

    async def _read(self) -> None:
        assert self.proc is not None and self.proc.stdout is not None
        while True:
            line = await self.proc.stdout.readline()
            if not line:
                return
            msg = json.loads(line)
            if msg.get("kind") == "event":
                self._record(msg["event"], _from_wire(msg["args"]))
            else:
                self.status.append(msg)
                self._changed.set()

    async def _wait_status(self, pred: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        async with asyncio.timeout(WAIT):
            while True:
                for s in self.status:
                    if pred(s):
                        return s
                self._changed.clear()
                await self._changed.wait()

    def _send(self, cmd: dict[str, Any]) -> None:
        assert self.proc is not None and self.proc.stdin is not None
        self.proc.stdin.write((json.dumps(cmd) + "\n").encode())

    async def connect(self, url: str, auth: dict[str, Any] | None,
                      transports: list[str] | None = None, namespace: str = "/admin") -> str | None:
        if self.proc is None:
            await self._start()
        opts: dict[str, Any] = {"transports": transports or ["polling", "websocket"]}
        if auth is not None:
            opts["auth"] = auth
        self._send({"op": "connect", "name": "a", "url": url + namespace, "opts": opts})
        status = await self._wait_status(lambda s: s.get("kind") in ("connect", "connect_error"))
        return None if status["kind"] == "connect" else str(status["message"])

    async def emit(self, event: str, *args: Any) -> None:
        self._send({"op": "emit", "name": "a", "event": event, "args": list(args)})

    async def close(self) -> None:
        if self.proc is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGTERM)
        with contextlib.suppress(asyncio.TimeoutError):
            await asyncio.wait_for(self.proc.wait(), 5)
        if self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            await self.proc.wait()
        if self.reader is not None:
            self.reader.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.reader
        self.proc = None


CLIENT_KINDS: dict[str, type[AdminClient]] = {
    "python-socketio": PyAdminClient,
    "socket.io-client": NodeAdminClient,
}


async def user_client(url: str, transports: list[str] | None = None,
                      namespace: str = "/") -> socketio.AsyncClient:
    """A plain user: python-socketio connected to ``namespace``."""
    client = socketio.AsyncClient(reconnection=False)
    await client.connect(url, namespaces=[namespace], transports=transports or ["websocket"],
                         wait_timeout=WAIT)
    return client


def is_iso_timestamp(value: Any) -> bool:
    """``new Date(ts).toISOString() === ts``: ``YYYY-MM-DDTHH:MM:SS.mmmZ``."""
    import re

    return isinstance(value, str) and re.fullmatch(
        r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", value) is not None


def check_serialized_socket(s: dict[str, Any]) -> None:
    """The shape of Node's ``serialize(socket)``."""
    assert set(s) == SOCKET_KEYS, s.keys()
    assert isinstance(s["id"], str) and s["id"]
    assert isinstance(s["clientId"], str) and len(s["clientId"]) == 12
    assert s["transport"] in ("polling", "websocket")
    assert isinstance(s["data"], dict) and "_admin" not in s["data"]
    hs = s["handshake"]
    assert set(hs) == HANDSHAKE_KEYS, hs.keys()
    assert isinstance(hs["headers"], dict) and "host" in hs["headers"]
    assert all(k == k.lower() for k in hs["headers"])
    assert isinstance(hs["query"], dict) and hs["query"].get("EIO") == "4"
    assert isinstance(hs["issued"], int) and hs["issued"] > 1_600_000_000_000
    assert isinstance(hs["secure"], bool) and isinstance(hs["xdomain"], bool)
    assert isinstance(hs["time"], str) and isinstance(hs["url"], str)
    assert hs["address"] == "127.0.0.1"
    assert isinstance(s["rooms"], list) and s["id"] in s["rooms"]


@contextlib.asynccontextmanager
async def raw_upgrading_client(url: str) -> AsyncIterator[Callable[[], Any]]:
    """A bare Engine.IO client that joins ``/`` over long-polling and yields ``upgrade``: a
    coroutine function moving it to WebSocket (so the upgrade surely follows the connection)."""
    import httpx
    import websockets

    base = url + "/socket.io/?EIO=4&transport=polling"
    async with httpx.AsyncClient(timeout=WAIT) as http:
        opened = (await http.get(base)).text
        sid = json.loads(opened[1:])["sid"]
        poll = f"{base}&sid={sid}"
        assert (await http.post(poll, content="40")).text == "ok"
        assert (await http.get(poll)).text.startswith("40")
        ws_holder: list[Any] = []

        async def upgrade() -> None:
            ws_url = (url.replace("http", "ws", 1)
                      + f"/socket.io/?EIO=4&transport=websocket&sid={sid}")
            ws = await websockets.connect(ws_url)
            ws_holder.append(ws)
            await ws.send("2probe")
            assert await ws.recv() == "3probe"
            await ws.send("5")

        try:
            yield upgrade
        finally:
            for ws in ws_holder:
                await ws.close()
