"""The socketwire Python server with the scenario handlers of node_sio_server.js.

    python tests/browser/socketwire_server.py PORT STATIC_DIR [PING_INTERVAL_MS PING_TIMEOUT_MS]
                                              [--hosting standalone|asgi]

The same handlers and behaviour as the Node reference server, so that the browser client tests
run unchanged against either. The browser client files are served by the socketwire server
itself (``serve_client``) at /socket.io/socketwire.esm.js and /socket.io/socketwire.js; they
come from the same package source as the files the test writes to STATIC_DIR, which is checked
and otherwise unused. Prints "listening PORT" on stdout once ready. Only binds 127.0.0.1.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
from pathlib import Path
from typing import Any

import socketwire
from socketwire import ConnectionRefused, Server, Socket

HOST = "127.0.0.1"


def describe(value: Any) -> Any:
    """Describes received values, so that tests can check what the server decoded."""
    if isinstance(value, bytes | bytearray | memoryview):
        return {"buffer": list(bytes(value))}
    if isinstance(value, list | tuple):
        return [describe(v) for v in value]
    if isinstance(value, dict):
        return {k: describe(v) for k, v in value.items()}
    return value


def refuse_when_asked(socket: Socket) -> None:
    """Connection middleware refusing with data when the client's auth asks for it."""
    auth = socket.handshake.auth
    if auth and auth.get("refuse"):
        raise ConnectionRefused("not authorized", {"code": 4001, "reason": auth["refuse"]})


def build(ping_interval: float, ping_timeout: float) -> Server:
    """The server: handlers on "/" and "/custom", as in node_sio_server.js."""
    # SOCKETWIRE_TEST_PARSER=msgpack: socket.io-msgpack-parser's wire format
    io = Server(ping_interval=ping_interval, ping_timeout=ping_timeout,
                parser=os.environ.get("SOCKETWIRE_TEST_PARSER", "json"))
    records: dict[Any, list[Any]] = {}  # key -> values received by "record", in order
    flaky: dict[Any, int] = {}  # key -> copies received by "flaky"

    def common(socket: Socket, tag: str) -> None:
        socket.emit("auth", socket.handshake.auth)
        nsp = socket.nsp.name

        # Handlers with a keyword-only `ack` answer only when they call it, like a JavaScript
        # callback; the others answer the client's ack with their return value.
        @socket.on("echo")
        def echo(*args: Any) -> None:
            socket.emit("echo", *args)

        @socket.on("message")
        def message(*args: Any) -> None:
            socket.emit("message-back", *args)

        @socket.on("tagged-echo")
        def tagged_echo(*args: Any) -> None:
            socket.emit("tagged-echo", tag, *args)

        @socket.on("ack")
        def ack_back(*args: Any, ack: Any) -> None:
            ack(*args)

        @socket.on("describe")
        def describe_back(*args: Any, ack: Any) -> None:
            ack(describe(list(args)))

        @socket.on("whoami")
        def whoami(*, ack: Any) -> None:
            ack({
                "id": socket.id,
                "nsp": nsp,
                "conn": socket.conn.sid,
                "transport": socket.conn.transport,
                "query": socket.handshake.query,
                "header": socket.handshake.headers.get("x-socketwire-test"),
            })

        @socket.on("no-ack")
        def no_ack(*args: Any, ack: Any) -> None:
            pass  # never answers

        # Acknowledges only the `times`-th copy received for `key` (tests `retries`).
        @socket.on("flaky")
        def on_flaky(key: Any, times: Any, *, ack: Any) -> None:
            seen = flaky[key] = flaky.get(key, 0) + 1
            if seen >= times:
                ack(f"acked copy {seen}")

        # Server-initiated ack: the server asks, the client answers through its ack callback.
        @socket.on("ask-client")
        async def ask_client(question: Any) -> None:
            try:
                answer = await socket.timeout(5).emit_with_ack("question", question)
            except Exception as exc:
                socket.emit("answer", f"error: {exc}")
            else:
                socket.emit("answer", answer)

        @socket.on("join")
        def join(room: str, *, ack: Any) -> None:
            socket.join(room)
            ack()

        @socket.on("to-room")
        def to_room(room: str, *args: Any) -> None:
            io.of(nsp).to(room).emit("room", room, *args)

        @socket.on("broadcast")
        def broadcast(*args: Any) -> None:
            socket.broadcast.emit("broadcast", *args)

        @socket.on("disconnect-me")
        def disconnect_me(close: Any = None) -> None:
            socket.disconnect(bool(close))

        @socket.on("close-conn")
        def close_conn() -> None:
            socket.conn.close()

        # A raw Engine.IO message that is no valid Socket.IO packet ("parse error" on the
        # client): Node's conn.send("9garbage") is the Engine.IO packet "49garbage".
        @socket.on("send-garbage")
        def send_garbage() -> None:
            socket.conn.send("49garbage")

        @socket.on("record")
        def record(key: Any, value: Any) -> None:
            records.setdefault(key, []).append(value)

        @socket.on("records")
        def get_records(key: Any, *, ack: Any) -> None:
            ack(records.get(key, []))

    io.use(refuse_when_asked)
    io.on("connection", lambda socket: common(socket, "/"))
    custom = io.of("/custom")
    custom.use(refuse_when_asked)
    custom.on("connection", lambda socket: common(socket, "/custom"))
    return io


def announce(port: int) -> None:
    """Tell the test that the server is ready."""
    sys.stdout.write(f"listening {port}\n")
    sys.stdout.flush()


async def serve_asgi(io: Server, port: int) -> None:
    """Serve with uvicorn (the ASGI host) until SIGTERM or SIGINT."""
    import uvicorn

    config = uvicorn.Config(io.asgi_app(), host=HOST, port=port, log_level="warning",
                            lifespan="on")
    server = uvicorn.Server(config)
    task = asyncio.ensure_future(server.serve())
    while not server.started:
        if task.done():
            task.result()
            raise SystemExit("uvicorn stopped before starting")
        await asyncio.sleep(0.01)
    # SIGTERM ends the process at once, as the Node server's process.exit(0) does. (uvicorn's
    # graceful shutdown sends lifespan.shutdown, which closes the sessions, only after the
    # requests in flight end, and a pending long-poll GET lasts up to pingInterval.)
    signal.signal(signal.SIGTERM, lambda signum, frame: os._exit(0))
    announce(port)
    await task


def main() -> None:
    """Parse the arguments and serve until SIGTERM."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("port", type=int)
    parser.add_argument("static_dir", type=Path)
    parser.add_argument("ping_interval_ms", type=int, nargs="?", default=25000)
    parser.add_argument("ping_timeout_ms", type=int, nargs="?", default=20000)
    parser.add_argument("--hosting", choices=("standalone", "asgi"), default="standalone")
    args = parser.parse_args()
    if not (args.static_dir / "socketwire.esm.js").is_file():
        parser.error(f"no socketwire.esm.js in {args.static_dir}")
    io = build(args.ping_interval_ms / 1000, args.ping_timeout_ms / 1000)
    if args.hosting == "asgi":
        asyncio.run(serve_asgi(io, args.port))
    else:
        socketwire.run(io, HOST, args.port, on_started=lambda server: announce(server.port))


if __name__ == "__main__":
    main()
