"""The in-memory session store of connection state recovery (Node's SessionAwareAdapter)."""

from __future__ import annotations

import asyncio

import socketwire
from socketwire.adapters.base import Adapter, BroadcastFlags, BroadcastOptions, PersistedSession
from socketwire.adapters.memory import InMemoryAdapter, SessionAwareAdapter
from socketwire.protocol.sio import SioPacket, SioType


def _server(duration: float = 120.0) -> socketwire.Server:
    return socketwire.Server(
        connection_state_recovery=socketwire.ConnectionStateRecovery(
            max_disconnection_duration=duration
        )
    )


def _event(*data: object, ack: int | None = None) -> SioPacket:
    return SioPacket(SioType.EVENT, "/", list(data), ack)


def _to(*rooms: str, volatile: bool = False, except_: tuple[str, ...] = ()) -> BroadcastOptions:
    return BroadcastOptions(frozenset(rooms), frozenset(except_), BroadcastFlags(volatile=volatile))


def test_adapter_chosen_by_the_setting() -> None:
    assert type(socketwire.Server().of("/").adapter) is InMemoryAdapter
    assert socketwire.Server().connection_state_recovery is None
    io = socketwire.Server(connection_state_recovery=True)
    assert io.connection_state_recovery == socketwire.ConnectionStateRecovery(120.0, True)
    assert type(io.of("/x").adapter) is SessionAwareAdapter


async def test_base_adapter_stores_nothing() -> None:
    adapter = Adapter(socketwire.Server().of("/"))
    await adapter.persist_session(PersistedSession("s", "p", ["s"], {}))
    assert await adapter.restore_session("p", "") is None


async def test_offsets_only_on_replayable_events() -> None:
    adapter = _server().of("/").adapter
    plain, acked, volatile = _event("a", 1), _event("b", ack=3), _event("c")
    adapter.broadcast(plain, _to())
    adapter.broadcast(volatile, _to(volatile=True))
    adapter.broadcast_with_ack(acked, _to(), lambda n: None, lambda sid, args: None)
    assert len(plain.data) == 3 and isinstance(plain.data[2], str)
    assert acked.data == ["b"] and volatile.data == ["c"]
    later = _event("d")
    adapter.broadcast(later, _to())
    assert later.data[1] != plain.data[2]  # each offset is new


async def test_restore_after_offset_with_the_rooms_of_the_session() -> None:
    adapter = _server().of("/").adapter
    seen = _event("seen")
    adapter.broadcast(seen, _to())
    await adapter.persist_session(PersistedSession("sid1", "pid1", ["sid1", "r1"], {"k": 1}))
    sent = []
    for packet, opts in [
        (_event("all"), _to()),
        (_event("r1"), _to("r1")),
        (_event("r2"), _to("r2")),
        (_event("not r1"), _to(except_=("r1",))),
        (_event("direct"), _to("sid1")),
        (_event("vol"), _to(volatile=True)),
    ]:
        adapter.broadcast(packet, opts)
        sent.append(packet.data)
    session = await adapter.restore_session("pid1", seen.data[-1])
    assert session is not None
    assert (session.sid, session.pid, session.rooms, session.data) == (
        "sid1", "pid1", ["sid1", "r1"], {"k": 1})
    assert session.missed_packets == [sent[0], sent[1], sent[4]]
    assert [p[0] for p in session.missed_packets] == ["all", "r1", "direct"]
    assert await adapter.restore_session("pid1", seen.data[-1]) is None  # once only


async def test_restore_without_offset_replays_since_the_persist() -> None:
    adapter = _server().of("/").adapter
    adapter.broadcast(_event("before"), _to())
    await adapter.persist_session(PersistedSession("s", "p", ["s"], None))
    after = _event("after")
    adapter.broadcast(after, _to())
    session = await adapter.restore_session("p", "")
    assert session is not None and session.missed_packets == [after.data]


async def test_unknown_pid_or_offset() -> None:
    adapter = _server().of("/").adapter
    other = _server().of("/").adapter
    foreign = _event("x")
    other.broadcast(foreign, _to())
    await adapter.persist_session(PersistedSession("s", "p", ["s"], None))
    assert await adapter.restore_session("nope", "") is None
    assert await adapter.restore_session("p", foreign.data[-1]) is None
    await adapter.persist_session(PersistedSession("s", "p", ["s"], None))
    assert await adapter.restore_session("p", "garbage") is None


async def test_sessions_and_packets_expire() -> None:
    adapter = _server(duration=0.05).of("/").adapter
    first = _event("old")
    adapter.broadcast(first, _to())
    await adapter.persist_session(PersistedSession("s", "p", ["s"], None))
    await asyncio.sleep(0.08)
    assert await adapter.restore_session("p", "") is None  # the session expired
    await adapter.persist_session(PersistedSession("s", "p", ["s"], None))
    adapter.broadcast(_event("new"), _to())  # purges "old"
    assert await adapter.restore_session("p", first.data[-1]) is None  # offset too old
