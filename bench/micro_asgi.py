"""Cost of one message or one pong on the ASGI host under uvicorn, in process.

    python bench/micro_asgi.py                     # CPU time per operation
    python bench/micro_asgi.py --callgrind         # instructions per operation (valgrind)
    python bench/micro_asgi.py --scenario echo --count 20000

The bench server's handlers behind :class:`socketwire.hosting.asgi.ASGIApp`, served by
uvicorn's real protocol objects as :func:`socketwire.hosting.asgi.uvicorn_config` sets them up
(httptools HTTP, the upgrade, socketwire's uvicorn WebSocket protocol, the ASGI app's task),
fed bytes through bench/micro_path.py's recording transport: everything but the system calls.
``--ws NAME`` takes another uvicorn WebSocket protocol (``websockets-sansio``, ``wsproto``...).

Scenarios: ``echo`` (``42["echo",<32 B>]`` in, its answer out; the loop runs until the answer
is written), ``pong`` (a client's ``3``, the Engine.IO pong; two loop turns after each).
``--callgrind`` as bench/micro_path.py: (instructions(5N) - instructions(N)) / 4N.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
from micro_path import PAYLOAD, UPGRADE, Transport, client_frame, turns, ws_frames_text

from server import make_server
from socketwire.hosting.asgi import uvicorn_config

SCENARIOS = ("echo", "pong")
DEFAULT_COUNT = {"echo": 20000, "pong": 20000}


async def open_ws(ws: str | None) -> tuple[Any, Transport]:
    """A uvicorn HTTP protocol object with a connected Socket.IO client upgraded on it."""
    from uvicorn.server import ServerState

    options: dict[str, Any] = {"http": "httptools", "lifespan": "off"}
    if ws is not None:
        options["ws"] = ws
    config = uvicorn_config(make_server(), port=0, **options)
    config.load()
    factory: Any = config.http_protocol_class
    proto = factory(config=config, server_state=ServerState(), app_state={})
    t = Transport(proto)
    proto.connection_made(t)
    proto.data_received(UPGRADE)
    for _ in range(50):
        await asyncio.sleep(0)
        if t.written:
            break
    head = t.take()
    assert head.startswith(b"HTTP/1.1 101"), head[:60]
    t.protocol.data_received(client_frame("40"))
    for _ in range(50):
        await asyncio.sleep(0)
        if b"40{" in b"".join(t.written):
            break
    frames = ws_frames_text(t.take())
    assert frames and frames[-1].startswith("40{"), frames
    return proto, t


async def run(scenario: str, count: int, ws: str | None) -> float:
    """CPU seconds per operation of ``scenario`` (``count`` operations after a warm-up)."""
    _, t = await open_ws(ws)
    try:
        return await _measure(scenario, count, t)
    finally:
        t.close()  # the ASGI app sees the disconnect and returns
        await turns(5)


async def _measure(scenario: str, count: int, t: Transport) -> float:
    proto = t.protocol
    written = t.written
    if scenario == "echo":
        frame = client_frame(f'42["echo","{PAYLOAD}"]')
        for _ in range(200):
            proto.data_received(frame)
            while not written:
                await asyncio.sleep(0)
        assert ws_frames_text(t.take())[-1] == f'42["echo","{PAYLOAD}"]'
        begin = time.process_time()
        for _ in range(count):
            proto.data_received(frame)
            while not written:
                await asyncio.sleep(0)
            written.clear()
        return (time.process_time() - begin) / count
    frame = client_frame("3")
    for _ in range(200):
        proto.data_received(frame)
        await turns(2)
    begin = time.process_time()
    for _ in range(count):
        proto.data_received(frame)
        await turns(2)
    return (time.process_time() - begin) / count


def callgrind(scenario: str, count: int, ws: str | None) -> float:
    """Instructions per operation, from two valgrind runs (``count`` and 5x ``count``)."""
    totals = []
    extra = ["--ws", ws] if ws else []
    for n in (count, 5 * count):
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        p = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", sys.executable,
             __file__, "--scenario", scenario, "--count", str(n), "--quiet", *extra],
            capture_output=True, text=True, env=env, check=True)
        found = re.search(r"Collected : (\d+)", p.stderr)
        assert found, p.stderr[-500:]
        totals.append(int(found.group(1)))
    return (totals[1] - totals[0]) / (4 * count)


def main() -> None:
    """Print one line per scenario."""
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scenario", choices=SCENARIOS, action="append")
    ap.add_argument("--count", type=int)
    ap.add_argument("--ws", help="uvicorn's ws setting (default: socketwire's protocol)")
    ap.add_argument("--repeat", type=int, default=5, help="timed runs (best is printed)")
    ap.add_argument("--callgrind", action="store_true", help="instructions (valgrind)")
    ap.add_argument("--quiet", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    for scenario in a.scenario or SCENARIOS:
        if a.callgrind:
            count = a.count or max(DEFAULT_COUNT[scenario] // 20, 50)
            print(f"{scenario:6} {callgrind(scenario, count, a.ws):12,.0f} instructions per op",
                  flush=True)
            continue
        count = a.count or DEFAULT_COUNT[scenario]
        if a.quiet:
            asyncio.run(run(scenario, count, a.ws))
            continue
        best = min(asyncio.run(run(scenario, count, a.ws)) for _ in range(a.repeat))
        print(f"{scenario:6} {best * 1e6:9.2f} us CPU per op (best of {a.repeat})", flush=True)


if __name__ == "__main__":
    main()
