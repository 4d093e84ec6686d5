"""The standalone host's WebSocket closing handshake over raw TCP (issue 13 item 3): invalid
close frames are answered with 1002 / 1007, and the TCP connection ends as soon as the
peer's close reply arrives (not after the 1 s close timer); invalid UTF-8 fails the
connection at the fragment that holds it."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable

import pytest

import socketwire
from socketwire.hosting import websocket
from socketwire.hosting.standalone import StandaloneServer, serve

UPGRADE = (b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n"
           b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
PROMPT = websocket.WS_CLOSE_TIMEOUT / 2  # well before the close timer would act


def masked(opcode: int, payload: bytes, fin: bool = True) -> bytes:
    mask = os.urandom(4)
    head = bytes([(0x80 if fin else 0) | opcode, 0x80 | len(payload)])
    return head + mask + bytes(b ^ mask[i % 4] for i, b in enumerate(payload))


class RawWS:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader = reader
        self.writer = writer

    @classmethod
    async def open(cls, port: int) -> RawWS:
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(UPGRADE)
        head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), 5)
        assert head.startswith(b"HTTP/1.1 101 "), head
        ws = cls(reader, writer)
        opcode, payload = await ws.frame()
        assert opcode == 1 and payload.startswith(b"0{")
        return ws

    async def frame(self) -> tuple[int, bytes]:
        head = await asyncio.wait_for(self.reader.readexactly(2), 5)
        n = head[1] & 0x7F
        if n == 126:
            n = int.from_bytes(await self.reader.readexactly(2), "big")
        return head[0] & 0x0F, await asyncio.wait_for(self.reader.readexactly(n), 5)

    async def close_frame(self) -> bytes:
        while True:
            opcode, payload = await self.frame()
            if opcode == 8:
                return payload

    async def aclose(self) -> None:
        """Close our end (the server has usually ended its own already)."""
        self.writer.close()
        with contextlib.suppress(ConnectionError):
            await self.writer.wait_closed()

    async def ended_within(self, seconds: float) -> bool:
        """Whether the server ends the TCP connection within ``seconds``."""
        try:
            return await asyncio.wait_for(self.reader.read(), seconds) == b""
        except TimeoutError:
            return False
        except ConnectionError:
            return True


Opener = Callable[[], Awaitable[RawWS]]


@pytest.fixture
async def server() -> AsyncIterator[StandaloneServer]:
    io = socketwire.Server(ping_interval=20, ping_timeout=20)
    started = await serve(io, "127.0.0.1", 0)
    yield started
    await started.close()


@pytest.fixture
async def open_ws(server: StandaloneServer) -> AsyncIterator[Opener]:
    """Opens raw WebSocket peers to ``server``; each is closed after the test."""
    peers: list[RawWS] = []

    async def opener() -> RawWS:
        peers.append(await RawWS.open(server.port))
        return peers[-1]

    yield opener
    for peer in peers:
        await peer.aclose()


@pytest.mark.parametrize(
    ("payload", "expected"),
    [
        ((999).to_bytes(2, "big"), 1002),
        ((1005).to_bytes(2, "big"), 1002),
        ((2999).to_bytes(2, "big"), 1002),
        (b"\x03", 1002),
        (b"\x03\xe8\xff\xfe", 1007),
    ],
)
async def test_invalid_close_frames_are_answered_then_tcp_ends(
    open_ws: Opener, payload: bytes, expected: int
) -> None:
    ws = await open_ws()
    ws.writer.write(masked(8, payload))
    answer = await ws.close_frame()
    assert int.from_bytes(answer[:2], "big") == expected
    # the peer's (invalid) close frame was its last: the server ends TCP without waiting
    assert await ws.ended_within(PROMPT)


async def test_client_close_is_echoed_and_the_server_ends_tcp(open_ws: Opener) -> None:
    ws = await open_ws()
    ws.writer.write(masked(8, (4000).to_bytes(2, "big") + b"bye"))
    assert await ws.close_frame() == (4000).to_bytes(2, "big")
    assert await ws.ended_within(PROMPT)


async def test_server_close_ends_on_the_peers_reply(open_ws: Opener) -> None:
    ws = await open_ws()
    ws.writer.write(masked(1, b"2"))  # a client PING is a protocol error in EIO4: closed
    answer = await ws.close_frame()
    ws.writer.write(masked(8, answer[:2]))
    assert await ws.ended_within(PROMPT)


async def test_silent_peer_is_dropped_after_the_close_timer(open_ws: Opener) -> None:
    ws = await open_ws()
    ws.writer.write(masked(8, (999).to_bytes(2, "big")))
    await ws.close_frame()
    assert await ws.ended_within(websocket.WS_CLOSE_TIMEOUT + 1.0)


async def test_invalid_utf8_fails_at_its_fragment(open_ws: Opener) -> None:
    ws = await open_ws()
    ws.writer.write(masked(1, b"4", fin=False) + masked(0, b"\xed\xa0\x80", fin=False))
    answer = await ws.close_frame()  # before the message's last fragment was sent
    assert int.from_bytes(answer[:2], "big") == 1007
    ws.writer.write(masked(8, answer[:2]))
    assert await ws.ended_within(PROMPT)
