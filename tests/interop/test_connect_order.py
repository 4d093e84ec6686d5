"""A coroutine ``connection`` handler registers its event handlers before its first ``await``;
the client's packets that arrive before that first step has run (here: sent in the same
write as the CONNECT, as a fast client on another core can) are held, then handled in order,
as Node (whose connection handlers run synchronously) handles them. Real sockets, both hosts."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx
import pytest
from websockets.asyncio.client import connect as ws_connect

import socketwire
from servers import running

WAIT = 10.0


def make_server() -> socketwire.Server:
    io = socketwire.Server()

    @io.on("connection")
    async def connection(socket: socketwire.Socket) -> None:
        @socket.on("hello")
        def hello(n: int) -> Any:
            return n + 1

        @socket.on("bye")
        def bye() -> None:
            socket.emit("seen", "bye")

        await asyncio.sleep(0)  # as an application's lookup would

    return io


@pytest.mark.parametrize("transport", ["websocket", "polling"])
async def test_packets_sent_with_the_connect_reach_a_coroutine_connection_handler(
        hosting: str, transport: str) -> None:
    io = make_server()
    async with running(io, hosting=hosting) as url:
        if transport == "websocket":
            ws_url = url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
            async with ws_connect(ws_url) as ws:
                assert str(await ws.recv()).startswith("0{")
                # one TCP write: the server reads all three frames in one go
                ws.protocol.send_text(b"40")
                ws.protocol.send_text(b'421["hello",41]')
                ws.protocol.send_text(b'42["bye"]')
                for data in ws.protocol.data_to_send():
                    ws.transport.write(data)
                got = [str(await asyncio.wait_for(ws.recv(), WAIT)) for _ in range(3)]
        else:
            async with httpx.AsyncClient(base_url=url, timeout=WAIT) as http:
                opened = await http.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
                sid = opened.text.split('"sid":"', 1)[1].split('"', 1)[0]
                params = {"EIO": "4", "transport": "polling", "sid": sid}
                posted = await http.post("/socket.io/", params=params,
                                         content='40\x1e421["hello",41]\x1e42["bye"]')
                assert posted.status_code == 200
                got = []
                while len(got) < 3:
                    answer = await http.get("/socket.io/", params=params)
                    got += [p for p in answer.text.split("\x1e") if p != "6"]
    assert got[0].startswith("40{")
    assert got[1:] == ['431[42]', '42["seen","bye"]']
