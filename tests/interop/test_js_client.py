"""The socketwire server API driven by the official socket.io-client 4.8, running in Node.

Every scenario runs on both hosts (standalone and ASGI/uvicorn) and over three transport
settings: polling only, WebSocket only, and polling upgraded to WebSocket (the upgrade is
checked to have happened). One Node process (tests/interop/js_client.mjs) serves the module;
the tests steer it through :class:`jsdriver.JsDriver`.
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

import httpx
import interop_support
import pytest
from interop_support import Seen, install_basics, poll_until
from jsdriver import JsDriver

import servers
import socketwire
from servers import TRANSPORTS, running

pytestmark = [pytest.mark.node, pytest.mark.asyncio(loop_scope="module")]

transports = pytest.mark.parametrize("transport", list(TRANSPORTS))


async def check_transport(js: JsDriver, c: str, transport: str) -> None:
    """Client ``c`` ends up on the expected transport; with "upgrade" it really upgraded, and
    the server agrees (a round trip after the client's upgrade reaches the server after it)."""
    expected = "polling" if transport == "polling" else "websocket"
    if transport == "upgrade":
        await js.wait(c, "upgrade")
    else:
        assert js.events(c, "upgrade") == []
    state = await js.state(c)
    assert state["transport"] == expected
    answer = await js.emit_ack(c, "whoami")
    assert answer["args"][0][1] == expected


fences = iter(range(1, 1_000_000))


async def fence(js: JsDriver, emit: Any, clients: list[str]) -> None:
    """Emit a numbered ``fence`` with ``emit`` and wait until every client got it: what was
    sent to them before has arrived too (one connection keeps the order)."""
    n = next(fences)
    emit("fence", n)
    for c in clients:
        await js.wait_until(lambda c=c: [n] in js.received(c, "fence"), what=f"fence {n} at {c}")


def serving(io: socketwire.Server, hosting: str, js: JsDriver) -> Any:
    """Serve ``io``; every Node client socket is closed before the server stops."""
    return interop_support.serving(io, hosting, js.reset)


def ids_of(seen: Seen) -> dict[str, Any]:
    return {sid: sock for sid, sock in seen.of("connection")}


# --------------------------------------------------------------------- connect and events


@transports
async def test_connect_ids_and_custom_events(js: JsDriver, hosting: str, transport: str) -> None:
    io = socketwire.Server()
    seen = Seen()
    install_basics(io, seen)

    @io.on("connection")
    def greet(socket: socketwire.Socket) -> None:
        socket.emit("welcome", "hi", {"n": 1, "s": "é€😀"}, [1, 2.5, None, True])

        @socket.on("hello")
        def hello(a: Any, b: Any) -> None:
            seen.add("hello", socket.id, a, b)
            socket.emit("hello back", b, a)

    async with serving(io, hosting, js) as url:
        info = await js.connect("a", url, transport)
        assert info["connected"] is True
        [(sid, sock)] = await seen.wait("connection")
        assert info["id"] == sid == sock.id
        assert (await js.state("a"))["id"] == sid

        [welcome] = await js.wait("a", "event", "welcome")
        assert welcome["args"] == ["hi", {"n": 1, "s": "é€😀"}, [1, 2.5, None, True]]
        assert welcome["acked"] is False

        await js.emit("a", "hello", {"x": [None, "y"]}, 42)
        [(hello_sid, a, b)] = await seen.wait("hello")
        assert (hello_sid, a, b) == (sid, {"x": [None, "y"]}, 42)
        [back] = await js.wait("a", "event", "hello back")
        assert back["args"] == [42, {"x": [None, "y"]}]
        await check_transport(js, "a", transport)


@transports
async def test_io_emit_reaches_all_and_broadcast_skips_sender(
    js: JsDriver, hosting: str, transport: str
) -> None:
    io = socketwire.Server()
    seen = Seen()
    install_basics(io, seen)

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        @socket.on("shout")
        def shout(text: str) -> None:
            socket.broadcast.emit("shouted", text.upper(), socket.id)

    async with serving(io, hosting, js) as url:
        for c in "abc":
            assert (await js.connect(c, url, transport))["connected"]
        c_id = (await js.state("c"))["id"]

        io.emit("news", 1, "all")
        for c in "abc":
            [news] = await js.wait(c, "event", "news")
            assert news["args"] == [1, "all"]

        await js.emit("c", "shout", "hey")
        for c in "ab":
            [got] = await js.wait(c, "event", "shouted")
            assert got["args"] == ["HEY", c_id]
        await fence(js, io.emit, ["a", "b", "c"])
        assert js.received("c", "shouted") == []
        for c in "abc":
            assert len(js.received(c, "news")) == 1
        await check_transport(js, "a", transport)


@transports
async def test_private_messages(js: JsDriver, hosting: str, transport: str) -> None:
    io = socketwire.Server()
    seen = Seen()
    install_basics(io, seen)

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        @socket.on("private message")
        def private(to: str, text: str) -> None:
            socket.to(to).emit("private message", socket.id, text)

    async with serving(io, hosting, js) as url:
        ids = {c: (await js.connect(c, url, transport))["id"] for c in "abc"}

        await js.emit("a", "private message", ids["b"], "psst")
        [pm] = await js.wait("b", "event", "private message")
        assert pm["args"] == [ids["a"], "psst"]

        io.to(ids["c"]).emit("direct", 7)
        [direct] = await js.wait("c", "event", "direct")
        assert direct["args"] == [7]

        await fence(js, io.emit, ["a", "b", "c"])
        assert js.received("a", "private message") == js.received("c", "private message") == []
        assert js.received("a", "direct") == js.received("b", "direct") == []
        await check_transport(js, "b", transport)


# ----------------------------------------------------------------------------------- rooms


@transports
async def test_rooms_join_leave_union_and_except(
    js: JsDriver, hosting: str, transport: str
) -> None:
    io = socketwire.Server()
    seen = Seen()
    install_basics(io, seen)

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        @socket.on("tell")
        def tell(room: str, n: int) -> None:
            socket.to(room).emit("m", n)

    async with serving(io, hosting, js) as url:
        ids = {c: (await js.connect(c, url, transport))["id"] for c in "abcd"}
        joined = await js.emit_ack("a", "join", ["r1", "r2"])
        assert joined["args"] == [sorted([ids["a"], "r1", "r2"])]
        assert (await js.emit_ack("b", "join", "r1"))["args"] == [sorted([ids["b"], "r1"])]
        assert (await js.emit_ack("c", "join", "r2"))["args"] == [sorted([ids["c"], "r2"])]

        io.to("r1").emit("m", 1)                    # a b
        io.to(["r1", "r2"]).emit("m", 2)            # a (once) b c
        io.to("r1").to("r2").emit("m", 3)           # a (once) b c
        io.except_("r1").emit("m", 4)               # c d
        io.to("r2").except_("r1").emit("m", 5)      # c
        io.in_(["r1", "r2"]).except_(ids["b"]).emit("m", 6)  # a c
        await js.emit("a", "tell", "r1", 7)         # b: a is the sender
        await js.wait("b", "event", "m", count=4)
        assert (await js.emit_ack("a", "leave", "r1"))["args"] == [sorted([ids["a"], "r2"])]
        io.to("r1").emit("m", 8)                    # b

        await fence(js, io.emit, list("abcd"))
        got = {c: [args[0] for args in js.received(c, "m")] for c in "abcd"}
        assert got == {"a": [1, 2, 3, 6], "b": [1, 2, 3, 7, 8], "c": [2, 3, 4, 5, 6], "d": [4]}
        await check_transport(js, "a", transport)


# ------------------------------------------------------------------------------------ acks


@transports
async def test_acks_both_ways(js: JsDriver, hosting: str, transport: str) -> None:
    io = socketwire.Server()
    seen = Seen()
    install_basics(io, seen)

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        socket.on("add", lambda a, b: a + b)
        socket.on("several", lambda: ("x", {"y": [1]}, None, 3))

        @socket.on("later")
        async def later(x: int, *, ack: Any) -> None:
            await asyncio.sleep(0)
            ack(x * 2, "done")

    answers = {"ask": {"reply": ["answer", 42]}, "one": {"reply": [{"k": "v"}]}}
    async with serving(io, hosting, js) as url:
        await js.connect("a", url, transport, answers=answers)
        [(_, sock)] = await seen.wait("connection")

        # client -> server: the client's callback gets the handler's return value
        assert await js.emit_ack("a", "add", 2, 3) == {"args": [5]}
        assert await js.emit_ack("a", "several") == {"args": ["x", {"y": [1]}, None, 3]}
        assert await js.emit_ack("a", "later", 21) == {"args": [42, "done"]}
        assert await js.emit_ack("a", "add", 1, 1, timeout_ms=5000) == {"args": [2]}

        # server -> client: the client's ack callback answers
        assert await sock.emit_with_ack("ask", 1, timeout=10) == ("answer", 42)
        assert await sock.emit_with_ack("one") == {"k": "v"}
        assert await sock.timeout(10).emit_with_ack("echo", [1, "two"]) == [1, "two"]
        done: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()
        sock.emit("echo", "p", "q", callback=lambda *a: done.set_result(a))
        assert await asyncio.wait_for(done, 10) == ("p", "q")
        timed: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()
        sock.timeout(10).emit("ask", callback=lambda err, *a: timed.set_result((err, a)))
        assert await asyncio.wait_for(timed, 10) == (None, ("answer", 42))
        # (the driver's reports come on another pipe than the acks: wait for them)
        await js.wait("a", "event", "ask", count=2)
        assert js.received("a", "ask") == [[1], []]
        assert all(m["acked"] for m in js.events("a", "event", "ask"))
        await check_transport(js, "a", transport)


@transports
async def test_ack_timeouts_on_both_sides(js: JsDriver, hosting: str, transport: str) -> None:
    io = socketwire.Server()
    seen = Seen()
    install_basics(io, seen)

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        @socket.on("silent")
        def silent(x: Any, *, ack: Any) -> None:
            seen.add("silent", x)  # never answers

    async with serving(io, hosting, js) as url:
        await js.connect("a", url, transport, answers={"nope": "never"})
        [(_, sock)] = await seen.wait("connection")

        # client side: socket.timeout(ms).emit(..., cb) gets an error
        assert await js.emit_ack("a", "silent", 1, timeout_ms=300) == {
            "err": "operation has timed out"
        }
        assert seen.of("silent") == [(1,)]

        # server side: AckTimeout from emit_with_ack, err in the callback form
        with pytest.raises(socketwire.AckTimeout):
            await sock.timeout(0.3).emit_with_ack("nope", 1)
        with pytest.raises(socketwire.AckTimeout):
            await sock.emit_with_ack("nope", 2, timeout=0.3)
        result: asyncio.Future[tuple[Any, ...]] = asyncio.get_running_loop().create_future()
        sock.timeout(0.3).emit("nope", 3, callback=lambda err, *a: result.set_result((err, a)))
        err, answer = await asyncio.wait_for(result, 10)
        assert isinstance(err, socketwire.AckTimeout) and answer == ()
        await js.wait("a", "event", "nope", count=3)
        assert js.received("a", "nope") == [[1], [2], [3]]
        # the socket still works after the timeouts
        assert await sock.timeout(10).emit_with_ack("echo", "alive") == "alive"
        await check_transport(js, "a", transport)


# ---------------------------------------------------------------------------------- binary


@transports
async def test_binary_both_ways(js: JsDriver, hosting: str, transport: str) -> None:
    io = socketwire.Server()
    seen = Seen()
    install_basics(io, seen)
    big = bytes(range(256)) * 40

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        @socket.on("upload")
        def upload(doc: Any, extra: Any) -> tuple[Any, ...]:
            seen.add("upload", doc, extra)
            return len(doc["parts"][1]["deep"]), doc["file"]

    upload = {"file": b"\x00\x01\xff", "parts": [b"a", {"deep": big}], "text": "ok", "n": [1]}
    async with serving(io, hosting, js) as url:
        await js.connect("a", url, transport)
        [(_, sock)] = await seen.wait("connection")

        # client -> server, nested Buffers, with a binary ack back
        assert await js.emit_ack("a", "upload", upload, b"second") == {
            "args": [len(big), b"\x00\x01\xff"]
        }
        [(doc, extra)] = seen.of("upload")
        assert doc == upload and extra == b"second"
        assert isinstance(doc["parts"][1]["deep"], bytes)

        # server -> client, nested bytes
        sock.emit("download", {"blobs": [b"\x10", {"x": b""}], "big": big}, b"\xfe")
        [down] = await js.wait("a", "event", "download")
        assert down["args"] == [{"blobs": [b"\x10", {"x": b""}], "big": big}, b"\xfe"]

        # server -> client with the client answering binary (a BINARY_ACK to the server)
        echoed = await sock.emit_with_ack("echo", {"k": [b"\x00\x00", b"\x01"]}, b"z", timeout=10)
        assert echoed == ({"k": [b"\x00\x00", b"\x01"]}, b"z")
        io.emit("bcast", [b"all", 1])
        [bcast] = await js.wait("a", "event", "bcast")
        assert bcast["args"] == [[b"all", 1]]
        await check_transport(js, "a", transport)


# ------------------------------------------------------------------------------ namespaces


@transports
async def test_namespaces_share_one_connection(
    js: JsDriver, hosting: str, transport: str
) -> None:
    io = socketwire.Server()
    seen, chat_seen, dyn_seen = Seen(), Seen(), Seen()
    install_basics(io, seen)
    chat = io.of("/chat")
    install_basics(chat, chat_seen)
    dynamic = io.of(re.compile(r"/room-\d+"))
    install_basics(dynamic, dyn_seen)

    @chat.on("connection")
    def chat_connection(socket: socketwire.Socket) -> None:
        socket.on("say", lambda text: f"{socket.nsp.name}: {text}")

    @dynamic.on("connection")
    def dyn_connection(socket: socketwire.Socket) -> None:
        socket.emit("joined", socket.nsp.name)

    async with serving(io, hosting, js) as url:
        main = await js.connect("main", url, transport)
        on_chat = await js.connect("chat", url, nsp="/chat", share="main")
        on_room = await js.connect("room", url, nsp="/room-42", share="main")
        assert main["connected"] and on_chat["connected"] and on_room["connected"]
        [(main_id, main_sock)] = await seen.wait("connection")
        [(chat_id, chat_sock)] = await chat_seen.wait("connection")
        [(room_id, room_sock)] = await dyn_seen.wait("connection")
        assert (main["id"], on_chat["id"], on_room["id"]) == (main_id, chat_id, room_id)
        assert len({main_id, chat_id, room_id}) == 3
        # one Engine.IO connection for the three namespaces, on both sides
        engine_ids = {(await js.state(c))["engine_id"] for c in ("main", "chat", "room")}
        assert len(engine_ids) == 1
        assert main_sock.conn is chat_sock.conn is room_sock.conn
        assert room_sock.nsp.name == "/room-42" and io.of("/room-42") is room_sock.nsp

        [joined] = await js.wait("room", "event", "joined")
        assert joined["args"] == ["/room-42"]
        assert await js.emit_ack("chat", "say", "hi") == {"args": ["/chat: hi"]}

        io.emit("where", "main")
        chat.emit("where", "chat")
        dynamic.emit("where", "dynamic parent")
        io.of("/room-42").emit("where", "room-42")
        await fence(js, io.emit, ["main"])
        await fence(js, chat.emit, ["chat"])
        await fence(js, io.of("/room-42").emit, ["room"])
        assert js.received("main", "where") == [["main"]]
        assert js.received("chat", "where") == [["chat"]]
        assert js.received("room", "where") == [["dynamic parent"], ["room-42"]]

        # a namespace nobody declared, and one the regex does not match
        for c, nsp in (("bad", "/nope"), ("bad2", "/room-x")):
            refused = await js.connect(c, url, nsp=nsp, share="main")
            assert refused["connected"] is False
            assert refused["message"] == "Invalid namespace"
        # the shared connection survives the refusals
        assert await js.emit_ack("chat", "say", "still") == {"args": ["/chat: still"]}
        await check_transport(js, "main", transport)


# ------------------------------------------------------------------------------ middleware


@transports
async def test_middleware_refusal_reaches_connect_error(
    js: JsDriver, hosting: str, transport: str
) -> None:
    io = socketwire.Server()
    seen = Seen()
    install_basics(io, seen)
    admin = io.of("/admin")
    admin_seen = Seen()
    install_basics(admin, admin_seen)

    @io.use
    def check_token(socket: socketwire.Socket) -> None:
        if socket.handshake.auth.get("token") != "secret":
            raise socketwire.ConnectionRefused(
                "not authorized", {"reason": "bad token", "codes": [401, 403]}
            )
        socket.data["user"] = socket.handshake.auth.get("user")

    @admin.use
    async def only_admins(socket: socketwire.Socket) -> None:
        await asyncio.sleep(0)
        if socket.handshake.auth.get("role") != "admin":
            raise ValueError("admins only")

    async with serving(io, hosting, js) as url:
        refused = await js.connect("bad", url, transport, auth={"token": "nope"})
        assert refused == {
            "connected": False,
            "message": "not authorized",
            "data": {"reason": "bad token", "codes": [401, 403]},
        }
        assert io.sockets.sockets == {}

        good = await js.connect(
            "good", url, transport, auth={"token": "secret", "user": "ann"},
            query={"room": "lobby"}, extraHeaders={"x-test": "yes"},
        )
        assert good["connected"] is True
        [(sid, sock)] = await seen.wait("connection")
        assert good["id"] == sid
        assert sock.handshake.auth == {"token": "secret", "user": "ann"}
        assert sock.handshake.query["room"] == "lobby"
        assert sock.handshake.headers["x-test"] == "yes"
        assert sock.data == {"user": "ann"}

        # a plain exception in a namespace middleware: logged, and the client only gets a
        # generic message (its text is an internal detail)
        no_admin = await js.connect("no_admin", url, nsp="/admin", share="good",
                                    auth={"role": "user"})
        assert no_admin == {"connected": False, "message": "Internal server error",
                            "data": None}
        # (a connection has one socket per namespace: the next try uses a new connection)
        yes_admin = await js.connect("yes_admin", url, transport, nsp="/admin",
                                     auth={"role": "admin"})
        assert yes_admin["connected"] is True
        await admin_seen.wait("connection")
        await check_transport(js, "good", transport)


# ------------------------------------------------------------------------------ disconnects


@transports
async def test_server_side_disconnect(js: JsDriver, hosting: str, transport: str) -> None:
    io = socketwire.Server()
    seen = Seen()
    install_basics(io, seen)

    async with serving(io, hosting, js) as url:
        a = await js.connect("a", url, transport)
        b = await js.connect("b", url, transport)
        await seen.wait("connection", 2)
        socks = ids_of(seen)
        await check_transport(js, "a", transport)

        socks[a["id"]].disconnect()
        [gone] = await js.wait("a", "disconnect")
        assert gone["reason"] == "io server disconnect"
        assert seen.of("disconnect") == [(a["id"], "server namespace disconnect")]
        assert (await js.state("a"))["connected"] is False

        socks[b["id"]].disconnect(close=True)
        [gone_b] = await js.wait("b", "disconnect")
        assert gone_b["reason"] == "io server disconnect"
        await seen.wait("disconnect", 2)
        assert io.sockets.sockets == {}
        # no reconnection after a server-side disconnect: nobody comes back
        assert js.events("a", "reconnect_attempt") == js.events("b", "reconnect_attempt") == []


@transports
async def test_client_side_disconnect_reasons(js: JsDriver, hosting: str, transport: str) -> None:
    io = socketwire.Server()
    seen = Seen()
    install_basics(io, seen)

    async with serving(io, hosting, js) as url:
        a = await js.connect("a", url, transport)
        b = await js.connect("b", url, transport, reconnection=False)
        await js.emit_ack("a", "join", "room-a")
        await check_transport(js, "a", transport)
        await check_transport(js, "b", transport)

        # socket.disconnect() on the client: a DISCONNECT packet
        await js.call("disconnect", c="a")
        [(sid, reason, rooms)] = await seen.wait("disconnecting")
        assert (sid, reason) == (a["id"], "client namespace disconnect")
        assert rooms == sorted([a["id"], "room-a"])  # still in its rooms while disconnecting
        [(sid, reason)] = await seen.wait("disconnect")
        assert (sid, reason) == (a["id"], "client namespace disconnect")
        [gone] = await js.wait("a", "disconnect")
        assert gone["reason"] == "io client disconnect"

        # the client closes its Engine.IO connection
        await js.call("close_transport", c="b")
        dropped = await seen.wait("disconnect", 2)
        assert dropped[1] == (b["id"], "transport close")
        assert seen.of("disconnecting")[1] == (b["id"], "transport close", [b["id"]])
        assert io.sockets.sockets == {}


# --------------------------------------------------------------------- broadcast with acks


@transports
async def test_broadcast_ack_gathering(js: JsDriver, hosting: str, transport: str) -> None:
    io = socketwire.Server()
    seen = Seen()
    install_basics(io, seen)

    async with serving(io, hosting, js) as url:
        ids = {}
        for c in "abc":
            answers = {"vote": "never"} if c == "c" else {"vote": {"reply": [f"yes-{c}"]}}
            ids[c] = (await js.connect(c, url, transport, answers=answers))["id"]
        await seen.wait("connection", 3)

        with pytest.raises(socketwire.BroadcastAckTimeout) as info:
            await io.timeout(1).emit_with_ack("vote", "lunch?")
        assert sorted(info.value.responses) == ["yes-a", "yes-b"]
        assert info.value.missing == [ids["c"]]

        # everyone answers: the list of responses, once all came
        await js.call("answers", c="c", answers={"vote": {"reply": ["yes-c"]}})
        assert sorted(await io.timeout(10).emit_with_ack("vote", "dinner?")) == [
            "yes-a", "yes-b", "yes-c"
        ]
        # callback form, restricted to a room
        await js.emit_ack("a", "join", "r")
        await js.emit_ack("c", "join", "r")
        got: asyncio.Future[tuple[Any, list[Any]]] = asyncio.get_running_loop().create_future()
        io.to("r").timeout(10).emit("vote", callback=lambda err, res: got.set_result((err, res)))
        err, responses = await asyncio.wait_for(got, 10)
        assert err is None and sorted(responses) == ["yes-a", "yes-c"]
        # nobody targeted: an immediate empty answer
        assert await io.to("empty room").timeout(10).emit_with_ack("vote") == []
        await js.wait("a", "event", "vote", count=3)
        await js.wait("c", "event", "vote", count=3)
        assert [len(js.received(c, "vote")) for c in "abc"] == [3, 2, 3]
        await check_transport(js, "c", transport)


# --------------------------------------------------------------------- server utilities


@transports
async def test_fetch_sockets_join_leave_and_disconnect_sockets(
    js: JsDriver, hosting: str, transport: str
) -> None:
    io = socketwire.Server()
    seen = Seen()
    install_basics(io, seen)

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        socket.data["name"] = socket.handshake.auth.get("name")

    async with serving(io, hosting, js) as url:
        ids = {c: (await js.connect(c, url, transport, auth={"name": c}))["id"] for c in "abc"}
        await seen.wait("connection", 3)

        fetched = await io.fetch_sockets()
        assert {s.id: s.data["name"] for s in fetched} == {ids[c]: c for c in "abc"}
        await js.emit_ack("a", "join", "team")
        await js.emit_ack("b", "join", "team")
        assert {s.id for s in await io.in_("team").fetch_sockets()} == {ids["a"], ids["b"]}
        assert [s.id for s in await io.in_("team").except_(ids["a"]).fetch_sockets()] == [ids["b"]]

        io.in_(ids["a"]).sockets_join("vip")
        io.sockets_join(["everyone", "all"])
        io.in_("team").sockets_leave("all")
        assert (await js.emit_ack("a", "whoami"))["args"][0][2] == sorted(
            [ids["a"], "team", "vip", "everyone"]
        )
        io.to("vip").emit("m", "vip")
        io.to("all").emit("m", "all")
        io.to("everyone").emit("m", "everyone")
        await fence(js, io.emit, list("abc"))
        got = {c: [args[0] for args in js.received(c, "m")] for c in "abc"}
        assert got == {"a": ["vip", "everyone"], "b": ["everyone"], "c": ["all", "everyone"]}

        io.in_("vip").disconnect_sockets()
        [gone] = await js.wait("a", "disconnect")
        assert gone["reason"] == "io server disconnect"
        assert {s.id for s in await io.fetch_sockets()} == {ids["b"], ids["c"]}
        io.disconnect_sockets(close=True)
        for c in "bc":
            [gone] = await js.wait(c, "disconnect")
            assert gone["reason"] == "io server disconnect"
        await seen.wait("disconnect", 3)
        assert await io.fetch_sockets() == []


# ------------------------------------------------------------------------------- volatile


@transports
async def test_volatile_emits_reach_a_ready_client(
    js: JsDriver, hosting: str, transport: str
) -> None:
    io = socketwire.Server()
    seen = Seen()
    install_basics(io, seen)

    async with serving(io, hosting, js) as url:
        await js.connect("a", url, transport)
        [(_, sock)] = await seen.wait("connection")
        await check_transport(js, "a", transport)
        # a volatile packet goes out only if the connection can take it right now; on
        # long-polling that means a GET is waiting (the client re-polls after each answer)
        await poll_until(lambda: sock.conn.writable, what="a writable connection")
        io.volatile.emit("v", 1)
        await js.wait("a", "event", "v")
        await poll_until(lambda: sock.conn.writable, what="a writable connection")
        sock.volatile.emit("v", 2)
        await poll_until(lambda: sock.conn.writable, what="a writable connection")
        io.to(sock.id).volatile.emit("v", 3)
        await js.wait("a", "event", "v", count=3)
        assert js.received("a", "v") == [[1], [2], [3]]


async def test_volatile_is_dropped_when_no_poll_is_waiting(hosting: str) -> None:
    """Long-polling with no GET waiting cannot take a packet now: a volatile emit is dropped,
    a normal one is kept for the next GET. (A raw HTTP peer, to control when it polls.)"""
    io = socketwire.Server()
    seen = Seen()
    install_basics(io, seen)
    async with running(io, hosting) as url, httpx.AsyncClient(base_url=url) as http:
        opened = await http.get("/socket.io/", params={"EIO": "4", "transport": "polling"})
        sid = re.search(r'"sid":"([^"]+)"', opened.text).group(1)  # type: ignore[union-attr]
        params = {"EIO": "4", "transport": "polling", "sid": sid}
        assert (await http.post("/socket.io/", params=params, content="40")).text == "ok"
        [(_, sock)] = await seen.wait("connection")
        assert (await http.get("/socket.io/", params=params)).text.startswith("40{")
        assert not sock.conn.writable
        io.volatile.emit("dropped", 1)
        sock.volatile.emit("dropped", 2)
        io.emit("kept", 3)
        assert (await http.get("/socket.io/", params=params)).text == '42["kept",3]'


# ------------------------------------------------------------------- restart and reconnect


@transports
async def test_reconnects_after_server_restart_and_flushes_buffer(
    js: JsDriver, hosting: str, transport: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    port = servers.free_port()
    monkeypatch.setattr(servers, "free_port", lambda: port)  # both servers on the same port
    seen = Seen()

    def new_server() -> socketwire.Server:
        io = socketwire.Server()
        install_basics(io, seen)

        @io.on("connection")
        def connection(socket: socketwire.Socket) -> None:
            socket.on("n", lambda n: seen.add("n", n))
            socket.on("after", lambda: seen.add("after"))

        return io

    first = new_server()
    async with running(first, hosting) as url:
        info = await js.connect("a", url, transport, reconnectionDelay=100,
                                reconnectionDelayMax=300, randomizationFactor=0)
        await check_transport(js, "a", transport)
        await js.emit("a", "n", 0)
        await seen.wait("n")
        if hosting == "asgi":
            # uvicorn lets requests in flight finish before the lifespan shutdown: end the
            # sessions first, so that a waiting long-poll does not hold the shutdown up
            await first.shutdown()
    [gone] = await js.wait("a", "disconnect")
    assert gone["reason"] == "transport close"

    # emitted while disconnected: buffered, sent on reconnection
    for n in (1, 2, 3):
        await js.emit("a", "n", n)

    async with serving(new_server(), hosting, js) as url2:
        assert url2 == url
        connects = await js.wait("a", "connect", count=2)
        assert connects[1]["id"] != info["id"]
        await seen.wait("n", 4)
        await js.emit("a", "after")
        await seen.wait("after")
        assert [n for (n,) in seen.of("n")] == [0, 1, 2, 3]
        assert js.events("a", "reconnect")
        await check_transport(js, "a", transport)
