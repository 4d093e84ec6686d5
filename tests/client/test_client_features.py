"""socket.io-client 4.6+ features of the AsyncClient, against socketwire (both hosts) and the
official Node socket.io 4.8 server (``target``, see conftest.py): the URL's path as the
namespace, ``ack_timeout``, ``retries`` (at-least-once), the manager-level events, and error
messages that name their cause.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import pytest

import socketwire
from servers import free_port

TIMEOUT = 10

Factory = Callable[..., socketwire.AsyncClient]


async def until(check: Callable[[], bool]) -> None:
    async with asyncio.timeout(TIMEOUT):
        while not check():
            await asyncio.sleep(0.02)


# ------------------------------------------------------------------ URL and namespaces


async def test_url_path_selects_the_namespace(target: Any, clients: Factory) -> None:
    client = clients()
    welcomes: list[Any] = []
    client.on("welcome", welcomes.append)  # registered before connect: on the URL's namespace
    await client.connect(target.url + "/custom", wait_timeout=TIMEOUT)
    assert client.namespace == "/custom" and client.namespaces == ["/custom"]
    await until(lambda: bool(welcomes))
    assert welcomes[0]["nsp"] == "/custom" and welcomes[0]["id"] == client.sid
    assert await client.emit_with_ack("ack", 7) == 7  # emits go there too
    assert client.socket().namespace == "/custom"
    # the explicit forms keep working: another namespace beside it
    await client.socket("/").connect(wait_timeout=TIMEOUT)
    assert sorted(client.namespaces) == ["/", "/custom"]
    assert await client.emit_with_ack("ack", 8, namespace="/") == 8


async def test_namespaces_argument_still_wins(target: Any, clients: Factory) -> None:
    client = clients()
    await client.connect(target.url, namespaces=["/custom"], wait_timeout=TIMEOUT)
    assert client.namespaces == ["/custom"]
    assert await client.emit_with_ack("ack", 1, namespace="/custom") == 1


@pytest.mark.parametrize("url", ["127.0.0.1:3000", "localhost:3000", "/chat", ""])
async def test_url_without_scheme_is_refused_clearly(url: str, clients: Factory) -> None:
    client = clients()
    with pytest.raises(ValueError, match="is not a server URL: it needs a scheme"):
        await client.connect(url)
    assert not client.connected


# ---------------------------------------------------------------------- error messages


@pytest.mark.parametrize("transports", [["polling"], ["websocket"]])
async def test_connect_error_names_the_cause(transports: list[str], clients: Factory) -> None:
    port = free_port()
    client = clients(reconnection=False)
    with pytest.raises(socketwire.ConnectError) as info:
        await client.connect(f"http://127.0.0.1:{port}", transports=transports)
    expected = "xhr poll error" if transports == ["polling"] else "websocket error"
    assert info.value.message == expected  # socket.io-client's message, unchanged
    assert str(info.value) == f"{expected}: connection refused to 127.0.0.1:{port}"


async def test_ack_timeout_names_the_event(target: Any, clients: Factory) -> None:
    client = clients()
    await client.connect(target.url, wait_timeout=TIMEOUT)
    with pytest.raises(socketwire.AckTimeout) as info:
        await client.timeout(0.2).emit_with_ack("ignored", 1)
    assert info.value.event == "ignored"
    assert str(info.value) == 'operation has timed out: no ack for "ignored" within 0.2 s'


# ------------------------------------------------------------------ ack_timeout, retries


async def test_ack_timeout_option(target: Any, clients: Factory) -> None:
    client = clients(ack_timeout=0.2)
    await client.connect(target.url, wait_timeout=TIMEOUT)
    got: list[Any] = []
    client.emit("ack", 1, 2, callback=lambda *a: got.append(a))  # err-first with ackTimeout
    client.emit("ignored", callback=lambda *a: got.append(a))
    await until(lambda: len(got) == 2)
    assert got[0] == (None, 1, 2)
    assert isinstance(got[1][0], socketwire.AckTimeout) and got[1][0].event == "ignored"
    with pytest.raises(socketwire.AckTimeout):
        await client.emit_with_ack("ignored")
    assert await client.emit_with_ack("ack", 3) == 3


async def test_retries_deliver_at_least_once_in_order(target: Any, clients: Factory) -> None:
    client = clients(retries=3, ack_timeout=0.2)
    await client.connect(target.url, wait_timeout=TIMEOUT)
    # "flaky" answers from its second copy on: the first try times out, the retry succeeds
    assert await client.emit_with_ack("flaky", "a") == 2
    got: list[Any] = []
    for i in range(5):
        client.emit("ack", i, callback=lambda *a: got.append(a))
    client.emit("flaky", "b", callback=lambda *a: got.append(a))
    client.emit("ack", "last", callback=lambda *a: got.append(a))
    await until(lambda: len(got) == 7)
    assert got == [(None, i) for i in range(5)] + [(None, 2), (None, "last")]
    # given up after 1 + retries tries: the error reaches the callback
    failing = clients(retries=1, ack_timeout=0.1)
    await failing.connect(target.url, wait_timeout=TIMEOUT)
    with pytest.raises(socketwire.AckTimeout):
        await failing.emit_with_ack("ignored")


async def test_retries_survive_a_reconnection(target: Any, clients: Factory) -> None:
    client = clients(retries=2, ack_timeout=0.3, reconnection_delay=0.05,
                     reconnection_delay_max=0.1)
    await client.connect(target.url, wait_timeout=TIMEOUT)
    outcome: list[Any] = []

    async def while_down() -> None:
        await until(lambda: not client.connected)
        # queued while disconnected; sent in order once connected, each until acknowledged
        client.emit("flaky", "r", callback=lambda *a: outcome.append(a))
        client.emit("ack", "after", callback=lambda *a: outcome.append(a))

    await target.restart(while_down)
    await until(lambda: len(outcome) == 2)
    assert outcome == [(None, 2), (None, "after")]  # "flaky" answered its second copy


# --------------------------------------------------------------------- manager events


async def test_manager_events(target: Any, clients: Factory) -> None:
    client = clients(reconnection_delay=0.05, reconnection_delay_max=0.1,
                     randomization_factor=0)
    seen: list[tuple[Any, ...]] = []
    for name in ("open", "close", "reconnect_attempt", "reconnect", "reconnect_error",
                 "reconnect_failed", "error"):
        client.io.on(name, lambda *a, name=name: seen.append((name, *a)))
    pings: list[int] = []
    client.io.on("ping", lambda: pings.append(1))
    await client.connect(target.url, transports=["websocket"], wait_timeout=TIMEOUT)
    assert seen == [("open",)]

    async def while_down() -> None:
        await until(lambda: sum(1 for e in seen if e[0] == "reconnect_error") >= 2)

    await target.restart(while_down)
    await until(lambda: any(e[0] == "reconnect" for e in seen))
    names = [e[0] for e in seen]
    assert names[:2] == ["open", "close"]
    assert seen[1][1] in ("transport close", "transport error")
    attempts = [e[1] for e in seen if e[0] == "reconnect_attempt"]
    assert attempts == list(range(1, len(attempts) + 1)) and len(attempts) >= 3
    errors = [e for e in seen if e[0] in ("error", "reconnect_error")]
    assert all(isinstance(e[1], socketwire.ConnectError) for e in errors)
    # each failed attempt: "error" then "reconnect_error"
    assert names[2:] == (
        ["reconnect_attempt", "error", "reconnect_error"] * (len(attempts) - 1)
        + ["reconnect_attempt", "reconnect", "open"]
    ) or names[2:] == (
        ["reconnect_attempt", "error", "reconnect_error"] * (len(attempts) - 1)
        + ["reconnect_attempt", "open", "reconnect"]
    )
    [reconnect] = [e for e in seen if e[0] == "reconnect"]
    assert reconnect[1] == attempts[-1]
    await until(lambda: bool(pings))  # the scenario servers ping every 2 s


async def test_reconnect_failed(clients: Factory) -> None:
    io = socketwire.Server()
    port = free_port()
    client = clients(reconnection_attempts=2, reconnection_delay=0.05, randomization_factor=0)
    seen: list[str] = []
    for name in ("reconnect_attempt", "reconnect_error", "reconnect_failed"):
        client.io.on(name, lambda *a, name=name: seen.append(name))
    from servers import running

    async with running(io, port=port) as url:
        await client.connect(url, wait_timeout=TIMEOUT)
    await asyncio.wait_for(client.wait(), TIMEOUT)
    assert seen == ["reconnect_attempt", "reconnect_error", "reconnect_attempt",
                    "reconnect_failed", "reconnect_error"]


async def test_prepend_any_outgoing_runs_before_the_other_outgoing_listeners(
        target: Any, clients: Factory) -> None:
    client = clients()
    await client.connect(target.url, wait_timeout=TIMEOUT)
    calls: list[tuple[str, str, tuple[Any, ...]]] = []
    sock = client.socket()
    sock.on_any_outgoing(lambda event, *args: calls.append(("second", event, args)))
    sock.prepend_any_outgoing(lambda event, *args: calls.append(("first", event, args)))
    assert await client.emit_with_ack("ack", 5) == 5
    assert calls == [("first", "ack", (5,)), ("second", "ack", (5,))]
