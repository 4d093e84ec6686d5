"""Connection state recovery with the official socket.io-client 4.8 (Node) against socketwire.

The client's transport is dropped; the server emits meanwhile; the client comes back with the
same socket id, rooms and ``data``, and receives every missed event once, in order, before its
``connect`` event. Also: recovery refused once ``max_disconnection_duration`` has passed,
``skip_middlewares`` both ways, and (beyond Node) a socket that was never sent an event.
"""

from __future__ import annotations

import asyncio
from typing import Any

import interop_support
import pytest
from interop_support import Seen, install_basics
from jsdriver import JsDriver

import socketwire
from servers import TRANSPORTS

pytestmark = [pytest.mark.node, pytest.mark.asyncio(loop_scope="module")]

transports = pytest.mark.parametrize("transport", list(TRANSPORTS))
# reconnect quickly and predictably
FAST = {"reconnectionDelay": 100, "reconnectionDelayMax": 100, "randomizationFactor": 0}


def recovering_server(**settings: Any) -> tuple[socketwire.Server, Seen]:
    io = socketwire.Server(
        connection_state_recovery=socketwire.ConnectionStateRecovery(**settings)
    )
    seen = Seen()
    install_basics(io, seen)

    @io.on("connection")
    def remember(socket: socketwire.Socket) -> None:
        seen.add("recovered", socket.id, socket.recovered)

        @socket.on("set data")
        def set_data(value: Any) -> str:
            socket.data["value"] = value
            return "ok"

        @socket.on("get data")
        def get_data() -> Any:
            return socket.data

    return io, seen


def timeline(js: JsDriver, c: str) -> list[Any]:
    """What client ``c`` saw, in order: ``("connect", recovered)`` and ``("ev", n)``."""
    out: list[Any] = []
    for m in js.log:
        if m.get("c") != c:
            continue
        if m["kind"] == "connect":
            out.append(("connect", m["recovered"]))
        elif m["kind"] == "event" and m["event"] == "ev":
            out.append(("ev", m["args"][0]))
    return out


async def drop_and_wait(js: JsDriver, seen: Seen, c: str, count: int) -> None:
    """Close client ``c``'s Engine.IO connection; wait until the server saw it go."""
    await js.call("close_transport", c=c)
    await seen.wait("disconnect", count)


@transports
async def test_recovery_restores_id_rooms_data_and_missed_events(
    js: JsDriver, hosting: str, transport: str
) -> None:
    io, seen = recovering_server()
    async with interop_support.serving(io, hosting, js.reset) as url:
        info = await js.connect("a", url, transport, **FAST)
        other = await js.connect("b", url, transport, **FAST)
        sid = info["id"]
        assert info["recovered"] is False
        await js.emit_ack("a", "join", "room1")
        assert (await js.emit_ack("a", "set data", 42))["args"] == ["ok"]
        io.to(sid).emit("ev", 1)
        await js.wait("a", "event", "ev")

        await drop_and_wait(js, seen, "a", 1)
        [(gone, reason)] = seen.of("disconnect")
        assert (gone, reason) == (sid, "transport close")
        # missed meanwhile: to its room, to everyone, to it alone; not the others' events
        io.to("room1").emit("ev", 2)
        io.emit("ev", 3)
        io.to(sid).emit("ev", 4)
        io.to(other["id"]).emit("ev", 99)
        io.except_("room1").emit("ev", 98)

        await js.wait("a", "connect", count=2)
        again = js.events("a", "connect")[1]
        assert again["id"] == sid and again["recovered"] is True
        assert timeline(js, "a") == [
            ("connect", False), ("ev", 1), ("ev", 2), ("ev", 3), ("ev", 4), ("connect", True),
        ]
        whoami = await js.emit_ack("a", "whoami")
        assert whoami["args"][0][0] == sid
        assert whoami["args"][0][2] == sorted([sid, "room1"])
        assert (await js.emit_ack("a", "get data"))["args"] == [{"value": 42}]
        assert seen.of("recovered")[-1] == (sid, True)
        # the missed events carried Node's offset as their last argument
        assert all(isinstance(e["args"][-1], str) for e in js.events("a", "event", "ev"))
        # and it goes on working: a new event arrives once
        io.to(sid).emit("ev", 5)
        await js.wait("a", "event", "ev", count=5)
        assert [a[0] for a in js.received("a", "ev")] == [1, 2, 3, 4, 5]


