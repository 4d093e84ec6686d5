"""The standalone host's listen queue holds more connects than asyncio's default (100): while
the event loop is busy, the kernel completes every handshake of a burst of 300 instead of
dropping the SYNs past 100 (each dropped one waits for the client's retransmit, 1 s later)."""

from __future__ import annotations

import asyncio
import selectors
import socket
import time

import socketwire
from socketwire.hosting.standalone import LISTEN_BACKLOG, serve

BURST = 300


def established(sockets: list[socket.socket], wait: float) -> int:
    """How many of the non-blocking connects completed within ``wait`` seconds."""
    selector = selectors.DefaultSelector()
    for s in sockets:
        selector.register(s, selectors.EVENT_WRITE)
    done = 0
    deadline = time.monotonic() + wait
    pending = len(sockets)
    while pending and time.monotonic() < deadline:
        for key, _ in selector.select(max(deadline - time.monotonic(), 0)):
            selector.unregister(key.fileobj)
            pending -= 1
            sock = key.fileobj
            assert isinstance(sock, socket.socket)
            if sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR) == 0:
                done += 1
    selector.close()
    return done


async def test_a_burst_of_connects_waits_in_the_listen_queue() -> None:
    assert LISTEN_BACKLOG > BURST
    io = socketwire.Server(serve_client=False)
    server = await serve(io, "127.0.0.1", 0)
    sockets = []
    try:
        for _ in range(BURST):
            s = socket.socket()
            s.setblocking(False)
            s.connect_ex(("127.0.0.1", server.port))
            sockets.append(s)
        # the loop does not run meanwhile: nothing is accepted, every handshake must be
        # completed by the kernel into the listen queue (well before a SYN retransmit)
        assert established(sockets, 0.8) == BURST
    finally:
        for s in sockets:
            s.close()
        await asyncio.sleep(0.05)
        await server.close()
