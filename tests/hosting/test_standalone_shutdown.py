"""The standalone host's close(): no TCP connection outlives it, not even one whose peer has
stopped reading while data was still on its way."""

from __future__ import annotations

import asyncio
import socket as pysocket

import socketwire
from servers import free_port
from socketwire.hosting.standalone import serve
from socketwire.hosting.websocket import WebSocketProtocol

UPGRADE = (
    b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
)


async def test_close_ends_a_websocket_whose_peer_stopped_reading() -> None:
    """A WebSocket with megabytes the peer never reads is aborted by close(), which returns
    with no connection left (a plain transport close would wait for the peer forever and
    leave the socket to the garbage collector)."""
    io = socketwire.Server(ping_interval=20.0, ping_timeout=20.0)
    port = free_port()
    server = await serve(io, "127.0.0.1", port)
    sock = pysocket.socket()
    sock.setsockopt(pysocket.SOL_SOCKET, pysocket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    loop = asyncio.get_running_loop()
    try:
        await loop.sock_connect(sock, ("127.0.0.1", port))
        await loop.sock_sendall(sock, UPGRADE)
        head = b""
        while b"\r\n\r\n" not in head:
            head += await asyncio.wait_for(loop.sock_recv(sock, 1), 5)
        assert head.startswith(b"HTTP/1.1 101")
        for _ in range(100):  # the protocol swap happens right after the 101 is written
            sockets = [c for c in server.connections if isinstance(c, WebSocketProtocol)]
            if sockets:
                break
            await asyncio.sleep(0.01)
        [ws] = sockets
        # far more than the kernel's buffers on both sides hold: the rest waits in ours
        ws.send(b"x" * (32 * 1024 * 1024))
        await asyncio.sleep(0.05)
        assert ws.transport.get_write_buffer_size() > 0
        await asyncio.wait_for(server.close(), 5)
        assert not server.connections
        assert ws.transport.is_closing()
        # the peer sees the connection end once it reads what reached it
        ended = False
        while not ended:
            try:
                ended = not await asyncio.wait_for(loop.sock_recv(sock, 1 << 20), 5)
            except ConnectionResetError:
                ended = True
    finally:
        sock.close()
