"""Bench server implementing the "Bench server contract" of the shared benchmark harness.

    python bench/server.py --port 4000 [--host 127.0.0.1] [--hosting standalone|asgi] [--metrics]

Handlers (main namespace): echo, ack, broadcast (io.emit), join/leave (acked), room
(io.to(room).emit). Plain functions: they run inline, with no task per message.
"""

from __future__ import annotations

import argparse
import logging
from typing import Any

import socketwire
from socketwire.hosting.workers import add_workers_argument


def make_server() -> socketwire.Server:
    """The bench server's Socket.IO handlers."""
    io = socketwire.Server(cors_allowed_origins="*", serve_client=False)

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        @socket.on("echo")
        def echo(*args: Any) -> None:
            socket.emit("echo", *args)

        @socket.on("ack")
        def ack(*args: Any) -> tuple[Any, ...]:
            return args

        @socket.on("broadcast")
        def broadcast(*args: Any) -> None:
            io.emit("broadcast", *args)

        @socket.on("join")
        def join(room: str) -> None:
            socket.join(room)

        @socket.on("leave")
        def leave(room: str) -> None:
            socket.leave(room)

        @socket.on("room")
        def room(name: str, *rest: Any) -> None:
            io.to(name).emit("room", name, *rest)

    return io


def main() -> None:
    """Parse arguments and serve until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=4000)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--hosting", choices=["standalone", "asgi"], default="standalone")
    add_workers_argument(parser)
    parser.add_argument("--metrics", nargs="?", const="all", choices=["all", "lean"],
                        default=None,
                        help="count with socketwire.metrics (Prometheus registry of its own, "
                             "OpenTelemetry instruments when its API is installed); lean: "
                             "without the per-message figures (packets=False, handlers=False)")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)
    io = make_server()
    if args.metrics:
        from prometheus_client import CollectorRegistry

        from socketwire.metrics import Metrics

        lean = args.metrics == "lean"
        Metrics(io, registry=CollectorRegistry(), packets=not lean, handlers=not lean)
    if args.hosting == "asgi":
        from socketwire.hosting.asgi import run_asgi

        run_asgi(io, args.host, args.port)
    else:
        socketwire.run(io, args.host, args.port, workers=args.workers)


if __name__ == "__main__":
    main()
