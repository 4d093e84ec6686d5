"""An ASGI app for the hosting tests: socketwire mounted beside FastAPI routes and static files.

Served by uvicorn, hypercorn and granian as ``asgi_app:app`` from this folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI

import socketwire

STATIC = Path(__file__).parent / "static"

io = socketwire.Server()


@io.on("connection")
def connection(socket: socketwire.Socket) -> None:
    """Echo and ack handlers."""

    @socket.on("echo")
    def echo(*args: Any) -> None:
        socket.emit("echo", *args)

    @socket.on("sum")
    def total(*numbers: int) -> int:
        return sum(numbers)


api = FastAPI()


@api.get("/api/hello")
def hello() -> dict[str, Any]:
    """A plain FastAPI route next to Socket.IO."""
    return {"hello": "world", "sockets": len(io.sockets.sockets)}


app = io.asgi_app(other_app=api, static_files={"/static": str(STATIC)})
