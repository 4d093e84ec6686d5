"""Cross-server broadcasts through Redis: deliveries per second and the latency Redis adds.

    flock /work/coord/bench.lock .venv/bin/python bench/redis_bench.py [--servers 2,3]
        [--impl socketwire,node,python-socketio] [--clients 20] [--count 3000] [--repeat 1]
    .venv/bin/python bench/redis_bench.py outage [--down 0,1]

A private redis-server (no persistence) on a free port; N servers of one implementation over
it (socketwire's classic adapter, Node socket.io 4.8 with @socket.io/redis-adapter 8, or
python-socketio 5 with AsyncRedisManager); ``--clients`` official socket.io-client
connections (WebSocket) on every server (bench/redis_bench_clients.mjs). Server 0 broadcasts:

- throughput: ``--count`` events as fast as it can; deliveries/s = events received by the
  clients of the *other* servers / time from the start to the last one;
- latency: 20 events/s for 5 s (below every implementation's saturation); p50/p99 of
  receive time - send time on the other servers' clients, and the "added" latency = remote
  p50 - local p50 (clients of server 0).

``outage``: a socketwire server and a Node server over one Redis, server 0 (socketwire)
broadcasting 200 events/s, the other server (Node) broadcasting too; redis-server is stopped
for ``--down`` seconds and started again. Reports, for a client of the other server, which
events it missed (sequence ranges) and how much time that is at the rate sent.

The machine is shared: figures are indicative. Loopback only; every process is stopped by PID.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import shutil
import signal
import socket
import statistics
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))

from redis_support import RedisServer  # noqa: E402

PY = sys.executable
LATENCY_RATE = 20
LATENCY_COUNT = 100
NODE = shutil.which("node") or "node"


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def server_command(impl: str, port: int, redis: RedisServer) -> list[str]:
    if impl == "node":
        return [NODE, str(ROOT / "bench" / "redis_bench_server.mjs"), str(port), str(redis.port)]
    return [PY, str(ROOT / "bench" / "redis_bench_server.py"), "--impl", impl,
            "--port", str(port), "--redis", redis.url]


async def start_server(impl: str, redis: RedisServer) -> tuple[asyncio.subprocess.Process, str]:
    port = free_port()
    proc = await asyncio.create_subprocess_exec(
        *server_command(impl, port, redis), cwd=ROOT, stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE, start_new_session=True)
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 20)
    if b"ready" not in line:
        raise RuntimeError(f"{impl} server did not start: {line!r}")
    return proc, f"http://127.0.0.1:{port}"


async def stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(proc.pid, signal.SIGTERM)
        try:
            await asyncio.wait_for(proc.wait(), 5)
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                os.kill(proc.pid, signal.SIGKILL)
            await proc.wait()


async def run_clients(urls: list[str], clients: int, count: int, rate: float,
                      timeout_ms: int = 60000, event: str = "m") -> dict[str, Any]:
    cfg = {"servers": urls, "clients": clients, "count": count, "rate": rate,
           "timeout": timeout_ms, "event": event}
    proc = await asyncio.create_subprocess_exec(
        NODE, str(ROOT / "bench" / "redis_bench_clients.mjs"), json.dumps(cfg), cwd=ROOT,
        stdout=asyncio.subprocess.PIPE, start_new_session=True)
    out, _ = await proc.communicate()
    lines = out.decode().strip().splitlines()
    result: dict[str, Any] = json.loads(lines[-1]) if lines else {"error": "no output"}
    if "error" in result:
        raise RuntimeError(f"load generator failed: {result['error']}")
    return result


async def measure(impl: str, n: int, clients: int, count: int) -> dict[str, Any]:
    with RedisServer() as redis:
        procs: list[asyncio.subprocess.Process] = []
        try:
            urls = []
            for _ in range(n):
                proc, url = await start_server(impl, redis)
                procs.append(proc)
                urls.append(url)
            await asyncio.sleep(0.5)
            thr = await run_clients(urls, clients, count, 0)
            remote = thr["servers"][1:]
            received = sum(s["received"] for s in remote)
            expected = sum(s["expected"] for s in remote)
            seconds = max(s["seconds"] or 0 for s in remote)
            lat = await run_clients(urls, clients, LATENCY_COUNT, LATENCY_RATE)
            local_p50 = lat["servers"][0]["p50"]
            remote_p50 = statistics.median(s["p50"] for s in lat["servers"][1:] if s["p50"])
            remote_p99 = max(s["p99"] for s in lat["servers"][1:] if s["p99"])
            return {
                "impl": impl, "servers": n, "clients_per_server": clients, "count": count,
                "deliveries_per_s": received / seconds if seconds else 0.0,
                "lost": expected - received,
                "local_p50_ms": local_p50, "remote_p50_ms": remote_p50,
                "remote_p99_ms": remote_p99,
                "added_ms": remote_p50 - local_p50 if local_p50 is not None else None,
                "latency_lost": sum(s["expected"] - s["received"] for s in lat["servers"]),
            }
        finally:
            for proc in procs:
                await stop(proc)


async def outage(down_for: float) -> dict[str, Any]:
    """socketwire server 0 and Node server 1 broadcasting 200/s each; Redis down for a while."""
    with RedisServer() as redis:
        procs = []
        try:
            py, py_url = await start_server("socketwire", redis)
            node, node_url = await start_server("node", redis)
            procs = [py, node]
            await asyncio.sleep(0.5)
            duration = 6.0
            rate = 200
            count = int(duration * rate)

            async def restart_later() -> tuple[float, float]:
                await asyncio.sleep(2.0)
                stopped = time.time() * 1000
                redis.stop()
                await asyncio.sleep(down_for)
                redis.start()
                return stopped, time.time() * 1000

            # each side broadcasts through its own run of the clients driver
            restart = asyncio.ensure_future(restart_later())
            from_py, from_node = await asyncio.gather(
                run_clients([py_url, node_url], 5, count, rate, 20000, "from-py"),
                run_clients([node_url, py_url], 5, count, rate, 20000, "from-node"))
            stopped_ms, started_ms = await restart
            return {
                "down_for_s": down_for,
                "redis_down_ms": round(started_ms - stopped_ms),
                "sent_per_side": count,
                "rate_per_s": rate,
                # per client of the other server: events missed, and as time at the rate sent
                "py_to_node_missed": from_py["servers"][1]["missing"],
                "node_to_py_missed": from_node["servers"][1]["missing"],
                "py_to_node_lost_ms": _span_ms(from_py["servers"][1]["missing"], rate),
                "node_to_py_lost_ms": _span_ms(from_node["servers"][1]["missing"], rate),
                "local_missed": [r["servers"][0]["missing"] for r in (from_py, from_node)],
            }
        finally:
            for proc in procs:
                await stop(proc)


def _span_ms(ranges: list[list[int]], rate: float) -> float:
    """The time the missing events cover at ``rate`` per second."""
    return round(sum(b - a + 1 for a, b in ranges) * 1000 / rate, 1)


def table(rows: list[dict[str, Any]]) -> str:
    lines = ["| implementation | servers | deliveries/s (other servers' clients) | local p50 ms "
             "| remote p50 ms | remote p99 ms | added by Redis (p50) ms | lost |",
             "|---|---|---|---|---|---|---|---|"]
    for r in rows:
        lines.append(
            f"| {r['impl']} | {r['servers']} | {r['deliveries_per_s']:,.0f} | "
            f"{r['local_p50_ms']:.2f} | {r['remote_p50_ms']:.2f} | {r['remote_p99_ms']:.2f} | "
            f"{r['added_ms']:.2f} | {r['lost'] + r['latency_lost']} |")
    return "\n".join(lines)


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("scenario", nargs="?", default="broadcast",
                        choices=["broadcast", "outage"])
    parser.add_argument("--servers", default="2,3")
    parser.add_argument("--impl", default="socketwire,node,python-socketio")
    parser.add_argument("--clients", type=int, default=20)
    parser.add_argument("--count", type=int, default=3000)
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--down", default="0,1")
    args = parser.parse_args()
    if args.scenario == "outage":
        for down in (float(d) for d in args.down.split(",")):
            print(json.dumps(await outage(down)), flush=True)
        return
    rows = []
    for n in (int(s) for s in args.servers.split(",")):
        for _ in range(args.repeat):
            for impl in args.impl.split(","):
                row = await measure(impl, n, args.clients, args.count)
                print(json.dumps(row), flush=True)
                rows.append(row)
    print(table(rows))


if __name__ == "__main__":
    asyncio.run(main())
