"""The admin UI protocol (@socket.io/admin-ui 0.5.1), seen by two admin clients: python-socketio
and the official socket.io-client (Node). Each payload is checked against the shapes Node's
server produces (features.md §2)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import pytest
from admin_support import (
    ALL_FEATURES,
    CLIENT_KINDS,
    CREDENTIALS,
    PASSWORD,
    STATS_KEYS,
    USER,
    AdminClient,
    ServerProbe,
    admin_server,
    check_serialized_socket,
    have_node,
    is_iso_timestamp,
    raw_upgrading_client,
    user_client,
)

import socketwire


@pytest.fixture(params=list(CLIENT_KINDS))
async def admin(request: pytest.FixtureRequest) -> AsyncIterator[AdminClient]:
    """An admin client of each kind (closed afterwards)."""
    if request.param == "socket.io-client" and not have_node:
        pytest.fail("needs Node.js and node_modules/socket.io-client")
    client = CLIENT_KINDS[request.param]()
    try:
        yield client
    finally:
        await client.close()


# ------------------------------------------------------------------- authentication


async def test_login_session_config_all_sockets(admin: AdminClient, hosting: str) -> None:
    async with admin_server(hosting) as (io, _inst, url):
        user = await user_client(url)
        try:
            assert await admin.connect(url, CREDENTIALS) is None
            (session_id,) = await admin.wait_for("session")
            assert re.fullmatch(r"[0-9a-f]{16}", session_id)
            (config,) = await admin.wait_for("config")
            assert config == {"supportedFeatures": ALL_FEATURES}
            (sockets,) = await admin.wait_for("all_sockets")
            for s in sockets:
                check_serialized_socket(s)
            by_nsp = {s["nsp"]: s for s in sockets}
            assert set(by_nsp) == {"/", "/admin"}  # the admin's own socket is listed, as Node
            user_sock = by_nsp["/"]
            assert user_sock["id"] == user.get_sid("/")
            assert user_sock["clientId"] == user.eio.sid[:12]
            assert user_sock["transport"] == "websocket"
            assert set(user_sock["rooms"]) == {user_sock["id"], "lobby"}
            # the order a dashboard relies on: session, then config, then all_sockets
            names = admin.names()
            assert names.index("session") < names.index("config") < names.index("all_sockets")
        finally:
            await user.disconnect()


@pytest.mark.parametrize("auth", [
    {"username": USER, "password": "wrong"},
    {"username": "someone", "password": PASSWORD},
    {"username": USER},
    {},
    None,
    {"sessionId": "0123456789abcdef"},
])
async def test_refused_with_invalid_credentials(admin: AdminClient,
                                                auth: dict[str, Any] | None) -> None:
    async with admin_server() as (io, _inst, url):
        assert await admin.connect(url, auth) == "invalid credentials"
        assert admin.events == []  # not one admin event
        assert io.namespaces["/admin"].sockets == {}


async def test_session_id_logs_in_again(admin: AdminClient) -> None:
    kind = admin.kind
    async with admin_server() as (_io, _inst, url):
        assert await admin.connect(url, CREDENTIALS) is None
        (session_id,) = await admin.wait_for("session")
        await admin.close()
        again = CLIENT_KINDS[kind]()
        try:
            assert await again.connect(url, {"sessionId": session_id}) is None
            await again.wait_for("config")
            assert "session" not in again.names()  # no new session for a session login
        finally:
            await again.close()


async def test_auth_false_accepts_anyone(admin: AdminClient) -> None:
    async with admin_server(auth=False) as (_io, _inst, url):
        assert await admin.connect(url, None) is None
        await admin.wait_for("config")
        assert "session" not in admin.names()


# --------------------------------------------------------------- development events


async def test_socket_and_room_events(admin: AdminClient, hosting: str) -> None:
    async with admin_server(hosting) as (io, _inst, url):
        assert await admin.connect(url, CREDENTIALS) is None
        await admin.wait_for("all_sockets")
        # a bare client on long-polling, then upgraded: socket_updated {transport}
        async with raw_upgrading_client(url) as upgrade:
            sock, ts = await admin.wait_for("socket_connected", lambda a: a[0]["nsp"] == "/")
            check_serialized_socket(sock)
            assert sock["transport"] == "polling" and is_iso_timestamp(ts)
            await upgrade()
            (update,) = await admin.wait_for(
                "socket_updated", lambda a: "transport" in a[0] and a[0]["id"] == sock["id"])
            assert update == {"id": sock["id"], "nsp": "/", "transport": "websocket"}
            assert io.sockets.sockets[sock["id"]].data["_admin"]["transport"] == "websocket"

        user = await user_client(url)
        sid = user.get_sid("/")
        try:
            sock, ts = await admin.wait_for("socket_connected", lambda a: a[0]["id"] == sid)
            check_serialized_socket(sock)
            assert sock["nsp"] == "/" and is_iso_timestamp(ts)
            for room in (sid, "lobby"):
                nsp, r, who, ts = await admin.wait_for(
                    "room_joined", lambda a, room=room: a[1] == room and a[2] == sid)
                assert nsp == "/" and is_iso_timestamp(ts)

            assert await user.call("set-name", "ada", timeout=15) == "ok"
            (update,) = await admin.wait_for(
                "socket_updated", lambda a: a[0]["id"] == sid and "data" in a[0])
            assert update == {"id": sid, "nsp": "/", "data": {"name": "ada"}}
            assert io.sockets.sockets[sid].data["name"] == "ada"

            await user.disconnect()
            nsp, who, reason, ts = await admin.wait_for("socket_disconnected",
                                                        lambda a: a[1] == sid)
            assert nsp == "/"
            # python-socketio may close the transport before its DISCONNECT packet goes out
            assert reason in ("client namespace disconnect", "transport close")
            assert is_iso_timestamp(ts)
            left = [await admin.wait_for("room_left", lambda a, room=room: a[1:3] == [room, sid])
                    for room in (sid, "lobby")]
            assert all(a[0] == "/" and a[2] == sid and is_iso_timestamp(a[3]) for a in left)
        finally:
            await user.disconnect()


async def test_event_received_and_sent(admin: AdminClient) -> None:
    async with admin_server() as (_io, _inst, url):
        assert await admin.connect(url, CREDENTIALS) is None
        await admin.wait_for("all_sockets")
        user = await user_client(url)
        other = await user_client(url)
        sid, other_sid = user.get_sid("/"), other.get_sid("/")
        try:
            assert await user.call("hello", {"n": 1}, timeout=15) == "ack"
            nsp, who, args, ts = await admin.wait_for("event_received",
                                                      lambda a: a[2][0] == "hello")
            assert (nsp, who, args) == ("/", sid, ["hello", {"n": 1}])  # the ack is dropped
            assert is_iso_timestamp(ts)
            nsp, who, args, ts = await admin.wait_for("event_sent", lambda a: a[2][0] == "world")
            assert (nsp, who, args) == ("/", sid, ["world", {"n": 1}])
            # a broadcast: one event_sent per recipient, as Node's adapter notifies each socket
            await user.emit("shout", "hi")
            for target in (sid, other_sid):
                await admin.wait_for("event_sent", lambda a, t=target: a[1] == t
                                     and a[2] == ["news", "hi"])
            # binary arguments are forwarded as binary
            await user.emit("hello", b"\x03")
            _, _, args, _ = await admin.wait_for("event_received",
                                                 lambda a: a[2][1:] == [b"\x03"])
            # the admin namespace's own traffic is never reported
            reported = admin.of("event_received") + admin.of("event_sent")
            assert all(a[0] != "/admin" for a in reported)
        finally:
            await user.disconnect()
            await other.disconnect()


async def test_dynamic_namespaces_are_covered(admin: AdminClient) -> None:
    async with admin_server() as (io, _inst, url):
        io.of(re.compile(r"/room-\d+")).on("connection", lambda s: s.join("inside"))
        assert await admin.connect(url, CREDENTIALS) is None
        await admin.wait_for("all_sockets")
        user = await user_client(url, namespace="/room-7")
        try:
            sid = user.get_sid("/room-7")
            sock, _ = await admin.wait_for("socket_connected", lambda a: a[0]["id"] == sid)
            assert sock["nsp"] == "/room-7"
            await admin.wait_for("room_joined", lambda a: a[:3] == ["/room-7", "inside", sid])
        finally:
            await user.disconnect()


async def test_production_mode_sends_stats_only(admin: AdminClient) -> None:
    async with admin_server(mode="production", stats_interval=0.2) as (_io, _inst, url):
        assert await admin.connect(url, CREDENTIALS) is None
        (config,) = await admin.wait_for("config")
        assert config == {"supportedFeatures": ALL_FEATURES[:-1]}
        user = await user_client(url)
        try:
            assert await user.call("hello", 1, timeout=15) == "ack"
            await user.disconnect()
            # stats keep coming; by the time they count the user's packets, any per-socket
            # event for it would have been sent long before
            await admin.wait_for("server_stats", lambda a: any(
                e["type"] == "rawDisconnection" for e in a[0]["aggregatedEvents"]))
            verbose = {"all_sockets", "socket_connected", "socket_updated", "socket_disconnected",
                       "room_joined", "room_left", "event_received", "event_sent"}
            assert verbose.isdisjoint(admin.names())
        finally:
            await user.disconnect()


async def test_server_stats(admin: AdminClient) -> None:
    async with admin_server(server_id="node-a") as (io, inst, url):
        assert inst.stats_interval == 2.0  # Node's cadence
        assert await admin.connect(url, CREDENTIALS) is None
        user = await user_client(url, transports=["polling"])
        try:
            assert await user.call("hello", "x" * 100, timeout=15) == "ack"
            first = await admin.wait_for("server_stats", lambda a: a[0]["clientsCount"] == 2)
            (stats,) = first
            assert set(stats) == STATS_KEYS
            assert stats["serverId"] == "node-a"
            assert isinstance(stats["hostname"], str) and isinstance(stats["pid"], int)
            assert isinstance(stats["uptime"], float) and stats["uptime"] > 0
            assert stats["pollingClientsCount"] == 1
            names = {n["name"]: n["socketsCount"] for n in stats["namespaces"]}
            assert names == {"/": 1, "/admin": 1}
            # aggregated events: 1-second buckets, drained at each emission, so summing every
            # server_stats counts each packet once
            await admin.wait_for("server_stats", lambda a: a is not first)
            totals: dict[str, int] = {}
            for (s,) in admin.of("server_stats"):
                for e in s["aggregatedEvents"]:
                    assert set(e) <= {"timestamp", "type", "subType", "count"}
                    assert e["timestamp"] % 1000 == 0
                    totals[e["type"]] = totals.get(e["type"], 0) + e["count"]
            assert totals["rawConnection"] == 2
            assert totals["packetsIn"] >= 3 and totals["bytesIn"] > 100
            assert totals["packetsOut"] >= 3 and totals["bytesOut"] > 100
        finally:
            await user.disconnect()


# --------------------------------------------------------------------- commands


async def test_commands_join_leave_disconnect(admin: AdminClient) -> None:
    async with admin_server() as (io, _inst, url):
        probe = ServerProbe(io)
        assert await admin.connect(url, CREDENTIALS) is None
        await admin.wait_for("all_sockets")
        user, other = await user_client(url), await user_client(url)
        sid, other_sid = user.get_sid("/"), other.get_sid("/")
        target = io.sockets.sockets[sid]
        try:
            await admin.emit("join", "/", "vip", sid)
            await probe.commands_handled(1)
            assert "vip" in target.rooms and "vip" not in io.sockets.sockets[other_sid].rooms
            await admin.wait_for("room_joined", lambda a: a[:3] == ["/", "vip", sid])

            await admin.emit("emit", "/", "vip", "notice", 1, 2)
            await probe.commands_handled(2)
            assert [s for s in probe.sent if s[2][0] == "notice"] == [("/", sid, ["notice", 1, 2])]

            await admin.emit("leave", "/", "vip", sid)
            await probe.commands_handled(3)
            assert "vip" not in target.rooms
            await admin.wait_for("room_left", lambda a: a[:3] == ["/", "vip", sid])

            await admin.emit("join", "/", "everyone")  # no filter: every socket of "/"
            await probe.commands_handled(4)
            assert "everyone" in io.sockets.sockets[other_sid].rooms

            await admin.emit("_disconnect", "/", False, sid)
            await probe.commands_handled(5)
            assert sid not in io.sockets.sockets and other_sid in io.sockets.sockets
            _, _, reason, _ = await admin.wait_for("socket_disconnected", lambda a: a[1] == sid)
            assert reason == "server namespace disconnect"

            await admin.emit("_disconnect", "/", True, "everyone")  # close the connections
            await probe.commands_handled(6)
            assert io.sockets.sockets == {}
            _, _, reason, _ = await admin.wait_for("socket_disconnected",
                                                   lambda a: a[1] == other_sid)
            assert reason == "server namespace disconnect"
            assert other.eio.sid not in io.engine.sessions or (
                io.engine.sessions[other.eio.sid].state.value != "open")
        finally:
            await user.disconnect()
            await other.disconnect()


async def test_read_only_refuses_every_command(admin: AdminClient) -> None:
    async with admin_server(read_only=True) as (io, _inst, url):
        probe = ServerProbe(io)
        assert await admin.connect(url, CREDENTIALS) is None
        (config,) = await admin.wait_for("config")
        assert config == {"supportedFeatures": ["AGGREGATED_EVENTS", "ALL_EVENTS"]}
        user = await user_client(url)
        sid = user.get_sid("/")
        target = io.sockets.sockets[sid]
        rooms_before = set(target.rooms)
        sent_before = len(probe.sent)
        try:
            await admin.emit("join", "/", "vip", sid)
            await admin.emit("join", "/", "vip")
            await admin.emit("emit", "/", sid, "notice", 1)
            await admin.emit("emit", "/", None, "notice", 1)
            await admin.emit("leave", "/", "lobby", sid)
            await admin.emit("_disconnect", "/", False, sid)
            await admin.emit("_disconnect", "/", True)
            await probe.commands_handled(7)
            # 0 effects on the target
            assert target.connected and io.sockets.sockets.get(sid) is target
            assert set(target.rooms) == rooms_before
            assert [s for s in probe.sent[sent_before:] if s[0] == "/"] == []
            assert await user.call("hello", 1, timeout=15) == "ack"  # still served
        finally:
            await user.disconnect()


def test_instrument_options() -> None:
    from socketwire.admin import instrument

    io = socketwire.Server()
    with pytest.raises(ValueError, match="must be specified"):
        instrument(io)
    with pytest.raises(ValueError, match="invalid `auth`"):
        instrument(io, auth={"type": "digest"})
    with pytest.raises(ValueError, match="mode"):
        instrument(io, auth=False, mode="staging")  # type: ignore[arg-type]


def test_features_in_each_mode() -> None:
    from socketwire.admin import instrument

    cases = {
        (False, "development"): ALL_FEATURES,
        (False, "production"): ALL_FEATURES[:-1],
        (True, "development"): ["AGGREGATED_EVENTS", "ALL_EVENTS"],
        (True, "production"): ["AGGREGATED_EVENTS"],
    }
    for (read_only, mode), expected in cases.items():
        inst = instrument(socketwire.Server(), auth=False, read_only=read_only, mode=mode)
        assert inst.supported_features == expected
        inst.close()


async def test_close_removes_every_hook() -> None:
    from socketwire.admin import instrument

    io = socketwire.Server()
    before = (repr(io.hooks), repr(io.engine.hooks))
    inst = instrument(io, auth=False)
    assert "/admin" in io.static_routes
    inst.close()
    assert (repr(io.hooks), repr(io.engine.hooks)) == before
    assert io.static_routes == {}
    await asyncio.sleep(0)
