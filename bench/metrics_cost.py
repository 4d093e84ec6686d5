"""Server CPU of the hot path with socketwire.metrics off, full and lean (docs/benchmarks.md).

    python bench/metrics_cost.py

In process and without network: the bench server's handlers (bench/server.py) behind real
engine sessions whose WebSockets are replaced by sinks, so only the Python work of a message
is measured (no framing, no system calls). Echo: CPU per message; broadcast: CPU per delivery.
What the metrics count inline is folded into their figures when they are read; here that is
done every ``BATCH`` deliveries (a loop that never yields runs no timer), and counted too. An
in-process figure misses what a real server pays for memory: see docs/benchmarks.md.
The modes run interleaved, five times; the best of each is printed.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

from prometheus_client import CollectorRegistry

from socketwire.metrics import Metrics
from socketwire.protocol.eio import EioType
from socketwire.testing import TestClient

try:
    from server import make_server  # run from bench/
except ImportError:  # run from the repository root
    import sys

    sys.path.insert(0, str(Path(__file__).parent))
    from server import make_server

PAYLOAD = "x" * 32
BATCH = 2000  # deliveries between two reads of the figures


class Sink:
    """A WebSocket channel that drops what it is given."""

    def send(self, packet: Any) -> None:
        """Drop a packet."""

    def send_prepared(self, message: Any) -> None:
        """Drop a prepared message."""

    def buffered_amount(self) -> int:
        """Nothing is ever buffered."""
        return 0

    def close(self, code: int = 1000) -> None:
        """Nothing to close."""


async def measure(mode: str, scenario: str, clients: int) -> float:
    """Microseconds of CPU per echo message or per broadcast delivery."""
    io = make_server()
    metrics = None
    if mode != "off":
        lean = mode == "lean"
        metrics = Metrics(io, registry=CollectorRegistry(), packets=not lean, handlers=not lean)
    peers = [TestClient(io) for _ in range(clients)]
    for i in range(0, len(peers), 50):
        await asyncio.gather(*(p.connect(wait_timeout=60) for p in peers[i:i + 50]))
    for session in io.engine.sessions.values():
        session.current.channel = Sink()  # type: ignore[attr-defined]
    receive = next(iter(io.engine.sessions.values())).receive
    if scenario == "echo":
        packet, count, per = f'2["echo","{PAYLOAD}"]', 100_000, 1
    else:
        packet, count, per = f'2["broadcast",1,"{PAYLOAD}"]', 200_000 // clients, clients
    for _ in range(max(count // 20, 10)):
        receive(EioType.MESSAGE, packet)
    every = max(BATCH // per, 1)
    flush = metrics.flush if metrics is not None else _nothing
    flush()
    start = time.process_time()
    for i in range(count):
        receive(EioType.MESSAGE, packet)
        if i % every == 0:
            flush()
    flush()
    spent = time.process_time() - start
    if metrics is not None:
        metrics.close()
    return spent / (count * per) * 1e6


def _nothing() -> None:
    pass


async def main() -> None:
    """Print one line per scenario."""
    for scenario, clients in (("echo", 1), ("broadcast", 100), ("broadcast", 1000)):
        results: dict[str, list[float]] = {"off": [], "full": [], "lean": []}
        for _ in range(5):
            for mode, values in results.items():
                values.append(await measure(mode, scenario, clients))
        base = min(results["off"])
        line = f"{scenario:9} {clients:5}"
        for mode, values in results.items():
            best = min(values)
            line += f" | {mode} {best:.3f} us ({(best / base - 1) * 100:+.1f}%)"
        print(line, flush=True)


if __name__ == "__main__":
    asyncio.run(main())
