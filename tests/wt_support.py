"""Shared by the WebTransport tests (browser, Python client, HTTP/3 host): a standalone server
with HTTP/3 on a free port pair, and the tutorial's handlers they all exercise."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from typing import Any

from servers import free_port
from socketwire import Server, Socket
from socketwire.hosting.standalone import StandaloneServer, serve


@contextlib.asynccontextmanager
async def http3_server(io: Server) -> AsyncIterator[StandaloneServer]:
    """``io`` served over TCP and HTTP/3 (UDP) on the same free port number."""
    for _ in range(5):  # the UDP port of the TCP port's number may be taken: try another
        try:
            server = await serve(io, "127.0.0.1", free_port(), http3=True)
        except OSError:
            continue
        break
    else:
        raise RuntimeError("no port free for both TCP and UDP")
    try:
        yield server
    finally:
        await server.close()


def tutorial_handlers(io: Server, socket: Socket) -> None:
    """echo, ack, join, to-room, broadcast and ask-client (a server-to-client ack)."""
    @socket.on("echo")
    def echo(*args: Any) -> None:
        socket.emit("echo", *args)

    @socket.on("ack")
    def ack(*args: Any, ack: Any) -> None:
        ack(*args)

    @socket.on("join")
    def join(room: str, *, ack: Any) -> None:
        socket.join(room)
        ack()

    @socket.on("to-room")
    def to_room(room: str, *args: Any) -> None:
        io.to(room).emit("room", room, *args)

    @socket.on("broadcast")
    def broadcast(*args: Any) -> None:
        socket.broadcast.emit("broadcast", *args)

    @socket.on("ask-client")
    async def ask_client(question: Any) -> None:
        socket.emit("answer", await socket.timeout(5).emit_with_ack("question", question))
