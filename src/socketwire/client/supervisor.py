"""The one task that keeps an :class:`~socketwire.client.client.AsyncClient` connected: it
opens the Engine.IO session, connects the active namespaces, waits for the session to end
and, if reconnection is on, waits a backoff delay and tries again (socket.io-client's
``Manager`` reconnection, with its events)."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from ..exceptions import ConnectError
from ..protocol.reasons import Reason

if TYPE_CHECKING:
    from .client import AsyncClient
    from .transports import EngineConnection

__all__ = ["supervise"]


async def supervise(client: AsyncClient, retry: bool) -> None:
    """Connect, serve and reconnect until the client stops or gives up. ``retry``: keep
    trying even the first connection, as reconnections do."""
    error = ConnectError(Reason.IO_CLIENT_DISCONNECT)
    first = True
    attempts = 0
    events = client.io
    try:
        while not client._stopping:
            client._decoder = client.parser.decoder(client.max_attachments)
            failed = False
            try:
                engine = await client._open_engine()
            except ConnectError as exc:
                error = exc
                if not _connect_failed(client, exc, give_up=first and not retry):
                    return
                failed = True
            else:
                if not first:
                    events._fire("reconnect", attempts)
                attempts = 0
                error = ConnectError(await _session(client, engine))
                if not client.reconnection or client._stopping or not client._any_active():
                    return
            first = False
            attempts += 1
            if not await _wait_to_retry(client, attempts, retry, failed, error):
                return
    finally:
        await _stopped(client, error)


def _connect_failed(client: AsyncClient, exc: ConnectError, give_up: bool) -> bool:
    """Tell the listeners the connection failed; ``False`` when the client gives up."""
    client.io._fire("error", exc)
    for sock in list(client.sockets.values()):
        if sock.active:
            sock._events.fire("connect_error", exc)
    if give_up:
        for sock in list(client.sockets.values()):
            sock._settle(exc)
        return False
    return True


async def _session(client: AsyncClient, engine: EngineConnection) -> str:
    """Serve one session from open to close; returns why it closed."""
    events = client.io
    client.backoff.reset()
    engine.on_ping = lambda: events._fire("ping")
    events._fire("open")
    reason = await serve(client, engine)
    events._fire("close", reason)
    return reason


async def _wait_to_retry(client: AsyncClient, attempts: int, retry: bool, failed: bool,
                         error: ConnectError) -> bool:
    """The backoff delay before attempt ``attempts``; ``False`` when out of attempts."""
    events = client.io
    if attempts > client.reconnection_attempts or not (client.reconnection or retry):
        events._fire("reconnect_failed")
        if failed and attempts > 1:
            events._fire("reconnect_error", error)
        return False
    if failed and attempts > 1:
        events._fire("reconnect_error", error)
    await asyncio.sleep(client.backoff.duration())
    if not client._stopping:
        events._fire("reconnect_attempt", attempts)
    return True


async def _stopped(client: AsyncClient, error: ConnectError) -> None:
    """The supervisor ends: the session goes, every namespace is disconnected."""
    client._stopping = True
    current = client._engine
    if current is not None:
        current.abort()
        await current.wait_closed()
    for sock in list(client.sockets.values()):
        sock.active = False
        sock._on_close(Reason.IO_CLIENT_DISCONNECT)
        sock._settle(error)


async def serve(client: AsyncClient, engine: EngineConnection) -> str:
    """Use ``engine`` until it closes (connecting the active namespaces first); returns why
    it closed."""
    client._engine = engine
    engine.closed.add_done_callback(lambda fut: _engine_closed(client, engine, fut.result()))
    try:
        for sock in list(client.sockets.values()):
            if sock.active and not sock.connected and engine.is_open:
                await client._send_connect(engine, sock)
        return await asyncio.shield(engine.closed)
    finally:
        if engine.is_open:
            engine.abort()
        await engine.wait_closed()
        if client._engine is engine:
            client._engine = None


def _engine_closed(client: AsyncClient, engine: EngineConnection, reason: str) -> None:
    if client._engine is engine:
        client._engine = None
    for sock in list(client.sockets.values()):
        sock._on_close(reason)
