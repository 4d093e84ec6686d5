"""What ``--workers`` costs per operation: server CPU (all processes of the tree, from /proc)
per polling request and per broadcast, with 1 worker and with several.

    python bench/workers_costs.py [--workers 2] [--requests 4000] [--broadcasts 2000]
                                  [--receivers 40] [--json out.jsonl]

Polling: sessions are opened, then every request (a POST of one Socket.IO event no handler
listens to) goes on a fresh TCP connection, so with N workers about (N-1)/N of them land on a
worker that does not own the session and are handed to the owner; the workers' counters
(SOCKETWIRE_WORKERS_STATS) say how many were. The handoff's cost is the extra CPU over the
1-worker run divided by the number of handoffs. A keep-alive run gives the cost of a request
without the TCP connect for reference.

Broadcast: WebSocket receivers (spread over the workers by the kernel) and one trigger client
sending ``broadcast`` (bench/server.py: ``io.emit`` to everyone); the cross-worker cost of one
broadcast is the extra CPU over the 1-worker run (same receivers) per broadcast.

The load side runs in this process (its CPU is not counted). Server CPU is the sum of
utime + stime of the server's processes over the measured window.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from websockets.asyncio.client import connect

ROOT = Path(__file__).resolve().parents[1]
TICK = os.sysconf("SC_CLK_TCK")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def tree(pid: int) -> list[int]:
    out = [pid]
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            out += [int(x) for x in f.read().split()]
    except FileNotFoundError:
        pass
    return out


def cpu_seconds(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except FileNotFoundError:
            pass
    return total / TICK


class Server:
    def __init__(self, workers: int) -> None:
        self.port = free_port()
        self.stats = tempfile.mkdtemp(prefix="sw-bench-stats-")
        env = dict(os.environ, SOCKETWIRE_WORKERS_STATS=self.stats)
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "server.py"), "--port", str(self.port),
             "--workers", str(workers)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, env=env)
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        assert "listening" in line, line
        self.workers = workers
        time.sleep(0.5)

    def pids(self) -> list[int]:
        return tree(self.proc.pid)

    def stop(self) -> dict[str, int]:
        self.proc.send_signal(signal.SIGTERM)
        self.proc.wait(30)
        handed = received = 0
        accepted = []
        for name in sorted(os.listdir(self.stats)):
            with open(os.path.join(self.stats, name)) as f:
                s = json.load(f)
            handed += s["handed_off"]
            received += s["received"]
            accepted.append(s.get("accepted", 0))
        return {"handed_off": handed, "received": received, "accepted_per_worker": accepted}


def http(sock: socket.socket, method: str, target: str, body: bytes = b"") -> bytes:
    sock.sendall((f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                  f"Content-Length: {len(body)}\r\n\r\n").encode() + body)
    data = b""
    while b"\r\n\r\n" not in data:
        data += sock.recv(65536)
    head, rest = data.split(b"\r\n\r\n", 1)
    length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
    while len(rest) < length:
        rest += sock.recv(65536)
    return rest


def polling(workers: int, requests: int, keep_alive: bool) -> dict[str, Any]:
    server = Server(workers)
    try:
        sids = []
        for _ in range(8):
            with socket.create_connection(("127.0.0.1", server.port)) as s:
                sid = json.loads(http(s, "GET", "/socket.io/?EIO=4&transport=polling")[1:])["sid"]
                http(s, "POST", f"/socket.io/?EIO=4&transport=polling&sid={sid}", b"40")
                http(s, "GET", f"/socket.io/?EIO=4&transport=polling&sid={sid}")
            sids.append(sid)
        pids = server.pids()
        before = cpu_seconds(pids)
        t0 = time.perf_counter()
        kept = socket.create_connection(("127.0.0.1", server.port)) if keep_alive else None
        for i in range(requests):
            target = f"/socket.io/?EIO=4&transport=polling&sid={sids[i % len(sids)]}"
            if kept is not None:
                assert http(kept, "POST", target, b'42["nothing"]') == b"ok"
            else:
                with socket.create_connection(("127.0.0.1", server.port)) as s:
                    assert http(s, "POST", target, b'42["nothing"]') == b"ok"
        wall = time.perf_counter() - t0
        cpu = cpu_seconds(pids) - before
        if kept is not None:
            kept.close()
    finally:
        counts = server.stop()
    return {"bench": "polling", "workers": workers, "keep_alive": keep_alive,
            "requests": requests, "server_cpu_s": round(cpu, 3), "wall_s": round(wall, 3),
            "cpu_us_per_request": round(cpu / requests * 1e6, 1), **counts}


async def _broadcast(workers: int, broadcasts: int, receivers: int) -> dict[str, Any]:
    server = Server(workers)
    try:
        url = f"ws://127.0.0.1:{server.port}/socket.io/?EIO=4&transport=websocket"
        conns = []
        for _ in range(receivers + 1):
            ws = await connect(url, compression=None, max_size=None, ping_interval=None)
            await ws.recv()
            await ws.send("40")
            await ws.recv()
            conns.append(ws)
        trigger, rx = conns[0], conns[1:]
        done = asyncio.Event()
        counts = [0] * len(rx)
        finished = 0

        async def read(i: int, ws: Any) -> None:
            nonlocal finished
            async for msg in ws:
                if msg == "2":
                    await ws.send("3")
                    continue
                counts[i] += 1
                if counts[i] == broadcasts:
                    finished += 1
                    if finished == len(rx):
                        done.set()

        readers = [asyncio.ensure_future(read(i, ws)) for i, ws in enumerate(rx)]
        pids = server.pids()
        before = cpu_seconds(pids)
        t0 = time.perf_counter()
        for n in range(broadcasts):
            await trigger.send(f'42["broadcast",{n}]')
            if n % 20 == 19:
                await asyncio.sleep(0.005)
        await asyncio.wait_for(done.wait(), 120)
        wall = time.perf_counter() - t0
        cpu = cpu_seconds(pids) - before
        for r in readers:
            r.cancel()
        for ws in conns:
            await ws.close()
    finally:
        stats = server.stop()
    del stats
    return {"bench": "broadcast", "workers": workers, "broadcasts": broadcasts,
            "receivers": receivers, "server_cpu_s": round(cpu, 3), "wall_s": round(wall, 3),
            "cpu_us_per_broadcast": round(cpu / broadcasts * 1e6, 1),
            "cpu_us_per_delivery": round(cpu / broadcasts / receivers * 1e6, 2)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--broadcasts", type=int, default=2000)
    parser.add_argument("--receivers", type=int, default=40)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--json", default=None)
    args = parser.parse_args()
    results: list[dict[str, Any]] = []
    for _ in range(args.repeat):
        for workers in (1, args.workers):
            results.append(polling(workers, args.requests, keep_alive=False))
            print(json.dumps(results[-1]), flush=True)
        results.append(polling(1, args.requests, keep_alive=True))
        print(json.dumps(results[-1]), flush=True)
        for workers in (1, args.workers):
            for receivers in (1, args.receivers):
                results.append(asyncio.run(_broadcast(workers, args.broadcasts, receivers)))
                print(json.dumps(results[-1]), flush=True)
    if args.json:
        with open(args.json, "a") as f:
            for r in results:
                f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
