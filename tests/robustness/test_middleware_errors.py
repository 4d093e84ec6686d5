"""Issue 13 item 9: a connection middleware raising anything but ``ConnectionRefused`` refuses
the client with a generic message; the exception's text (an internal detail) never reaches
the wire, and the exception is logged server-side."""

from __future__ import annotations

import asyncio
import logging

import aiohttp
import pytest
from rawpeer import Peer
from support import make_server

import socketwire
from servers import running

SECRET = "db password is hunter2"


@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_middleware_exception_text_stays_on_the_server(
    hosting: str, kind: str, caplog: pytest.LogCaptureFixture
) -> None:
    io, record = make_server()

    if kind == "sync":
        @io.use
        def broken(socket: socketwire.Socket) -> None:
            raise RuntimeError(SECRET)
    else:
        @io.use
        async def broken_async(socket: socketwire.Socket) -> None:
            await asyncio.sleep(0)
            raise KeyError(SECRET)

    @io.of("/custom").use
    def refuse(socket: socketwire.Socket) -> None:
        raise socketwire.ConnectionRefused("not allowed", {"why": "test"})

    async with running(io, hosting) as url, aiohttp.ClientSession() as http:
        peer = Peer(url + "/socket.io/", http)
        try:
            ws = await peer.ws()
            reply = await ws.sio_connect("40")
            assert reply == '44{"message":"Internal server error"}', reply
            # ConnectionRefused still speaks to the client, on the same connection
            await ws.send("40/custom,")
            assert await ws.recv() == '44/custom,{"message":"not allowed","data":{"why":"test"}}'
        finally:
            await peer.close()
    assert not record.connections
    logged = [r for r in caplog.records if r.levelno == logging.ERROR and r.exc_info]
    assert len(logged) == 1 and SECRET in str(logged[0].exc_info[1])  # type: ignore[index]
    assert "connection middleware" in logged[0].getMessage()
    caplog.clear()  # the ERROR record is this test's point: the hygiene check must not see it
