"""socket.io-client 4.8 (Node) options that lean on the server's behaviour, against socketwire
in both hosts: ``retries`` with ``ackTimeout`` (at-least-once: a copy per try, in order) and
no reconnection after a middleware refusal."""

from __future__ import annotations

import asyncio
from typing import Any

import interop_support
import pytest
from jsdriver import JsDriver

import socketwire

pytestmark = [pytest.mark.node, pytest.mark.asyncio(loop_scope="module")]


async def test_retries_with_ack_timeout(js: JsDriver, hosting: str) -> None:
    io = socketwire.Server()
    copies: dict[str, int] = {}
    order: list[Any] = []

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        @socket.on("flaky")
        def flaky(key: str, *, ack: Any) -> None:
            copies[key] = copies.get(key, 0) + 1
            order.append(key)
            if copies[key] >= 2:  # the first copy is never answered
                ack(copies[key])

        @socket.on("never")
        def never(*, ack: Any) -> None:
            copies["never"] = copies.get("never", 0) + 1

    async with interop_support.serving(io, hosting, js.reset) as url:
        await js.connect("a", url, "upgrade", retries=2, ackTimeout=150)
        answers = await asyncio.gather(*(
            js.call("emit", c="a", event="flaky", args=[k], ack=True) for k in "xyz"
        ))
        assert [a["args"] for a in answers] == [[None, 2]] * 3
        assert order == ["x", "x", "y", "y", "z", "z"]  # one in flight at a time, in order
        failed = await js.call("emit", c="a", event="never", args=[], ack=True)
        assert failed == {"err": "operation has timed out"}
        assert copies["never"] == 3  # 1 + 2 retries, then the error


async def test_no_reconnection_after_a_middleware_refusal(js: JsDriver, hosting: str) -> None:
    io = socketwire.Server()

    @io.use
    def refuse(socket: socketwire.Socket) -> None:
        raise socketwire.ConnectionRefused("go away", {"code": 1})

    async with interop_support.serving(io, hosting, js.reset) as url:
        for transport in ("polling", "websocket", "upgrade"):
            c = f"r-{transport}"
            info = await js.connect(c, url, transport, reconnectionDelay=50,
                                    reconnectionDelayMax=50)
            assert info == {"connected": False, "message": "go away", "data": {"code": 1}}
        await asyncio.sleep(0.4)  # eight reconnection delays
        for transport in ("polling", "websocket", "upgrade"):
            c = f"r-{transport}"
            assert js.events(c, "reconnect_attempt") == []
            assert len(js.events(c, "connect_error")) == 1
        assert not io.engine.sessions  # the client closed its connection
