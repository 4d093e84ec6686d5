"""A Socket.IO server for the --workers tests: clients drive the cluster operations by events.

    python tests/workers/cluster_app.py --port P --workers N [--redis URL] [--admin]

Every handler answers with this worker's slot so the tests can tell where things happen. The
disconnect reasons are printed ("disconnect <sid> <reason>") for the shutdown test.
"""

from __future__ import annotations

import argparse
import os
from typing import Any

import socketwire
from socketwire.hosting.workers import add_workers_argument


def make_server(adapter: Any = None) -> socketwire.Server:
    """The server and its handlers."""
    io = socketwire.Server(cors_allowed_origins="*", adapter=adapter)

    def slot() -> int:
        return int(io.worker.slot) if io.worker is not None else -1

    @io.on("hello-servers")
    def hello_servers(origin: int) -> None:  # a server-side emit from another worker
        io.local.emit("server-hello", origin, slot())

    @io.on("which-slot")
    def which_slot() -> int:  # a server-side emit with ack
        return slot()

    @io.on("connection")
    def connection(socket: socketwire.Socket) -> None:
        socket.data = {"slot": slot()}

        @socket.on("whoami")
        def whoami() -> dict[str, Any]:
            return {"slot": slot(), "pid": os.getpid(), "id": socket.id,
                    "rooms": sorted(socket.rooms)}

        @socket.on("join")
        def join(room: str) -> list[str]:
            socket.join(room)
            return sorted(socket.rooms)

        @socket.on("broadcast")
        def broadcast(event: str, *args: Any) -> int:
            io.emit(event, *args)
            return slot()

        @socket.on("to-room")
        def to_room(room: str, event: str, *args: Any) -> int:
            io.to(room).emit(event, *args)
            return slot()

        @socket.on("others")
        def others(event: str, *args: Any) -> None:
            socket.broadcast.emit(event, *args)

        @socket.on("ask-all")
        async def ask_all(question: str) -> list[Any]:
            answers = await io.timeout(3).emit_with_ack("question", question)
            return sorted(answers, key=repr)

        @socket.on("fetch")
        async def fetch(room: str | None = None) -> list[dict[str, Any]]:
            found = await (io.in_(room) if room else io.sockets).fetch_sockets()
            return sorted(({"id": s.id, "rooms": sorted(s.rooms), "data": s.data}
                           for s in found), key=lambda d: d["id"])

        @socket.on("remote-emit")
        async def remote_emit(sid: str, event: str, *args: Any) -> bool:
            for s in await io.fetch_sockets():
                if s.id == sid:
                    s.emit(event, *args)
                    return True
            return False

        @socket.on("remote-join")
        async def remote_join(sid: str, room: str) -> bool:
            for s in await io.fetch_sockets():
                if s.id == sid:
                    s.join(room)
                    return True
            return False

        @socket.on("sockets-join")
        def sockets_join(room: str, target: str | None = None) -> None:
            (io.in_(target) if target else io.sockets).sockets_join(room)

        @socket.on("sockets-leave")
        def sockets_leave(room: str, target: str | None = None) -> None:
            (io.in_(target) if target else io.sockets).sockets_leave(room)

        @socket.on("disconnect-room")
        def disconnect_room(room: str) -> None:
            io.in_(room).disconnect_sockets()

        @socket.on("server-side")
        def server_side() -> None:
            io.server_side_emit("hello-servers", slot())

        @socket.on("server-side-ack")
        async def server_side_ack() -> list[Any]:
            return sorted(await io.server_side_emit_with_ack("which-slot"))

        @socket.on("adapter")
        def adapter() -> str:
            return type(io.sockets.adapter).__name__

        @socket.on("server-count")
        async def server_count() -> int:
            return await io.sockets.adapter.server_count()

        @socket.on("disconnect")
        def disconnect(reason: str) -> None:
            print(f"disconnect {socket.id} {reason}", flush=True)

    return io


def main() -> None:
    """Parse arguments and serve."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--redis", default=None, help="use the Redis adapter at this URL")
    parser.add_argument("--admin", action="store_true",
                        help="instrument for the admin UI (no auth, stats every 0.5 s)")
    add_workers_argument(parser)
    args = parser.parse_args()
    adapter = None
    if args.redis:
        from socketwire.adapters.redis import create_adapter

        adapter = create_adapter(args.redis)
    io = make_server(adapter)
    if args.admin:
        from socketwire.admin import instrument

        instrument(io, auth=False, stats_interval=0.5)
    socketwire.run(io, args.host, args.port, workers=args.workers)


if __name__ == "__main__":
    main()
