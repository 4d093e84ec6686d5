"""Connect/disconnect cycles leave nothing behind (R25); ack timeouts and late acks (R29)."""

from __future__ import annotations

import asyncio
import random
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from rawpeer import WS, Peer
from support import PROMPT, make_server, polling_join, ws_join

import socketwire
from servers import running
from socketwire import handlers
from socketwire.exceptions import AckTimeout, ConnectionRefused, Disconnected

CYCLES = 300


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    """A plain HTTP client."""
    async with aiohttp.ClientSession() as session:
        yield session


def _socketwire_timers(loop: asyncio.AbstractEventLoop) -> list[asyncio.TimerHandle]:
    """Live timers whose callback is socketwire code (the hosts' own timers aside)."""
    return [
        h for h in getattr(loop, "_scheduled", [])
        if not h.cancelled()
        and str(getattr(h._callback, "__module__", "")).startswith("socketwire")
        # the standalone host's keep-alive timers of the client's pooled HTTP connections
        and not str(getattr(h._callback, "__module__", "")).startswith("socketwire.hosting")
    ]


async def _echoed(ws: WS, text: str) -> None:
    """Send an echo and wait for it, skipping the server's unanswered questions."""
    await ws.send(f'42["echo",{text}]')
    while (msg := await ws.recv()) != f'42["echo",{text}]':
        assert isinstance(msg, str) and msg.endswith('["question"]'), msg


async def _cycle(peer: Peer, kind: str) -> None:
    if kind == "websocket":
        ws = await ws_join(peer)
        await _echoed(ws, "1")
        await (ws.send("41") if random.random() < 0.5 else ws.conn.close())
        await ws.conn.close()
    elif kind == "upgrade":
        sid = await polling_join(peer)
        ws = await peer.ws(f"EIO=4&transport=websocket&sid={sid}")
        await ws.send("2probe")
        assert await ws.recv() == "3probe"
        await ws.send("5")
        await _echoed(ws, "2")
        await ws.conn.close()
    elif kind == "aborted handshake":
        ws = await peer.ws()
        await ws.open_info()
        await ws.conn.close()
    elif kind == "refused":
        ws = await peer.ws()
        await ws.open_info()
        await ws.send('40{"refuse":true}')
        assert await ws.recv() == '44{"message":"refused"}'
        await ws.conn.close()
    else:  # killed mid-upgrade: the polling session goes on, then the client closes it
        sid = await polling_join(peer)
        ws = await peer.ws(f"EIO=4&transport=websocket&sid={sid}")
        await ws.send("2probe")
        assert await ws.recv() == "3probe"
        ws.conn.transport.abort()
        await asyncio.sleep(0.02)
        assert (await peer.push(sid, "1")).text == "ok"


KINDS = (["websocket"] * 4 + ["upgrade"] * 3 + ["aborted handshake", "refused",
                                                  "killed mid-upgrade"])


async def test_connect_disconnect_cycles_leave_nothing_behind(
    hosting: str, http: aiohttp.ClientSession
) -> None:
    """R25: sessions, sockets, rooms, acks, pending binary, handler tasks and timers are all
    back to their baseline after 300 mixed cycles."""
    io, record = make_server()

    @io.use
    def refuse(socket: socketwire.Socket) -> None:
        if socket.handshake.auth.get("refuse"):
            raise ConnectionRefused("refused")

    @io.on("connection")
    def on_connection(socket: socketwire.Socket) -> None:
        socket.join(["room-a", f"room-{socket.id}"])
        socket.emit("question", callback=lambda *a: None)  # never answered
        socket.timeout(60).emit("question", callback=lambda *a: None)  # nor this one

    async with running(io, hosting) as url:
        peer = Peer(url + "/socket.io/", http)
        loop = asyncio.get_running_loop()
        await asyncio.sleep(0.1)
        base_tasks = len(asyncio.all_tasks())
        rng = random.Random(25)
        try:
            probe = await ws_join(peer)
            assert _socketwire_timers(loop)  # the helper does see a live session's timers
            await probe.conn.close()
            for _ in range(CYCLES // 10):
                kinds = [rng.choice(KINDS) for _k in range(10)]
                await asyncio.gather(*(_cycle(peer, k) for k in kinds))
            for _ in range(100):
                if not io.engine.sessions:
                    break
                await asyncio.sleep(0.05)
        finally:
            await peer.close()
        await asyncio.sleep(0.1)
        assert not io.engine.sessions
        for nsp in io.namespaces.values():
            assert not nsp.sockets, nsp
            assert not nsp.adapter.rooms and not nsp.adapter.sids, nsp
        for socket in record.connections:
            assert not socket.connected and not socket._acks
            assert not socket.client.sockets and not socket.client.decoder.waiting
        assert not handlers._tasks
        assert len(asyncio.all_tasks()) <= base_tasks + 1
        assert not _socketwire_timers(loop)
        assert len(record.disconnects) == len(record.connections) >= CYCLES // 2


async def test_ack_timeouts_and_late_acks(hosting: str, http: aiohttp.ClientSession) -> None:
    """R29: unanswered acks time out and leave the ack map empty; late and unknown acks are
    ignored; a pending ack fails with Disconnected when the socket leaves."""
    io, record = make_server()
    async with running(io, hosting) as url:
        peer = Peer(url + "/socket.io/", http)
        try:
            ws = await ws_join(peer)
            target = record.connections[-1]
            results: list[Any] = []
            for i in range(200):
                target.timeout(0.3).emit("q", i, callback=lambda err, *a: results.append(err))
            ids = []
            for _ in range(200):
                packet = await ws.recv()
                assert isinstance(packet, str) and packet.startswith("42")
                ids.append(int(packet[2:packet.index("[")]))
            assert ids == list(range(200))
            for _ in range(60):
                if len(results) == 200:
                    break
                await asyncio.sleep(0.05)
            assert len(results) == 200 and all(isinstance(e, AckTimeout) for e in results)
            assert not target._acks
            # late, unknown and duplicate acks are ignored
            for late in ("430[]", "43199[1]", "439999[]"):
                await ws.send(late)
            answered = asyncio.ensure_future(target.emit_with_ack("q2"))
            packet = await ws.recv()
            ack_id = packet[2:packet.index("[")]
            await ws.send(f'43{ack_id}["yes"]')
            await ws.send(f'43{ack_id}["again"]')
            assert await asyncio.wait_for(answered, PROMPT) == "yes"
            await ws.send('42["echo","alive"]')
            assert await ws.recv() == '42["echo","alive"]'
            assert not target._acks and results.count(None) == 0
            # a pending ack fails when the socket disconnects
            pending = asyncio.ensure_future(target.emit_with_ack("q3"))
            await ws.recv()
            await ws.send("41")
            with pytest.raises(Disconnected):
                await asyncio.wait_for(pending, PROMPT)
            assert not target._acks
            # an ack after leaving the namespace is a packet for an unjoined one: closed
            await ws.send(f"43{int(ack_id) + 1}[]")
            assert await ws.closed(timeout=PROMPT) == []
        finally:
            await peer.close()
