"""The official socket.io-client 4.8 (Node) with socket.io-msgpack-parser against a socketwire
server with ``parser="msgpack"``, both hosts, every transport: events, acks both ways, binary,
namespaces, rooms and broadcasts."""

from __future__ import annotations

from typing import Any

import interop_support
import pytest
from interop_support import Seen, install_basics
from jsdriver import JsDriver

import socketwire
from servers import TRANSPORTS

pytestmark = [pytest.mark.node, pytest.mark.asyncio(loop_scope="module")]

MSGPACK = {"parser": "msgpack"}


def msgpack_server() -> tuple[socketwire.Server, Seen]:
    io = socketwire.Server(parser="msgpack")
    seen = Seen()
    install_basics(io, seen)
    install_basics(io.of("/chat"), seen)

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        socket.emit("welcome", "hi", {"n": 1.5, "s": "é€😀", "b": b"\x00\xff"}, [None, True])

        @socket.on("echo")
        def echo(*args: Any) -> tuple[Any, ...]:
            return args

        @socket.on("ask")
        def ask(value: Any) -> None:
            socket.emit("question", value, callback=lambda *answer: socket.emit("answer",
                                                                                 *answer))

        @socket.on("shout")
        def shout(room: str | None, value: Any) -> None:
            (io.to(room) if room else socket.broadcast).emit("shouted", value)

    return io, seen


@pytest.mark.parametrize("transport", list(TRANSPORTS))
async def test_msgpack_client_against_socketwire(js: JsDriver, hosting: str,
                                                 transport: str) -> None:
    io, seen = msgpack_server()
    async with interop_support.serving(io, hosting, js.reset) as url:
        info = await js.connect("a", url, transport, **MSGPACK,
                                answers={"question": {"reply": [b"\x01\x02", "ok"]}})
        assert info["connected"] is True
        await js.connect("b", url, transport, **MSGPACK)
        [welcome] = await js.wait("a", "event", "welcome")
        assert welcome["args"] == ["hi", {"n": 1.5, "s": "é€😀", "b": b"\x00\xff"},
                                   [None, True]]
        # acks, binary both ways
        answer = await js.emit_ack("a", "echo", b"\x10" * 300, {"k": [b"", 7]})
        assert answer["args"] == [b"\x10" * 300, {"k": [b"", 7]}]
        # a server emit with ack, answered with binary
        await js.emit("a", "ask", 42)
        [reply] = await js.wait("a", "event", "answer")
        assert reply["args"] == [b"\x01\x02", "ok"]
        # rooms and broadcasts
        assert (await js.emit_ack("b", "join", "room1"))["args"][0] == sorted(
            [(await js.state("b"))["id"], "room1"])
        await js.emit("a", "shout", "room1", {"to": "room"})
        [got] = await js.wait("b", "event", "shouted")
        assert got["args"] == [{"to": "room"}]
        await js.emit("b", "shout", None, b"everyone")
        [got_a] = await js.wait("a", "event", "shouted")
        assert got_a["args"] == [b"everyone"]
        io.emit("all", 1, b"\x02")
        for c in "ab":
            [everyone] = await js.wait(c, "event", "all")
            assert everyone["args"] == [1, b"\x02"]
        # a namespace on the same connection
        chat = await js.connect("a-chat", url, nsp="/chat", share="a", **MSGPACK)
        assert chat["connected"] is True
        whoami = await js.emit_ack("a-chat", "whoami")
        assert whoami["args"][0][0] == chat["id"]
        await seen.wait("connection", 3)
        expected = "polling" if transport == "polling" else "websocket"
        if transport == "upgrade":
            await js.wait("a", "upgrade")
        assert (await js.emit_ack("a", "whoami"))["args"][0][1] == expected


async def test_msgpack_typed_arrays_dates_and_undefined_from_the_client(
    js: JsDriver, hosting: str
) -> None:
    # notepack.io 2 (socket.io-msgpack-parser) writes a Uint8Array or an ArrayBuffer as ext 8
    # type 0, a Date as fixext 8 type 0 and undefined as fixext 1 type 0: a Node server reads
    # them back as ArrayBuffer, Date and undefined; socketwire as bytes (one zero byte and
    # eight bytes included), the Date's JSON string, None
    io, seen = msgpack_server()
    got: list[tuple[Any, ...]] = []

    @io.on("connection")
    def record(socket: socketwire.Socket) -> None:
        @socket.on("record")
        def on_record(*args: Any) -> str:
            got.append(args)
            return "ok"

    async with interop_support.serving(io, hosting, js.reset) as url:
        await js.connect("a", url, "websocket", **MSGPACK)
        sent = [{"$u8": "AA=="}, {"$arraybuffer": "BwcHBwcHBwc="}, {"$u8": "KioqKio="},
                {"$date": "2025-12-01T09:30:00.123Z"},
                {"keep": 1, "gone": {"$undefined": True}}, [1, {"$undefined": True}],
                b"\x00"]
        assert (await js.emit_ack("a", "record", *sent))["args"] == ["ok"]
        assert got == [(b"\x00", b"\x07" * 8, b"*****", "2025-12-01T09:30:00.123Z",
                        {"keep": 1, "gone": None}, [1, None], b"\x00")]
