"""The classic Redis adapter with in-process socketwire servers over a real redis-server: what
goes on the wire, timeouts, bad input, outages. (Interop with Node's adapter is tested in
tests/cluster/test_cluster_classic.py.)"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from typing import Any

import orjson
import pytest
from redis.asyncio import Redis

import socketwire
from redis_support import RedisServer
from socketwire.adapters.redis import RedisAdapter, create_adapter
from socketwire.protocol import notepack
from socketwire.testing import TestClient

Pair = tuple[socketwire.Server, socketwire.Server]


def make_server(url: str, **options: Any) -> socketwire.Server:
    io = socketwire.Server(adapter=create_adapter(url, request_timeout=options.pop("rt", 1.0),
                                                  **options))

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        @socket.on("join")
        def join(room: str) -> list[str]:
            socket.join(room)
            return sorted(socket.rooms)

    return io


class Tap:
    """A raw Redis subscriber recording what the adapters publish."""

    def __init__(self, port: int) -> None:
        self.client = Redis(host="127.0.0.1", port=port)
        self.pubsub = self.client.pubsub()
        self.messages: list[tuple[str, bytes]] = []
        self._task: asyncio.Task[None] | None = None

    async def start(self, *patterns: str) -> Tap:
        await self.pubsub.psubscribe(*patterns)
        self._task = asyncio.ensure_future(self._read())
        return self

    async def _read(self) -> None:
        async for msg in self.pubsub.listen():
            if msg["type"] == "pmessage":
                self.messages.append((msg["channel"].decode(), msg["data"]))

    async def wait(self, check: Any, timeout: float = 5.0) -> list[tuple[str, bytes]]:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (found := [m for m in self.messages if check(*m)]):
            assert loop.time() < deadline, f"not published; saw {self.messages}"
            await asyncio.sleep(0.01)
        return found

    async def close(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self._task
        await self.pubsub.aclose()
        await self.client.aclose()


@pytest.fixture
async def tap(redis_server: RedisServer) -> AsyncIterator[Tap]:
    t = await Tap(redis_server.port).start("socket.io*")
    try:
        yield t
    finally:
        await t.close()


@pytest.fixture
async def pair(redis_server: RedisServer) -> AsyncIterator[Pair]:
    io1, io2 = make_server(redis_server.url), make_server(redis_server.url)
    try:
        yield io1, io2
    finally:
        await io1.shutdown()
        await io2.shutdown()


async def test_two_servers_in_one_process(pair: Pair) -> None:
    io1, io2 = pair
    async with TestClient(io1) as a, TestClient(io2) as b:
        assert await b.emit_with_ack("join", "r") == sorted(["r", b.sid or ""])
        assert await io1.of("/").adapter.server_count() == 2
        io1.to("r").emit("to-r", b"\x00bin", {"n": 1.5})
        assert await b.wait_for("to-r") == [b"\x00bin", {"n": 1.5}]
        io2.emit("all", 1)
        assert await a.wait_for("all") == [1]
        assert await b.wait_for("all") == [1]
        assert ("to-r", [b"\x00bin", {"n": 1.5}]) not in a.received


async def test_wire_format_as_node(pair: Pair,
                                   tap: Tap) -> None:
    io1, _ = pair
    async with TestClient(io1):
        adapter = io1.of("/").adapter
        assert isinstance(adapter, RedisAdapter) and len(adapter.uid) == 6
        io1.to("r").except_("e").volatile.emit("ev", 1, b"\x01")
        (channel, payload), = await tap.wait(lambda c, p: c == "socket.io#/#r#")
        assert notepack.loads(payload) == [
            adapter.uid, {"type": 2, "data": ["ev", 1, b"\x01"], "nsp": "/"},
            {"rooms": ["r"], "except": ["e"], "flags": {"volatile": True}}]
        io1.to(["a", "b"]).emit("two")
        _, payload = (await tap.wait(lambda c, p: c == "socket.io#/#" and b"two" in p))[0]
        uid, packet, opts = notepack.loads(payload)
        assert packet == {"type": 2, "data": ["two"], "nsp": "/"}
        assert sorted(opts["rooms"]) == ["a", "b"] and opts["except"] == [] and opts["flags"] == {}
        io1.local.emit("local")  # not published at all
        io1.in_("x").sockets_join("j")
        _, payload = (await tap.wait(lambda c, p: c == "socket.io-request#/#"))[0]
        assert orjson.loads(payload) == {"uid": adapter.uid, "type": 2,
                                         "opts": {"rooms": ["x"], "except": []}, "rooms": ["j"]}
        io1.server_side_emit("hello", {"a": 1})
        _, payload = (await tap.wait(lambda c, p: b"hello" in p))[0]
        assert orjson.loads(payload) == {"uid": adapter.uid, "type": 6, "data": ["hello", {"a": 1}]}
        assert not [m for m in tap.messages if b"local" in m[1]]


async def test_requests_time_out_with_node_messages(redis_server: RedisServer) -> None:
    io = make_server(redis_server.url, rt=0.3)
    silent = Redis(host="127.0.0.1", port=redis_server.port)
    pubsub = silent.pubsub()
    await pubsub.subscribe("socket.io-request#/#")  # counts as a server, never answers
    try:
        async with TestClient(io):
            assert await io.of("/").adapter.server_count() == 2
            with pytest.raises(socketwire.ClusterTimeout,
                               match="^timeout reached while waiting for fetchSockets response$"):
                await io.fetch_sockets()
            with pytest.raises(socketwire.ClusterTimeout,
                               match="^timeout reached while waiting for allRooms response$"):
                await io.of("/").adapter.all_rooms()
            with pytest.raises(socketwire.ClusterTimeout) as info:
                await io.timeout(0.3).server_side_emit_with_ack("anyone")
            assert str(info.value) == "timeout reached: only 0 responses received out of 1"
            assert info.value.responses == [] and info.value.expected == 1
            # the broadcast's own timeout for fetch_sockets
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(socketwire.ClusterTimeout):
                await io.timeout(0.1).fetch_sockets()
            assert loop.time() - started < 0.3
    finally:
        await pubsub.aclose()
        await silent.aclose()
        await io.shutdown()


async def test_bad_input_is_ignored_with_a_warning(
    pair: Pair, redis_server: RedisServer,
    caplog: pytest.LogCaptureFixture,
) -> None:
    io1, io2 = pair
    raw = Redis(host="127.0.0.1", port=redis_server.port)
    try:
        async with TestClient(io1) as a, TestClient(io2):
            for channel, payload in [
                ("socket.io#/#", b"\xc1"), ("socket.io#/#", notepack.dumps({"not": "a list"})),
                ("socket.io#/#", notepack.dumps(["x", {"type": 2, "data": "nope"}])),
                ("socket.io-request#/#", b"{bad json"), ("socket.io-request#/#", b"[1,2]"),
                ("socket.io-request#/#", b'{"type": 5}'), ("socket.io-request#/#", b'{"type": 99}'),
                ("socket.io-request#/#", b'{"type": 2, "opts": "x", "rooms": 5}'),
                ("socket.io-response#/#", b'{"requestId": 5}'), ("socket.io-response#/#", b"\x00"),
            ]:
                await raw.publish(channel, payload)
            io2.emit("still-fine")
            assert await a.wait_for("still-fine") == []
    finally:
        await raw.aclose()
    assert any("malformed" in r.getMessage() for r in caplog.records
               if r.levelno == logging.WARNING)


async def test_emitter_and_legacy_messages(pair: Pair,
                                           redis_server: RedisServer) -> None:
    io1, _ = pair
    raw = Redis(host="127.0.0.1", port=redis_server.port)
    try:
        async with TestClient(io1) as a:
            sid = a.sid or ""
            # @socket.io/redis-emitter: uid "emitter"; requests without uid
            await raw.publish("socket.io#/#", notepack.dumps(
                ["emitter", {"type": 2, "data": ["from-emitter", 1], "nsp": "/"},
                 {"rooms": [], "flags": {}, "except": []}]))
            assert await a.wait_for("from-emitter") == [1]
            await raw.publish("socket.io-request#/#", orjson.dumps(
                {"type": 2, "opts": {"rooms": [sid], "except": []}, "rooms": ["via-emitter"]}))
            sock = io1.of("/").sockets[sid]
            await wait(lambda: "via-emitter" in sock.rooms)
            # the legacy per-socket form answers on the response channel
            await raw.publish("socket.io-request#/#", orjson.dumps(
                {"requestId": "legacy", "type": 3, "sid": sid, "room": "via-emitter"}))
            await wait(lambda: "via-emitter" not in sock.rooms)
            # a packet without nsp counts as "/"
            await raw.publish("socket.io#/#", notepack.dumps(
                ["emitter", {"type": 2, "data": ["no-nsp"]}, {"rooms": [], "except": []}]))
            assert await a.wait_for("no-nsp") == []
    finally:
        await raw.aclose()


async def wait(check: Any, timeout: float = 5.0) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not check():
        assert loop.time() < deadline
        await asyncio.sleep(0.01)


async def test_namespaces_share_one_connection(redis_server: RedisServer) -> None:
    io = make_server(redis_server.url)
    io.of("/chat")
    try:
        async with TestClient(io, namespaces=["/", "/chat"]):
            adapters = [io.of("/").adapter, io.of("/chat").adapter]
            assert isinstance(adapters[0], RedisAdapter) and isinstance(adapters[1], RedisAdapter)
            assert adapters[0].conn is adapters[1].conn
            subs = adapters[0].conn.subscriptions()
            assert "socket.io-request#/chat#" in subs["channels"]
            assert subs["patterns"] == ["socket.io#/#*", "socket.io#/chat#*"]
            for nsp in ("/", "/chat"):
                assert await io.of(nsp).adapter.server_count() == 1
    finally:
        await io.shutdown()
    assert not adapters[0].conn.available  # closed with the last namespace


async def test_redis_down_local_delivery_and_fast_errors(redis_server: RedisServer) -> None:
    io = make_server(redis_server.url, rt=5.0)
    try:
        async with TestClient(io) as a:
            conn = io.of("/").adapter.conn  # type: ignore[attr-defined]
            redis_server.stop()
            await wait(lambda: not conn.available)
            loop = asyncio.get_running_loop()
            started = loop.time()
            with pytest.raises(socketwire.ClusterTimeout, match="Redis is unreachable"):
                await io.fetch_sockets()
            with pytest.raises(socketwire.ClusterTimeout, match="Redis is unreachable"):
                await io.timeout(5).server_side_emit_with_ack("x")
            assert loop.time() - started < 1.0  # at once, not after request_timeout
            assert await io.of("/").adapter.server_count() == 1
            io.emit("local-still-works", 1)
            assert await a.wait_for("local-still-works") == [1]
            io.in_(a.sid or "").sockets_join("down-join")  # applied here at once
            assert "down-join" in io.of("/").sockets[a.sid or ""].rooms
            assert conn.stats.dropped >= 2
    finally:
        await io.shutdown()
