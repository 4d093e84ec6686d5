"""The standalone host's write cork: the frames produced while one read's messages are
handled leave as one write per connection, in order with the other frames of that
connection, and still count against ``max_buffered_bytes``."""

from __future__ import annotations

import asyncio
import json
import os
import socket as pysocket
from collections.abc import AsyncIterator
from typing import Any

import pytest
import uvloop

import socketwire
from servers import running

SLOW_HEARTBEAT: dict[str, Any] = {"ping_interval": 20.0, "ping_timeout": 20.0}


def masked(payload: bytes, opcode: int = 0x1) -> bytes:
    """One client frame (masked, FIN set) carrying ``payload``."""
    mask = os.urandom(4)
    n = len(payload)
    if n < 126:
        head = bytes([0x80 | opcode, 0x80 | n])
    elif n < 65536:
        head = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head = bytes([0x80 | opcode, 0x80 | 127]) + n.to_bytes(8, "big")
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class RawClient:
    """A Socket.IO client over a raw WebSocket: frames are written and read by hand."""

    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def join(cls, port: int, rcvbuf: int | None = None) -> RawClient:
        """Connect over WebSocket and join ``/`` (``rcvbuf``: a small receive buffer)."""
        sock = pysocket.socket()
        if rcvbuf is not None:
            sock.setsockopt(pysocket.SOL_SOCKET, pysocket.SO_RCVBUF, rcvbuf)
        sock.setblocking(False)
        await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
        reader, writer = await asyncio.open_connection(sock=sock)
        writer.write(
            b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
        )
        await reader.readuntil(b"\r\n\r\n")
        client = cls(reader, writer)
        assert (await client.frame())[1].startswith(b"0{")
        writer.write(masked(b"40"))
        assert (await client.frame())[1].startswith(b"40{")
        return client

    async def frame(self) -> tuple[int, bytes]:
        """The next server frame: (opcode, payload)."""
        head = await asyncio.wait_for(self.reader.readexactly(2), 10)
        n = head[1] & 0x7F
        if n == 126:
            n = int.from_bytes(await self.reader.readexactly(2), "big")
        elif n == 127:
            n = int.from_bytes(await self.reader.readexactly(8), "big")
        return head[0] & 0x0F, await asyncio.wait_for(self.reader.readexactly(n), 10)

    async def events(self, count: int) -> list[list[Any]]:
        """The next ``count`` Socket.IO events (their ``[name, *args]``)."""
        found = []
        while len(found) < count:
            opcode, payload = await self.frame()
            if opcode == 0x1 and payload.startswith(b"42"):
                found.append(json.loads(payload[2:]))
        return found

    def close(self) -> None:
        """Drop the connection."""
        self.writer.transport.abort()


def make_server(**options: Any) -> socketwire.Server:
    """``broadcast`` is emitted to everyone, ``echo`` back to the sender."""
    io = socketwire.Server(**{**SLOW_HEARTBEAT, **options})

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        @socket.on("broadcast")
        def broadcast(*args: Any) -> None:
            io.emit("broadcast", *args)

        @socket.on("echo")
        def echo(*args: Any) -> None:
            socket.emit("echo", *args)

    return io


@pytest.fixture
async def clients() -> AsyncIterator[list[RawClient]]:
    """The test's raw clients, dropped at the end."""
    made: list[RawClient] = []
    yield made
    for client in made:
        client.close()


def write_syscalls() -> int:
    """Write system calls this process made so far (Linux ``/proc/self/io``)."""
    with open("/proc/self/io") as f:
        for line in f:
            if line.startswith("syscw:"):
                return int(line.split()[1])
    raise AssertionError("no syscw in /proc/self/io")


