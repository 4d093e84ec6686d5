"""Cost of one message, one connect or one polling handshake on the standalone host, in process.

    python bench/micro_path.py                       # CPU time per operation, every scenario
    python bench/micro_path.py --callgrind           # instructions per operation (valgrind)
    python bench/micro_path.py --scenario echo --count 20000

The bench server (bench/server.py's handlers) behind the standalone host's real protocol
objects (``StandaloneServer.protocol_factory()``: HTTP parsing, the upgrade, WebSocket framing,
the engine session, the parser, dispatch, encoding, the frame written), fed bytes through a
transport that records what is written instead of a socket: everything but the system calls.
Client frames are masked with a random key, as browsers mask them.

Scenarios: ``echo`` (``42["echo",<32 B>]`` and its answer), ``ack`` (``421["ack",<32 B>]`` and
``431[...]``), ``broadcast`` (``42["broadcast",1,<32 B>]`` from one of 100 clients, and
its 100 deliveries: the figure is per delivery), ``ws-connect`` (upgrade request, Engine.IO
open, Socket.IO CONNECT and its reply, close frame), ``polling`` (the load generator's polling
churn: GET open, POST ``40``, GET the CONNECT reply, POST ``1``).

``--callgrind`` runs this script under ``valgrind --tool=callgrind`` twice per scenario (N and
5N operations) and prints (instructions(5N) - instructions(N)) / 4N: start-up cancels out, and
the figure does not move with the machine's load, unlike time. ``PYTHONPATH=<other>/src``
measures another checkout the same way.
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
from server import make_server
from socketwire.hosting.standalone import serve

PAYLOAD = "x" * 32
SCENARIOS = ("echo", "ack", "broadcast", "ws-connect", "polling")
BROADCAST_CLIENTS = 100
MASK = bytes([0x3A, 0x91, 0x5C, 0xE7])


def client_frame(text: str, opcode: int = 1) -> bytes:
    """A masked client frame (RFC 6455) carrying ``text``."""
    data = text.encode()
    n = len(data)
    head = bytes([0x80 | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + n.to_bytes(2, "big")
    else:
        head += bytes([0x80 | 127]) + n.to_bytes(8, "big")
    masked = bytes(b ^ MASK[i % 4] for i, b in enumerate(data))
    return head + MASK + masked


class Transport:
    """An asyncio transport that keeps what is written (and counts it)."""

    def __init__(self, protocol: Any) -> None:
        self.protocol = protocol
        self.written: list[bytes] = []
        self.closing = False

    def write(self, data: bytes) -> None:
        """Keep ``data``."""
        self.written.append(bytes(data))

    def take(self) -> bytes:
        """Everything written since the last call."""
        out = b"".join(self.written)
        self.written.clear()
        return out

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """Peer and socket names of a loopback connection."""
        return {"peername": ("127.0.0.1", 40000), "sockname": ("127.0.0.1", 3000)}.get(
            name, default)

    def set_protocol(self, protocol: Any) -> None:
        """The upgrade hands the connection to another protocol object."""
        self.protocol = protocol

    def get_protocol(self) -> Any:
        """The current protocol."""
        return self.protocol

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        """Nothing is ever buffered here."""

    def get_write_buffer_size(self) -> int:
        """Nothing is ever buffered here."""
        return 0

    def is_closing(self) -> bool:
        """Whether ``close`` was called."""
        return self.closing

    def pause_reading(self) -> None:
        """Flow control: nothing to do."""

    def resume_reading(self) -> None:
        """Flow control: nothing to do."""

    def close(self) -> None:
        """Close: the protocol hears of it on the next loop turn."""
        if not self.closing:
            self.closing = True
            asyncio.get_running_loop().call_soon(self.protocol.connection_lost, None)

    def abort(self) -> None:
        """As close."""
        self.close()


def ws_frames_text(data: bytes) -> list[str]:
    """The text payloads of the (unmasked, short) server frames in ``data``."""
    out = []
    i = 0
    while i < len(data):
        n = data[i + 1] & 0x7F
        i += 2
        if n == 126:
            n = int.from_bytes(data[i:i + 2], "big")
            i += 2
        elif n == 127:
            n = int.from_bytes(data[i:i + 8], "big")
            i += 8
        out.append(data[i:i + n].decode())
        i += n
    return out


UPGRADE = (b"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: 127.0.0.1:3000\r\n"
           b"Upgrade: websocket\r\nConnection: Upgrade\r\n"
           b"Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")


async def turns(n: int = 3) -> None:
    """Let the loop run the tasks the last bytes started."""
    for _ in range(n):
        await asyncio.sleep(0)


async def open_ws(server: Any) -> Transport:
    """A connected Socket.IO client over a WebSocket (the CONNECT reply received)."""
    proto = server.protocol_factory()
    t = Transport(proto)
    proto.connection_made(t)
    proto.data_received(UPGRADE)
    await turns()
    head = t.take()
    assert head.startswith(b"HTTP/1.1 101"), head[:40]
    t.protocol.data_received(client_frame("40"))
    await turns(1)
    frames = ws_frames_text(t.take())
    assert frames and frames[-1].startswith("40{"), frames
    return t


def request(method: str, target: str, body: bytes = b"") -> bytes:
    """One keep-alive HTTP/1.1 request."""
    head = (f"{method} {target} HTTP/1.1\r\nHost: 127.0.0.1:3000\r\n"
            f"Connection: keep-alive\r\n").encode()
    if method == "POST":
        head += (b"Content-Type: text/plain;charset=UTF-8\r\nContent-Length: "
                 + str(len(body)).encode() + b"\r\n")
    return head + b"\r\n" + body


async def polling_handshake(server: Any) -> None:
    """The load generator's polling churn loop body, on one keep-alive connection."""
    proto = server.protocol_factory()
    t = Transport(proto)
    proto.connection_made(t)
    proto.data_received(request("GET", "/socket.io/?EIO=4&transport=polling"))
    await turns()
    answer = t.take()
    start = answer.index(b"\r\n\r\n") + 4
    assert answer[start:start + 1] == b"0", answer
    sid = answer[answer.index(b'"sid":"') + 7:].split(b'"', 1)[0].decode()
    base = f"/socket.io/?EIO=4&transport=polling&sid={sid}"
    proto.data_received(request("POST", base, b"40"))
    await turns()
    assert b" 200 " in t.take()
    proto.data_received(request("GET", base))
    await turns()
    assert b"40{" in t.take()
    proto.data_received(request("POST", base, b"1"))
    await turns()
    assert b" 200 " in t.take()
    t.close()
    await turns(2)


