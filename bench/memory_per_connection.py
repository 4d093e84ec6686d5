"""Python memory per idle WebSocket connection of the bench server, by tracemalloc.

    python bench/memory_per_connection.py [--connections 2000] [--top 25]

Opens connections through the standalone host's real protocol objects (as
bench/micro_path.py does: an in-memory transport instead of a socket, so neither the kernel's
buffers nor uvloop's transport are counted), each with the Socket.IO CONNECT done and the bench
server's six handlers registered, and prints the memory they keep, in total and by the line that
allocated it. ``PYTHONPATH=<other checkout>/src`` measures another version.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import sys
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parent))
import micro_path

from server import make_server
from socketwire.hosting.standalone import serve


async def measure(connections: int, top: int) -> None:
    """Print bytes per connection and the largest allocation sites."""
    io = make_server()
    server = await serve(io, "127.0.0.1", 0)
    try:
        warm = [await micro_path.open_ws(server) for _ in range(50)]  # first-use caches
        for t in warm:
            t.written.clear()
        gc.collect()
        tracemalloc.start(1)
        before = tracemalloc.take_snapshot()
        kept = []
        for _ in range(connections):
            t = await micro_path.open_ws(server)
            t.written.clear()
            kept.append(t)
        gc.collect()
        after = tracemalloc.take_snapshot()
        stats = after.compare_to(before, "lineno")
        total = sum(s.size_diff for s in stats)
        print(f"{total / connections:,.0f} B per connection ({connections} WebSocket "
              "connections, tracemalloc)")
        for s in stats[:top]:
            frame = s.traceback[0]
            where = frame.filename.split("src/")[-1]
            print(f"  {s.size_diff / connections:7.0f} B {s.count_diff / connections:5.1f} blocks"
                  f"  {where}:{frame.lineno}")
    finally:
        tracemalloc.stop()
        await server.close()


def main() -> None:
    """Parse the arguments and measure."""
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--connections", type=int, default=2000)
    ap.add_argument("--top", type=int, default=25)
    a = ap.parse_args()
    try:
        import uvloop
    except ImportError:
        asyncio.run(measure(a.connections, a.top))
    else:
        uvloop.run(measure(a.connections, a.top))


if __name__ == "__main__":
    main()
