"""Shared helpers for tests: run a socketwire server on a free loopback port, in either host."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import AsyncIterator, Mapping
from typing import Any

import uvicorn

from socketwire.hosting.asgi import ASGIApp, uvicorn_config
from socketwire.hosting.standalone import serve

HOSTINGS = ("standalone", "asgi")
TRANSPORTS = {
    "polling": ["polling"],
    "websocket": ["websocket"],
    "upgrade": ["polling", "websocket"],
}


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.asynccontextmanager
async def running(
    app: Any,
    hosting: str = "standalone",
    static_files: Mapping[str, str] | None = None,
    other_app: Any = None,
    port: int | None = None,
) -> AsyncIterator[str]:
    """Serve ``app`` (a socketwire ``Server`` or ``EngineServer``) in this event loop.

    Yields the base URL (``http://127.0.0.1:PORT``); stops the server on exit. ``port``
    (a free one by default) lets a test serve again on the port of a stopped server.
    """
    if port is None:
        port = free_port()
    if hosting == "standalone":
        server = await serve(app, "127.0.0.1", port, static_files)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            await server.close()
        return
    asgi = ASGIApp(app, other_app=other_app, static_files=static_files)
    config = uvicorn_config(asgi, "127.0.0.1", port)  # what run_asgi serves with
    userver = uvicorn.Server(config)
    task = asyncio.ensure_future(userver.serve())
    while not userver.started:
        if task.done():
            task.result()
        await asyncio.sleep(0.01)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        userver.should_exit = True
        await asyncio.wait_for(task, 10)
