"""Connection state recovery seen from socketwire's AsyncClient and blocking Client, against
socketwire (both hosts) and the official Node socket.io 4.8 server with
``connectionStateRecovery``.

The server drops the connection on request (``socket.conn.close()``: a recoverable "forced
close") and emits meanwhile; the client reconnects with the same id, rooms and data, and gets
every missed event once, in order, before ``connect``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

import pytest

import socketwire
from recovery_support import serving

TARGETS = ("standalone", "asgi", "node")
FAST = {"reconnection_delay": 0.3, "reconnection_delay_max": 0.3, "randomization_factor": 0}


class Timeline:
    """What a client saw, in order: ``("connect", recovered, sid)`` and ``("ev", value)``."""

    def __init__(self, client: socketwire.AsyncClient) -> None:
        self.items: list[tuple[Any, ...]] = []
        self.changed = asyncio.Event()
        client.on("connect", lambda: self._add("connect", client.recovered, client.sid))
        client.on("ev", lambda value: self._add("ev", value))

    def _add(self, *item: Any) -> None:
        self.items.append(item)
        self.changed.set()

    async def wait_for(self, check: Callable[[], bool], timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while not check():
                self.changed.clear()
                await self.changed.wait()

    def connects(self) -> list[tuple[Any, ...]]:
        return [i for i in self.items if i[0] == "connect"]


@pytest.mark.parametrize("kind", TARGETS)
@pytest.mark.parametrize("transport", ["polling", "websocket", "upgrade"])
async def test_asyncclient_recovers(clients: Any, kind: str, transport: str) -> None:
    async with serving(kind) as url:
        client = clients(**FAST)
        seen = Timeline(client)
        transports = ["polling", "websocket"] if transport == "upgrade" else [transport]
        await client.connect(url, transports=transports)
        sid = client.sid
        assert client.recovered is False
        assert await client.emit_with_ack("join", "room1") == sorted([sid, "room1"])
        client.emit("send", 1)
        await seen.wait_for(lambda: ("ev", 1) in seen.items)
        client.emit("drop", "room1")
        await seen.wait_for(lambda: len(seen.connects()) == 2)
        assert seen.items == [
            ("connect", False, sid), ("ev", 1), ("ev", "room"), ("ev", "all"),
            ("connect", True, sid),
        ]
        state = await client.emit_with_ack("state")
        assert state == {"rooms": sorted([sid, "room1"]), "data": {"joined": "room1"},
                         "recovered": True}
        client.emit("send", 2)
        await seen.wait_for(lambda: ("ev", 2) in seen.items)
        assert [i[1] for i in seen.items if i[0] == "ev"] == [1, "room", "all", 2]


@pytest.mark.parametrize("kind", TARGETS)
async def test_the_dropped_sockets_own_emits_are_replayed(clients: Any, kind: str) -> None:
    # socket.emit on the server's socket after its connection dropped: as Node 4.6+, kept
    # and replayed in order with the broadcasts; volatile and with-ack emits are not
    async with serving(kind) as url:
        client = clients(**FAST)
        seen = Timeline(client)
        await client.connect(url)
        sid = client.sid
        await client.emit_with_ack("join", "room1")
        client.emit("send", 1)
        await seen.wait_for(lambda: ("ev", 1) in seen.items)
        client.emit("drop-emit", "room1")
        await seen.wait_for(lambda: len(seen.connects()) == 2)
        assert seen.items == [
            ("connect", False, sid), ("ev", 1), ("ev", "own 1"), ("ev", "room"),
            ("ev", "own 2"), ("ev", "all"), ("connect", True, sid),
        ]


@pytest.mark.parametrize("kind", TARGETS)
async def test_asyncclient_recovers_with_the_msgpack_parser(clients: Any, kind: str) -> None:
    # socket.io-msgpack-parser on the Node server; offsets and missed events as with JSON
    async with serving(kind, parser="msgpack") as url:
        client = clients(parser="msgpack", **FAST)
        seen = Timeline(client)
        await client.connect(url)
        sid = client.sid
        assert await client.emit_with_ack("join", "room1") == sorted([sid, "room1"])
        client.emit("send", 1)
        await seen.wait_for(lambda: ("ev", 1) in seen.items)
        client.emit("drop-emit", "room1")
        await seen.wait_for(lambda: len(seen.connects()) == 2)
        assert seen.items == [
            ("connect", False, sid), ("ev", 1), ("ev", "own 1"), ("ev", "room"),
            ("ev", "own 2"), ("ev", "all"), ("connect", True, sid),
        ]
        state = await client.emit_with_ack("state")
        assert state == {"rooms": sorted([sid, "room1"]), "data": {"joined": "room1"},
                         "recovered": True}


@pytest.mark.parametrize("kind", TARGETS)
async def test_no_event_before_the_drop(clients: Any, kind: str) -> None:
    # beyond Node: socketwire restores a socket that had no offset to send; Node cannot
    async with serving(kind) as url:
        client = clients(**FAST)
        seen = Timeline(client)
        await client.connect(url)
        sid = client.sid
        await client.emit_with_ack("join", "room1")
        client.emit("drop", "room1")
        await seen.wait_for(lambda: len(seen.connects()) == 2)
        if kind == "node":
            assert seen.connects()[1][1] is False and client.sid != sid
        else:
            assert seen.items == [
                ("connect", False, sid), ("ev", "room"), ("ev", "all"), ("connect", True, sid),
            ]


@pytest.mark.parametrize("kind", TARGETS)
async def test_refused_after_max_disconnection_duration(clients: Any, kind: str) -> None:
    async with serving(kind, max_disconnection=0.1) as url:
        client = clients(**FAST)
        seen = Timeline(client)
        await client.connect(url)
        sid = client.sid
        await client.emit_with_ack("join", "room1")
        client.emit("send", 1)
        await seen.wait_for(lambda: ("ev", 1) in seen.items)
        client.emit("drop", "room1")
        await seen.wait_for(lambda: len(seen.connects()) == 2)
        again = seen.connects()[1]
        assert again[1] is False and again[2] != sid
        assert ("ev", "room") not in seen.items
        state = await client.emit_with_ack("state")
        assert state["rooms"] == [client.sid] and state["recovered"] is False


@pytest.mark.parametrize("kind", TARGETS)
@pytest.mark.parametrize("how", ["client", "server"])
async def test_deliberate_disconnects_are_not_recovered(clients: Any, kind: str,
                                                        how: str) -> None:
    # as Node: only transport failures, ping timeouts and forced closes keep the session
    async with serving(kind) as url:
        client = clients(**FAST)
        seen = Timeline(client)
        await client.connect(url)
        sid = client.sid
        await client.emit_with_ack("join", "room1")
        client.emit("send", 1)
        await seen.wait_for(lambda: ("ev", 1) in seen.items)
        if how == "client":
            await client.socket().disconnect()  # "client namespace disconnect"
            await client.wait()
        else:
            client.emit("kick")  # "server namespace disconnect": the client stops
            await asyncio.wait_for(client.wait(), 10)
        await client.connect(url)  # asks for its session: refused
        assert client.recovered is False and client.sid != sid
        state = await client.emit_with_ack("state")
        assert state["rooms"] == [client.sid] and state["recovered"] is False


async def test_blocking_client_recovers() -> None:
    async with serving("standalone") as url:
        def scenario() -> tuple[list[Any], Any, str | None, str | None]:
            client = socketwire.Client(**FAST)
            got: list[Any] = []
            client.on("ev", got.append)
            client.connect(url)
            try:
                first = client.sid
                client.emit_with_ack("join", "room1")
                client.emit("send", 1)
                client.emit("drop", "room1")
                for _ in range(200):
                    if len(got) >= 3 and client.connected:
                        break
                    time.sleep(0.02)
                return got, client.emit_with_ack("state"), first, client.sid
            finally:
                client.disconnect()

        got, state, first, last = await asyncio.to_thread(scenario)
        assert got == [1, "room", "all"]
        assert first == last and state["recovered"] is True