def test_a_read_of_several_broadcasts_is_one_write_per_recipient() -> None:
    """Four broadcasts arriving in one read reach each of the 9 recipients (the sender
    included) in order, with one write to each: about 9 write calls, not 36. On uvloop, as
    the standalone host runs by default: its writes are write(2) calls, which
    ``/proc/self/io`` counts (asyncio's own loop uses send(2), which it does not)."""

    async def scenario() -> None:
        io = make_server()
        clients: list[RawClient] = []
        async with running(io, "standalone") as url:
            port = int(url.rsplit(":", 1)[1])
            try:
                receivers = [await RawClient.join(port) for _ in range(8)]
                trigger = await RawClient.join(port)
                clients.extend([*receivers, trigger])
                batch = b"".join(masked(b'42["broadcast",%d,"%s"]' % (seq, b"x" * 32))
                                 for seq in range(1, 5))
                before = write_syscalls()
                trigger.writer.write(batch)  # one send: the four frames in one segment
                got = await asyncio.gather(*(c.events(4) for c in clients))
                writes = write_syscalls() - before
            finally:
                for client in clients:
                    client.close()
        for events in got:
            assert events == [["broadcast", seq, "x" * 32] for seq in range(1, 5)]
        # 1 by the trigger, 9 by the server; a little room for anything else the process
        # writes meanwhile
        assert writes <= 14, f"{writes} write calls for 9 recipients of 4 broadcasts"

    loop = uvloop.new_event_loop()
    try:
        loop.run_until_complete(scenario())
    finally:
        loop.close()


async def test_held_frames_keep_their_order_with_pong_and_close(
    clients: list[RawClient],
) -> None:
    """Replies, the pong and the closing handshake produced by one read leave in the order
    the read asked for them, then the connection ends."""
    io = make_server()
    async with running(io, "standalone") as url:
        client = await RawClient.join(int(url.rsplit(":", 1)[1]))
        clients.append(client)
        client.writer.write(masked(b'42["echo",1]') + masked(b"hello", opcode=0x9)
                            + masked(b'42["echo",2]') + masked(b"\x03\xe8", opcode=0x8))
        assert await client.frame() == (0x1, b'42["echo",1]')
        assert await client.frame() == (0x9 + 1, b"hello")  # the pong
        assert await client.frame() == (0x1, b'42["echo",2]')
        assert await client.frame() == (0x8, b"\x03\xe8")  # our close frame echoes theirs
        assert await asyncio.wait_for(client.reader.read(), 5) == b""  # then the end


async def test_slow_consumer_is_closed_within_a_corked_read(
    clients: list[RawClient],
) -> None:
    """A client that does not read is closed at ``max_buffered_bytes`` even when what
    passes it is one read's broadcasts (held frames go out every ``HOLD_LIMIT`` bytes and
    are checked), while a client that reads gets all of them and stays."""
    io = make_server(max_buffered_bytes=32 * 1024)
    sockets: list[socketwire.Socket] = []
    gone: list[str] = []

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        sockets.append(socket)
        socket.on("disconnect", gone.append)

    async with running(io, "standalone") as url:
        port = int(url.rsplit(":", 1)[1])
        stalled = await RawClient.join(port, rcvbuf=4096)
        reader = await RawClient.join(port)
        clients.extend([stalled, reader])
        target = sockets[0]
        channel = target.conn.current.channel  # type: ignore[attr-defined]
        for _ in range(10_000):  # fill the kernel's buffers: the next bytes stay with us
            if channel.buffered_amount() > 0:
                break
            target.emit("fill", "z" * 8000)
            await asyncio.sleep(0)
        assert 0 < channel.buffered_amount() <= 32 * 1024
        blob = "y" * 3000
        batch = b"".join(masked(f'42["broadcast",{seq},"{blob}"]'.encode())
                         for seq in range(20))  # 60 KB in one segment, nothing after it
        reader.writer.write(batch)
        assert await reader.events(20) == [["broadcast", seq, blob] for seq in range(20)]
        for _ in range(100):
            if gone:
                break
            await asyncio.sleep(0.02)
        assert gone == ["transport error"]
        assert not target.connected and sockets[1].connected
