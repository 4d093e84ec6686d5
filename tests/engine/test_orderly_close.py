"""An orderly server-side close over long-polling, with no GET waiting (as Node does it).

The session stays until the client's next GETs fetch what was buffered and then the close
packet; POSTs meanwhile are accepted; after that the session id is unknown (400 code 1).
"""

from __future__ import annotations

import aiohttp

import socketwire
from servers import running


def _server() -> socketwire.Server:
    io = socketwire.Server(ping_interval=20, ping_timeout=20)

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        @socket.on("close-conn")
        def close_conn() -> None:
            socket.disconnect(close=True)

    return io


async def test_close_packet_is_kept_for_the_next_get(hosting: str) -> None:
    async with running(_server(), hosting) as url, aiohttp.ClientSession() as http:
        base = f"{url}/socket.io/?EIO=4&transport=polling"
        async with http.get(base) as r:
            sid = (await r.text()).split('"sid":"')[1].split('"')[0]
        poll = f"{base}&sid={sid}"
        async with http.post(poll, data="40") as r:
            assert await r.text() == "ok"
        async with http.get(poll) as r:
            assert (await r.text()).startswith('40{"sid":')
        async with http.post(poll, data='42["close-conn"]') as r:
            assert await r.text() == "ok"
        async with http.post(poll, data='42["ignored"]') as r:  # closing: accepted, ignored
            assert r.status == 200 and await r.text() == "ok"
        async with http.get(poll) as r:
            assert await r.text() == "41"  # the DISCONNECT, alone
        async with http.get(poll) as r:
            assert await r.text() == "1"  # then the close packet
        async with http.get(poll) as r:
            assert r.status == 400
            assert await r.json() == {"code": 1, "message": "Session ID unknown"}