async def run(scenario: str, count: int) -> float:
    """CPU seconds per operation of ``scenario`` (``count`` operations after a warm-up)."""
    io = make_server()
    server = await serve(io, "127.0.0.1", 0)
    try:
        if scenario in ("echo", "ack"):
            t = await open_ws(server)
            if scenario == "echo":
                frame, reply = client_frame(f'42["echo","{PAYLOAD}"]'), f'42["echo","{PAYLOAD}"]'
            else:
                frame, reply = client_frame(f'421["ack","{PAYLOAD}"]'), f'431["{PAYLOAD}"]'
            proto = t.protocol
            for _ in range(200):
                proto.data_received(frame)
            assert ws_frames_text(t.take())[-1] == reply
            written = t.written
            begin = time.process_time()
            for _ in range(count):
                proto.data_received(frame)
                written.clear()
            return (time.process_time() - begin) / count
        if scenario == "broadcast":
            clients = [await open_ws(server) for _ in range(BROADCAST_CLIENTS)]
            frame = client_frame(f'42["broadcast",1,"{PAYLOAD}"]')
            proto = clients[0].protocol
            proto.data_received(frame)
            assert all(ws_frames_text(t.take()) == [f'42["broadcast",1,"{PAYLOAD}"]']
                       for t in clients)
            sinks = [t.written for t in clients]
            rounds = max(count // BROADCAST_CLIENTS, 1)
            begin = time.process_time()
            for _ in range(rounds):
                proto.data_received(frame)
                for sink in sinks:
                    sink.clear()
            return (time.process_time() - begin) / (rounds * BROADCAST_CLIENTS)
        if scenario == "ws-connect":
            close = client_frame("\x03\xe8", opcode=8)  # close, 1000
            for _ in range(20):
                t = await open_ws(server)
                t.protocol.data_received(close)
                await turns(2)
            begin = time.process_time()
            for _ in range(count):
                t = await open_ws(server)
                t.protocol.data_received(close)
                await turns(2)
            return (time.process_time() - begin) / count
        for _ in range(20):
            await polling_handshake(server)
        begin = time.process_time()
        for _ in range(count):
            await polling_handshake(server)
        return (time.process_time() - begin) / count
    finally:
        await server.close()


DEFAULT_COUNT = {"echo": 20000, "ack": 20000, "broadcast": 200000, "ws-connect": 2000,
                 "polling": 1000}


def callgrind(scenario: str, count: int) -> float:
    """Instructions per operation, from two valgrind runs (``count`` and 5x ``count``)."""
    totals = []
    for n in (count, 5 * count):
        env = {**os.environ, "PYTHONHASHSEED": "0"}
        p = subprocess.run(
            ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null",
             sys.executable, __file__, "--scenario", scenario, "--count", str(n), "--quiet"],
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
    ap.add_argument("--repeat", type=int, default=5, help="timed runs (best is printed)")
    ap.add_argument("--callgrind", action="store_true", help="instruction counts (valgrind)")
    ap.add_argument("--quiet", action="store_true", help=argparse.SUPPRESS)
    a = ap.parse_args()
    runner: Any = asyncio.run
    try:
        import uvloop
    except ImportError:
        pass
    else:
        runner = uvloop.run
    for scenario in a.scenario or SCENARIOS:
        if a.callgrind:
            count = a.count or max(DEFAULT_COUNT[scenario] // 20, 50)
            print(f"{scenario:11} {callgrind(scenario, count):12,.0f} instructions per op",
                  flush=True)
            continue
        count = a.count or DEFAULT_COUNT[scenario]
        if a.quiet:
            runner(run(scenario, count))
            continue
        best = min(runner(run(scenario, count)) for _ in range(a.repeat))
        print(f"{scenario:11} {best * 1e6:9.2f} us CPU per op (best of {a.repeat})", flush=True)


if __name__ == "__main__":
    main()
