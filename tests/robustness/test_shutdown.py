"""R32 / issue 13: a graceful shutdown loses nothing already accepted for sending.

Polling clients are mid-conversation (a GET pending, or between two GETs) when the server
emits a burst to each of them and then shuts down at once: every message emitted before the
shutdown must reach its client, in order, in both hosts; by the host's own stop
(standalone) and by ``Server.close()``.
"""

from __future__ import annotations

import asyncio
import json

import aiohttp
from rawpeer import RS, Peer
from support import make_server, polling_join

import socketwire
from servers import running

CLIENTS = 20
MESSAGES = 200  # per client: more than one long-poll answer holds while open (16 packets)


async def _poller(peer: Peer, sid: str, got: list[int]) -> None:
    while True:
        try:
            reply = await peer.poll(sid, timeout=5)
        except (aiohttp.ClientError, TimeoutError, OSError):
            return
        if reply.status != 200:
            return
        for packet in reply.text.split(RS):
            if packet.startswith("42"):
                got.append(json.loads(packet[2:])[1])
            elif packet in ("1", "6"):
                return


async def test_server_close_delivers_what_was_buffered(hosting: str) -> None:
    await _burst_then_shutdown(hosting, "io.close")


async def test_standalone_stop_delivers_what_was_buffered() -> None:
    """The standalone host's own stop (``StandaloneServer.close``, what SIGTERM runs)."""
    await _burst_then_shutdown("standalone", "host stop")


async def _burst_then_shutdown(hosting: str, how: str) -> None:
    io, record = make_server()
    received: dict[str, list[int]] = {}
    async with aiohttp.ClientSession() as http:
        async with running(io, hosting) as url:
            peer = Peer(url + "/socket.io/", http)
            sids = [await polling_join(peer) for _ in range(CLIENTS)]
            received = {sid: [] for sid in sids}
            tasks = [asyncio.create_task(_poller(peer, sid, received[sid])) for sid in sids]
            await asyncio.sleep(0.2)  # every client has a GET pending
            sockets: list[socketwire.Socket] = list(record.connections)
            for i in range(MESSAGES):
                for socket in sockets:
                    socket.emit("n", i)
                if i == MESSAGES // 2:
                    await asyncio.sleep(0)  # some answers leave mid-burst
            if how == "io.close":
                await io.close()
        await asyncio.wait_for(asyncio.gather(*tasks), 10)
    lost = {sid: MESSAGES - len(got) for sid, got in received.items()
            if got != list(range(MESSAGES))}
    assert not lost, f"lost per client: {lost}"
