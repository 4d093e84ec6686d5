"""The chat app's event contract (docs/chat.md), end to end, with independent clients.

The same scenario runs with python-socketio's AsyncClient, socketwire's own AsyncClient and
the official socket.io-client (in Node), over polling, WebSocket and the upgrade, in both
hostings.
"""

from __future__ import annotations

import shutil
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

import pytest
from chat_clients import (
    ROOT,
    ChatClient,
    NodeDriver,
    PySioClient,
    Refused,
    SocketwireClient,
    node_driver,
)

from servers import TRANSPORTS, running
from socketwire.chat import create_server

NOW_SLACK_MS = 10 * 60 * 1000  # "ts is now": same machine, so only a sanity bound


def assert_now(ts: Any) -> None:
    assert isinstance(ts, int) and not isinstance(ts, bool)
    assert abs(ts - time.time() * 1000) < NOW_SLACK_MS


def by_id(users: list[dict[str, Any]]) -> dict[str, str]:
    return {u["id"]: u["userName"] for u in users}


async def refused(
    make: Callable[[], ChatClient], url: str, auth: Any, transports: list[str]
) -> str:
    client = make()
    with pytest.raises(Refused) as info:
        await client.connect(url, auth, transports)
    return str(info.value.args[0])


async def contract_scenario(make: Callable[[], ChatClient], url: str, transports: list[str],
                            node: bool = False) -> None:
    """Drive every event of the contract with three users; ``make`` builds a client."""
    # -- refused names
    for auth in ({}, {"username": ""}, {"username": "   "}, {"username": "x" * 33},
                 {"username": 42}, {"name": "alice"}):
        assert await refused(make, url, auth, transports) == "invalid username", auth
    if not node:  # socket.io-client always sends an object; python-socketio can send none
        assert await refused(make, url, None, transports) == "invalid username"

    # -- alice arrives: welcome lists her
    alice = make()
    await alice.connect(url, {"username": "alice"}, transports)
    [welcome] = await alice.next("welcome")
    assert welcome["id"] == alice.sid and welcome["userName"] == "alice"
    assert welcome["users"] == [{"id": alice.sid, "userName": "alice"}]

    # -- bob arrives: his welcome lists both, alice hears about him
    bob = make()
    await bob.connect(url, {"username": "bob"}, transports)
    [welcome] = await bob.next("welcome")
    assert welcome["id"] == bob.sid and welcome["userName"] == "bob"
    assert by_id(welcome["users"]) == {alice.sid: "alice", bob.sid: "bob"}
    assert await alice.next("new-user-joined") == [
        {"id": bob.sid, "userName": "bob", "msg": "New User Joined"}
    ]

    # -- carol (a 32-character name, the longest allowed) is the bystander
    carol_name = "c" * 32
    carol = make()
    await carol.connect(url, {"username": carol_name}, transports)
    [welcome] = await carol.next("welcome")
    assert len(welcome["users"]) == 3
    await alice.next("new-user-joined")
    await bob.next("new-user-joined")

    assert by_id(await alice.call("list-users")) == {
        alice.sid: "alice", bob.sid: "bob", carol.sid: carol_name
    }

    # -- public messages: the others get them, the sender's ack carries the same ts
    ack = await alice.call("new-message", "hello, world")
    assert ack["ok"] is True
    assert_now(ack["ts"])
    for other in (bob, carol):
        assert await other.next("new-message") == [
            {"id": alice.sid, "userName": "alice", "text": "hello, world", "ts": ack["ts"]}
        ]
    longest = "é" * 2000
    assert (await bob.call("new-message", longest))["ok"] is True
    [got] = await alice.next("new-message")
    assert got["text"] == longest and got["id"] == bob.sid
    await carol.next("new-message")

    for bad_args in [(), ("",), ("   ",), ("x" * 2001,), (42,), (None,), ({"text": "hi"},),
                     (["hi"],), (True,)]:
        ack = await alice.call("new-message", *bad_args)
        assert ack["ok"] is False and isinstance(ack["error"], str) and ack["error"], bad_args

    # -- private messages: only the addressee gets them
    ack = await alice.call("send-private-msg", {"to": bob.sid, "text": "psst, bob"})
    assert ack == {"ok": True}
    [got] = await bob.next("got-private-msg")
    assert got["from"] == {"id": alice.sid, "userName": "alice"}
    assert got["text"] == "psst, bob"
    assert_now(got["ts"])
    assert await alice.call("send-private-msg", {"to": "nobody-here", "text": "hi"}) == {
        "ok": False, "error": "no such user"
    }
    for bad in [None, "hello", 42, [bob.sid, "hi"], {"to": bob.sid}, {"text": "hi"},
                {"to": bob.sid, "text": ""}, {"to": bob.sid, "text": "x" * 2001},
                {"to": 42, "text": "hi"}]:
        ack = await alice.call("send-private-msg", bad)
        assert ack["ok"] is False and isinstance(ack["error"], str), bad

    # -- rooms: join, members, notices to the others in the room only
    ack = await alice.call("join-room", "lobby")
    assert ack == {"ok": True, "room": "lobby",
                   "members": [{"id": alice.sid, "userName": "alice"}]}
    ack = await bob.call("join-room", "lobby")
    assert ack["ok"] is True and ack["room"] == "lobby"
    assert by_id(ack["members"]) == {alice.sid: "alice", bob.sid: "bob"}
    assert await alice.next("user-joined-room") == [
        {"room": "lobby", "id": bob.sid, "userName": "bob"}
    ]
    room64 = "r" * 64
    assert (await carol.call("join-room", room64))["ok"] is True

    ack = await alice.call("room-message", {"room": "lobby", "text": "hi, room"})
    assert ack["ok"] is True
    assert await bob.next("room-message") == [
        {"room": "lobby", "from": {"id": alice.sid, "userName": "alice"},
         "text": "hi, room", "ts": ack["ts"]}
    ]
    assert await carol.call("room-message", {"room": "lobby", "text": "let me in"}) == {
        "ok": False, "error": "not in room"
    }
    for bad_room in ["", "x" * 65, 42, None, ["lobby"], bob.sid, carol.sid]:
        for event in ("join-room", "leave-room"):
            ack = await carol.call(event, bad_room)
            assert ack["ok"] is False and isinstance(ack["error"], str), (event, bad_room)
    for bad in [None, "lobby", {"room": "lobby"}, {"text": "hi"}, {"room": "lobby", "text": ""},
                {"room": 42, "text": "hi"}]:
        ack = await alice.call("room-message", bad)
        assert ack["ok"] is False and isinstance(ack["error"], str), bad

    # -- leaving a room
    assert await bob.call("leave-room", "lobby") == {"ok": True, "room": "lobby"}
    assert await alice.next("user-left-room") == [
        {"room": "lobby", "id": bob.sid, "userName": "bob"}
    ]
    assert await bob.call("room-message", {"room": "lobby", "text": "still here?"}) == {
        "ok": False, "error": "not in room"
    }
    assert (await bob.call("leave-room", "lobby"))["ok"] is False

    # -- bad input without an ack callback never hurts the server
    for event, args in [("new-message", ()), ("new-message", (42,)),
                        ("send-private-msg", ("x",)), ("join-room", ({},)),
                        ("leave-room", ()), ("room-message", ([],)), ("list-users", (1, 2)),
                        ("new-message", ("fine, without an ack",)), ("no-such-event", ())]:
        await alice.emit(event, *args)
    assert (await bob.next("new-message"))[0]["text"] == "fine, without an ack"
    assert len(await alice.call("list-users")) == 3

    # -- bob leaves: the others are told
    await bob.disconnect()
    for other in (alice, carol):
        assert await other.next("user-disconnected") == [
            {"id": bob.sid, "userName": "bob", "msg": "user disconnected"}
        ]
    assert by_id(await carol.call("list-users")) == {alice.sid: "alice", carol.sid: carol_name}

    # -- what must not have been received (events arrive in order, and each client has seen
    # an event sent after all of these)
    assert not [a for e, a in alice.log if e == "new-message" and a[0]["id"] == alice.sid]
    assert not [e for e, _ in carol.log if e in ("got-private-msg", "room-message",
                                                 "user-joined-room", "user-left-room")]
    assert not [e for e, _ in alice.log if e == "got-private-msg"]
    assert [e for e, _ in alice.log].count("welcome") == 1

    await alice.disconnect()
    await carol.disconnect()


