"""Issue 13 / R26: a server whose event loop stalls (a handler that blocks, a process the
machine does not schedule) does not drop a client whose pong arrived in time.

When the loop comes back, the expired pong deadline and the pong that arrived meanwhile are
both waiting; the deadline used to win: the timer callbacks of a loop iteration run before the
I/O is read (uvloop), or before the task step that delivers what was read (asyncio's loop, and
under ASGI in either: the message crosses uvicorn's queue to the application's task). The
session then closed with "ping timeout" although the client had answered. The client here is
a blocking socket in a thread, so it answers while the server's loop is blocked.
"""

from __future__ import annotations

import asyncio
import base64
import os
import socket
import threading
import time
from typing import Any

import pytest

import socketwire
from servers import running

STALL = 1.0  # the handler blocks the server's loop this long
PONG_DELAY = 0.1  # the client answers each ping this late (well within the timeout)


class _BlockingClient(threading.Thread):
    """A raw Engine.IO WebSocket client on a blocking socket: joins ``/``, answers every
    ping after ``PONG_DELAY``, and after the first ping it also sends ``42["stall"]`` first,
    so that the server's loop is blocked while its pong is on the way."""

    def __init__(self, port: int) -> None:
        super().__init__(daemon=True)
        self.port = port
        self.pings = 0
        self.closed_by_server = False
        self.error: BaseException | None = None
        self.stop = threading.Event()
        self.sock = socket.create_connection(("127.0.0.1", port), timeout=10)

    def _send(self, text: str) -> None:
        payload = text.encode()
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        assert len(payload) < 126
        self.sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + masked)

    def _recv_exact(self, n: int, buf: bytearray) -> bytes:
        while len(buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("server closed the connection")
            buf += chunk
        out = bytes(buf[:n])
        del buf[:n]
        return out

    def run(self) -> None:
        try:
            self._run()
        except BaseException as exc:  # reported by the test
            self.error = exc

    def _run(self) -> None:
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n"
             f"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
             f"Sec-WebSocket-Version: 13\r\n\r\n").encode())
        buf = bytearray()
        while b"\r\n\r\n" not in buf:
            buf += self.sock.recv(65536)
        head, _, rest = bytes(buf).partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 101"), head
        buf = bytearray(rest)
        self.sock.settimeout(0.2)
        while not self.stop.is_set():
            try:
                first = self._recv_exact(2, buf)
            except TimeoutError:
                continue
            self.sock.settimeout(10)
            length = first[1] & 0x7F
            if length == 126:
                length = int.from_bytes(self._recv_exact(2, buf), "big")
            payload = self._recv_exact(length, buf)
            self.sock.settimeout(0.2)
            opcode = first[0] & 0x0F
            if opcode == 0x8:
                self.closed_by_server = True
                return
            if payload.startswith(b"0{"):
                self._send("40")
            elif payload == b"2":
                self.pings += 1
                if self.pings == 1:
                    self._send('42["stall"]')  # the server blocks on this
                time.sleep(PONG_DELAY)
                self._send("3")  # arrives while the server's loop is blocked

    def close(self) -> None:
        self.stop.set()
        self.join(5)
        self.sock.close()


async def test_pong_that_arrived_while_the_loop_stalled_is_not_a_timeout(hosting: str) -> None:
    """Ping every 0.3 s, 0.4 s to answer. The client answers the first ping 0.1 s late, but
    the server's loop is blocked for 1 s from just before (a handler, as an application may
    do): the pong arrived in time and the session must survive, over the next pings too."""
    io = socketwire.Server(ping_interval=0.3, ping_timeout=0.4, connect_timeout=30)
    disconnects: list[str] = []
    stalls: list[float] = []

    def on_connection(sock: socketwire.Socket) -> None:
        sock.on("disconnect", lambda reason: disconnects.append(reason))

        @sock.on("stall")
        def stall(*args: Any) -> None:
            started = time.monotonic()
            time.sleep(STALL)  # blocks the server's event loop on purpose
            stalls.append(time.monotonic() - started)

    io.on("connection", on_connection)
    async with running(io, hosting) as url:
        client = _BlockingClient(int(url.rsplit(":", 1)[1]))
        client.start()
        try:
            deadline = time.monotonic() + 15
            while client.pings < 6 and not client.closed_by_server and client.error is None:
                if time.monotonic() > deadline:
                    pytest.fail(f"only {client.pings} pings in 15 s")
                await asyncio.sleep(0.05)
            during = list(disconnects)  # (the server's shutdown closes the session after)
        finally:
            client.close()
    assert client.error is None, client.error
    assert stalls and stalls[0] >= STALL * 0.9  # the stall did happen
    assert not client.closed_by_server and not during, during
    assert client.pings >= 6
