"""Soak: N idle WebSocket clients for T minutes with short heartbeats against socketwire in
either host, counting spurious disconnects, event-loop stalls, garbage-collection pauses and
RSS (reliability.md R26; issue 13 item 6).

    python bench/soak.py --hosting standalone --clients 10000 --minutes 2 \\
        --ping-interval 1 --ping-timeout 1 [--gc default|off|socketwire]

Three processes: the server (socketwire.Server on the chosen host, uvloop, with a 10 ms
stall probe and gc.callbacks timing every collection), one client process (raw asyncio
WebSocket clients: they join ``/`` and answer every ping, nothing else) and this driver,
which prints a line every 10 s and a JSON summary at the end. A disconnect is spurious when
it happens while every client is still there to answer its pings. Loopback only.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import gc
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from typing import Any

HERE = os.path.dirname(os.path.abspath(__file__))
PAGE = os.sysconf("SC_PAGE_SIZE")


def _rss_mb() -> float:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# ------------------------------------------------------------------------------ server


async def _server(args: argparse.Namespace) -> None:
    import socketwire

    if args.gc == "off":
        gc.disable()
    io = socketwire.Server(ping_interval=args.ping_interval, ping_timeout=args.ping_timeout,
                           connect_timeout=60)
    reasons: collections.Counter[str] = collections.Counter()

    def on_connection(sock: socketwire.Socket) -> None:
        sock.on("disconnect", lambda reason: reasons.update([reason]))

    io.on("connection", on_connection)
    pauses: list[tuple[int, float]] = []  # (generation, ms) since the last report
    started: list[float] = [0.0]

    def on_gc(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            started[0] = time.perf_counter()
        else:
            pauses.append((info["generation"], (time.perf_counter() - started[0]) * 1000))

    gc.callbacks.append(on_gc)
    loop = asyncio.get_running_loop()
    if args.hosting == "standalone":
        from socketwire.hosting.standalone import serve

        host = await serve(io, "127.0.0.1", args.port, backlog=4096)
        stop_host: Any = host.close
    else:
        import uvicorn

        from socketwire.hosting.asgi import uvicorn_config

        # run_asgi's configuration, in this process's loop
        config = uvicorn_config(io, "127.0.0.1", args.port, loop="none", backlog=4096)
        userver = uvicorn.Server(config)
        userver_task = asyncio.ensure_future(userver.serve())
        while not userver.started:
            await asyncio.sleep(0.01)

        async def stop_uvicorn() -> None:
            await io.shutdown()
            userver.should_exit = True
            await userver_task

        stop_host = stop_uvicorn
    if args.gc == "socketwire":
        from socketwire.hosting import tune_gc

        tune_gc()
    print(json.dumps({"ready": args.port, "rss_mb": round(_rss_mb(), 1)}), flush=True)
    profiler: Any = None
    traced = False
    if args.tracemalloc:
        import tracemalloc

        tracemalloc.start(args.tracemalloc)
        traced = True
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    stall = 0.0
    last = loop.time()
    window_start = loop.time()

    while not stop.is_set():
        before = loop.time()
        await asyncio.sleep(0.01)
        stall = max(stall, loop.time() - before - 0.01)
        if loop.time() - window_start >= 1.0:
            window_start = loop.time()
            if args.profile and profiler is None and len(io.engine.sessions) >= args.clients:
                import cProfile

                profiler = cProfile.Profile()
                profiler.enable()
            if traced and len(io.engine.sessions) >= args.clients:
                traced = False
                _tracemalloc_report(args.clients)
            report = {
                "t": round(time.time(), 2),
                "sessions": len(io.engine.sessions),
                "rss_mb": round(_rss_mb(), 1),
                "stall_ms": round(stall * 1000, 1),
                "gc_max_ms": {g: round(max((ms for gg, ms in pauses if gg == g), default=0), 1)
                              for g in (0, 1, 2)},
                "gc_counts": dict(collections.Counter(g for g, _ in pauses)),
                "reasons": dict(reasons),
                "cpu_s": round(sum(resource.getrusage(resource.RUSAGE_SELF)[:2]), 1),
            }
            print(json.dumps(report), flush=True)
            pauses.clear()
            stall = 0.0
        last = loop.time()
    del last
    if profiler is not None:
        profiler.disable()
        profiler.dump_stats(args.profile)
    await stop_host()


def _tracemalloc_report(clients: int) -> None:
    """Print (to stderr) where the memory held by the connections was allocated."""
    import tracemalloc

    gc.collect()
    snapshot = tracemalloc.take_snapshot()
    tracemalloc.stop()
    total = sum(s.size for s in snapshot.statistics("filename"))
    print(f"tracemalloc: {total / clients:.0f} B per connection traced in all", file=sys.stderr)
    for key in ("filename", "lineno"):
        print(f"--- by {key}, bytes per connection", file=sys.stderr)
        for stat in snapshot.statistics(key)[:40]:
            frame = stat.traceback[0]
            print(f"{stat.size / clients:8.0f} {stat.count / clients:6.2f} blocks  "
                  f"{frame.filename}:{frame.lineno if key == 'lineno' else ''}",
                  file=sys.stderr)
    sys.stderr.flush()


# ------------------------------------------------------------------------------ clients

UPGRADE = (b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1\r\n"
           b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n"
           )
PONG = b"\x81\x81\x00\x00\x00\x003"  # masked with a zero key: the payload reads as is
CONNECT = b"\x81\x82\x00\x00\x00\x0040"


class _Client(asyncio.Protocol):
    __slots__ = ("buf", "joined", "last_ping", "max_gap", "owner", "transport", "upgraded")

    def __init__(self, owner: _Clients) -> None:
        self.owner = owner
        self.buf = b""
        self.upgraded = False
        self.joined = False
        self.last_ping = 0.0
        self.max_gap = 0.0
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]
        transport.write(UPGRADE)  # type: ignore[attr-defined]

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data
        if not self.upgraded:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                self.buf = buf
                return
            assert buf.startswith(b"HTTP/1.1 101"), buf[:80]
            self.upgraded = True
            buf = buf[end + 4:]
        while len(buf) >= 2:
            n = buf[1] & 0x7F
            head = 2
            if n == 126:
                if len(buf) < 4:
                    break
                n = int.from_bytes(buf[2:4], "big")
                head = 4
            if len(buf) < head + n:
                break
            opcode = buf[0] & 0x0F
            payload = buf[head:head + n]
            buf = buf[head + n:]
            if opcode == 1:
                self._message(payload)
            elif opcode == 8:
                self.owner.server_closes += 1
        self.buf = buf

    def _message(self, payload: bytes) -> None:
        assert self.transport is not None
        if payload == b"2":
            now = time.monotonic()
            if self.last_ping:
                self.max_gap = max(self.max_gap, now - self.last_ping)
            self.last_ping = now
            self.transport.write(PONG)
        elif payload.startswith(b"0{"):
            self.transport.write(CONNECT)
        elif payload.startswith(b"40"):
            self.joined = True
            self.owner.joined += 1

    def connection_lost(self, exc: Exception | None) -> None:
        self.owner.lost += 1


class _Clients:
    def __init__(self) -> None:
        self.joined = 0
        self.lost = 0
        self.server_closes = 0
        self.clients: list[_Client] = []


async def _clients(args: argparse.Namespace) -> None:
    loop = asyncio.get_running_loop()
    owner = _Clients()
    batch = 100
    for start in range(0, args.clients, batch):
        want = min(batch, args.clients - start)
        for _attempt in range(5):  # a full accept backlog refuses some: try those again
            conns = [loop.create_connection(lambda: _Client(owner), "127.0.0.1", args.port)
                     for _ in range(want)]
            results = await asyncio.gather(*conns, return_exceptions=True)
            for result in results:
                if not isinstance(result, BaseException):
                    owner.clients.append(result[1])
            want = sum(isinstance(r, BaseException) for r in results)
            if not want:
                break
            await asyncio.sleep(0.2)
        await asyncio.sleep(0.02)
    deadline = loop.time() + 60
    while owner.joined < len(owner.clients) and loop.time() < deadline:
        await asyncio.sleep(0.1)
    print(json.dumps({"joined": owner.joined, "opened": len(owner.clients),
                      "rss_mb": round(_rss_mb(), 1)}), flush=True)
    for c in owner.clients:
        c.max_gap = 0.0  # count gaps from the soak's start only
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    gaps = sorted(c.max_gap for c in owner.clients)
    print(json.dumps({
        "lost": owner.lost, "server_closes": owner.server_closes,
        "max_ping_gap_s": round(gaps[-1], 3) if gaps else None,
        "p99_ping_gap_s": round(gaps[int(len(gaps) * 0.99)], 3) if gaps else None,
    }), flush=True)
    for c in owner.clients:
        if c.transport is not None:
            c.transport.abort()


# ------------------------------------------------------------------------------ driver


def _spawn(mode: str, args: argparse.Namespace, port: int) -> subprocess.Popen[str]:
    cmd = [sys.executable, os.path.abspath(__file__), mode, "--port", str(port),
           "--hosting", args.hosting, "--clients", str(args.clients),
           "--ping-interval", str(args.ping_interval), "--ping-timeout", str(args.ping_timeout),
           "--gc", args.gc]
    if mode == "_server" and args.profile:
        cmd += ["--profile", args.profile]
    if mode == "_server" and args.tracemalloc:
        cmd += ["--tracemalloc", str(args.tracemalloc)]
    return subprocess.Popen(cmd, stdout=subprocess.PIPE, text=True, bufsize=1)


def _read_json(proc: subprocess.Popen[str], key: str, timeout: float) -> dict[str, Any]:
    assert proc.stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(f"process exited while waiting for {key!r}")
        data: dict[str, Any] = json.loads(line)
        if key in data:
            return data
    raise RuntimeError(f"no {key!r} within {timeout}s")


def _drive(args: argparse.Namespace) -> dict[str, Any]:
    import selectors

    port = _free_port()
    server = _spawn("_server", args, port)
    clients: subprocess.Popen[str] | None = None
    try:
        ready = _read_json(server, "ready", 30)
        clients = _spawn("_clients", args, port)
        joined = _read_json(clients, "joined", 300)
        print(f"[{args.hosting}] {joined['joined']}/{args.clients} clients joined; "
              f"soaking {args.minutes} min", flush=True)
        soak_from = time.time()
        reports: list[dict[str, Any]] = []
        sel = selectors.DefaultSelector()
        assert server.stdout is not None
        sel.register(server.stdout, selectors.EVENT_READ)
        end = time.monotonic() + args.minutes * 60
        next_print = time.monotonic() + 10
        while time.monotonic() < end:
            if sel.select(timeout=1.0):
                line = server.stdout.readline()
                if not line:
                    raise RuntimeError("server exited")
                report = json.loads(line)
                if report["t"] >= soak_from:  # not the lines queued while clients joined
                    reports.append(report)
            if time.monotonic() >= next_print and reports:
                next_print += 10
                r = reports[-1]
                print(f"  sessions {r['sessions']} rss {r['rss_mb']} MB stall "
                      f"{max(x['stall_ms'] for x in reports[-10:])} ms gc2 "
                      f"{max(x['gc_max_ms']['2'] for x in reports[-10:])} ms "
                      f"reasons {r['reasons']}", flush=True)
        clients.send_signal(signal.SIGTERM)
        final_clients = _read_json(clients, "lost", 60)
        first = reports[0] if reports else {}
        last = reports[-1] if reports else {}
        spurious = sum(last.get("reasons", {}).values()) - sum(first.get("reasons", {}).values())
        summary = {
            "hosting": args.hosting,
            "gc": args.gc,
            "clients": args.clients,
            "joined": joined["joined"],
            "minutes": args.minutes,
            "ping_interval_s": args.ping_interval,
            "ping_timeout_s": args.ping_timeout,
            "server_disconnects_during_soak": spurious,
            "reasons_total": last.get("reasons"),
            "client_connections_lost": final_clients["lost"],
            "max_stall_ms": max((r["stall_ms"] for r in reports), default=None),
            "max_gc_ms": {g: max((r["gc_max_ms"][str(g)] for r in reports), default=None)
                          for g in (0, 1, 2)},
            "gc2_collections": sum(r["gc_counts"].get("2", 0) for r in reports),
            "rss_mb_idle_server": ready["rss_mb"],
            "rss_mb_soak_start": first.get("rss_mb"),
            "rss_mb_soak_end": last.get("rss_mb"),
            "kib_per_connection": round((first.get("rss_mb", 0) - ready["rss_mb"]) * 1024
                                        / max(1, joined["joined"]), 1),
            "server_cpu_s": round(last.get("cpu_s", 0) - first.get("cpu_s", 0), 1),
            "max_ping_gap_s": final_clients["max_ping_gap_s"],
            "p99_ping_gap_s": final_clients["p99_ping_gap_s"],
        }
        return summary
    finally:
        for proc in (clients, server):
            if proc is not None and proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
                try:
                    proc.wait(20)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


def main() -> None:
    """Parse arguments; run the driver, or one of the two child processes."""
    parser = argparse.ArgumentParser(description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", nargs="?", default="drive",
                        choices=["drive", "_server", "_clients"])
    parser.add_argument("--hosting", choices=["standalone", "asgi"], default="standalone")
    parser.add_argument("--clients", type=int, default=1000)
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--ping-interval", type=float, default=1.0)
    parser.add_argument("--ping-timeout", type=float, default=1.0)
    parser.add_argument("--gc", choices=["default", "off", "socketwire"], default="socketwire",
                        help="server GC: Python's defaults, disabled (a reference), or "
                             "socketwire.hosting.tune_gc() as the hosts' run() applies it")
    parser.add_argument("--profile", metavar="FILE",
                        help="cProfile the server once every client joined, stats to FILE")
    parser.add_argument("--tracemalloc", type=int, default=0, metavar="FRAMES",
                        help="trace the server's allocations from start-up and print (stderr) "
                             "where the memory per connection goes once every client joined")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    if args.mode == "drive":
        print(json.dumps(_drive(args)), flush=True)
        return
    import uvloop

    runner = _server if args.mode == "_server" else _clients
    uvloop.run(runner(args))


if __name__ == "__main__":
    main()
