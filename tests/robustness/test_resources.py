"""Resources held by half-finished work: aborted binary packets (R3), sessions that never join
a namespace (R7), and compression, which is off as in Node (R11)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import aiohttp
import pytest
from rawpeer import Peer
from support import PROMPT, make_server
from test_leaks import _socketwire_timers

from servers import running
from socketwire.server.connection import ServerConnection


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain HTTP client."""
    async with aiohttp.ClientSession() as session:
        yield session


async def _until(check: object, timeout: float = PROMPT) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():  # type: ignore[operator]
        assert loop.time() < deadline, "condition not reached"
        await asyncio.sleep(0.01)


async def test_aborted_binary_headers_leave_nothing_pending(
    hosting: str, http: aiohttp.ClientSession
) -> None:
    """R3: binary headers whose attachments never come, then the connection goes away."""
    io, _ = make_server()
    async with running(io, hosting) as url:
        peer = Peer(url + "/socket.io/", http)
        connections: list[ServerConnection] = []
        for _ in range(200):
            ws = await peer.ws()
            await ws.sio_connect("40")
            await ws.send('451-["echo",{"_placeholder":true,"num":0}]')
            for session in io.engine.sessions.values():
                if isinstance(session.handler, ServerConnection):
                    connections.append(session.handler)
            await ws.conn.close()
        await _until(lambda: not io.engine.sessions)
        assert not io.sockets.sockets
        assert connections and all(not c.decoder.waiting for c in connections)


async def test_handshakes_that_never_join_hold_one_heartbeat_timer_each(
    hosting: str, http: aiohttp.ClientSession
) -> None:
    """R7: 500 polling handshakes with no CONNECT: one heartbeat timer per session, and
    1000 more unsolicited pongs add none."""
    io, _ = make_server()
    async with running(io, hosting) as url:
        peer = Peer(url + "/socket.io/", http)
        sids = [(await peer.handshake())[0] for _ in range(500)]
        assert len(io.engine.sessions) == 500
        loop = asyncio.get_running_loop()
        heartbeat = [t for t in _socketwire_timers(loop) if "session" in repr(t._callback)]
        assert len(heartbeat) == 500
        for sid in sids[:10]:
            for _ in range(100):
                assert (await peer.push(sid, "3")).text == "ok"
        heartbeat = [t for t in _socketwire_timers(loop) if "session" in repr(t._callback)]
        assert len(heartbeat) == 500


async def test_permessage_deflate_is_not_negotiated(hosting: str) -> None:
    """R11: compression is off by default, as in Node: an offer of permessage-deflate is not
    accepted, and a compressed (RSV1) frame closes the connection with 1002."""
    io, _ = make_server()
    async with running(io, hosting) as url:
        port = int(url.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(
            b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
            b"Host: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n"
            b"Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits\r\n\r\n"
        )
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), PROMPT)
        assert head.startswith(b"HTTP/1.1 101")
        assert b"permessage-deflate" not in head.lower()
        # a masked text frame with RSV1 set (as a compressed message would be)
        payload = b"40"
        mask = b"\x01\x02\x03\x04"
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        writer.write(bytes([0xC1, 0x80 | len(payload)]) + mask + masked)
        await writer.drain()
        opcode, payload = await _next_frame(reader)
        assert opcode == 0x1 and payload.startswith(b"0{")  # the OPEN packet
        opcode, payload = await _next_frame(reader)
        assert opcode == 0x8  # close
        assert int.from_bytes(payload[:2], "big") == 1002
        writer.close()


async def _next_frame(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    """Read one unmasked server frame: (opcode, payload)."""
    head = await asyncio.wait_for(reader.readexactly(2), PROMPT)
    length = head[1] & 0x7F
    if length == 126:
        length = int.from_bytes(await reader.readexactly(2), "big")
    elif length == 127:
        length = int.from_bytes(await reader.readexactly(8), "big")
    return head[0] & 0x0F, await asyncio.wait_for(reader.readexactly(length), PROMPT)
