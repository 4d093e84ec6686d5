"""Raw wire peers for the conformance and robustness tests: plain HTTP and plain WebSocket.

Nothing here knows Engine.IO beyond string building: the tests spell out every byte they send
and every byte they expect, so they can run unchanged against socketwire and against the
official Node servers.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import aiohttp
import pytest
import websockets
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

ROOT = Path(__file__).resolve().parents[2]
NODE_SCRIPT = Path(__file__).resolve().with_name("node_reference.js")
RS = "\x1e"
TIMEOUT = 3.0  # generous wait for something the reference does at once

OPEN_KEYS = {"sid", "upgrades", "pingInterval", "pingTimeout", "maxPayload"}


def error_body(code: int) -> dict[str, Any]:
    """The JSON body engine.io answers a refused request with."""
    messages = {
        0: "Transport unknown",
        1: "Session ID unknown",
        2: "Bad handshake method",
        3: "Bad request",
        4: "Forbidden",
        5: "Unsupported protocol version",
    }
    return {"code": code, "message": messages[code]}


@dataclass
class Reply:
    """One HTTP answer: status, headers (lower-case names) and the raw body."""

    status: int
    headers: dict[str, str]
    body: bytes

    @property
    def text(self) -> str:
        """The body decoded as UTF-8."""
        return self.body.decode("utf-8")

    def json(self) -> Any:
        """The body parsed as JSON."""
        return json.loads(self.body)


@dataclass
class Peer:
    """Raw access to one Engine.IO endpoint (``base`` = ``http://127.0.0.1:PORT/path/``)."""

    base: str
    http: aiohttp.ClientSession
    sockets: list[ClientConnection] = field(default_factory=list)

    @property
    def ws_base(self) -> str:
        """The same endpoint with the ``ws://`` scheme."""
        return "ws" + self.base[4:]

    async def request(
        self,
        method: str,
        query: str,
        body: bytes | str | None = None,
        headers: dict[str, str] | None = None,
        timeout: float = TIMEOUT,
    ) -> Reply:
        """Send one HTTP request to ``base?query`` and read the whole answer."""
        data = body.encode() if isinstance(body, str) else body
        async with self.http.request(
            method,
            f"{self.base}?{query}",
            data=data,
            headers=headers,
            timeout=aiohttp.ClientTimeout(total=timeout),
        ) as resp:
            raw = await resp.read()
            return Reply(resp.status, {k.lower(): v for k, v in resp.headers.items()}, raw)

    async def get(self, query: str, timeout: float = TIMEOUT) -> Reply:
        """A GET (handshake or long-poll)."""
        return await self.request("GET", query, timeout=timeout)

    async def post(self, query: str, body: bytes | str, **kw: Any) -> Reply:
        """A POST carrying a payload (``text/plain``, as the JS client sends it)."""
        kw.setdefault("headers", {"Content-Type": "text/plain;charset=UTF-8"})
        return await self.request("POST", query, body, **kw)

    async def handshake(self) -> tuple[str, dict[str, Any]]:
        """Open a polling session; returns its sid and the OPEN packet's JSON."""
        reply = await self.get("EIO=4&transport=polling")
        assert reply.status == 200, reply
        assert reply.text.startswith("0"), reply.text
        info = json.loads(reply.text[1:])
        return str(info["sid"]), info

    async def poll(self, sid: str, timeout: float = TIMEOUT) -> Reply:
        """One long-polling GET for ``sid``."""
        return await self.get(f"EIO=4&transport=polling&sid={sid}", timeout)

    async def push(self, sid: str, body: bytes | str, **kw: Any) -> Reply:
        """One POST for ``sid``."""
        return await self.post(f"EIO=4&transport=polling&sid={sid}", body, **kw)

    async def ws(self, query: str = "EIO=4&transport=websocket", **kw: Any) -> WS:
        """Open a raw WebSocket to ``ws_base?query`` (no compression, no WS-level pings)."""
        conn = await connect(
            f"{self.ws_base}?{query}",
            compression=None,
            ping_interval=None,
            max_size=None,
            open_timeout=TIMEOUT,
            close_timeout=1,
            proxy=None,
            **kw,
        )
        self.sockets.append(conn)
        return WS(conn)

    async def ws_refused(self, query: str, may_accept: bool = False, **kw: Any) -> int:
        """Try a WebSocket handshake that must be refused; returns the HTTP status.

        With ``may_accept``, a 101 followed by a close before any message also counts as a
        refusal (returned as 101): that is how Node refuses a bad ``EIO`` on a WebSocket.
        """
        try:
            conn = await connect(f"{self.ws_base}?{query}", compression=None,
                                 ping_interval=None, open_timeout=TIMEOUT, proxy=None, **kw)
        except InvalidStatus as exc:
            return int(exc.response.status_code)
        self.sockets.append(conn)
        if not may_accept:
            raise AssertionError(f"WebSocket handshake for {query!r} was accepted")
        assert await WS(conn).closed() == [], f"{query!r}: a session was opened"
        return 101

    async def close(self) -> None:
        """Close every WebSocket opened through this peer."""
        for conn in self.sockets:
            try:
                await asyncio.wait_for(conn.close(), 2)
            except (TimeoutError, OSError, ConnectionClosed):
                conn.transport.abort()


class WS:
    """A raw WebSocket: one Engine.IO packet per message."""

    def __init__(self, conn: ClientConnection) -> None:
        self.conn = conn
        self.pings = 0

    async def send(self, data: str | bytes) -> None:
        """Send one message (text for ``str``, binary for ``bytes``)."""
        await self.conn.send(data)

    async def recv(self, timeout: float = TIMEOUT, pong: bool = False) -> str | bytes:
        """The next message; with ``pong``, heartbeat pings are answered and skipped."""
        while True:
            msg = await asyncio.wait_for(self.conn.recv(), timeout)
            if pong and msg == "2":
                self.pings += 1
                await self.conn.send("3")
                continue
            return msg

    async def open_info(self) -> dict[str, Any]:
        """Read the OPEN packet of a WebSocket-only session."""
        msg = await self.recv()
        assert isinstance(msg, str) and msg.startswith("0"), msg
        info: dict[str, Any] = json.loads(msg[1:])
        return info

    async def closed(self, timeout: float = TIMEOUT, pong: bool = False) -> list[str | bytes]:
        """Wait until the server closes; returns the messages received meanwhile."""
        seen: list[str | bytes] = []
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError(f"still open after {timeout}s; got {seen!r}")
            try:
                msg = await asyncio.wait_for(self.conn.recv(), left)
            except ConnectionClosed:
                return seen
            except TimeoutError:
                continue
            if pong and msg == "2":
                await self.conn.send("3")
            seen.append(msg)

    async def sio_connect(self, nsp_packet: str = "40") -> str:
        """Read the OPEN packet, send a CONNECT, return the CONNECT reply (pings answered)."""
        await self.open_info()
        await self.send(nsp_packet)
        reply = await self.recv(pong=True)
        assert isinstance(reply, str), reply
        return reply


# ------------------------------------------------------------------- Node reference


@dataclass
class NodeReference:
    """The official Node servers started by ``node_reference.js``."""

    engine_port: int
    socket_port: int
    proc: subprocess.Popen[bytes]


def node_available() -> bool:
    """Whether Node and the npm packages of the repository are here."""
    return shutil.which("node") is not None and (ROOT / "node_modules" / "socket.io").is_dir()


@pytest.fixture(scope="session")
def node_reference() -> Iterator[NodeReference]:
    """Start the Node reference servers once per test session; stop them by PID after."""
    if not node_available():
        pytest.skip("Node.js or node_modules (npm ci) missing: the reference cannot run")
    proc = subprocess.Popen(
        ["node", str(NODE_SCRIPT)],
        cwd=ROOT,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env={**os.environ, "NODE_ENV": "test"},
    )
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode().split()
        assert line and line[0] == "listening", f"node reference did not start: {line!r}"
        yield NodeReference(int(line[1]), int(line[2]), proc)
    finally:
        proc.terminate()
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        for pipe in (proc.stdin, proc.stdout):  # else: "unclosed file" when collected
            if pipe is not None:
                pipe.close()


# ----------------------------------------------------------------- loop hygiene


@dataclass
class LoopErrors:
    """What reached the event loop's exception handler during a test."""

    contexts: list[dict[str, Any]] = field(default_factory=list)


async def watch_loop() -> AsyncIterator[LoopErrors]:
    """Install a loop exception handler for the duration of a test (an async generator
    used by the fixtures of both test folders)."""
    loop = asyncio.get_running_loop()
    errors = LoopErrors()
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, ctx: errors.contexts.append(ctx))
    try:
        yield errors
    finally:
        loop.set_exception_handler(previous)


def socketwire_errors(records: list[logging.LogRecord]) -> list[str]:
    """ERROR (or worse) records logged by socketwire's loggers."""
    return [
        f"{r.name}: {r.getMessage()}"
        for r in records
        if r.levelno >= logging.ERROR and r.name.startswith("socketwire")
    ]


__all__ = [
    "OPEN_KEYS",
    "RS",
    "TIMEOUT",
    "WS",
    "LoopErrors",
    "NodeReference",
    "Peer",
    "Reply",
    "error_body",
    "node_available",
    "node_reference",
    "socketwire_errors",
    "watch_loop",
    "websockets",
]
