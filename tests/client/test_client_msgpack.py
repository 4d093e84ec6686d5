"""The AsyncClient with the msgpack parser against socketwire (both hosts, parser="msgpack")
and the official Node socket.io 4.8 server using socket.io-msgpack-parser: the scenario tests
of test_client_scenarios.py (events, acks, binary, namespaces, rooms, broadcasts, refusals),
run again with that wire format."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from test_client_scenarios import (
    test_connect_error_and_auth,
    test_events_acks_binary,
    test_namespaces_rooms_broadcast,
)

import socketwire
from servers import TRANSPORTS

pytestmark = pytest.mark.parametrize("transport", list(TRANSPORTS))

__all__ = [
    "test_connect_error_and_auth",
    "test_events_acks_binary",
    "test_namespaces_rooms_broadcast",
]


TARGETS = ("standalone", "asgi", "node")
CONFTEST = str(Path(__file__).with_name("conftest.py"))


def _conftest(request: pytest.FixtureRequest) -> Any:
    """tests/client/conftest.py as pytest loaded it (its Target class)."""
    for plugin in request.config.pluginmanager.get_plugins():
        if getattr(plugin, "__file__", None) == CONFTEST:
            return plugin
    raise RuntimeError("tests/client/conftest.py is not loaded")


@pytest.fixture(params=TARGETS)
async def target(request: pytest.FixtureRequest) -> AsyncIterator[Any]:
    """The scenario server speaking socket.io-msgpack-parser's format."""
    t = _conftest(request).Target(str(request.param), parser="msgpack")
    await t.start()
    try:
        yield t
    finally:
        await t.stop()


@pytest.fixture
def clients(
    clients: Callable[..., socketwire.AsyncClient],
) -> Callable[..., socketwire.AsyncClient]:
    """The suite's client factory, with the msgpack parser."""

    def make(**options: Any) -> socketwire.AsyncClient:
        return clients(**{"parser": "msgpack", **options})

    return make


async def test_wire_is_msgpack(target: Any, transport: str,
                               clients: Callable[..., socketwire.AsyncClient]) -> None:
    # every Socket.IO packet the client received was one binary message
    client = clients()
    got: list[str | bytes] = []
    await client.connect(target.url, transports=TRANSPORTS[transport])
    engine = client.engine
    assert engine is not None
    original = engine.on_message

    def spy(data: str | bytes) -> None:
        got.append(data)
        original(data)

    engine.on_message = spy
    assert await client.emit_with_ack("ack", {"x": b"\x01"}) == {"x": b"\x01"}
    assert got and all(isinstance(m, bytes) for m in got)
