"""Pipelined HTTP requests that are never read (issue 13 item 1): RSS growth of the server.

One client sends N pipelined ``GET /socket.io/socketwire.esm.js`` and reads nothing; the
server's RSS is read from /proc before and 5 s after (the server runs in a subprocess).

    python bench/pipelining.py --hosting standalone|asgi [--requests 20000]
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import subprocess
import sys
import time

PAGE = os.sysconf("SC_PAGE_SIZE")
SERVER = """
import sys, asyncio, socketwire
from socketwire.hosting.standalone import serve
io = socketwire.Server()
port, hosting = int(sys.argv[1]), sys.argv[2]
if hosting == "standalone":
    async def main():
        await serve(io, "127.0.0.1", port)
        print("ready", flush=True)
        await asyncio.Event().wait()
    import uvloop
    uvloop.run(main())
else:
    import uvicorn
    from socketwire.hosting.asgi import ASGIApp
    class S(uvicorn.Server):
        async def startup(self, sockets=None):
            await super().startup(sockets=sockets)
            print("ready", flush=True)
    S(uvicorn.Config(ASGIApp(io), host="127.0.0.1", port=port, log_level="warning",
                     ws_per_message_deflate=False)).run()
"""


def _rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE / 2**20


def main() -> None:
    """Run one measurement and print it as JSON."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--hosting", choices=["standalone", "asgi"], default="standalone")
    parser.add_argument("--requests", type=int, default=20_000)
    args = parser.parse_args()
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen([sys.executable, "-c", SERVER, str(port), args.hosting],
                            stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        warm = socket.create_connection(("127.0.0.1", port))
        warm.sendall(b"GET /socket.io/socketwire.esm.js HTTP/1.1\r\nHost: x\r\n\r\n")
        time.sleep(0.5)
        warm.close()
        before = _rss_mb(proc.pid)
        client = socket.create_connection(("127.0.0.1", port))
        client.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        client.setblocking(False)
        data = b"GET /socket.io/socketwire.esm.js HTTP/1.1\r\nHost: x\r\n\r\n" * args.requests
        sent = 0
        deadline = time.monotonic() + 10
        while sent < len(data) and time.monotonic() < deadline:
            try:
                sent += client.send(data[sent:sent + 65536])
            except BlockingIOError:
                time.sleep(0.01)  # the server stopped reading: backpressure
        time.sleep(5)
        after = _rss_mb(proc.pid)
        print(json.dumps({"hosting": args.hosting, "requests": args.requests,
                          "request_bytes_sent": sent, "request_bytes": len(data),
                          "rss_before_mb": round(before, 1), "rss_after_mb": round(after, 1),
                          "growth_mb": round(after - before, 1)}))
        client.close()
    finally:
        proc.terminate()
        proc.wait(10)


if __name__ == "__main__":
    main()
