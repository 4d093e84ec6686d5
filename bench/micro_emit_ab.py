"""``Socket.emit`` of this checkout against another revision's, interleaved in one process.

    python bench/micro_emit_ab.py [REV]      # REV: a git revision (default: main)

The other revision's ``server/socket.py`` is loaded as a second module and its ``Socket``
class swapped onto the same connected socket between rounds (A, B, A, B, ...), so that both
variants see the same machine load. The Engine.IO session is a sink, as in micro_emit.py.
Prints nanoseconds per emit, best round of each, and the ratio B/A (this checkout / REV).
"""

from __future__ import annotations

import asyncio
import importlib.util
import subprocess
import sys
import timeit
from pathlib import Path
from typing import Any

from micro_emit import PAYLOAD, Sink

import socketwire
from socketwire.server import socket as current
from socketwire.testing import TestClient


def other_socket_class(rev: str) -> type:
    """``Socket`` as it is in ``rev`` (loaded as socketwire.server._ab_socket)."""
    root = Path(__file__).resolve().parents[1]
    where = f"{rev}:src/socketwire/server/socket.py"
    text = subprocess.run(["git", "-C", str(root), "show", where],
                          check=True, capture_output=True, text=True).stdout
    name = "socketwire.server._ab_socket"
    spec = importlib.util.spec_from_loader(name, loader=None)
    assert spec is not None
    module = importlib.util.module_from_spec(spec)
    module.__package__ = "socketwire.server"
    sys.modules[name] = module
    exec(compile(text, f"{rev}:socket.py", "exec"), module.__dict__)
    cls: type = module.Socket
    return cls


async def connected_socket(**options: Any) -> tuple[socketwire.Socket, TestClient]:
    io = socketwire.Server(**options)
    sockets: list[socketwire.Socket] = []
    io.on("connection", sockets.append)
    client = TestClient(io)
    await client.connect()
    return sockets[0], client


async def main() -> None:
    rev = sys.argv[1] if len(sys.argv) > 1 else "main"
    old = other_socket_class(rev)
    plain, c1 = await connected_socket()
    kept, c2 = await connected_socket(connection_state_recovery=True)
    real = plain.conn, kept.conn
    plain.conn = kept.conn = Sink()  # type: ignore[assignment]
    cases = {
        "emit, recovery off": (plain, lambda: plain.emit("chat", PAYLOAD)),
        "emit with callback, recovery off": (
            plain, lambda: plain.emit("chat", PAYLOAD, callback=print)),
        "volatile emit, recovery off": (plain, lambda: plain.volatile.emit("chat", PAYLOAD)),
        "emit, recovery on": (kept, lambda: kept.emit("chat", PAYLOAD)),
    }
    for name, (sock, fn) in cases.items():
        best = {"A": float("inf"), "B": float("inf")}
        for _ in range(7):
            for label, cls in (("A", old), ("B", current.Socket)):
                sock.__class__ = cls
                sock._acks = {}  # the callback case registers acks: start each round empty
                took = timeit.timeit(fn, number=20_000) / 20_000 * 1e9
                best[label] = min(best[label], took)
        sock.__class__ = current.Socket
        print(f"{name:36} A ({rev}) {best['A']:7.0f} ns   B (this) {best['B']:7.0f} ns"
              f"   B/A {best['B'] / best['A']:.3f}")
    plain.conn, kept.conn = real
    await c1.disconnect()
    await c2.disconnect()


if __name__ == "__main__":
    asyncio.run(main())
