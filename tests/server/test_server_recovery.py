"""Connection state recovery at the server layer: a dropped client gets its id, rooms, data
and the events it missed back; not after the window, not after leaving on purpose, and the
middlewares run again when asked to."""

from __future__ import annotations

import asyncio

import pytest
from server_support import events, server_socket, until

import socketwire
from socketwire.adapters import memory
from socketwire.testing import TestClient
from virtual_clock import virtual_monotonic


def recovering_server(**settings: object) -> socketwire.Server:
    recovery = socketwire.ConnectionStateRecovery(**settings)  # type: ignore[arg-type]
    io = socketwire.Server(connection_state_recovery=recovery)

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        if not socket.recovered:
            socket.join("news")
            socket.data = {"visits": 1}
        else:
            socket.data["visits"] += 1
        socket.emit("welcome", socket.recovered)

    return io


def reconnecting_client(io: socketwire.Server, delay: float = 1.0) -> TestClient:
    return TestClient(io, reconnection=True, reconnection_delay=delay,
                      reconnection_delay_max=delay, randomization_factor=0)


@pytest.fixture(autouse=True)
def clock(monkeypatch: pytest.MonkeyPatch) -> None:
    """The session store measures its window with ``time.monotonic``: the virtual one."""
    monkeypatch.setattr(memory, "time", virtual_monotonic(asyncio.get_event_loop()))


async def test_a_dropped_client_recovers_id_rooms_data_and_missed_events() -> None:
    io = recovering_server()
    client = reconnecting_client(io, delay=3)
    async with client:
        # with recovery on, every event carries its offset last: [value, offset]
        assert (await client.wait_for("welcome"))[0] is False
        io.to("news").emit("headline", 1)
        assert (await client.wait_for("headline"))[0] == 1
        before = server_socket(io, client)
        client.drop()
        await until(lambda: not before.connected and not client.connected)
        # sent while it is away: to its room, to everyone, to it alone, and elsewhere
        io.to("news").emit("headline", 2)
        io.emit("everyone", "hi")
        io.to(before.id).emit("private", "only you")
        io.to("sports").emit("score", 3)
        await until(lambda: client.connected, timeout=10)
        after = server_socket(io, client)
        assert client.recovered and after.recovered
        assert after.id == before.id and after is not before
        assert after.rooms == {after.id, "news"}
        assert after.data == {"visits": 2}
        assert (await client.wait_for("welcome"))[0] is True
        assert [a[0] for a in events(client, "headline")] == [1, 2]
        assert [a[0] for a in events(client, "everyone")] == ["hi"]
        assert [a[0] for a in events(client, "private")] == ["only you"]
        assert events(client, "score") == []
        # the missed events came before the connection handler's welcome
        names = [e for e, _ in client.received]
        assert names.index("private") < names.index("welcome", names.index("headline") + 1)


async def test_no_recovery_after_the_window() -> None:
    io = recovering_server(max_disconnection_duration=60)
    client = reconnecting_client(io, delay=100)  # comes back after the window
    async with client:
        first = server_socket(io, client).id
        client.drop()
        await until(lambda: not client.connected)
        await until(lambda: client.connected, timeout=200)
        assert not client.recovered
        again = server_socket(io, client)
        assert again.id != first and again.rooms == {again.id, "news"}
        assert again.data == {"visits": 1}


async def test_leaving_on_purpose_is_not_recoverable() -> None:
    io = recovering_server()
    client = reconnecting_client(io)
    await client.connect()
    first = server_socket(io, client).id
    await client.disconnect()  # "client namespace disconnect": the session is not kept
    await client.connect()
    try:
        assert not client.recovered and server_socket(io, client).id != first
    finally:
        await client.disconnect()


async def test_middlewares_run_again_unless_skipped() -> None:
    io = recovering_server(skip_middlewares=False)
    runs: list[bool] = []
    io.use(lambda socket: runs.append(socket.recovered))
    client = reconnecting_client(io)
    async with client:
        client.drop()
        await asyncio.sleep(5)
        assert client.connected and client.recovered
    assert runs == [False, True]


async def test_recovery_off_means_a_new_socket_every_time() -> None:
    io = socketwire.Server()
    client = reconnecting_client(io)
    async with client:
        first = server_socket(io, client).id
        client.drop()
        await asyncio.sleep(5)
        assert client.connected and not client.recovered
        assert server_socket(io, client).id != first


async def test_emits_on_the_dropped_socket_are_replayed_in_order() -> None:
    # as Node 4.6+: socket.emit goes through the adapter, so it is numbered and kept
    io = recovering_server()
    client = reconnecting_client(io, delay=3)
    async with client:
        await client.wait_for("welcome")
        before = server_socket(io, client)
        client.drop()
        await until(lambda: not before.connected and not client.connected)
        io.emit("seq", 1)
        before.emit("seq", 2)
        io.to("news").emit("seq", 3)
        before.send("note")
        before.timeout(5).emit("seq", 4)  # no callback: no ack id, kept
        before.volatile.emit("seq", 97)  # volatile: never kept, as Node
        answers: list[object] = []
        before.emit("seq", 98, callback=answers.append)  # with an ack id: not kept, as Node
        before.timeout(5).emit("seq", 99, callback=lambda *a: answers.append(a))
        await until(lambda: client.connected, timeout=10)
        assert client.recovered and server_socket(io, client).id == before.id
        assert [a[0] for a in events(client, "seq")] == [1, 2, 3, 4]
        assert [a[:-1] for a in events(client, "message")] == [["note"]]
        names = [e for e, _ in client.received]
        assert names.index("seq") < names.index("welcome", 1)  # before the new welcome
        assert len(answers) == 1 and isinstance(answers[0][0], socketwire.Disconnected)


async def test_emits_from_the_disconnect_handler_reach_a_socket_without_offset() -> None:
    # beyond Node: no event before the drop (so no offset), and the emit comes at once
    io = socketwire.Server(connection_state_recovery=True)

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        @socket.on("disconnect")
        def gone(reason: str) -> None:
            socket.emit("missed", reason)

    client = reconnecting_client(io, delay=3)
    async with client:
        before = server_socket(io, client)
        client.drop()
        await until(lambda: not before.connected and not client.connected)
        await until(lambda: client.connected, timeout=10)
        assert client.recovered
        assert [a[0] for a in events(client, "missed")] == ["transport close"]


async def test_emits_after_leaving_on_purpose_are_not_kept() -> None:
    io = recovering_server()
    client = reconnecting_client(io)
    await client.connect()
    before = server_socket(io, client)
    await client.disconnect()
    await until(lambda: not before.connected)
    before.emit("late", 1)
    adapter = io.of("/").adapter
    assert isinstance(adapter, memory.SessionAwareAdapter)
    assert all(p.data[0] != "late" for p in adapter._packets)
