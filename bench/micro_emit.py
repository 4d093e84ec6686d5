"""Server-side cost of the hot paths, in process, without the network: ``socket.emit``
(text), the answer to an ack, and ``io.emit`` to 50 sockets (encoded once).

    python bench/micro_emit.py             # this checkout
    PYTHONPATH=/path/to/other/src python bench/micro_emit.py   # another version, to compare

Sockets are connected with ``socketwire.testing.TestClient``, then their Engine.IO session is
swapped for a sink, so that only socketwire's own work (encoding, routing) is timed. Prints
nanoseconds per operation, best of seven runs: the least disturbed by other processes.
"""

from __future__ import annotations

import asyncio
import json
import timeit
from typing import Any

import socketwire
from socketwire.testing import TestClient

PAYLOAD = {"user": "ana", "text": "héllo wörld " * 3, "ts": 1732700000000}


class Sink:
    """Stands in for an Engine.IO session: takes every packet, sends nothing."""

    writable = True

    def send(self, packet: Any) -> None:
        pass

    def send_many(self, packets: Any) -> None:
        pass

    def send_prepared(self, message: Any) -> None:
        pass


def best(fn: Any, number: int) -> float:
    return min(timeit.repeat(fn, number=number, repeat=7)) / number * 1e9


async def main() -> None:
    io = socketwire.Server()
    sockets: list[socketwire.Socket] = []
    io.on("connection", sockets.append)
    clients = [TestClient(io) for _ in range(50)]
    for client in clients:
        await client.connect()
    real = [s.conn for s in sockets]
    for s in sockets:
        s.conn = Sink()  # type: ignore[assignment]
    one = sockets[0]
    result = {
        "socket.emit text (ns)": best(lambda: one.emit("chat", PAYLOAD), 50_000),
        "ack answer (ns)": best(lambda: one._send_ack(7, [PAYLOAD]), 50_000),
        "io.emit to 50 sockets (ns)": best(lambda: io.emit("chat", PAYLOAD), 5_000),
    }
    for s, conn in zip(sockets, real, strict=True):
        s.conn = conn
    for client in clients:
        await client.disconnect()
    print(json.dumps({k: round(v) for k, v in result.items()}))


if __name__ == "__main__":
    asyncio.run(main())
