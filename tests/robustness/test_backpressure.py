"""Slow consumers: the outbound buffer stays bounded (R22) and volatile packets are dropped
while a client cannot receive (R23); other clients are not held up."""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket as pysocket
from collections.abc import AsyncIterator

import aiohttp
import pytest
from rawpeer import Peer
from support import Bystander, make_server, polling_join, settle

import socketwire
from servers import running

MESSAGE = 10_000  # bytes of random (incompressible) text per emit


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain HTTP client."""
    async with aiohttp.ClientSession() as session:
        yield session


def _mask(payload: bytes) -> bytes:
    mask = os.urandom(4)
    return bytes([0x81, 0x80 | len(payload)]) + mask + bytes(
        b ^ mask[i % 4] for i, b in enumerate(payload))


class StalledClient:
    """A raw WebSocket client with a tiny receive buffer that stops reading on demand."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def join(cls, port: int) -> StalledClient:
        """Open a WebSocket session and join ``/``; reads nothing more afterwards."""
        sock = pysocket.socket()
        sock.setsockopt(pysocket.SOL_SOCKET, pysocket.SO_RCVBUF, 4096)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        reader, writer = await asyncio.open_connection(sock=sock, limit=4096)
        writer.write(
            b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        await reader.readuntil(b"\r\n\r\n")
        client = cls(reader, writer)
        assert (await client.frame()).startswith(b"0{")
        writer.write(_mask(b"40"))
        assert (await client.frame()).startswith(b"40{")
        return client

    async def frame(self) -> bytes:
        """Read one unmasked server frame's payload."""
        head = await asyncio.wait_for(self.reader.readexactly(2), 10)
        n = head[1] & 0x7F
        if n == 126:
            n = int.from_bytes(await self.reader.readexactly(2), "big")
        elif n == 127:
            n = int.from_bytes(await self.reader.readexactly(8), "big")
        return await asyncio.wait_for(self.reader.readexactly(n), 10)

    async def drain(self, timeout: float) -> int:
        """Read until the server ends the connection; the byte count (fails on a timeout)."""
        total = len(self.reader._buffer)  # type: ignore[attr-defined]
        self.reader._buffer.clear()  # type: ignore[attr-defined]
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while True:
            try:
                chunk = await asyncio.wait_for(self.reader.read(65536),
                                               max(0.01, deadline - loop.time()))
            except (ConnectionResetError, BrokenPipeError):
                return total
            if not chunk:
                return total
            total += len(chunk)

    def close(self) -> None:
        """Drop the connection."""
        self.writer.transport.abort()


def _blob() -> str:
    return base64.b64encode(os.urandom(MESSAGE * 3 // 4)).decode()


async def test_slow_consumer_is_disconnected_at_the_cap(
    hosting: str, http: aiohttp.ClientSession
) -> None:
    """R22: a client that never reads is closed once its outbound buffer passes
    ``max_buffered_bytes``; far less than everything emitted is ever held."""
    cap = 256 * 1024
    io, record = make_server(max_buffered_bytes=cap)
    async with running(io, hosting) as url:
        peer = Peer(url + "/socket.io/", http)
        try:
            bystander = await Bystander.join(peer)
            slow = await StalledClient.join(int(url.rsplit(":", 1)[1]))
            target = record.connections[-1]
            emitted = 0
            for emitted in range(1, 5001):  # up to 50 MB if nothing stopped it
                target.emit("blob", emitted, _blob())
                await asyncio.sleep(0)
                if emitted % 100 == 0:
                    await bystander.check()
                if not target.connected:
                    break
            assert not target.connected, "the stalled client was never disconnected"
            assert emitted < 5000
            await settle()
            assert (target.id, "transport error") in record.disconnects
            assert target.conn.sid not in io.engine.sessions
            await bystander.check()
            # issue 13: the connection is aborted with its unsent data (no close handshake
            # queued behind what the client never reads): within a second, and without the
            # client reading, the server holds nothing more for it
            await asyncio.sleep(1.0)
            left = await slow.drain(timeout=2.0)
            assert left < 64 * 1024, f"{left} bytes were still queued for the stalled client"
            slow.close()
        finally:
            await peer.close()


async def test_volatile_dropped_while_stalled_websocket(
    hosting: str, http: aiohttp.ClientSession
) -> None:
    """R23: once the client stops reading, volatile emits are dropped (>= 99 %) while
    regular emits are all delivered, in order, when it reads again."""
    io, record = make_server()
    async with running(io, hosting) as url:
        peer = Peer(url + "/socket.io/", http)
        try:
            bystander = await Bystander.join(peer)
            slow = await StalledClient.join(int(url.rsplit(":", 1)[1]))
            target: socketwire.Socket = record.connections[-1]
            seq = 0
            while target.conn.writable:
                seq += 1
                target.emit("n", seq, _blob())
                await asyncio.sleep(0)
                assert seq < 5000, "the connection never stopped being writable"
            for i in range(1000):
                target.volatile.emit("v", i)
            for _ in range(20):
                seq += 1
                target.emit("n", seq, "tail")
            await bystander.check()
            got_n: list[int] = []
            got_v = 0
            while not got_n or got_n[-1] != seq:
                event = json.loads((await slow.frame())[2:])
                if event[0] == "n":
                    got_n.append(event[1])
                elif event[0] == "v":
                    got_v += 1
            assert got_n == list(range(1, seq + 1))
            assert got_v <= 10, got_v
            slow.close()
        finally:
            await peer.close()


async def test_volatile_dropped_while_no_poll_is_pending(
    hosting: str, http: aiohttp.ClientSession
) -> None:
    io, record = make_server()
    async with running(io, hosting) as url:
        peer = Peer(url + "/socket.io/", http)
        sid = await polling_join(peer)
        target = record.connections[-1]
        for i in range(100):
            target.volatile.emit("v", i)
        target.emit("n", 1)
        reply = await peer.poll(sid)
        assert (reply.status, reply.text) == (200, '42["n",1]')
