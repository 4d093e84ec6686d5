"""How the --workers listening socket spreads connections, and what a killed worker costs:
one socket shared by the forked workers (the default) against one ``SO_REUSEPORT`` socket per
worker (``SOCKETWIRE_WORKERS_REUSE_PORT=1``).

    python bench/workers_accept.py [--workers 2] [--seconds 4] [--concurrency 16]

For each mode: ``--concurrency`` loops open a TCP connection, send an Engine.IO polling
handshake and read the answer, for ``--seconds``; one worker is SIGKILLed half-way (the
supervisor forks it again). Printed per mode: handshakes per worker slot (the first two
characters of the session id), the connections that failed (reset, refused, or closed without
an answer) and the handshake rate.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from workers_costs import free_port, tree

ROOT = Path(__file__).resolve().parents[1]
REQUEST = (b"GET /socket.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: x\r\n"
           b"Connection: close\r\n\r\n")


async def one(port: int) -> str | None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(REQUEST)
        data = await asyncio.wait_for(reader.read(), 5)
    finally:
        writer.close()
    body = data.split(b"\r\n\r\n", 1)[1] if b"\r\n\r\n" in data else b""
    if not body.startswith(b"0{"):
        return None
    return str(json.loads(body[1:])["sid"])[:2]


async def storm(port: int, seconds: float, concurrency: int, victim: int) -> dict[str, Any]:
    slots: collections.Counter[str] = collections.Counter()
    failures: collections.Counter[str] = collections.Counter()
    end = time.monotonic() + seconds
    killed = False

    async def loop() -> None:
        while time.monotonic() < end:
            try:
                prefix = await one(port)
            except (TimeoutError, ConnectionError, OSError) as exc:
                failures[type(exc).__name__] += 1
                continue
            if prefix is None:
                failures["no answer"] += 1
            else:
                slots[prefix] += 1

    async def killer() -> None:
        nonlocal killed
        await asyncio.sleep(seconds / 2)
        os.kill(victim, signal.SIGKILL)
        killed = True

    t0 = time.perf_counter()
    await asyncio.gather(killer(), *(loop() for _ in range(concurrency)))
    wall = time.perf_counter() - t0
    total = sum(slots.values())
    return {"per_slot": dict(sorted(slots.items())), "failed": dict(failures),
            "handshakes_per_s": round(total / wall), "killed": killed}


def run(mode: str, workers: int, seconds: float, concurrency: int) -> dict[str, Any]:
    port = free_port()
    env = dict(os.environ)
    if mode == "reuse_port":
        env["SOCKETWIRE_WORKERS_REUSE_PORT"] = "1"
    proc = subprocess.Popen([sys.executable, str(ROOT / "bench" / "server.py"), "--port",
                             str(port), "--workers", str(workers)], stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True, env=env)
    try:
        assert proc.stdout is not None
        assert "listening" in proc.stdout.readline()
        time.sleep(0.5)
        victim = tree(proc.pid)[-1]
        result = asyncio.run(storm(port, seconds, concurrency, victim))
    finally:
        proc.send_signal(signal.SIGTERM)
        proc.wait(30)
    return {"mode": mode, "workers": workers, "concurrency": concurrency, **result}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--seconds", type=float, default=4.0)
    parser.add_argument("--concurrency", type=int, default=16)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    for _ in range(args.repeat):
        for mode in ("shared", "reuse_port"):
            print(json.dumps(run(mode, args.workers, args.seconds, args.concurrency)),
                  flush=True)


if __name__ == "__main__":
    main()
