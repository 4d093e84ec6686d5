"""Engine.IO echo server configured as the official engine.io-protocol test suite expects.

pingInterval 300 ms, pingTimeout 200 ms, maxPayload 1e6, CORS ``*``, path ``/engine.io/``;
every message is echoed back unchanged (text stays text, binary stays binary).

    python conformance/engineio_server.py --port 3000 --hosting standalone|asgi [--workers N]
"""

from __future__ import annotations

import argparse

from socketwire.engine.server import EngineServer
from socketwire.engine.session import EngineSession
from socketwire.hosting.workers import add_workers_argument


class Echo:
    """Echoes every message of one session."""

    def __init__(self, session: EngineSession) -> None:
        self.session = session

    def on_message(self, data: str | bytes) -> None:
        """Send the message back."""
        self.session.send(data if isinstance(data, bytes) else "4" + data)

    def on_close(self, reason: str) -> None:
        """Nothing to clean up."""


def on_session(session: EngineSession) -> None:
    """Attach the echo handler to a new session."""
    session.handler = Echo(session)


def make_server() -> EngineServer:
    """The engine server with the suite's settings."""
    return EngineServer(
        on_session,
        path="/engine.io/",
        ping_interval=0.3,
        ping_timeout=0.2,
        max_http_buffer_size=1_000_000,
        cors_allowed_origins="*",
    )


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
    server = make_server()
    if args.hosting == "asgi":
        from socketwire.hosting.asgi import run_asgi

        run_asgi(server, args.host, args.port)
    else:
        from socketwire.hosting.standalone import run

        run(server, args.host, args.port, workers=args.workers)


if __name__ == "__main__":
    main()
