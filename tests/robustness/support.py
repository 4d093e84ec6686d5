"""A socketwire server instrumented for the robustness tests, and a well-behaved bystander.

Every test runs a server whose heartbeat (20 s + 20 s) and connectTimeout (30 s) are far
longer than the test's waits, so a session only closes quickly if the rule under test closes
it: a server that ignored the bad input would keep the session and fail the test.
"""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass, field
from typing import Any

from rawpeer import RS, WS, Peer

import socketwire

SLOW_HEARTBEAT: dict[str, Any] = {"ping_interval": 20.0, "ping_timeout": 20.0,
                                  "connect_timeout": 30.0}
PROMPT = 2.0  # generous bound for a close the reference does at once


@dataclass
class Record:
    """What the application's handlers saw."""

    connections: list[socketwire.Socket] = field(default_factory=list)
    disconnects: list[tuple[str, str]] = field(default_factory=list)  # (socket id, reason)
    events: list[tuple[str, Any]] = field(default_factory=list)  # on_any: (event, args)
    reserved: list[tuple[str, Any]] = field(default_factory=list)  # spoofed lifecycle names
    disconnecting: list[str] = field(default_factory=list)  # reasons given by the library


def make_server(**options: Any) -> tuple[socketwire.Server, Record]:
    """A Server with ``/`` and ``/custom``: ``echo`` is echoed, acks answer with their args;
    every handler call is recorded."""
    record = Record()
    io = socketwire.Server(**{**SLOW_HEARTBEAT, **options})

    def on_connection(socket: socketwire.Socket) -> None:
        record.connections.append(socket)

        @socket.on("disconnect")
        def disconnect(reason: str) -> None:
            record.disconnects.append((socket.id, reason))

        @socket.on("disconnecting")
        def disconnecting(reason: str) -> None:
            record.disconnecting.append(reason)

        for name in ("connect", "connect_error", "newListener", "removeListener"):
            socket.on(name, lambda *args, _n=name: record.reserved.append((_n, args)))

        @socket.on_any
        def any_event(event: str, *args: Any) -> None:
            record.events.append((event, args))

        @socket.on("echo")
        def echo(*args: Any) -> None:
            socket.emit("echo", *args)

        @socket.on("ack")
        def ack(*args: Any) -> tuple[Any, ...]:
            return args

    io.on("connection", on_connection)
    io.of("/custom").on("connection", on_connection)
    return io, record


async def ws_join(peer: Peer, nsp_packet: str = "40") -> WS:
    """A WebSocket session joined to a namespace (CONNECT reply read)."""
    ws = await peer.ws()
    reply = await ws.sio_connect(nsp_packet)
    assert reply.startswith("40") and '{"sid":' in reply, reply
    return ws


async def polling_join(peer: Peer) -> str:
    """A polling session joined to ``/`` (CONNECT reply fetched); returns its sid."""
    sid, _ = await peer.handshake()
    pushed = await peer.push(sid, "40")
    assert (pushed.status, pushed.text) == (200, "ok")
    reply = await peer.poll(sid)
    assert reply.status == 200 and reply.text.startswith('40{"sid":'), reply
    return sid


async def polling_closed(peer: Peer, sid: str) -> None:
    """The polling session ``sid`` is gone: the next GET gets 400 code 1 (a live session
    would hold the GET for the 20 s ping interval, past the wait)."""
    reply = await peer.poll(sid, timeout=PROMPT)
    if reply.status == 200 and reply.text.endswith("1"):
        reply = await peer.poll(sid, timeout=PROMPT)  # the close packet came first
    assert reply.status == 400, reply
    assert reply.json() == {"code": 1, "message": "Session ID unknown"}


async def fresh_handshake_works(peer: Peer) -> None:
    """A new polling handshake succeeds (then is closed by the client)."""
    sid, _ = await peer.handshake()
    assert (await peer.push(sid, "1")).text == "ok"


class Bystander:
    """A well-behaved client on its own WebSocket, checking it is never disturbed."""

    def __init__(self, ws: WS) -> None:
        self.ws = ws
        self.n = 0

    @classmethod
    async def join(cls, peer: Peer) -> Bystander:
        """Connect to ``/``."""
        return cls(await ws_join(peer))

    async def check(self) -> None:
        """One echo round trip."""
        self.n += 1
        await self.ws.send(f'42["echo",{self.n},"bystander"]')
        assert await self.ws.recv() == f'42["echo",{self.n},"bystander"]'


def payload(*packets: str | bytes) -> str:
    """A polling payload: text packets as they are, bytes as ``b`` + base64 messages."""
    import base64

    return RS.join(
        p if isinstance(p, str) else "b" + base64.b64encode(p).decode() for p in packets
    )


def connect_sid(reply: str) -> str:
    """The socket id in a CONNECT reply ``40[nsp,]{"sid":...}``."""
    return str(json.loads(reply[reply.index("{"):])["sid"])


async def settle() -> None:
    """Let queued callbacks run."""
    for _ in range(5):
        await asyncio.sleep(0.01)