@transports
async def test_emits_on_the_dropped_socket_are_replayed_once_in_order(
    js: JsDriver, hosting: str, transport: str
) -> None:
    # Node 4.6+ sends socket.emit through the adapter under recovery: numbered, kept, replayed
    io, seen = recovering_server()
    async with interop_support.serving(io, hosting, js.reset) as url:
        info = await js.connect("a", url, transport, **FAST)
        sid = info["id"]
        await js.emit_ack("a", "join", "room1")
        [(_, before)] = seen.of("connection")
        before.emit("ev", 1)
        await js.wait("a", "event", "ev")
        await drop_and_wait(js, seen, "a", 1)
        assert not before.connected
        before.emit("ev", 2)
        io.emit("ev", 3)
        before.emit("ev", 4)
        io.to("room1").emit("ev", 5)
        before.volatile.emit("ev", 97)  # volatile: not kept (as Node)
        before.emit("ev", 98, callback=lambda *a: None)  # with an ack id: not kept (as Node)
        before.emit("ev", 6)
        before.emit("bin", b"\x00\xff", {"nested": b"\x01"})  # binary: attachments replayed
        await js.wait("a", "connect", count=2)
        again = js.events("a", "connect")[1]
        assert again["id"] == sid and again["recovered"] is True
        assert timeline(js, "a") == [
            ("connect", False), ("ev", 1), ("ev", 2), ("ev", 3), ("ev", 4), ("ev", 5),
            ("ev", 6), ("connect", True),
        ]
        [binary] = js.received("a", "bin")
        assert binary[:2] == [b"\x00\xff", {"nested": b"\x01"}]
        # the recovered socket (a new object, same id) goes on; the next event arrives once
        [(_, after)] = [c for c in seen.of("connection") if c[1] is not before]
        after.emit("ev", 7)
        await js.wait("a", "event", "ev", count=7)
        assert [a[0] for a in js.received("a", "ev")] == [1, 2, 3, 4, 5, 6, 7]


async def test_emit_from_the_disconnect_handler_is_replayed(js: JsDriver, hosting: str) -> None:
    # at once from "disconnect", to a socket never sent an event (no offset: beyond Node)
    io, seen = recovering_server()

    @io.on("connection")
    def farewell(socket: socketwire.Socket) -> None:
        socket.on("disconnect", lambda reason: socket.emit("ev", reason))

    async with interop_support.serving(io, hosting, js.reset) as url:
        info = await js.connect("a", url, "upgrade", **FAST)
        await drop_and_wait(js, seen, "a", 1)
        await js.wait("a", "connect", count=2)
        again = js.events("a", "connect")[1]
        assert (again["id"], again["recovered"]) == (info["id"], True)
        assert timeline(js, "a") == [
            ("connect", False), ("ev", "transport close"), ("connect", True),
        ]


async def test_socket_never_sent_an_event_recovers(js: JsDriver, hosting: str) -> None:
    # Node cannot (the client has no offset to send); socketwire restores from the persist
    io, seen = recovering_server()
    async with interop_support.serving(io, hosting, js.reset) as url:
        info = await js.connect("a", url, "upgrade", **FAST)
        await js.emit_ack("a", "join", "quiet")
        await drop_and_wait(js, seen, "a", 1)
        io.to("quiet").emit("ev", 1)
        await js.wait("a", "connect", count=2)
        again = js.events("a", "connect")[1]
        assert (again["id"], again["recovered"]) == (info["id"], True)
        assert timeline(js, "a") == [("connect", False), ("ev", 1), ("connect", True)]


async def test_recovery_refused_after_max_disconnection_duration(
    js: JsDriver, hosting: str
) -> None:
    io, seen = recovering_server(max_disconnection_duration=0.2)
    slow = {"reconnectionDelay": 700, "reconnectionDelayMax": 700, "randomizationFactor": 0}
    async with interop_support.serving(io, hosting, js.reset) as url:
        info = await js.connect("a", url, "upgrade", **slow)
        await js.emit_ack("a", "join", "room1")
        io.to(info["id"]).emit("ev", 1)
        await js.wait("a", "event", "ev")
        await drop_and_wait(js, seen, "a", 1)
        io.emit("ev", 2)
        await js.wait("a", "connect", count=2)
        again = js.events("a", "connect")[1]
        assert again["recovered"] is False and again["id"] != info["id"]
        assert timeline(js, "a") == [("connect", False), ("ev", 1), ("connect", False)]
        whoami = await js.emit_ack("a", "whoami")
        assert whoami["args"][0][2] == [again["id"]]  # no rooms kept


