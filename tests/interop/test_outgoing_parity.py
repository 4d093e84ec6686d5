"""Two Node parities checked with the official socket.io-client 4.8 over real sockets:

- a socket's ``on_any_outgoing`` listeners are called for every broadcast that reaches it
  (``io.emit``, ``io.to(room).emit``, ``socket.broadcast.emit``, broadcasts with acks), as
  Node's in-memory adapter calls each recipient's ``notifyOutgoingListeners``;
- ``socket.emit`` inside a connection middleware is written at once, before the CONNECT
  packet, as Node does; the client buffers it and hands it to its handlers right before its
  ``connect`` event.
"""

from __future__ import annotations

import asyncio
from typing import Any

import interop_support
import pytest
from interop_support import Seen, install_basics, poll_until
from jsdriver import JsDriver

import socketwire
from servers import TRANSPORTS

pytestmark = [pytest.mark.node, pytest.mark.asyncio(loop_scope="module")]

transports = pytest.mark.parametrize("transport", list(TRANSPORTS))


def serving(io: socketwire.Server, hosting: str, js: JsDriver) -> Any:
    """Serve ``io``; every Node client socket is closed before the server stops."""
    return interop_support.serving(io, hosting, js.reset)


def client_log(js: JsDriver, c: str) -> list[tuple[str, str | None]]:
    """Client ``c``'s events and connects, in order: ``(kind, event name or None)``."""
    return [(m["kind"], m.get("event")) for m in js.log
            if m.get("c") == c and m["kind"] in ("event", "connect")]


# ------------------------------------------------------ onAnyOutgoing and broadcasts


@transports
async def test_any_outgoing_listeners_see_the_broadcasts_reaching_the_socket(
        js: JsDriver, hosting: str, transport: str) -> None:
    io = socketwire.Server()
    seen = Seen()
    install_basics(io, seen)
    outgoing: dict[str, list[list[Any]]] = {}

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        got = outgoing.setdefault(socket.id, [])

        @socket.on_any_outgoing
        def out(event: str, *args: Any) -> None:
            got.append([event, *args])

        @socket.on("shout")
        def shout(text: str) -> None:
            socket.broadcast.emit("shouted", text)

        @socket.on("quiet")
        def quiet() -> None:
            socket.off_any_outgoing(out)

    async with serving(io, hosting, js) as url:
        for c in "abc":
            assert (await js.connect(c, url, transport))["connected"]
        ids = {c: (await js.state(c))["id"] for c in "abc"}
        joined = await js.emit_ack("a", "join", "room1")
        assert "room1" in joined["args"][0]

        io.emit("news", 1)
        io.to("room1").emit("room news", {"n": 2})
        await js.emit("c", "shout", "hey")
        for c in "ab":
            await js.wait(c, "event", "shouted")
        answers: list[Any] = []
        io.timeout(5).emit("poll", 3, callback=lambda err, responses: answers.append(
            (err, sorted(responses))))
        for c in "abc":
            await js.wait(c, "event", "poll")
        await poll_until(lambda: answers, what="poll acks")
        assert answers == [(None, [3, 3, 3])]
        await js.wait("a", "event", "room news")

        def events_of(c: str) -> list[list[Any]]:
            return [x for x in outgoing[ids[c]] if x[0] not in ("whoami", "join")]

        assert events_of("a") == [["news", 1], ["room news", {"n": 2}], ["shouted", "hey"],
                                  ["poll", 3]]
        assert events_of("b") == [["news", 1], ["shouted", "hey"], ["poll", 3]]
        assert events_of("c") == [["news", 1], ["poll", 3]]

        # removed listeners are no longer called (and a direct emit still calls them)
        await js.emit("b", "quiet")
        await poll_until(lambda: not io.of("/").sockets[ids["b"]]._any_outgoing,
                         what="listener removed")
        io.emit("later", 4)
        io.of("/").sockets[ids["a"]].emit("direct", 5)
        for c in "abc":
            await js.wait(c, "event", "later")
        await js.wait("a", "event", "direct")
        assert events_of("a")[-2:] == [["later", 4], ["direct", 5]]
        assert events_of("b")[-1] == ["poll", 3]
        assert events_of("c")[-1] == ["later", 4]


