"""Servers for the recovery tests of socketwire's clients: socketwire with connection state
recovery (``recovery_app``) and its Node twin, tests/client/node_recovery_server.js."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import subprocess
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import socketwire
from servers import free_port, running

ROOT = Path(__file__).resolve().parents[1]
NODE_SERVER = Path(__file__).parent / "client" / "node_recovery_server.js"


def recovery_app(max_disconnection: float = 120.0, parser: str = "json") -> socketwire.Server:
    """The socketwire twin of node_recovery_server.js."""
    io = socketwire.Server(
        ping_interval=2, ping_timeout=3, parser=parser,
        connection_state_recovery=socketwire.ConnectionStateRecovery(
            max_disconnection_duration=max_disconnection),
    )

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        @socket.on("join")
        def join(room: str) -> list[str]:
            socket.join(room)
            socket.data["joined"] = room
            return sorted(socket.rooms)

        @socket.on("state")
        def state() -> dict[str, Any]:
            return {"rooms": sorted(socket.rooms), "data": socket.data,
                    "recovered": socket.recovered}

        @socket.on("send")
        def send(n: Any) -> None:
            socket.emit("ev", n)

        @socket.on("kick")
        def kick() -> None:
            socket.disconnect()  # "server namespace disconnect": not kept for recovery

        @socket.on("drop")
        def drop(room: str) -> None:
            socket.conn.close()

            def later() -> None:
                io.to(room).emit("ev", "room")
                io.emit("ev", "all")
                io.to("elsewhere").emit("ev", "not for you")

            asyncio.get_running_loop().call_later(0.05, later)

        @socket.on("drop-emit")
        def drop_emit(room: str) -> None:
            socket.conn.close()

            def later() -> None:
                socket.emit("ev", "own 1")
                io.to(room).emit("ev", "room")
                socket.volatile.emit("ev", "volatile")
                socket.emit("ev", "with ack", callback=lambda *answer: None)
                socket.emit("ev", "own 2")
                io.emit("ev", "all")

            asyncio.get_running_loop().call_later(0.05, later)

    return io


@contextlib.asynccontextmanager
async def serving(kind: str, max_disconnection: float = 120.0,
                  parser: str = "json") -> AsyncIterator[str]:
    """A recovery server of ``kind``; yields its URL."""
    if kind != "node":
        async with running(recovery_app(max_disconnection, parser), kind) as url:
            yield url
        return
    port = free_port()
    proc = subprocess.Popen(
        ["node", str(NODE_SERVER), str(port), str(int(max_disconnection * 1000)), parser],
        cwd=ROOT, stdout=subprocess.PIPE, start_new_session=True,
    )
    try:
        assert proc.stdout is not None
        line = await asyncio.to_thread(proc.stdout.readline)
        assert line.decode().startswith("listening"), line
        yield f"http://127.0.0.1:{port}"
    finally:
        if proc.poll() is None:
            os.kill(proc.pid, signal.SIGTERM)
        await asyncio.to_thread(proc.wait, 10)
        if proc.stdout is not None:
            proc.stdout.close()
