"""Time to ``connect`` and to the first ack over the default transports (polling, then the
upgrade), against socketwire and Node socket.io 4.8 in one run.

    python bench/connect_latency.py [--rounds 15]

Starts bench/server.py (socketwire, standalone host), bench/server.py --hosting asgi, and
bench/node_ack_server.mjs (Node socket.io 4.8) on free loopback ports, then measures with the
official socket.io-client (bench/connect_latency.mjs) and with socketwire's AsyncClient, the
servers taking turns. Prints medians (and min-max) in milliseconds. Every process it starts is
stopped by its PID.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start(argv: list[str], port: int) -> subprocess.Popen[bytes]:
    """Start a server and wait until its port accepts connections."""
    proc = subprocess.Popen(argv, cwd=ROOT, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 15
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                time.sleep(0.3)
                return proc
        except OSError:
            time.sleep(0.05)
    proc.kill()
    raise RuntimeError(f"{argv} did not start")


def stop(proc: subprocess.Popen[bytes]) -> None:
    """Stop a server by its PID."""
    if proc.poll() is None:
        os.kill(proc.pid, signal.SIGTERM)
        try:
            proc.wait(5)
        except subprocess.TimeoutExpired:
            os.kill(proc.pid, signal.SIGKILL)
            proc.wait(5)


async def asyncclient_times(url: str) -> tuple[float, float]:
    """(ms to connect, ms to the first ack) with socketwire's AsyncClient."""
    import socketwire

    client = socketwire.AsyncClient(reconnection=False)
    t0 = time.perf_counter()
    connected: list[float] = []
    client.on("connect", lambda: connected.append(time.perf_counter() - t0))
    answer = asyncio.ensure_future(client.emit_with_ack("ack", 1))
    await client.connect(url)
    await answer
    acked = time.perf_counter() - t0
    await client.disconnect()
    return connected[0] * 1000, acked * 1000


def summary(values: list[float]) -> str:
    return f"{statistics.median(values):7.1f}  ({min(values):.1f}-{max(values):.1f})"


def main() -> None:
    """Run the measurement and print the table."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    py = sys.executable
    servers: dict[str, tuple[list[str], int]] = {}
    for name, argv in {
        "socketwire": [py, "bench/server.py", "--port"],
        "socketwire-asgi": [py, "bench/server.py", "--hosting", "asgi", "--port"],
        "node-sio": ["node", "bench/node_ack_server.mjs"],
    }.items():
        port = free_port()
        servers[name] = ([*argv, str(port)], port)
    procs = []
    try:
        urls = {}
        for name, (argv, port) in servers.items():
            procs.append(start(argv, port))
            urls[name] = f"http://127.0.0.1:{port}"
        out = subprocess.run(
            ["node", "bench/connect_latency.mjs", str(args.rounds), *urls.values()],
            cwd=ROOT, check=True, capture_output=True, text=True, timeout=600,
        ).stdout
        js = {json.loads(line)["url"]: json.loads(line) for line in out.splitlines() if line}
        py_times: dict[str, tuple[list[float], list[float]]] = {u: ([], []) for u in urls}
        for r in range(args.rounds):
            for name in list(urls) if r % 2 == 0 else list(urls)[::-1]:
                c, a = asyncio.run(asyncclient_times(urls[name]))
                py_times[name][0].append(c)
                py_times[name][1].append(a)
        print(f"default transports (polling + upgrade), {args.rounds} connections each, "
              "median (min-max) ms")
        print(f"{'server':16} {'client':22} {'to connect':>24} {'to first ack':>24}")
        for name in urls:
            row = js[urls[name]]
            print(f"{name:16} {'socket.io-client 4.8':22} {summary(row['connect_ms']):>24} "
                  f"{summary(row['ack_ms']):>24}")
        for name in urls:
            c, a = py_times[name]
            print(f"{name:16} {'socketwire AsyncClient':22} {summary(c):>24} {summary(a):>24}")
    finally:
        for proc in procs:
            stop(proc)


if __name__ == "__main__":
    main()