async def test_any_outgoing_called_once_per_emit_under_recovery(
        js: JsDriver, hosting: str) -> None:
    """With connection state recovery a socket's emit goes through the adapter (as Node):
    its listeners are called once, with the data as sent (the offset appended, as Node)."""
    io = socketwire.Server(connection_state_recovery=True)
    outgoing: list[list[Any]] = []

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        socket.on_any_outgoing(lambda *data: outgoing.append(list(data)))
        socket.emit("hello", 1)

    async with serving(io, hosting, js) as url:
        assert (await js.connect("a", url, "websocket"))["connected"]
        [hello] = await js.wait("a", "event", "hello")
        assert hello["args"][0] == 1  # the offset follows (the client keeps it there)
        io.emit("news", 2)
        await js.wait("a", "event", "news")
        assert [x[:2] for x in outgoing] == [["hello", 1], ["news", 2]]
        assert all(len(x) == 3 and isinstance(x[2], str) for x in outgoing)  # the offsets


async def test_prepended_outgoing_listener_runs_first(js: JsDriver, hosting: str) -> None:
    """``prepend_any_outgoing`` (Node's ``prependAnyOutgoing``) is called before the others,
    for a broadcast as for an emit; the listeners of a socket that left are not counted."""
    io = socketwire.Server()
    calls: list[tuple[str, str]] = []

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        socket.on_any_outgoing(lambda event, *args: calls.append(("second", event)))
        socket.prepend_any_outgoing(lambda event, *args: calls.append(("first", event)))

    async with serving(io, hosting, js) as url:
        assert (await js.connect("a", url, "websocket"))["connected"]
        sid = (await js.state("a"))["id"]
        io.emit("news")
        io.of("/").sockets[sid].emit("direct")
        await js.wait("a", "event", "direct")
        assert calls == [("first", "news"), ("second", "news"),
                         ("first", "direct"), ("second", "direct")]
        assert io.of("/")._outgoing_watchers == 1
        await js.reset()
        await poll_until(lambda: not io.of("/").sockets, what="socket gone")
        assert io.of("/")._outgoing_watchers == 0


# ------------------------------------------------ emitting in a connection middleware


@transports
@pytest.mark.parametrize("kind", ["sync", "async"])
async def test_emit_in_connection_middleware_arrives_before_connect(
        js: JsDriver, hosting: str, transport: str, kind: str) -> None:
    io = socketwire.Server()
    outgoing: list[list[Any]] = []

    if kind == "sync":
        @io.use
        def middleware(socket: socketwire.Socket) -> None:
            socket.on_any_outgoing(lambda *data: outgoing.append(list(data)))
            socket.emit("early", 1, {"x": "é"})
    else:
        @io.use
        async def middleware(socket: socketwire.Socket) -> None:
            await asyncio.sleep(0.01)
            socket.emit("early", 1, {"x": "é"})
            await asyncio.sleep(0.01)
            socket.emit("early", 2, b"\x00\xff")

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        socket.emit("welcome")

    async with serving(io, hosting, js) as url:
        assert (await js.connect("a", url, transport))["connected"]
        await js.wait("a", "event", "welcome")
        early = js.received("a", "early")
        if kind == "sync":
            assert early == [[1, {"x": "é"}]]
            assert outgoing == [["early", 1, {"x": "é"}], ["welcome"]]
        else:
            assert early == [[1, {"x": "é"}], [2, b"\x00\xff"]]
        # as with Node: written before the CONNECT, so the client's handlers get the
        # early events right before its connect event
        n = len(early)
        assert client_log(js, "a")[:n + 2] == [
            *[("event", "early")] * n, ("connect", None), ("event", "welcome")]


async def test_emit_in_a_refusing_middleware_never_reaches_the_handlers(
        js: JsDriver, hosting: str) -> None:
    """Refused after emitting: the client gets the event then CONNECT_ERROR (as from Node);
    it keeps the event buffered and never hands it to a handler."""
    io = socketwire.Server()
    outgoing: list[list[Any]] = []

    @io.use
    def middleware(socket: socketwire.Socket) -> None:
        socket.on_any_outgoing(lambda *data: outgoing.append(list(data)))
        socket.emit("early", 1)
        raise socketwire.ConnectionRefused("no")

    async with serving(io, hosting, js) as url:
        info = await js.connect("a", url, "websocket", reconnection=False)
        assert info["connected"] is False and info["message"] == "no"
        await asyncio.sleep(0.1)
        assert js.received("a", "early") == []
        assert outgoing == [["early", 1]]
        assert io.of("/")._outgoing_watchers == 0  # the refused socket is not counted
