"""Flow control of the HTTP/3 host's WebTransport streams, with a real aioquic peer that stops
reading its UDP socket: past the high-water mark of data it has not acknowledged, the server
stops reading that session (its packets wait, in order) and resumes once the peer catches up;
past ``max_buffered_bytes`` the session is dropped; other sessions are not affected."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from typing import Any

import pytest

pytest.importorskip("aioquic")

from socketwire import Server, Socket
from socketwire.client.webtransport import WebTransportClientChannel, connect_webtransport
from socketwire.hosting.http3 import WT_HIGH_WATER, WebTransportChannel
from socketwire.hosting.standalone import StandaloneServer
from wt_support import http3_server

CHUNK = 64 * 1024
TIMEOUT = 20


def build(notes: list[int], **options: Any) -> Server:
    io = Server(transports=("polling", "websocket", "webtransport"), **options)

    @io.on("connection")
    def connection(socket: Socket) -> None:
        socket.on("note", notes.append)

        @socket.on("flood")
        def flood(count: int) -> None:
            for i in range(count):
                socket.emit("chunk", i, "x" * CHUNK)

        socket.on("ping", lambda: "pong")

    return io


async def peer(server: StandaloneServer) -> WebTransportClientChannel:
    """A raw Engine.IO + Socket.IO peer over WebTransport, connected to namespace ``/``."""
    assert server.http3 is not None
    channel = await connect_webtransport(
        f"https://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=webtransport",
        certificate_hashes=[server.http3.certificate.sha256],
    )
    await channel.send("0")
    opened = await receive(channel)
    assert isinstance(opened, str) and opened.startswith("0{")
    await channel.send("40")
    connected = await receive(channel)
    assert isinstance(connected, str) and connected.startswith("40{")
    return channel


async def receive(channel: WebTransportClientChannel) -> str | bytes | None:
    async with asyncio.timeout(TIMEOUT):
        while True:
            message = await channel.receive()
            if message != "2":  # a heartbeat ping: answer it, it is not what we wait for
                return message
            await channel.send("3")


def reading(channel: WebTransportClientChannel, on: bool) -> None:
    """Stop (or start again) reading the peer's UDP socket: nothing it is sent is taken,
    acknowledged or given flow-control credit meanwhile (the kernel drops what overflows)."""
    transport = channel._protocol._transport
    assert transport is not None
    if on:
        transport.resume_reading()
    else:
        transport.pause_reading()


async def until(predicate: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    async with asyncio.timeout(timeout):
        while not predicate():
            await asyncio.sleep(0.02)


def server_channel(server: StandaloneServer) -> WebTransportChannel:
    assert server.http3 is not None
    [channel] = server.http3.channels()
    return channel


async def test_a_peer_that_stops_reading_pauses_its_session_until_it_catches_up() -> None:
    notes: list[int] = []
    count = 4 * WT_HIGH_WATER // CHUNK  # four times the high-water mark
    async with http3_server(build(notes)) as server:
        channel = await peer(server)
        try:
            reading(channel, False)
            await channel.send(f'42["flood",{count}]')
            await until(lambda: server_channel(server).reading_paused)
            assert server_channel(server).buffered_amount() > WT_HIGH_WATER
            for i in range(10):  # the peer still sends: held by the server, not handled
                await channel.send(f'42["note",{i}]')
            await asyncio.sleep(0.5)
            assert notes == [] and server_channel(server).reading_paused
            reading(channel, True)
            for i in range(count):  # everything it was sent arrives, in order
                message = await receive(channel)
                assert isinstance(message, str), message
                assert json.loads(message[2:]) == ["chunk", i, "x" * CHUNK]
            await until(lambda: notes == list(range(10)))  # then the held packets, in order
            assert not server_channel(server).reading_paused
            await channel.send('421["ping"]')
            assert await receive(channel) == '431["pong"]'
        finally:
            await channel.close()


async def test_a_peer_too_far_behind_is_dropped_and_others_carry_on() -> None:
    notes: list[int] = []
    io = build(notes, max_buffered_bytes=2 * WT_HIGH_WATER)
    async with http3_server(io) as server:
        slow, other = await peer(server), await peer(server)
        try:
            reading(slow, False)
            await slow.send(f'42["flood",{8 * WT_HIGH_WATER // CHUNK}]')
            await until(lambda: len(io.engine.sessions) == 1)  # the slow one was dropped
            await other.send('421["ping"]')
            assert await receive(other) == '431["pong"]'
            reading(slow, True)
            await until(lambda: slow._protocol.ended)  # the peer sees its session end
        finally:
            await slow.close()
            await other.close()


async def test_the_engine_pausing_holds_packets_in_order() -> None:
    """``pause_reading`` from the engine (too many coroutine handlers running) holds the
    stream's packets; they are handled, in order, once it resumes."""
    release = asyncio.Event()
    started: list[int] = []
    io = Server(transports=("polling", "webtransport"), max_pending_handlers=2)

    @io.on("connection")
    def connection(socket: Socket) -> None:
        @socket.on("work")
        async def work(i: int) -> None:
            started.append(i)
            await release.wait()

    async with http3_server(io) as server:
        channel = await peer(server)
        try:
            for i in range(6):
                await channel.send(f'42["work",{i}]')
            await until(lambda: len(started) == 2)
            await asyncio.sleep(0.3)
            assert started == [0, 1] and server_channel(server).reading_paused
            # the peer goes on sending (8 MiB): the stream's receive window no longer grows,
            # so what the server holds stays bounded by it (aioquic's first window: 1 MiB)
            big = "y" * CHUNK
            for i in range(6, 6 + 8 * 1024 * 1024 // CHUNK):
                await channel.send(f'42["work",{i},"{big}"]')
            await asyncio.sleep(1.0)
            held = server_channel(server)._backlog
            assert 0 < len(held) * CHUNK <= 2 * 1024 * 1024, len(held)
            assert started == [0, 1]
            release.set()
            await until(lambda: started == list(range(6 + 8 * 1024 * 1024 // CHUNK)))
        finally:
            await channel.close()