@pytest.mark.parametrize("transport", list(TRANSPORTS))
async def test_contract_python_socketio(hosting: str, transport: str) -> None:
    clients: list[PySioClient] = []

    def make() -> ChatClient:
        clients.append(PySioClient())
        return clients[-1]

    async with running(create_server(), hosting) as url:
        try:
            await contract_scenario(make, url, TRANSPORTS[transport])
        finally:
            for client in clients:
                await client.sio.disconnect()


@pytest.mark.parametrize("transport", list(TRANSPORTS))
async def test_contract_socketwire_client(hosting: str, transport: str) -> None:
    clients: list[SocketwireClient] = []

    def make() -> ChatClient:
        clients.append(SocketwireClient())
        return clients[-1]

    async with running(create_server(), hosting) as url:
        try:
            await contract_scenario(make, url, TRANSPORTS[transport])
        finally:
            for client in clients:
                await client.client.disconnect()


@pytest.fixture
async def node() -> AsyncIterator[NodeDriver]:
    if shutil.which("node") is None or not (ROOT / "node_modules" / "socket.io-client").is_dir():
        pytest.fail("needs node and the npm packages (npm ci)")
    async with node_driver() as driver:
        yield driver


@pytest.mark.node
@pytest.mark.parametrize("transport", list(TRANSPORTS))
async def test_contract_official_js_client(hosting: str, transport: str, node: NodeDriver) -> None:
    async with running(create_server(), hosting) as url:
        await contract_scenario(node.client, url, TRANSPORTS[transport], node=True)
