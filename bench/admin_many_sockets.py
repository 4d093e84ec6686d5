"""Benchmark: the admin UI path with many connected sockets (not a test).

    .venv/bin/python bench/admin_many_sockets.py [--sockets 10000]

Runs the server in this process, once per mode (not instrumented, development, production), with
N bare WebSocket clients connected from a child process (stopped by its PID). Measures, per mode:
server RSS with the N sockets, the time for an admin to log in and receive ``all_sockets`` (and its
size), the cost of one ``server_stats``, and the time of one broadcast to the N sockets (which in
development mode also yields one ``event_sent`` per recipient for the admin).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import os
import resource
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))

HANDSHAKE = (
    b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n"
    b"Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Version: 13\r\n"
    b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nUser-Agent: admin-bench\r\n\r\n"
)
# a masked text frame "40": CONNECT to "/" (mask 01 02 03 04)
CONNECT_FRAME = bytes([0x81, 0x82, 1, 2, 3, 4, ord("4") ^ 1, ord("0") ^ 2])


def rss_mb() -> float:
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def raise_fd_limit() -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


# --------------------------------------------------------------------- client process


class _Client(asyncio.Protocol):
    """One bare client: WebSocket handshake, CONNECT to "/", then it reads and drops."""

    def __init__(self, done: asyncio.Future[None]) -> None:
        self.done = done
        self.buf = b""
        self.upgraded = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        transport.write(HANDSHAKE)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        if self.done.done():
            return
        self.buf += data
        if not self.upgraded and b"\r\n\r\n" in self.buf:
            self.upgraded = True
            self.transport.write(CONNECT_FRAME)  # type: ignore[attr-defined]
        if self.upgraded and b'40{"sid"' in self.buf:
            self.buf = b""
            self.done.set_result(None)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self.done.done():
            self.done.set_exception(ConnectionError("lost"))


async def run_clients(port: int, count: int) -> None:
    loop = asyncio.get_running_loop()
    sem = asyncio.Semaphore(200)
    connected = 0

    async def one() -> None:
        nonlocal connected
        async with sem:
            done: asyncio.Future[None] = loop.create_future()
            await loop.create_connection(lambda: _Client(done), "127.0.0.1", port)
            await done
            connected += 1

    await asyncio.gather(*(one() for _ in range(count)))
    print("connected", connected, flush=True)
    await asyncio.Event().wait()  # until killed


# --------------------------------------------------------------------- server side


async def _drain(ws: Any) -> None:
    """Read (and drop) what the admin receives, as a dashboard would."""
    with contextlib.suppress(Exception):
        while True:
            await ws.recv()


async def measure(mode: str, count: int) -> dict[str, Any]:
    import websockets

    import socketwire
    from socketwire.admin import instrument, serialize_socket
    from socketwire.hosting.standalone import serve
    from socketwire.protocol import jsoncodec

    gc.collect()
    base_rss = rss_mb()
    io = socketwire.Server(ping_interval=600, ping_timeout=600)

    @io.on("connection")
    def on_connection(sock: socketwire.Socket) -> None:
        sock.join("everyone")

    inst = None
    if mode != "off":
        inst = instrument(io, auth={"type": "basic", "username": "a", "password": "b"},
                          mode=mode)  # type: ignore[arg-type]
    server = await serve(io, "127.0.0.1", 0)
    port = server.port
    proc = subprocess.Popen(
        [sys.executable, __file__, "--clients", str(count), "--port", str(port)],
        stdout=subprocess.PIPE, start_new_session=True,
    )
    out: dict[str, Any] = {"mode": mode}
    admin: Any = None
    try:
        t0 = time.perf_counter()
        while len(io.sockets.sockets) < count:
            if proc.poll() is not None:
                raise RuntimeError("client process died")
            await asyncio.sleep(0.05)
        out["connect_s"] = time.perf_counter() - t0
        gc.collect()
        out["rss_mb"] = rss_mb() - base_rss
        if inst is None:
            times = []
            for _ in range(20):
                t = time.perf_counter()
                io.emit("tick", {"n": 1})
                times.append(time.perf_counter() - t)
            out["broadcast_ms"] = statistics.median(times) * 1000
            return out

        # admin login -> all_sockets, with a bare WebSocket client (no message size limit;
        # python-socketio's aiohttp transport stops at 4 MB)
        admin = await websockets.connect(
            f"ws://127.0.0.1:{port}/socket.io/?EIO=4&transport=websocket", max_size=None)
        await admin.recv()  # OPEN
        t = time.perf_counter()
        await admin.send('40/admin,{"username":"a","password":"b"}')
        while True:
            msg = await asyncio.wait_for(admin.recv(), 120)
            assert isinstance(msg, str)
            if msg.startswith("40/admin,"):
                out["login_s"] = time.perf_counter() - t
            elif msg.startswith('42/admin,["config"') and mode != "development":
                break
            elif msg.startswith('42/admin,["all_sockets"'):
                out["all_sockets_s"] = time.perf_counter() - t
                out["all_sockets_mb"] = len(msg.encode()) / 1e6
                break
        if mode == "development":
            # the server side alone: build the list, then encode it
            t = time.perf_counter()
            payload = [serialize_socket(s, nsp.name) for nsp in io.namespaces.values()
                       for s in nsp.sockets.values()]
            out["all_sockets_build_ms"] = (time.perf_counter() - t) * 1000
            out["all_sockets_count"] = len(payload)
            t = time.perf_counter()
            jsoncodec.dumps(["all_sockets", payload])
            out["all_sockets_encode_ms"] = (time.perf_counter() - t) * 1000
        drain = asyncio.ensure_future(_drain(admin))

        # server_stats: payload + broadcast to the admin
        times = []
        for _ in range(50):
            t = time.perf_counter()
            inst._emit_stats()
            times.append(time.perf_counter() - t)
        out["server_stats_ms"] = statistics.median(times) * 1000
        out["server_stats_bytes"] = len(jsoncodec.dumps(inst.server_stats()))

        # one broadcast to every socket (development: + one event_sent each for the admin)
        times = []
        for _ in range(5):
            t = time.perf_counter()
            io.emit("tick", {"n": 1})
            times.append(time.perf_counter() - t)
            await asyncio.sleep(0.2)
        out["broadcast_ms"] = statistics.median(times) * 1000
        gc.collect()
        out["rss_after_admin_mb"] = rss_mb() - base_rss
        drain.cancel()
        return out
    finally:
        if admin is not None:
            with contextlib.suppress(Exception):
                await admin.close()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(10)
        if inst is not None:
            inst.close()
        await server.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--sockets", type=int, default=10_000)
    parser.add_argument("--mode", choices=("off", "development", "production"))
    parser.add_argument("--clients", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    raise_fd_limit()
    if args.clients:
        asyncio.run(run_clients(args.port, args.clients))
        return
    if args.mode:
        result = asyncio.run(measure(args.mode, args.sockets))
        print(json.dumps(result), flush=True)
        return
    # each mode in a fresh process, so RSS figures do not mix
    for mode in ("off", "development", "production"):
        done = subprocess.run([sys.executable, __file__, "--mode", mode,
                               "--sockets", str(args.sockets)],
                              capture_output=True, text=True, check=False)
        line = done.stdout.strip().splitlines()[-1] if done.stdout.strip() else done.stderr[-2000:]
        result = json.loads(line) if line.startswith("{") else {"mode": mode, "error": line}
        print(f"\n== {mode} ({args.sockets} sockets)")
        for key, value in result.items():
            if key != "mode":
                print(f"  {key:22} {value:.3f}" if isinstance(value, float)
                      else f"  {key:22} {value}")


if __name__ == "__main__":
    main()