@pytest.mark.parametrize("skip", [True, False])
async def test_skip_middlewares(js: JsDriver, hosting: str, skip: bool) -> None:
    io, seen = recovering_server(skip_middlewares=skip)
    calls: list[bool] = []

    @io.use
    def count(socket: socketwire.Socket) -> None:
        calls.append(socket.recovered)
        socket.data.setdefault("visits", 0)
        socket.data["visits"] += 1

    async with interop_support.serving(io, hosting, js.reset) as url:
        info = await js.connect("a", url, "upgrade", **FAST)
        io.to(info["id"]).emit("ev", 1)
        await js.wait("a", "event", "ev")
        await drop_and_wait(js, seen, "a", 1)
        await js.wait("a", "connect", count=2)
        assert js.events("a", "connect")[1]["recovered"] is True
        assert calls == ([False] if skip else [False, True])
        data = (await js.emit_ack("a", "get data"))["args"][0]
        assert data == {"visits": 1 if skip else 2}


async def test_refusing_middleware_on_recovery(js: JsDriver, hosting: str) -> None:
    # with skip_middlewares off, a middleware can still refuse a recovered socket
    io, seen = recovering_server(skip_middlewares=False)
    state = {"refuse": False}

    @io.use
    def gate(socket: socketwire.Socket) -> None:
        if state["refuse"]:
            raise socketwire.ConnectionRefused("closed for now")

    async with interop_support.serving(io, hosting, js.reset) as url:
        info = await js.connect("a", url, "upgrade", **FAST)
        await js.emit_ack("a", "join", "room1")
        state["refuse"] = True
        await drop_and_wait(js, seen, "a", 1)
        [err] = await js.wait("a", "connect_error")
        assert err["message"] == "closed for now"
        assert io.sockets.adapter.rooms.get("room1") is None  # the restored rooms are left
        assert info["id"] not in io.sockets.sockets
        # no reconnection after a middleware refusal (one attempt: the one after the drop)
        attempts = len(js.events("a", "reconnect_attempt"))
        await asyncio.sleep(0.5)  # five reconnection delays
        assert len(js.events("a", "reconnect_attempt")) == attempts == 1
        assert len(js.events("a", "connect_error")) == 1


@transports
async def test_recovery_with_the_msgpack_parser(js: JsDriver, hosting: str, transport: str) -> None:
    # socket.io-msgpack-parser on both sides: the offset travels as the last (string) argument
    io = socketwire.Server(parser="msgpack", connection_state_recovery=True)
    seen = Seen()
    install_basics(io, seen)
    async with interop_support.serving(io, hosting, js.reset) as url:
        info = await js.connect("a", url, transport, parser="msgpack", **FAST)
        sid = info["id"]
        await js.emit_ack("a", "join", "room1")
        [(_, before)] = seen.of("connection")
        io.to("room1").emit("ev", 1)
        await js.wait("a", "event", "ev")
        await drop_and_wait(js, seen, "a", 1)
        io.to("room1").emit("ev", 2, b"\x00\xff")
        before.emit("ev", 3, {"b": b"\x01"})
        io.emit("ev", 4)
        await js.wait("a", "connect", count=2)
        again = js.events("a", "connect")[1]
        assert again["id"] == sid and again["recovered"] is True
        assert timeline(js, "a") == [
            ("connect", False), ("ev", 1), ("ev", 2), ("ev", 3), ("ev", 4), ("connect", True),
        ]
        got = [a[:-1] for a in js.received("a", "ev")]
        assert got == [[1], [2, b"\x00\xff"], [3, {"b": b"\x01"}], [4]]
        assert all(isinstance(a[-1], str) for a in js.received("a", "ev"))
        whoami = await js.emit_ack("a", "whoami")
        assert whoami["args"][0][2] == sorted([sid, "room1"])
