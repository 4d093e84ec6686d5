"""--workers supervision: a killed worker comes back and nobody else notices; SIGTERM and SIGINT
stop everything gracefully; no process is ever left behind (checked by PID); one keep-alive
connection may carry requests for sessions of different workers."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import socket
import time
from typing import Any

import pytest
from test_workers_cluster import APP, Client
from workers_support import PYTHON, WorkersServer, alive

from socketwire.client import AsyncClient
from socketwire.hosting.workers import slot_of


async def place(server: WorkersServer, per_slot: int, reconnection: bool = False,
                transports: list[str] | None = None) -> list[Client]:
    """``per_slot`` connected clients on every worker."""
    made: list[Client] = []
    count = dict.fromkeys(range(server.count), 0)
    for _ in range(300):
        if all(n >= per_slot for n in count.values()):
            return made
        c = Client(AsyncClient(reconnection=reconnection, reconnection_delay=0.1,
                               reconnection_delay_max=0.5))
        await c.io.connect(server.url, transports=transports)
        info = await c.ask("whoami")
        c.slot, c.id = info["slot"], info["id"]
        if count[c.slot] >= per_slot:
            await c.io.disconnect()
            continue
        count[c.slot] += 1
        made.append(c)
    raise AssertionError(f"could not place clients: {count}")


@pytest.mark.parametrize("transports", [["polling"], ["websocket"]])
async def test_sigkill_a_worker_under_load(transports: list[str]) -> None:
    server = WorkersServer.start([PYTHON, APP], 3)
    clients: list[Client] = []
    try:
        clients = await place(server, 2, reconnection=True, transports=transports)
        victim_slot = 2
        victims = [c for c in clients if c.slot == victim_slot]
        survivors = [c for c in clients if c.slot != victim_slot]
        sender = survivors[0]
        lost: list[str] = []
        for c in survivors:
            c.io.on("disconnect", lambda reason: lost.append(reason))
        before = set(server.workers())
        victim_pid = (await victims[0].ask("whoami"))["pid"]
        assert victim_pid in before

        sent = 0

        async def load(seconds: float) -> None:
            nonlocal sent
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                sender.io.emit("broadcast", "seq", sent)
                sent += 1
                await asyncio.sleep(0.002)

        loader = asyncio.ensure_future(load(2.5))
        await asyncio.sleep(0.8)
        os.kill(victim_pid, signal.SIGKILL)
        killed_at = time.monotonic()
        back = await asyncio.to_thread(server.wait_workers, 2.0, {victim_pid})
        took = time.monotonic() - killed_at
        assert took < 2.0, took
        assert victim_pid not in back and len(back) == 3
        await loader
        # the survivors lost nothing, in order, and were never disconnected
        for c in survivors:
            got = await c.wait_for("seq", sent, timeout=10)
            assert [args[0] for args in got] == list(range(sent)), c.slot
        assert lost == []
        # the victim's clients reconnect (to any worker) and work
        for c in victims:
            async with asyncio.timeout(10):
                while not c.io.connected:
                    await asyncio.sleep(0.05)
            assert (await c.ask("whoami"))["slot"] in range(3)
        # the restarted worker serves and is back in the cluster
        async with asyncio.timeout(10):
            while await sender.ask("server-count") != 3:
                await asyncio.sleep(0.1)
        fresh = await place(server, 1)
        clients.extend(fresh)
        on_new = [c for c in fresh if c.slot == victim_slot][0]
        assert (await on_new.ask("whoami"))["pid"] not in before
        sender.io.emit("broadcast", "after", 1)
        assert await on_new.wait_for("after") == [(1,)]
        assert "worker 2" in server.log() and "SIGKILL" in server.log()
    finally:
        for c in clients:
            await c.io.disconnect()
        assert server.stop() == 0
    assert not server.errors(), server.log()


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_signal_stops_every_worker_gracefully(sig: signal.Signals) -> None:
    server = WorkersServer.start([PYTHON, APP], 2)
    clients = await place(server, 2)
    reasons: dict[str, asyncio.Future[str]] = {}
    for c in clients:
        fut: asyncio.Future[str] = asyncio.get_running_loop().create_future()
        reasons[c.id] = fut
        c.io.on("disconnect", lambda reason, fut=fut: fut.done() or fut.set_result(reason))
    pids = server.workers()
    assert len(pids) == 2
    code = await asyncio.to_thread(server.stop, sig)
    assert code == 0
    assert not any(alive(p) for p in pids)
    for c in clients:  # the clients saw the server go (transport close, as from Node)
        assert await asyncio.wait_for(reasons[c.id], 10) == "transport close"
        await c.io.disconnect()
    log = server.log()
    for c in clients:  # and the server's handlers saw "server shutting down"
        assert f"disconnect {c.id} server shutting down" in log, log
    assert not server.errors(), log


async def test_parent_killed_leaves_no_orphan() -> None:
    server = WorkersServer.start([PYTHON, APP], 2)
    pids = server.workers()
    os.kill(server.proc.pid, signal.SIGKILL)
    server.proc.wait(10)
    server.assert_no_orphans(timeout=10)  # the workers get SIGTERM when their parent dies
    assert not any(alive(p) for p in pids)


def _request(sock: socket.socket, method: str, target: str, body: bytes = b"") -> tuple[int, bytes]:
    head = (f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: {len(body)}\r\n"
            "Connection: keep-alive\r\n\r\n").encode() + body
    sock.sendall(head)
    data = b""
    while b"\r\n\r\n" not in data:
        chunk = sock.recv(65536)
        assert chunk, "connection closed"
        data += chunk
    header, rest = data.split(b"\r\n\r\n", 1)
    length = 0
    for line in header.split(b"\r\n")[1:]:
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"content-length":
            length = int(value)
        if name.strip().lower() == b"connection":
            assert value.strip().lower() == b"keep-alive", header
    while len(rest) < length:
        rest += sock.recv(65536)
    return int(header.split(b" ")[1]), rest


async def test_one_keepalive_connection_for_sessions_of_every_worker() -> None:
    server = WorkersServer.start([PYTHON, APP], 3)
    try:
        def scenario() -> dict[str, Any]:
            # one session on each worker (handshakes on fresh connections until all are seen)
            sids: dict[int, str] = {}
            for _ in range(300):
                with socket.create_connection(("127.0.0.1", server.port)) as s:
                    status, body = _request(s, "GET", "/socket.io/?EIO=4&transport=polling")
                assert status == 200
                sid = json.loads(body[1:])["sid"]
                assert len(sid) == 20
                slot = slot_of(sid)
                assert slot is not None
                sids.setdefault(slot, sid)
                if len(sids) == 3:
                    break
            assert sorted(sids) == [0, 1, 2]
            # now everything on ONE connection, alternating between the workers' sessions
            answers: dict[int, list[bytes]] = {0: [], 1: [], 2: []}
            with socket.create_connection(("127.0.0.1", server.port)) as s:
                for sid in sids.values():
                    q = f"/socket.io/?EIO=4&transport=polling&sid={sid}"
                    assert _request(s, "POST", q, b"40") == (200, b"ok")
                for round_ in range(5):
                    for slot, sid in sids.items():
                        q = f"/socket.io/?EIO=4&transport=polling&sid={sid}"
                        status, body = _request(s, "GET", q)
                        assert status == 200, body
                        answers[slot].append(body)
                        ack = f'42{round_}["whoami"]'.encode()
                        assert _request(s, "POST", q, ack) == (200, b"ok")
                for slot, sid in sids.items():
                    q = f"/socket.io/?EIO=4&transport=polling&sid={sid}"
                    status, body = _request(s, "GET", q)
                    assert status == 200
                    answers[slot].append(body)
            return {"sids": sids, "answers": answers}

        result = await asyncio.to_thread(scenario)
        for slot, bodies in result["answers"].items():
            assert bodies[0].startswith(b"40{"), bodies[0]  # the CONNECT answer
            acks = b"\x1e".join(bodies[1:]).split(b"\x1e")
            assert len(acks) == 5
            for round_, ack in enumerate(acks):
                assert ack.startswith(f"43{round_}[".encode()), ack
                assert json.loads(ack[len(f"43{round_}"):])[0]["slot"] == slot
    finally:
        assert server.stop() == 0
    stats = server.stats()
    assert sum(s["handed_off"] for s in stats) >= 10, stats
    assert not server.errors(), server.log()


async def test_request_for_another_worker_behind_a_pending_one() -> None:
    """On one connection, a POST for another worker's session sent while a long-poll of this
    worker's session is pending: it waits for the poll's answer, then the connection moves to
    the other worker, and both answers come back in order."""
    server = WorkersServer.start([PYTHON, APP], 2)
    try:
        def scenario() -> int:
            handed = 0
            for _ in range(20):
                with socket.create_connection(("127.0.0.1", server.port)) as other:
                    _, body = _request(other, "GET", "/socket.io/?EIO=4&transport=polling")
                far = json.loads(body[1:])["sid"]
                with socket.create_connection(("127.0.0.1", server.port)) as s:
                    _, body = _request(s, "GET", "/socket.io/?EIO=4&transport=polling")
                    near = json.loads(body[1:])["sid"]
                    if slot_of(near) == slot_of(far):
                        continue
                    handed += 1
                    qn = f"/socket.io/?EIO=4&transport=polling&sid={near}"
                    qf = f"/socket.io/?EIO=4&transport=polling&sid={far}"
                    with socket.create_connection(("127.0.0.1", server.port)) as side:
                        assert _request(side, "POST", qn, b"40") == (200, b"ok")
                    assert _request(s, "GET", qn)[1].startswith(b"40{")
                    s.sendall(f"GET {qn} HTTP/1.1\r\nHost: x\r\n\r\n".encode())  # pending
                    time.sleep(0.1)
                    s.sendall(f"POST {qf} HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\n40"
                              .encode())
                    time.sleep(0.1)
                    with socket.create_connection(("127.0.0.1", server.port)) as side:
                        assert _request(side, "POST", qn, b'421["whoami"]') == (200, b"ok")
                    data = b""
                    while data.count(b"HTTP/1.1 200") < 2 or not data.endswith(b"ok"):
                        chunk = s.recv(65536)
                        assert chunk, data
                        data += chunk
                    first, second = data.split(b"HTTP/1.1 200")[1:]
                    assert b"431[" in first and second.endswith(b"\r\n\r\nok"), data
                    with socket.create_connection(("127.0.0.1", server.port)) as side:
                        _, body = _request(side, "GET", qf)
                    assert body.startswith(b"40{"), body  # the POST reached its owner
                if handed >= 3:
                    break
            return handed

        assert await asyncio.to_thread(scenario) >= 3
    finally:
        assert server.stop() == 0
    assert not server.errors(), server.log()
