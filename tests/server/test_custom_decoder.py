"""A parser written against the Decoder protocol before its optional ``main_event`` hot path
(``feed``, ``reset``, ``waiting`` only) still carries every packet, and so does the default
JSON decoder's hot path around a binary packet whose attachments are pending."""

from __future__ import annotations

from typing import Any

import socketwire
from socketwire.protocol.parser import JsonParser
from socketwire.protocol.sio import SioDecoder, SioPacket
from socketwire.testing import TestClient


class FeedOnlyDecoder:
    """A decoder with no hot path: it counts what it is fed."""

    def __init__(self) -> None:
        self.inner = SioDecoder()
        self.fed = 0

    @property
    def waiting(self) -> bool:
        return self.inner.waiting

    def feed(self, message: str | bytes) -> SioPacket | None:
        self.fed += 1
        return self.inner.feed(message)

    def reset(self) -> None:
        self.inner.reset()


class FeedOnlyParser(JsonParser):
    """Socket.IO's JSON format through :class:`FeedOnlyDecoder`."""

    def __init__(self) -> None:
        self.decoders: list[FeedOnlyDecoder] = []

    def decoder(self, max_attachments: int = 10) -> Any:
        decoder = FeedOnlyDecoder()
        self.decoders.append(decoder)
        return decoder


def echoing(io: socketwire.Server) -> socketwire.Server:
    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        socket.on("double", lambda n: 2 * n)
        socket.on("echo", lambda *args: socket.emit("echo", *args))

    return io


async def test_a_decoder_without_main_event_gets_every_message() -> None:
    parser = FeedOnlyParser()
    io = echoing(socketwire.Server(parser=parser))
    async with TestClient(io, parser="json") as client:
        assert await client.emit_with_ack("double", 21) == 42
        assert await client.emit_with_ack("double", b"ab") == b"abab"  # binary both ways
        client.emit("echo", "x")
        assert await client.wait_for("echo") == ["x"]
    (decoder,) = parser.decoders
    assert decoder.fed >= 5  # CONNECT, two EVENTs, one attachment, one EVENT


async def test_events_around_a_binary_packet_on_the_default_decoder() -> None:
    """Text EVENTs take the hot path; a BINARY_EVENT's attachments, in between, are awaited
    through feed: each packet gets its own answer, in order."""
    io = echoing(socketwire.Server())
    async with TestClient(io) as client:
        for payload in ("a", b"\x00\x01", "b", b"\x02", "c"):
            assert await client.emit_with_ack("double", payload) == 2 * payload
        client.emit("echo", "d", [b"\x03", {"k": b"\x04"}], "e")
        assert await client.wait_for("echo") == ["d", [b"\x03", {"k": b"\x04"}], "e"]
