"""One server of a Redis-backed cluster for bench/redis_bench.py.

    python bench/redis_bench_server.py --impl socketwire|python-socketio --port P --redis URL

``socketwire``: socketwire's classic Redis adapter (standalone host). ``python-socketio``:
python-socketio's ``AsyncRedisManager`` on aiohttp. On the client event ``burst`` {count,
rate, event="m"} the server broadcasts ``count`` events [seq, sent_ms] to everyone, ``rate`` per
second (0: as fast as it can, yielding to the loop every 100). Prints ``ready`` when serving.
"""

from __future__ import annotations

import argparse
import asyncio
import time
from typing import Any


async def pace(i: int, rate: float, started: float) -> None:
    """Sleep to keep ``rate`` messages per second (yield every 100 at full speed)."""
    if rate > 0:
        delay = started + i / rate - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
    elif i % 100 == 99:
        await asyncio.sleep(0)


async def run_socketwire(port: int, url: str) -> None:
    import socketwire
    from socketwire.adapters.redis import create_adapter
    from socketwire.hosting.standalone import serve

    io = socketwire.Server(adapter=create_adapter(url), cors_allowed_origins="*",
                           serve_client=False)

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        @socket.on("burst")
        async def burst(spec: dict[str, Any]) -> str:
            started = time.perf_counter()
            for i in range(int(spec["count"])):
                io.emit(spec.get("event", "m"), i, time.time() * 1000)
                await pace(i, float(spec.get("rate", 0)), started)
            return "done"

    server = await serve(io, "127.0.0.1", port)
    print("ready", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await server.close()


async def run_python_socketio(port: int, url: str) -> None:
    import socketio
    from aiohttp import web

    sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*",
                               client_manager=socketio.AsyncRedisManager(url))
    app = web.Application()
    sio.attach(app)

    @sio.on("burst")  # type: ignore[misc]
    async def burst(sid: str, spec: dict[str, Any]) -> str:
        started = time.perf_counter()
        for i in range(int(spec["count"])):
            await sio.emit(spec.get("event", "m"), (i, time.time() * 1000))
            await pace(i, float(spec.get("rate", 0)), started)
        return "done"

    runner = web.AppRunner(app)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    print("ready", flush=True)
    try:
        await asyncio.Event().wait()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--impl", choices=["socketwire", "python-socketio"], required=True)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--redis", required=True)
    args = parser.parse_args()
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    runner = run_socketwire if args.impl == "socketwire" else run_python_socketio
    try:
        asyncio.run(runner(args.port, args.redis))
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
