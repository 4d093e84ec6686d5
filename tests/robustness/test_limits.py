"""Limits: adversarial 1 MB packets (R4), connectTimeout (R8), upgradeTimeout (R9),
maxHttpBufferSize over WebSocket (R10) and fragment floods (R13)."""

from __future__ import annotations

import asyncio
import os
import struct
from collections.abc import AsyncIterator

import aiohttp
import pytest
from rawpeer import Peer
from support import (
    PROMPT,
    Bystander,
    fresh_handshake_works,
    make_server,
    polling_closed,
    polling_join,
    ws_join,
)
from websockets.exceptions import ConnectionClosed

from servers import running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain HTTP client."""
    async with aiohttp.ClientSession() as session:
        yield session


# --------------------------------------------------------------------------- R4

N = 990_000  # just under the default 1e6-byte limit
ADVERSARIAL = {
    "attachment count of 1e6 digits": "45" + "9" * N,
    "namespace of 1e6 characters without a comma": "42/" + "a" * N,
    "1e6-deep nesting": "42" + "[" * N,
    "ack id of 1e6 digits": "42" + "1" * N + '["echo"]',
    "1e6 quotes": '42["' + '\\"' * (N // 2) + "]",
}


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_adversarial_megabyte_packets(hosting: str, transport: str,
                                            http: aiohttp.ClientSession) -> None:
    """R4: each closes its session at once; a benign 1 MB event still round-trips."""
    io, _ = make_server()
    async with running(io, hosting) as url:
        peer = Peer(url + "/socket.io/", http)
        try:
            bystander = await Bystander.join(peer)
            for label, packet in ADVERSARIAL.items():
                if transport == "websocket":
                    ws = await ws_join(peer)
                    await ws.send(packet)
                    assert await ws.closed(timeout=PROMPT) == [], label
                else:
                    sid = await polling_join(peer)
                    assert (await peer.push(sid, packet)).status in (200, 400), label
                    await polling_closed(peer, sid)
                await bystander.check()
            benign = '42["echo","' + "b" * N + '"]'
            ws = await ws_join(peer)
            await ws.send(benign)
            assert await ws.recv() == benign
        finally:
            await peer.close()


# --------------------------------------------------------------------------- R8


async def test_connect_timeout_closes_sessions_without_namespace(
    hosting: str, http: aiohttp.ClientSession
) -> None:
    """R8: no CONNECT within connectTimeout (1 s here, heartbeat 20 s) closes the session;
    a session that joined in time stays."""
    io, _ = make_server(connect_timeout=1.0)
    async with running(io, hosting) as url:
        peer = Peer(url + "/socket.io/", http)
        try:
            joined = await ws_join(peer)
            loop = asyncio.get_running_loop()
            started = loop.time()
            idle = await peer.ws()
            await idle.open_info()
            sid, _ = await peer.handshake()
            poll = await peer.poll(sid, timeout=5)  # held until the timeout closes it
            assert (poll.status, poll.text) == (200, "1")
            assert await idle.closed(timeout=3) == []
            assert loop.time() - started >= 0.8  # not before the timeout
            await polling_closed(peer, sid)
            await joined.send('42["echo","still here"]')
            assert await joined.recv() == '42["echo","still here"]'
        finally:
            await peer.close()


# --------------------------------------------------------------------------- R9


async def test_upgrade_timeout_closes_the_upgrading_websocket(
    hosting: str, http: aiohttp.ClientSession
) -> None:
    """R9: a probe without ``5`` within upgradeTimeout (0.3 s) closes the WebSocket; the
    polling session goes on."""
    io, _ = make_server(upgrade_timeout=0.3)
    async with running(io, hosting) as url:
        peer = Peer(url + "/socket.io/", http)
        try:
            sid = await polling_join(peer)
            ws = await peer.ws(f"EIO=4&transport=websocket&sid={sid}")
            await ws.send("2probe")
            assert await ws.recv() == "3probe"
            assert await ws.closed(timeout=PROMPT) == []
            assert (await peer.push(sid, '42["echo","polling"]')).text == "ok"
            reply = await peer.poll(sid)
            if reply.text == "6":  # the noop that released a poll during the probe
                reply = await peer.poll(sid)
            assert (reply.status, reply.text) == (200, '42["echo","polling"]')
        finally:
            await peer.close()


# -------------------------------------------------------------------------- R10


async def test_oversized_websocket_message_closes_with_1009(
    hosting: str, http: aiohttp.ClientSession
) -> None:
    io, _ = make_server(max_http_buffer_size=1000)
    async with running(io, hosting) as url:
        peer = Peer(url + "/socket.io/", http)
        try:
            bystander = await Bystander.join(peer)
            ws = await ws_join(peer)
            await ws.send('42["echo","' + "y" * 900 + '"]')
            assert await ws.recv() == '42["echo","' + "y" * 900 + '"]'
            await ws.send('42["echo","' + "y" * 2000 + '"]')
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv(timeout=PROMPT)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 1009
            await bystander.check()
            await fresh_handshake_works(peer)
        finally:
            await peer.close()


# -------------------------------------------------------------------------- R13


def _client_frame(opcode: int, payload: bytes, fin: bool) -> bytes:
    head = bytes([(0x80 if fin else 0) | opcode])
    n = len(payload)
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack("!H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack("!Q", n)
    mask = os.urandom(4)
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


async def _raw_ws(port: int, query: str) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(
        f"GET /socket.io/?{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n"
        "Connection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    await writer.drain()
    status = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), PROMPT)
    assert status.startswith(b"HTTP/1.1 101"), status
    return reader, writer


def _close_code(data: bytes) -> int | None:
    """The status of the first unmasked close frame in ``data`` (reason or not)."""
    at = data.find(b"\x88")
    while at != -1:
        if at + 4 <= len(data) and 2 <= data[at + 1] <= 125:
            return int.from_bytes(data[at + 2:at + 4], "big")
        at = data.find(b"\x88", at + 1)
    return None


async def _read_until_close_frame(reader: asyncio.StreamReader, timeout: float) -> int:
    """Read what the server sends until its close frame; returns the close status."""
    data = b""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while loop.time() < deadline and _close_code(data) is None:
        try:
            chunk = await asyncio.wait_for(reader.read(65536), deadline - loop.time())
        except (TimeoutError, ConnectionError):
            break
        if not chunk:
            break
        data += chunk
    code = _close_code(data)
    if code is not None:
        return code
    raise AssertionError(f"no close frame after {timeout}s: {data[-50:]!r}")


@pytest.mark.parametrize("flood", ["one-byte", "zero-length"])
async def test_fragment_flood(hosting: str, flood: str, http: aiohttp.ClientSession) -> None:
    """R13 / issue 13: a flood of continuation frames is closed with 1008, as Node's ws does,
    in both hosts: fragments are counted (size limit / 64 per message, here 1,562; the
    50,000 one-byte fragments stay under the size limit, so only the count can stop them).
    Under ASGI
    the frames are uvicorn's; ``run_asgi`` (and the test servers) run it with socketwire's
    WebSocket protocol, which counts them: uvicorn's own reassembled zero-length fragments
    for as long as they came (bounded by bytes only, and they have none)."""
    io, _ = make_server(max_http_buffer_size=100_000)
    async with running(io, hosting) as url:
        port = int(url.rsplit(":", 1)[1])
        peer = Peer(url + "/socket.io/", http)
        try:
            bystander = await Bystander.join(peer)
            reader, writer = await _raw_ws(port, "EIO=4&transport=websocket")
            writer.write(_client_frame(0x1, b"40", True))
            if flood == "one-byte":
                frames = [_client_frame(0x1, b"4", False)]
                frames += [_client_frame(0x0, b"x", False)] * 50_000
                frames.append(_client_frame(0x0, b"x", True))
            else:
                frames = [_client_frame(0x1, b'42["echo",', False)]
                frames += [_client_frame(0x0, b"", False)] * 100_000
                frames.append(_client_frame(0x0, b'"frag"]', True))
            writer.write(b"".join(frames))
            try:
                await writer.drain()
            except ConnectionError:
                pass
            assert await _read_until_close_frame(reader, 5) == 1008
            writer.close()
            await bystander.check()
        finally:
            await peer.close()
