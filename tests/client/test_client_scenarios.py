"""The AsyncClient against real servers: socketwire (standalone and ASGI hosting) and the
official Node socket.io 4.8 server, each over polling only, WebSocket only, and polling
upgraded to WebSocket.

Both servers behave alike (``scenario_app`` in conftest.py, and node_server.js).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

import socketwire
from servers import TRANSPORTS

TIMEOUT = 10

pytestmark = pytest.mark.parametrize("transport", list(TRANSPORTS))

Factory = Callable[..., socketwire.AsyncClient]


class Inbox:
    """Collects what handlers receive, to await it in order."""

    def __init__(self) -> None:
        self.queues: dict[str, asyncio.Queue[Any]] = {}

    def queue(self, name: str) -> asyncio.Queue[Any]:
        return self.queues.setdefault(name, asyncio.Queue())

    def put(self, name: str) -> Callable[..., None]:
        """A handler putting its arguments (one value, or a tuple for several) in ``name``."""

        def handler(*args: Any) -> None:
            self.queue(name).put_nowait(args[0] if len(args) == 1 else args)

        return handler

    async def get(self, name: str) -> Any:
        return await asyncio.wait_for(self.queue(name).get(), TIMEOUT)

    def empty(self, name: str) -> bool:
        return self.queue(name).empty()


def listen(client: socketwire.AsyncClient, inbox: Inbox, *events: str,
           namespace: str = "/") -> None:
    for event in events:
        client.on(event, inbox.put(f"{namespace} {event}"), namespace=namespace)


async def wait_until(predicate: Callable[[], bool]) -> None:
    async with asyncio.timeout(TIMEOUT):
        while not predicate():
            await asyncio.sleep(0.02)


async def test_events_acks_binary(target: Any, transport: str, clients: Factory) -> None:
    client = clients()
    inbox = Inbox()
    listen(client, inbox, "welcome", "echo", "answer", "connect")
    seen_any: list[str] = []
    client.on_any(lambda event, *args: seen_any.append(event))

    @client.on("question")
    def question(a: int, b: int) -> int:
        return a + b

    await client.connect(target.url, transports=TRANSPORTS[transport], wait_timeout=TIMEOUT)
    assert client.connected
    welcome = await inbox.get("/ welcome")
    assert welcome["nsp"] == "/" and welcome["id"] == client.sid and client.sid
    assert await inbox.get("/ connect") == ()

    # custom events both ways, JSON values as JavaScript sees them
    client.emit("echo", 1, "é✓", None, {"a": [1.5, True]})
    assert await inbox.get("/ echo") == (1, "é✓", None, {"a": [1.5, True]})

    # client -> server acks: awaited, callback, several values, none
    assert await client.emit_with_ack("ack", "x") == "x"
    assert await client.emit_with_ack("ack", "x", 2) == ("x", 2)
    assert await client.emit_with_ack("ack") is None
    answered: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    client.emit("ack", [1, 2], callback=lambda *a: answered.set_result(a))
    assert await asyncio.wait_for(answered, TIMEOUT) == ([1, 2],)

    # server -> client ack: the handler's return value answers
    client.emit("ask", 2, 3)
    assert await inbox.get("/ answer") == [5]

    # ack timeouts, awaited and with a callback
    with pytest.raises(socketwire.AckTimeout):
        await client.timeout(0.3).emit_with_ack("ignored")
    late: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
    client.timeout(0.3).emit("ignored", 1, callback=lambda err, *a: late.set_result((err, a)))
    err, args = await asyncio.wait_for(late, TIMEOUT)
    assert isinstance(err, socketwire.AckTimeout) and args == ()
    assert await client.timeout(5).emit_with_ack("ack", "in time") == "in time"

    # binary both ways, nested, and in acks
    client.emit("echo", b"\x00\x01\xff", {"nested": [b"", bytearray(b"ab")]})
    assert await inbox.get("/ echo") == (b"\x00\x01\xff", {"nested": [b"", b"ab"]})
    assert await client.emit_with_ack("ack", "t", b"\xfe" * 1000) == ("t", b"\xfe" * 1000)

    # once/off
    calls: list[Any] = []
    client.once("echo", calls.append)
    client.emit("echo", "one")
    client.emit("echo", "two")
    assert await inbox.get("/ echo") == "one"
    assert await inbox.get("/ echo") == "two"
    assert calls == ["one"]
    client.off("echo")
    client.emit("echo", "three")
    assert await client.emit_with_ack("ack", "sync") == "sync"  # "three" came back before
    assert inbox.empty("/ echo")
    assert seen_any.count("echo") == 5

    if transport == "upgrade":
        await wait_until(lambda: client.transport == "websocket")
    else:
        assert client.transport == TRANSPORTS[transport][0]
    assert await client.emit_with_ack("ack", "after") == "after"


async def test_namespaces_rooms_broadcast(target: Any, transport: str, clients: Factory
                                          ) -> None:
    a, b = clients(), clients()
    inbox_a, inbox_b = Inbox(), Inbox()
    for nsp in ("/", "/custom"):
        listen(a, inbox_a, "welcome", "echo", "broadcast", "room", namespace=nsp)
    listen(b, inbox_b, "welcome", "broadcast", "room", namespace="/custom")
    await a.connect(target.url, namespaces=["/", "/custom"], transports=TRANSPORTS[transport],
                    wait_timeout=TIMEOUT)
    await b.connect(target.url, namespaces=["/custom"], transports=TRANSPORTS[transport],
                    wait_timeout=TIMEOUT)
    assert (await inbox_a.get("/ welcome"))["nsp"] == "/"
    assert (await inbox_a.get("/custom welcome"))["id"] == a.get_sid("/custom")
    assert (await inbox_b.get("/custom welcome"))["nsp"] == "/custom"
    assert a.get_sid("/") != a.get_sid("/custom")
    assert sorted(a.namespaces) == ["/", "/custom"] and b.namespaces == ["/custom"]
    assert not b.socket("/").connected

    # one namespace's traffic stays there
    a.emit("echo", "custom only", namespace="/custom")
    assert await inbox_a.get("/custom echo") == "custom only"
    assert await a.emit_with_ack("ack", "root") == "root"
    assert inbox_a.empty("/ echo")
    custom = a.socket("/custom")
    assert await custom.emit_with_ack("ack", 7) == 7

    # broadcast reaches the others, not the sender
    custom.emit("broadcast", {"from": "a"})
    assert await inbox_b.get("/custom broadcast") == {"from": "a"}
    assert await custom.emit_with_ack("ack", "sync") == "sync"
    assert inbox_a.empty("/custom broadcast")

    # rooms
    assert await b.emit_with_ack("join", "r1", namespace="/custom") is True
    a.emit("to-room", "r1", [1, 2], namespace="/custom")
    assert await inbox_b.get("/custom room") == ("r1", [1, 2])
    assert await custom.emit_with_ack("count") == 2

    # leaving one namespace keeps the others (and the connection)
    left: list[str] = []
    custom.on("disconnect", left.append)
    await custom.disconnect()
    assert left == ["io client disconnect"] and not custom.connected
    assert await a.emit_with_ack("ack", "still here") == "still here"
    assert await b.emit_with_ack("count", namespace="/custom") == 1
    assert a.connected and a.namespaces == ["/"]


async def test_connect_error_and_auth(target: Any, transport: str, clients: Factory) -> None:
    # a middleware refusal: message and data, both raised and given to connect_error
    refused = clients()
    errors: list[socketwire.ConnectError] = []
    refused.on("connect_error", errors.append)

    async def auth() -> dict[str, Any]:
        return {"refuse": "banned"}

    with pytest.raises(socketwire.ConnectError) as info:
        await refused.connect(target.url, auth=auth, transports=TRANSPORTS[transport],
                              wait_timeout=TIMEOUT)
    assert info.value.message == "not authorized"
    assert info.value.data == {"code": 4001, "reason": "banned"}
    assert [(e.message, e.data) for e in errors] == [
        ("not authorized", {"code": 4001, "reason": "banned"})
    ]
    assert not refused.connected
    await asyncio.wait_for(refused.wait(), TIMEOUT)

    # an unknown namespace
    lost = clients()
    with pytest.raises(socketwire.ConnectError, match="Invalid namespace"):
        await lost.connect(target.url, namespaces=["/nowhere"],
                           transports=TRANSPORTS[transport], wait_timeout=TIMEOUT)

    # the auth payload reaches the server; a refused namespace does not stop the others
    ok = clients()
    inbox = Inbox()
    listen(ok, inbox, "welcome")
    await ok.connect(target.url, auth={"token": "t1", "n": [1]},
                     transports=TRANSPORTS[transport], wait_timeout=TIMEOUT)
    assert (await inbox.get("/ welcome"))["auth"] == {"token": "t1", "n": [1]}
    with pytest.raises(socketwire.ConnectError, match="Invalid namespace"):
        await ok.socket("/nowhere").connect(wait_timeout=TIMEOUT)
    assert await ok.emit_with_ack("ack", 1) == 1

    # nothing listening: the transport's error
    port_closed = clients()
    await target.stop()
    with pytest.raises(socketwire.ConnectError) as down:
        await port_closed.connect(target.url, transports=TRANSPORTS[transport],
                                  wait_timeout=TIMEOUT)
    assert down.value.message in ("xhr poll error", "websocket error")


async def test_disconnect_reasons(target: Any, transport: str, clients: Factory) -> None:
    client = clients(reconnection_delay=0.05)
    reasons: list[str] = []
    client.on("disconnect", reasons.append)
    await client.connect(target.url, transports=TRANSPORTS[transport], wait_timeout=TIMEOUT)
    client.emit("server-disconnect")
    await asyncio.wait_for(client.wait(), TIMEOUT)  # no reconnection after that
    assert reasons == ["io server disconnect"]
    assert not client.connected and client.sid is None

    again = clients()
    again.on("disconnect", reasons.append)
    await again.connect(target.url, transports=TRANSPORTS[transport], wait_timeout=TIMEOUT)
    await again.disconnect()
    assert reasons == ["io server disconnect", "io client disconnect"]
    await asyncio.wait_for(again.wait(), TIMEOUT)


async def test_reconnect_after_restart(target: Any, transport: str, clients: Factory
                                       ) -> None:
    asked: list[int] = []

    def auth() -> dict[str, Any]:
        asked.append(len(asked) + 1)
        return {"n": asked[-1]}

    client = clients(reconnection_delay=0.05, reconnection_delay_max=0.3)
    inbox = Inbox()
    listen(client, inbox, "welcome", "connect", "disconnect")
    await client.connect(target.url, auth=auth, transports=TRANSPORTS[transport],
                         wait_timeout=TIMEOUT)
    await inbox.get("/ connect")
    assert (await inbox.get("/ welcome"))["auth"] == {"n": 1}
    first_sid = client.sid

    for round_ in (1, 2):

        async def while_down(round_: int = round_) -> None:
            reason = await inbox.get("/ disconnect")
            assert reason in ("transport close", "transport error")
            assert not client.connected
            for i in range(5):  # buffered while disconnected, sent once on reconnection
                client.emit("record", "k", f"{round_}-{i}")
            client.volatile.emit("record", "k", "volatile")  # dropped, not buffered

        await target.restart(while_down)
        await inbox.get("/ connect")
        welcome = await inbox.get("/ welcome")
        assert welcome["auth"] == {"n": asked[-1]} and asked[-1] > round_  # asked again
        assert client.sid == welcome["id"] and client.sid != first_sid
        records = await client.emit_with_ack("records", "k")
        assert records == [f"{round_}-{i}" for i in range(5)]
        assert await client.emit_with_ack("count") == 1  # no duplicate connection
        if transport == "upgrade":
            await wait_until(lambda: client.transport == "websocket")

    assert inbox.empty("/ connect") and inbox.empty("/ disconnect")
