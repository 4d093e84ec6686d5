"""A raw WebSocket echo server on socketwire's hosts, for Autobahn|Testsuite's fuzzingclient.

Every text or binary message is sent back as it came; no Engine.IO framing. The same echo app
runs behind either host's WebSocket layer: the standalone host's own frames
(``hosting/wsframes.py``) or, under ASGI, uvicorn's (the frames are then uvicorn's, and what
socketwire adds is its ASGI channel). Limits are raised to what the suite's 9.* cases send
(16 MiB messages, 4 MiB messages in 64-byte fragments).

    python conformance/ws_echo_server.py --port 9001 --hosting standalone|asgi
"""

from __future__ import annotations

import argparse
import asyncio
from typing import Any

from socketwire.engine.http import HttpRequest, HttpResponse, WebSocketChannel

MAX_SIZE = 32 * 1024 * 1024


class _Echo:
    __slots__ = ("channel",)

    def __init__(self, channel: WebSocketChannel) -> None:
        self.channel = channel

    def on_message(self, data: str | bytes) -> None:
        self.channel.send(data)

    def on_close(self) -> None:
        pass


class _Accept:
    headers: list[tuple[str, str]] = []

    def attach(self, channel: WebSocketChannel) -> _Echo:
        return _Echo(channel)


class EchoApp:
    """An :class:`~socketwire.engine.http.HttpApp` accepting every WebSocket, echoing it."""

    path = "/"
    max_http_buffer_size = MAX_SIZE

    async def handle_http(self, request: HttpRequest) -> HttpResponse:
        """Plain HTTP is not served."""
        return HttpResponse(404, [("Content-Type", "text/plain")], b"Not Found")

    async def open_websocket(self, request: HttpRequest) -> Any:
        """Accept."""
        return _Accept()

    def lookup_static(self, method: str, path: str) -> HttpResponse | None:
        """No files (path is "/": every request is the app's own)."""
        return None

    async def startup(self) -> None:
        """Nothing to start."""

    async def shutdown(self) -> None:
        """Nothing to close."""


async def _standalone(host: str, port: int) -> None:
    from socketwire.hosting.standalone import serve

    # 9.3.1/9.4.1 send 4 MiB in 64-byte fragments: 65,536 of them
    server = await serve(EchoApp(), host, port, ws_max_fragments=1 << 20)
    print(f"ws echo (standalone) on ws://{host}:{server.port}/", flush=True)
    await asyncio.Event().wait()


def _asgi(host: str, port: int) -> None:
    import uvicorn

    from socketwire.hosting.asgi import ASGIApp, uvicorn_config

    print(f"ws echo (asgi, uvicorn) on ws://{host}:{port}/", flush=True)
    # run_asgi's configuration (socketwire's uvicorn WebSocket protocol); 9.3.1/9.4.1 send
    # 4 MiB in 64-byte fragments, within its fragment limit for MAX_SIZE (524,288)
    uvicorn.Server(uvicorn_config(ASGIApp(EchoApp()), host, port, lifespan="off")).run()


def main() -> None:
    """Parse arguments and serve."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=9001)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--hosting", choices=["standalone", "asgi"], default="standalone")
    args = parser.parse_args()
    if args.hosting == "standalone":
        from socketwire.hosting.standalone import install_uvloop

        install_uvloop()
        asyncio.run(_standalone(args.host, args.port))
    else:
        _asgi(args.host, args.port)


if __name__ == "__main__":
    main()
