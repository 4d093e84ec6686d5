"""A server that answers the handshake with an OPEN packet the client cannot use (issue 13:
numbers beyond a double made ``decode_open`` raise ``OverflowError``): the client reports a
connection error, as for any invalid OPEN, and leaves no task or traceback behind.

The peer is a plain aiohttp server on a loopback port: only it can send such a packet.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable

import pytest
from aiohttp import WSMsgType, web

import socketwire
from servers import free_port

Factory = Callable[..., socketwire.AsyncClient]

HUGE = "1" + "0" * 400
BAD_OPENS = {
    "huge int beside a lone surrogate": (
        '0{"sid":"a","upgrades":[],"pingInterval":' + HUGE + ',"pingTimeout":1000,'
        '"maxPayload":1000000,"x":"\\ud800"}'
    ),
    "maxPayload beyond a double": (
        '0{"sid":"a","upgrades":[],"pingInterval":1000,"pingTimeout":1000,"maxPayload":"1e999"}'
    ),
    "pingInterval beyond a JS timer": (
        '0{"sid":"a","upgrades":[],"pingInterval":1e300,"pingTimeout":1000,"maxPayload":1}'
    ),
}


async def _bad_server(open_packet: str) -> AsyncIterator[str]:
    async def polling(request: web.Request) -> web.StreamResponse:
        if request.query.get("transport") == "websocket":
            ws = web.WebSocketResponse()
            await ws.prepare(request)
            await ws.send_str(open_packet)
            async for msg in ws:
                if msg.type != WSMsgType.TEXT:
                    break
            return ws
        return web.Response(text=open_packet, content_type="text/plain")

    app = web.Application()
    app.router.add_route("*", "/socket.io/", polling)
    runner = web.AppRunner(app)
    await runner.setup()
    port = free_port()
    site = web.TCPSite(runner, "127.0.0.1", port)
    await site.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@pytest.mark.parametrize("transport", ["polling", "websocket"])
@pytest.mark.parametrize("label", list(BAD_OPENS))
async def test_invalid_open_packet_is_a_connect_error(
    label: str, transport: str, clients: Factory, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger="socketwire")
    loop_errors: list[dict[str, object]] = []
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _loop, context: loop_errors.append(context))
    try:
        async for url in _bad_server(BAD_OPENS[label]):
            client = clients(reconnection=False)
            with pytest.raises(socketwire.ConnectError) as info:
                await client.connect(url, transports=[transport], wait_timeout=5)
            expected = "xhr poll error" if transport == "polling" else "websocket error"
            assert info.value.message == expected
            assert "invalid OPEN packet" in str(info.value.data) or "invalid JSON" in str(
                info.value.data
            ), info.value.data
            assert not client.connected
    finally:
        loop.set_exception_handler(previous)
    assert not loop_errors, loop_errors
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]
