"""socketwire.metrics: the Prometheus endpoint scraped during a chat session run by the
``socketwire chat --metrics PORT`` command, figures checked against what the test did; then
handler errors, ack round trips, slow consumers and failed upgrades on a server of the test's
own, and the same figures through OpenTelemetry's SDK."""

from __future__ import annotations

import asyncio
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest
import socketio
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from prometheus_client import CollectorRegistry
from prometheus_client.parser import text_string_to_metric_families
from websockets.asyncio.client import connect as ws_connect

import socketwire
from servers import free_port, running
from socketwire.metrics import Metrics

WAIT = 20.0
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def parse(text: str) -> Samples:
    """Prometheus text format as {(sample name, sorted labels): value}."""
    out: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            out[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return out


def value(samples: Samples, name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


@contextmanager
def chat_command(port: int, metrics_port: int,
                 *extra: str) -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(
        [sys.executable, "-m", "socketwire.cli", "chat", "--port", str(port),
         "--metrics", str(metrics_port), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline().decode()
        assert "listening on http://" in line, line
        yield proc
    finally:
        os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(15)
        for stream in (proc.stdout, proc.stderr):
            if stream is not None:
                stream.close()


async def test_prometheus_endpoint_during_a_chat_session() -> None:
    port, metrics_port = free_port(), free_port()
    url = f"http://127.0.0.1:{port}"
    with chat_command(port, metrics_port) as proc:
        clients: dict[str, socketio.AsyncClient] = {}
        for name, transports in (("ada", ["websocket"]), ("bob", ["polling"]),
                                 ("cy", ["polling", "websocket"])):
            client = socketio.AsyncClient(reconnection=False)
            await client.connect(url, auth={"username": name}, transports=transports,
                                 wait_timeout=int(WAIT))
            clients[name] = client
        ada, bob, cy = clients["ada"], clients["bob"], clients["cy"]
        # cy's upgrade: wait until the client uses its WebSocket
        async with asyncio.timeout(WAIT):
            while cy.transport() != "websocket":
                await asyncio.sleep(0.02)
        assert (await ada.call("join-room", "python", timeout=WAIT))["ok"]
        assert (await bob.call("join-room", "python", timeout=WAIT))["ok"]
        texts = [f"hello {i}" for i in range(5)]
        for text in texts:
            assert (await ada.call("new-message", text, timeout=WAIT))["ok"]
        for i in range(2):
            answer = await bob.call("room-message", {"room": "python", "text": f"room {i}"},
                                    timeout=WAIT)
            assert answer["ok"]

        async with httpx.AsyncClient(timeout=WAIT) as http:
            scraped = await http.get(f"http://127.0.0.1:{metrics_port}/metrics")
        assert scraped.status_code == 200
        s = parse(scraped.text)
        assert value(s, "socketwire_connected_clients", transport="websocket") == 2
        assert value(s, "socketwire_connected_clients", transport="polling") == 1
        assert value(s, "socketwire_sockets", namespace="/") == 3
        assert value(s, "socketwire_rooms", namespace="/") == 1
        assert value(s, "socketwire_upgrades_total", outcome="success") == 1
        assert value(s, "socketwire_upgrades_total", outcome="failed") == 0
        # broadcasts: 3 "new-user-joined" (to 0, 1 and 2 others), 2 "user-joined-room" (to 0
        # and 1), 5 "new-message" (to 2 each), 2 "room-message" (to 1 each)
        assert value(s, "socketwire_broadcasts_total", namespace="/") == 12
        assert value(s, "socketwire_broadcast_recipients_count") == 12
        assert value(s, "socketwire_broadcast_recipients_sum") == 3 + 1 + 10 + 2
        # 0, 0, 1, 1, 1, 1 recipients: six broadcasts to at most one
        assert value(s, "socketwire_broadcast_recipients_bucket", le="1.0") == 6
        # what the clients sent: 3 CONNECTs, 9 events; what they got: 9 acks, and events:
        # 3 welcomes + 3 joined notices + 1 joined-room + 10 messages + 2 room messages
        assert value(s, "socketwire_packets_received_total", type="connect") == 3
        assert value(s, "socketwire_packets_received_total", type="event") == 9
        assert value(s, "socketwire_packets_sent_total", type="connect") == 3
        assert value(s, "socketwire_packets_sent_total", type="ack") == 9
        assert value(s, "socketwire_packets_sent_total", type="event") == 19
        sent_text = sum(len(json.dumps(t)) for t in texts)
        assert value(s, "socketwire_received_bytes_total", type="event") > sent_text
        assert value(s, "socketwire_sent_bytes_total", type="event") > 2 * sent_text
        for event, calls in (("new-message", 5), ("join-room", 2), ("room-message", 2)):
            assert value(s, "socketwire_handler_duration_seconds_count", event=event) == calls
            assert value(s, "socketwire_handler_duration_seconds_bucket", event=event,
                         le="+Inf") == calls
            assert value(s, "socketwire_handler_errors_total", event=event) == 0
        assert value(s, "socketwire_connections_opened_total") == 3
        assert value(s, "socketwire_slow_consumer_closes_total") == 0

        await bob.disconnect()
        async with asyncio.timeout(WAIT):
            while True:
                async with httpx.AsyncClient(timeout=WAIT) as http:
                    s = parse((await http.get(f"http://127.0.0.1:{metrics_port}/metrics")).text)
                if value(s, "socketwire_sockets", namespace="/") == 2:
                    break
                await asyncio.sleep(0.05)
        assert value(s, "socketwire_disconnects_total", reason="client namespace disconnect") == 1
        assert value(s, "socketwire_connected_clients", transport="polling") == 0
        assert value(s, "socketwire_broadcasts_total", namespace="/") == 13  # user-disconnected
        for client in (ada, cy):
            await client.disconnect()
        assert proc.poll() is None


def build_server(**options: Any) -> socketwire.Server:
    io = socketwire.Server(**options)

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        @socket.on("broken")
        def broken() -> None:
            raise ValueError("broken on purpose")

        @socket.on("unencodable")
        async def unencodable() -> object:
            return object()

        @socket.on("fine")
        def fine(x: Any) -> Any:
            return x

        @socket.on("ask-me")
        async def ask_me() -> Any:
            return await socket.emit_with_ack("question", "?", timeout=WAIT)

    return io


async def test_handler_errors_acks_slow_consumers_and_failed_upgrades(
        hosting: str, caplog: pytest.LogCaptureFixture) -> None:
    io = build_server(max_buffered_bytes=50_000)
    registry = CollectorRegistry()
    metrics = Metrics(io, registry=registry, opentelemetry=False)
    try:
        async with running(io, hosting) as url:
            client = socketio.AsyncClient(reconnection=False)
            client.on("question", lambda q: "answer")
            await client.connect(url, transports=["websocket"])
            for event in ("broken", "unencodable", "broken"):
                await client.emit(event, callback=lambda *answer: None)  # asks for an ack
            assert await client.call("fine", 1, timeout=WAIT) == 1
            assert await client.call("ask-me", timeout=WAIT) == "answer"
            assert await client.call("ask-me", timeout=WAIT) == "answer"

            # a polling client that never polls: its unsent data passes max_buffered_bytes
            async with httpx.AsyncClient(base_url=url, timeout=WAIT) as http:
                opened = await http.get("/socket.io/", params={"EIO": "4",
                                                               "transport": "polling"})
                sid = json.loads(opened.text[1:])["sid"]
                await http.post("/socket.io/", params={"EIO": "4", "transport": "polling",
                                                       "sid": sid}, content="40")
                async with asyncio.timeout(WAIT):
                    while len(io.of("/").sockets) < 2:
                        await asyncio.sleep(0.01)
                slow = next(s for s in io.of("/").sockets.values() if s.conn.sid == sid)
                for _ in range(3):
                    slow.emit("big", "x" * 30_000)
                # an upgrade that fails: the WebSocket sends something other than the probe
                opened = await http.get("/socket.io/", params={"EIO": "4",
                                                               "transport": "polling"})
                sid2 = json.loads(opened.text[1:])["sid"]
                ws_url = (url.replace("http://", "ws://")
                          + f"/socket.io/?EIO=4&transport=websocket&sid={sid2}")
                async with ws_connect(ws_url, open_timeout=WAIT) as ws:
                    await ws.send("not a probe")
                    async with asyncio.timeout(WAIT):
                        while metrics.upgrades["failed"] == 0:
                            await asyncio.sleep(0.01)
            await client.disconnect()
        s = parse(_exposition(registry))
        assert value(s, "socketwire_handler_errors_total", event="broken") == 2
        assert value(s, "socketwire_handler_errors_total", event="unencodable") == 1
        assert value(s, "socketwire_handler_errors_total", event="fine") == 0
        assert value(s, "socketwire_handler_duration_seconds_count", event="broken") == 2
        assert value(s, "socketwire_handler_duration_seconds_count", event="ask-me") == 2
        assert value(s, "socketwire_ack_round_trip_seconds_count") == 2
        assert value(s, "socketwire_ack_round_trip_seconds_sum") > 0
        assert value(s, "socketwire_slow_consumer_closes_total") == 1
        assert value(s, "socketwire_upgrades_total", outcome="failed") == 1
        assert value(s, "socketwire_upgrades_total", outcome="success") == 0
        assert value(s, "socketwire_connections_closed_total", reason="transport error") == 1
    finally:
        metrics.close()
    # closed: nothing counted any more, nothing registered
    assert io.engine.hooks.packet_in == [] and io.hooks.handler_done == []
    assert "socketwire_sockets" not in _exposition(registry)


def _exposition(registry: CollectorRegistry) -> str:
    from prometheus_client import generate_latest

    return generate_latest(registry).decode()


async def test_opentelemetry_instruments() -> None:
    reader = InMemoryMetricReader()
    provider = MeterProvider(metric_readers=[reader])
    io = build_server()
    metrics = Metrics(io, registry=False, meter_provider=provider)
    try:
        async with running(io) as url:
            client = socketio.AsyncClient(reconnection=False)
            await client.connect(url, transports=["polling"])
            assert await client.call("fine", "x", timeout=WAIT) == "x"
            await client.emit("broken")
            assert await client.call("fine", "y", timeout=WAIT) == "y"
            io.emit("news", 1)
            found: dict[str, list[Any]] = {}
            data = reader.get_metrics_data()
            assert data is not None
            for resource in data.resource_metrics:
                for scope in resource.scope_metrics:
                    for metric in scope.metrics:
                        found[metric.name] = list(metric.data.data_points)
            await client.disconnect()

        def point(name: str, **attributes: str) -> Any:
            for p in found[name]:
                if dict(p.attributes) == attributes:
                    return p
            raise AssertionError((name, attributes, found.get(name)))

        assert point("socketwire.clients", transport="polling").value == 1
        assert point("socketwire.sockets", namespace="/").value == 1
        assert point("socketwire.packets.received", type="event").value == 3
        assert point("socketwire.packets.sent", type="ack").value == 2
        assert point("socketwire.handler.errors", event="broken").value == 1
        assert point("socketwire.broadcasts", namespace="/").value == 1
        assert point("socketwire.handler.duration", event="fine").count == 2
        assert point("socketwire.broadcast.recipients").sum == 1
    finally:
        metrics.close()
        provider.shutdown()


async def test_lean_metrics_add_no_per_message_listener() -> None:
    io = build_server()
    metrics = Metrics(io, registry=False, opentelemetry=False, packets=False, handlers=False)
    try:
        assert io.engine.hooks.packet_in == [] and io.engine.hooks.packet_out == []
        assert io.engine.hooks.packet_counter is None and io.hooks.handler_tally is None
        assert io.hooks.handler_done == []
        async with running(io) as url:
            client = socketio.AsyncClient(reconnection=False)
            await client.connect(url, transports=["websocket"])
            assert await client.call("fine", 1, timeout=WAIT) == 1
            io.emit("news", 1)
            snap = metrics.snapshot()
            await client.disconnect()
        assert snap["packets_in"] == {} and snap["handler_duration"] == {}
        assert snap["sockets"] == {"/": 1} and snap["broadcasts"] == {"/": 1}
        assert snap["clients"] == {"polling": 0, "websocket": 1}
    finally:
        metrics.close()


async def test_packets_and_bytes_by_type_are_exact_over_a_raw_websocket() -> None:
    """Mixed batches (text, non-ASCII text, a binary event and its attachment, both ways),
    counted from the engine's packet log: the figures equal the frames on the wire."""
    io = socketwire.Server()

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        @socket.on("echo")
        def echo(*args: Any) -> None:
            socket.emit("echo", *args)

    metrics = Metrics(io, registry=False, opentelemetry=False)
    sent = ["40", '42["echo","plain"]', '42["echo","h\u00e9llo \u20ac"]',
            '42["echo","héllo €"]', '451-["echo",{"_placeholder":true,"num":0}]']
    received: list[str | bytes] = []
    try:
        async with running(io) as url:
            ws_url = url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
            async with ws_connect(ws_url) as ws:
                assert str(await ws.recv()).startswith("0{")  # OPEN: not a MESSAGE
                for frame in sent:
                    await ws.send(frame)
                await ws.send(b"\x01\x02\x03")
                while len(received) < 6:  # CONNECT reply, 3 events, binary event + attachment
                    received.append(await asyncio.wait_for(ws.recv(), WAIT))
                snap = metrics.snapshot()
        def size(frame: str | bytes) -> int:
            return len(frame.encode() if isinstance(frame, str) else frame)

        assert snap["packets_in"] == {"connect": 1, "event": 3, "binary_event": 1,
                                      "attachment": 1}
        assert snap["bytes_in"] == {
            "connect": 2, "event": sum(size(f) for f in sent[1:4]),
            "binary_event": size(sent[4]), "attachment": 3}
        texts = [f for f in received if isinstance(f, str)]
        assert [f[:2] for f in texts] == ["40", "42", "42", "42", "45"]
        assert snap["packets_out"] == {"connect": 1, "event": 3, "binary_event": 1,
                                       "attachment": 1}
        assert snap["bytes_out"] == {
            "connect": size(texts[0]), "event": sum(size(f) for f in texts[1:4]),
            "binary_event": size(texts[4]), "attachment": 3}
        assert snap["handler_duration"]["echo"].count == 4
    finally:
        metrics.close()


async def test_metrics_lean_option_leaves_out_per_message_figures() -> None:
    port, metrics_port = free_port(), free_port()
    with chat_command(port, metrics_port, "--metrics-lean"):
        client = socketio.AsyncClient(reconnection=False)
        await client.connect(f"http://127.0.0.1:{port}", auth={"username": "lean"},
                             transports=["websocket"], wait_timeout=int(WAIT))
        try:
            assert (await client.call("new-message", "hi", timeout=WAIT))["ok"]
            async with httpx.AsyncClient(timeout=WAIT) as http:
                scraped = await http.get(f"http://127.0.0.1:{metrics_port}/metrics")
        finally:
            await client.disconnect()
    s = parse(scraped.text)
    assert value(s, "socketwire_connected_clients", transport="websocket") == 1
    assert value(s, "socketwire_broadcasts_total", namespace="/") >= 1
    assert not any(name.startswith(("socketwire_packets_", "socketwire_handler_duration"))
                   and v for (name, _), v in s.items())


def test_metrics_lean_needs_metrics() -> None:
    done = subprocess.run([sys.executable, "-m", "socketwire.cli", "chat", "--metrics-lean"],
                          capture_output=True, timeout=60)
    assert done.returncode != 0 and b"--metrics-lean goes with --metrics" in done.stderr


async def test_broadcasts_pings_and_runs_of_kinds_are_counted_exactly() -> None:
    """The engine counts runs of one kind inline and a broadcast's copies as a run of one
    message: broadcasts interleaved with direct emits, acks and pings, over raw WebSockets,
    give the figures the clients received."""
    io = socketwire.Server(ping_interval=0.2, ping_timeout=5)

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        @socket.on("shout")
        def shout(text: str) -> None:
            io.emit("heard", text)  # a broadcast: one prepared message, a copy each
            socket.emit("done", text)  # then a direct event

        @socket.on("ask")
        def ask(text: str) -> str:
            return text

    metrics = Metrics(io, registry=False, opentelemetry=False)
    clients = 3
    received: list[list[str]] = [[] for _ in range(clients)]
    try:
        async with running(io) as url:
            ws_url = url.replace("http", "ws") + "/socket.io/?EIO=4&transport=websocket"
            sockets = [await ws_connect(ws_url) for _ in range(clients)]

            async def read(i: int, until: Any) -> None:
                async with asyncio.timeout(WAIT):
                    while not until(received[i]):
                        frame = str(await sockets[i].recv())
                        if frame == "2":
                            await sockets[i].send("3")
                        received[i].append(frame)

            for i, ws in enumerate(sockets):
                await ws.send("40")
                await read(i, lambda got: any(f.startswith("40") for f in got))
            sent_frames = []
            for n, text in enumerate(["a", "h\u00e9", "ccc", "\u20ac\u20ac"]):
                sender = sockets[n % clients]
                for frame in (f'42["shout","{text}"]', f'421["ask","{text}"]'):
                    sent_frames.append(frame)
                    await sender.send(frame)
            for i in range(clients):  # every broadcast, its own answers, two pings at least
                mine = sum(1 for n in range(4) if n % clients == i)
                await read(i, lambda got, mine=mine: (
                    sum(f.startswith('42["heard"') for f in got) == 4 and got.count("2") >= 2
                    and sum(f.startswith('42["done"') for f in got) == mine
                    and sum(f.startswith("43") for f in got) == mine))
            snap = metrics.snapshot()
            pings_counted = snap["packets_out"]["ping"]
            for ws in sockets:
                await ws.close()
        frames = [f for got in received for f in got]
        pings = frames.count("2")

        def size(texts: list[str]) -> int:
            return sum(len(t.encode()) for t in texts)

        events = [f for f in frames if f.startswith("42")]
        acks = [f for f in frames if f.startswith("43")]
        assert len(events) == 4 * clients + 4 and len(acks) == 4
        assert snap["packets_out"]["event"] == len(events)
        assert snap["bytes_out"]["event"] == size(events)
        assert snap["packets_out"]["ack"] == 4 and snap["bytes_out"]["ack"] == size(acks)
        assert snap["packets_out"]["connect"] == clients
        assert pings_counted >= pings  # pings sent after a client stopped reading count too
        assert snap["bytes_out"]["ping"] == pings_counted
        assert snap["packets_in"]["event"] == 8 and "ack" not in snap["packets_in"]
        assert snap["packets_in"]["connect"] == clients
        assert snap["bytes_in"] == {"event": size(sent_frames), "connect": 2 * clients}
        assert snap["broadcasts"] == {"/": 4}
        assert snap["broadcast_recipients"].sum == 4 * clients
    finally:
        metrics.close()


async def test_handler_durations_and_errors_of_mixed_runs_are_exact() -> None:
    """Runs of fast calls are tallied inline and folded into the histograms; slow, failed
    and coroutine handlers are recorded one by one; events alternate between them."""
    io = socketwire.Server()

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        @socket.on("fast")
        def fast(n: int) -> int:
            return n

        @socket.on("quick")
        def quick(n: int) -> int:
            return n

        @socket.on("slow")
        def slow(n: int) -> int:
            time.sleep(0.003)  # over the first bounds: not a run's
            return n

        @socket.on("broken")
        def broken(n: int) -> None:
            raise ValueError("broken on purpose")

        @socket.on("later")
        async def later(n: int) -> int:
            await asyncio.sleep(0.002)
            return n

    metrics = Metrics(io, registry=False, opentelemetry=False)
    plan = (["fast"] * 5 + ["quick"] * 2 + ["slow"] + ["fast"] * 3 + ["quick"]
            + ["broken", "fast", "later", "quick"] * 2 + ["slow"])
    try:
        async with running(io) as url:
            client = socketio.AsyncClient(reconnection=False)
            await client.connect(url, transports=["websocket"])
            for n, event in enumerate(plan):
                if event == "broken":
                    await client.emit(event, n)
                else:
                    assert await client.call(event, n, timeout=WAIT) == n
            async with asyncio.timeout(WAIT):  # the broken ones have no answer to wait for
                while metrics.snapshot()["handler_errors"].get("broken", 0) < 2:
                    await asyncio.sleep(0.01)
            snap = metrics.snapshot()
            await client.disconnect()
        durations = snap["handler_duration"]
        for event in ("fast", "quick", "slow", "broken", "later"):
            h = durations[event]
            assert h.count == plan.count(event) == sum(h.counts), event
            assert h.sum > 0
        assert dict(durations["slow"].cumulative())["0.0025"] == 0
        assert durations["slow"].sum >= 2 * 0.003
        assert dict(durations["later"].cumulative())["0.001"] == 0
        assert snap["handler_errors"] == {"broken": 2}
    finally:
        metrics.close()
