"""The Python client over WebTransport (HTTP/3 on aioquic) against socketwire's HTTP/3 host,
and the server's WebTransport handshake and upgrades seen from a raw stream.

The server is the standalone host with ``http3=True`` (a fresh self-signed certificate, which
the client trusts by its SHA-256 hash, as browsers do).
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

import aiohttp
import pytest

import socketwire
from socketwire import Server, Socket
from socketwire.client.webtransport import connect_webtransport
from socketwire.exceptions import ConnectError
from socketwire.hosting.http3 import self_signed_certificate
from socketwire.hosting.standalone import StandaloneServer
from socketwire.protocol import eio
from wt_support import http3_server, tutorial_handlers

TIMEOUT = 10


def build() -> Server:
    io = Server(transports=("polling", "websocket", "webtransport"), upgrade_timeout=2.0)

    @io.on("connection")
    def connection(socket: Socket) -> None:
        tutorial_handlers(io, socket)

        @socket.on("transport")
        def transport(*, ack: Any) -> None:
            ack(socket.conn.transport)

    return io


def url_of(server: StandaloneServer) -> str:
    return f"http://127.0.0.1:{server.port}"


def client_for(server: StandaloneServer, **kwargs: Any) -> socketwire.AsyncClient:
    assert server.http3 is not None
    return socketwire.AsyncClient(
        reconnection=False, server_certificate_hashes=[server.http3.certificate.sha256], **kwargs
    )


async def next_of(client: socketwire.AsyncClient, event: str) -> list[Any]:
    fut: asyncio.Future[list[Any]] = asyncio.get_running_loop().create_future()

    def listener(*args: Any) -> None:
        if not fut.done():
            fut.set_result(list(args))

    client.on(event, listener)
    async with asyncio.timeout(TIMEOUT):
        return await fut


async def test_python_client_over_webtransport() -> None:
    async with http3_server(build()) as server:
        a, b = client_for(server), client_for(server)
        try:
            await a.connect(url_of(server), transports=["webtransport"], wait_timeout=TIMEOUT)
            await b.connect(url_of(server), transports=["webtransport"], wait_timeout=TIMEOUT)
            assert a.transport == "webtransport"
            assert await a.emit_with_ack("transport") == "webtransport"
            echoed = asyncio.ensure_future(next_of(a, "echo"))
            await asyncio.sleep(0)
            a.emit("echo", "é✓", 1.5, None, {"nested": [True]}, b"\x00\x01\xff")
            assert await echoed == ["é✓", 1.5, None, {"nested": [True]}, b"\x00\x01\xff"]
            assert await a.emit_with_ack("ack", "x", 2) == ("x", 2)
            a.on("question", lambda q: "answer to " + q)
            answer = asyncio.ensure_future(next_of(a, "answer"))
            await asyncio.sleep(0)
            a.emit("ask-client", "life")
            assert await answer == ["answer to life"]
            await b.emit_with_ack("join", "r1")
            in_room = asyncio.ensure_future(next_of(b, "room"))
            await asyncio.sleep(0)
            a.emit("to-room", "r1", "hello room")
            assert await in_room == ["r1", "hello room"]
            got = asyncio.ensure_future(next_of(b, "broadcast"))
            await asyncio.sleep(0)
            a.emit("broadcast", {"from": "a"})
            assert await got == [{"from": "a"}]
            big = "x" * 70_000
            echoed = asyncio.ensure_future(next_of(a, "echo"))
            await asyncio.sleep(0)
            a.emit("echo", big)
            assert await echoed == [big]
        finally:
            await a.disconnect()
            await b.disconnect()
        async with asyncio.timeout(TIMEOUT):
            while server.app.engine.sessions:  # type: ignore[attr-defined]
                await asyncio.sleep(0.02)


@pytest.mark.parametrize("transports", [["polling", "webtransport"],
                                        ["polling", "websocket", "webtransport"]])
async def test_python_client_upgrades_polling_to_webtransport(transports: list[str]) -> None:
    async with http3_server(build()) as server:
        client = client_for(server)
        upgraded: list[str] = []
        try:
            await client.connect(url_of(server), transports=transports, wait_timeout=TIMEOUT)
            async with asyncio.timeout(TIMEOUT):
                while client.transport != "webtransport":
                    upgraded.append(str(client.transport))
                    await asyncio.sleep(0.02)
            assert upgraded and set(upgraded) == {"polling"}  # it started on polling
            assert await client.emit_with_ack("transport") == "webtransport"
            big = "y" * 70_000
            echoed = asyncio.ensure_future(next_of(client, "echo"))
            await asyncio.sleep(0)
            client.emit("echo", big, b"\x01")
            assert await echoed == [big, b"\x01"]
        finally:
            await client.disconnect()


async def test_ack_values() -> None:
    async with http3_server(build()) as server:
        client = client_for(server)
        try:
            await client.connect(url_of(server), transports=["webtransport"],
                                 wait_timeout=TIMEOUT)
            assert await client.emit_with_ack("ack", "x") == "x"
        finally:
            await client.disconnect()


async def test_an_untrusted_certificate_is_refused() -> None:
    async with http3_server(build()) as server:
        client = socketwire.AsyncClient(
            reconnection=False, server_certificate_hashes=[self_signed_certificate().sha256]
        )
        with pytest.raises(ConnectError):
            await client.connect(url_of(server), transports=["webtransport"],
                                 wait_timeout=TIMEOUT)
        client = socketwire.AsyncClient(reconnection=False)  # system CAs: not self-signed
        with pytest.raises(ConnectError):
            await client.connect(url_of(server), transports=["webtransport"],
                                 wait_timeout=TIMEOUT)


async def test_webtransport_disabled_refuses_the_session() -> None:
    io = Server()  # polling and websocket only, as Node's default
    async with http3_server(io) as server:
        assert server.http3 is not None
        with pytest.raises(ConnectError) as info:
            await connect_webtransport(
                f"https://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=webtransport",
                certificate_hashes=[server.http3.certificate.sha256],
            )
        assert info.value.data["status"] == 400


async def raw_channel(server: StandaloneServer, path: str = "/socket.io/") -> Any:
    assert server.http3 is not None
    return await connect_webtransport(
        f"https://127.0.0.1:{server.port}{path}?EIO=4&transport=webtransport",
        certificate_hashes=[server.http3.certificate.sha256],
    )


async def receive(channel: Any) -> Any:
    async with asyncio.timeout(TIMEOUT):
        return await channel.receive()


@pytest.mark.parametrize("first", ['0{"sid":"unknown"}', '0{"sid":1}', "4hello", "2probe",
                                   b"\x00binary"])
async def test_a_bad_first_packet_closes_the_session(first: str | bytes) -> None:
    async with http3_server(build()) as server:
        channel = await raw_channel(server)
        try:
            await channel.send(first)
            assert await receive(channel) is None  # closed, nothing sent
            assert not server.app.engine.sessions  # type: ignore[attr-defined]
        finally:
            await channel.close()


async def test_other_paths_get_404() -> None:
    async with http3_server(build()) as server:
        with pytest.raises(ConnectError) as info:
            await raw_channel(server, "/elsewhere/")
        assert info.value.data["status"] == 404


async def test_a_session_that_opens_no_stream_is_closed() -> None:
    async with http3_server(build()) as server:
        channel = await raw_channel(server)  # the stream is opened by the first write only
        try:
            assert await receive(channel) is None  # after upgrade_timeout (2 s)
        finally:
            await channel.close()


async def _upgrade(server: StandaloneServer, sid: str) -> Any:
    channel = await raw_channel(server)
    await channel.send("0" + json.dumps({"sid": sid}))
    await channel.send("2probe")
    assert await receive(channel) == "3probe"
    await channel.send("5")
    return channel


async def test_polling_upgrades_to_webtransport() -> None:
    async with http3_server(build()) as server, aiohttp.ClientSession() as http:
        base = f"{url_of(server)}/socket.io/?EIO=4&transport=polling"
        async with http.get(base) as resp:
            kind, payload = eio.decode_packet(await resp.text())
        info = eio.decode_open(str(payload))
        assert info.upgrades == ("websocket", "webtransport")  # as Node's order
        sid = info.sid
        async with http.post(f"{base}&sid={sid}", data="40") as resp:
            assert resp.status == 200
        async with http.get(f"{base}&sid={sid}") as resp:
            assert (await resp.text()).startswith("40")
        channel = await _upgrade(server, sid)
        try:
            await channel.send('420["transport"]')
            assert await receive(channel) == '430["webtransport"]'
            async with http.get(f"{base}&sid={sid}") as resp:  # polling is over
                assert resp.status == 400
            # a second upgrade of the same session is refused
            again = await raw_channel(server)
            await again.send("0" + json.dumps({"sid": sid}))
            assert await receive(again) is None
            await again.close()
        finally:
            await channel.close()


async def test_websocket_upgrades_to_webtransport() -> None:
    # Node's server accepts it (its client never asks: a WebSocket session lists no upgrades)
    async with http3_server(build()) as server, aiohttp.ClientSession() as http:
        ws = await http.ws_connect(f"{url_of(server)}/socket.io/?EIO=4&transport=websocket")
        opened = await ws.receive_str()
        info = eio.decode_open(opened[1:])
        assert info.upgrades == ()
        await ws.send_str("40")
        assert (await ws.receive_str()).startswith("40")
        channel = await _upgrade(server, info.sid)
        try:
            async with asyncio.timeout(TIMEOUT):
                closed = await ws.receive()
            assert closed.type in (aiohttp.WSMsgType.CLOSE, aiohttp.WSMsgType.CLOSED)
            await channel.send('420["transport"]')
            assert await receive(channel) == '430["webtransport"]'
            session = server.app.engine.sessions[info.sid]  # type: ignore[attr-defined]
            assert session.transport == "webtransport"
        finally:
            await channel.close()
            await ws.close()
