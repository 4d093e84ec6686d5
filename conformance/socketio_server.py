"""Socket.IO server configured as the official socket.io-protocol test suite expects.

pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1e6, connectTimeout 1000 ms, CORS ``*``;
namespaces ``/`` and ``/custom`` (others refused with "Invalid namespace"); every connection
gets ``auth`` with its CONNECT payload; ``message`` is answered by ``message-back`` and
``message-with-ack`` is acked with its arguments.

    python conformance/socketio_server.py --port 3000 --hosting standalone|asgi [--workers N]
"""

from __future__ import annotations

import argparse
from typing import Any

import socketwire
from socketwire.hosting.workers import add_workers_argument


def make_server() -> socketwire.Server:
    """The server with the suite's settings and handlers."""
    io = socketwire.Server(
        ping_interval=0.3,
        ping_timeout=0.2,
        max_http_buffer_size=1_000_000,
        connect_timeout=1.0,
        cors_allowed_origins="*",
    )

    def on_connection(socket: socketwire.Socket) -> None:
        socket.emit("auth", socket.handshake.auth)

        @socket.on("message")
        def message(*args: Any) -> None:
            socket.emit("message-back", *args)

        @socket.on("message-with-ack")
        def message_with_ack(*args: Any) -> tuple[Any, ...]:
            return args

    io.on("connection", on_connection)
    io.of("/custom").on("connection", on_connection)
    return io


def main() -> None:
    """Parse arguments and serve."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--hosting", choices=["standalone", "asgi"], default="standalone")
    add_workers_argument(parser)
    args = parser.parse_args()
    if args.workers != 1 and args.hosting != "standalone":
        parser.error("--workers needs --hosting standalone")
    io = make_server()
    if args.hosting == "asgi":
        from socketwire.hosting.asgi import run_asgi

        run_asgi(io, args.host, args.port)
    else:
        socketwire.run(io, args.host, args.port, workers=args.workers)


if __name__ == "__main__":
    main()
