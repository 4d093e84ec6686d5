"""The ``socketwire`` command.

``socketwire chat``: the chat app (page and Socket.IO server) on http://127.0.0.1:3000.
``socketwire serve MODULE:ATTR``: serve your own ``socketwire.Server``.
"""

from __future__ import annotations

import argparse
import contextlib
import importlib
import importlib.util
import inspect
import os
import socket
import sys
from collections.abc import Iterator, Sequence
from typing import Any

__all__ = ["main"]

DEFAULT_HOST = "127.0.0.1"
DEFAULT_PORT = 3000


def _add_address(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default=DEFAULT_HOST,
                        help=f"interface to listen on (default {DEFAULT_HOST})")
    parser.add_argument("--port", type=int, default=DEFAULT_PORT,
                        help=f"TCP port (default {DEFAULT_PORT}; 0 picks a free one)")
    parser.add_argument("--metrics", type=int, default=None, metavar="PORT",
                        help="serve Prometheus metrics at http://HOST:PORT/metrics "
                             "(needs socketwire[metrics])")
    parser.add_argument("--metrics-lean", action="store_true",
                        help="with --metrics: leave out what is measured per message (packets "
                             "and bytes by type, handler durations and errors)")
    parser.add_argument("--debug", nargs="?", const="socketwire*", default=None,
                        metavar="PATTERNS",
                        help="debug output on standard error of the loggers matching PATTERNS "
                             "(default socketwire*, every packet included; as the "
                             "SOCKETWIRE_DEBUG environment variable)")


def _enable_metrics(io: Any, args: argparse.Namespace) -> None:
    """``--metrics PORT``: count with socketwire.metrics and serve the Prometheus endpoint."""
    if args.metrics is None:
        if args.metrics_lean:
            raise SystemExit("socketwire: --metrics-lean goes with --metrics PORT")
        return
    if importlib.util.find_spec("prometheus_client") is None:
        raise SystemExit('socketwire: --metrics needs prometheus-client: '
                         'pip install "socketwire[metrics]"')
    from .metrics import Metrics

    lean = args.metrics_lean
    port = Metrics(io, packets=not lean, handlers=not lean).serve(args.metrics, args.host)
    shown = "localhost" if args.host in ("0.0.0.0", "::", "") else args.host
    # stderr: the first line on stdout stays the "listening on" one
    print(f"socketwire metrics on http://{shown}:{port}/metrics", file=sys.stderr, flush=True)


def _static_mapping(values: list[str]) -> dict[str, str]:
    mapping: dict[str, str] = {}
    for value in values:
        prefix, sep, folder = value.partition("=")
        if not sep or not prefix.startswith("/") or not folder:
            raise SystemExit(f"socketwire: --static wants PREFIX=FOLDER, got {value!r}")
        if not os.path.exists(folder):
            where = os.path.abspath(folder)
            raise SystemExit(f"socketwire: --static {value}: no such folder or file: {where}")
        mapping[prefix] = folder
    return mapping


def _origins(values: list[str]) -> list[str]:
    """``--cors`` values as the Origin headers browsers send (scheme://host[:port])."""
    origins = []
    for value in values:
        origin = value.rstrip("/")
        scheme, sep, rest = origin.partition("://")
        if scheme not in ("http", "https") or not sep or not rest or "/" in rest:
            raise SystemExit(f"socketwire: --cors wants an origin such as "
                             f"https://admin.socket.io, got {value!r}")
        origins.append(origin)
    return origins


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``socketwire`` command."""
    from .hosting.workers import add_workers_argument

    parser = argparse.ArgumentParser(
        prog="socketwire", description="A fast Socket.IO v4 server for Python."
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    chat = commands.add_parser("chat", help="run the chat app (page + Socket.IO server)",
                               description="Serve the chat app: open http://HOST:PORT/.")
    _add_address(chat)
    # Admin UI hook: `--admin USER:PASSWORD` instruments the server with socketwire.admin
    # (when that module is installed); see _enable_admin.
    chat.add_argument("--admin", metavar="USER:PASSWORD", default=None,
                      help="enable the admin UI with HTTP basic credentials")
    add_workers_argument(chat)
    chat.add_argument("--cors", action="append", default=[], metavar="ORIGIN",
                      help="allow pages from ORIGIN (e.g. https://admin.socket.io, the hosted "
                           "admin dashboard), with credentials; repeatable")

    serve = commands.add_parser(
        "serve", help="serve a socketwire.Server object from your code",
        description="Serve MODULE:ATTR, a socketwire.Server (or a function returning one).",
    )
    serve.add_argument("target", metavar="MODULE:ATTR",
                       help="e.g. myapp:io or myapp.realtime:create_server")
    _add_address(serve)
    serve.add_argument("--hosting", choices=("standalone", "asgi"), default="standalone",
                       help="the built-in HTTP server (default) or uvicorn through ASGI")
    add_workers_argument(serve)
    serve.add_argument("--static", action="append", default=[], metavar="PREFIX=FOLDER",
                       help="also serve FOLDER's files under PREFIX (repeatable)")
    serve.add_argument("--http3", action="store_true",
                       help="also serve WebTransport over HTTP/3 (UDP), with a fresh self-signed "
                            "certificate whose SHA-256 is printed (needs socketwire[webtransport] "
                            "and \"webtransport\" in the server's transports)")
    serve.add_argument("--http3-port", type=int, default=None, metavar="PORT",
                       help="the UDP port of --http3 (default: the TCP port's number)")
    return parser


def load_target(target: str) -> Any:
    """Import ``MODULE:ATTR`` (from the current directory too); call ATTR if it is a factory."""
    from .server.server import Server

    module_name, sep, attr_path = target.partition(":")
    if not sep or not module_name or not attr_path:
        raise SystemExit(f"socketwire: expected MODULE:ATTR, got {target!r}")
    if os.getcwd() not in sys.path and "" not in sys.path:
        sys.path.insert(0, os.getcwd())
    try:
        with _run_ignored(module_name):
            obj: Any = importlib.import_module(module_name)
    except ImportError as exc:
        raise SystemExit(f"socketwire: cannot import {module_name!r}: {exc}") from exc
    for part in attr_path.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            msg = f"socketwire: {module_name!r} has no attribute {attr_path!r}"
            raise SystemExit(msg) from None
    if not isinstance(obj, Server) and callable(obj) and not isinstance(obj, type):
        try:
            inspect.signature(obj).bind()
        except TypeError:
            raise SystemExit(
                f"socketwire: {target} is a function that takes arguments; MODULE:ATTR must "
                "name a socketwire.Server or a function returning one, called with none"
            ) from None
        except ValueError:
            pass  # no signature to check (a builtin): just call it
        obj = obj()
        if not isinstance(obj, Server):
            raise SystemExit(f"socketwire: {target}() is not a socketwire.Server "
                             f"(it returned a value of type {type(obj).__name__})")
    if not isinstance(obj, Server):
        raise SystemExit(f"socketwire: {target} is not a socketwire.Server "
                         f"(its type is {type(obj).__name__})")
    return obj


@contextlib.contextmanager
def _run_ignored(module_name: str) -> Iterator[None]:
    """While ``socketwire serve`` imports the user's module, ``socketwire.run()`` called at
    import (as in a script) is skipped with a note: the command runs the server itself."""
    import socketwire

    from .hosting import standalone

    def skipped(*args: Any, **kwargs: Any) -> None:
        print(f"socketwire: {module_name} called socketwire.run() while being imported; "
              "skipped, since `socketwire serve` runs the server itself (put that call under "
              "`if __name__ == \"__main__\":`)", file=sys.stderr, flush=True)

    saved = socketwire.run, standalone.run
    socketwire.run = standalone.run = skipped
    try:
        yield
    finally:
        socketwire.run, standalone.run = saved


def _enable_admin(io: Any, credentials: str) -> None:
    """Instrument ``io`` for the admin UI, with HTTP basic ``USER:PASSWORD`` credentials."""
    user, sep, password = credentials.partition(":")
    if not sep or not user or not password:
        raise SystemExit("socketwire: --admin wants USER:PASSWORD")
    if importlib.util.find_spec("socketwire.admin") is None:
        raise SystemExit("socketwire: the admin UI is not available in this version")
    admin = importlib.import_module("socketwire.admin")
    admin.instrument(io, auth={"type": "basic", "username": user, "password": password})


def _announce(what: str, host: str) -> Any:
    def on_started(server: Any) -> None:
        shown = "localhost" if host in ("0.0.0.0", "::", "") else host
        print(f"socketwire {what} listening on http://{shown}:{server.port}/", flush=True)
        http3 = getattr(server, "http3", None)  # the standalone host's, with --http3
        if http3 is not None:
            print(f"socketwire {what} serving WebTransport on UDP port {http3.port}, "
                  f"certificate SHA-256 {http3.certificate.sha256.hex()}", flush=True)
    return on_started


def _check_http3(io: Any, args: argparse.Namespace) -> None:
    """``--http3`` needs the standalone host, one process, aioquic, and a server that
    accepts the webtransport transport."""
    if args.http3_port is not None and not args.http3:
        raise SystemExit("socketwire: --http3-port goes with --http3")
    if not args.http3:
        return
    if args.hosting != "standalone":
        raise SystemExit("socketwire: --http3 needs the standalone hosting")
    if args.workers != 1:
        raise SystemExit("socketwire: --http3 is served by one process: it cannot be combined "
                         "with --workers (QUIC would need routing by connection id)")
    if importlib.util.find_spec("aioquic") is None:
        raise SystemExit("socketwire: --http3 needs aioquic: "
                         'pip install "socketwire[webtransport]"')
    if "webtransport" not in io.engine.transports:
        raise SystemExit(f"socketwire: --http3: {args.target} does not accept WebTransport; "
                         'create it with transports=("polling", "websocket", "webtransport")')


def run_chat(args: argparse.Namespace) -> int:
    """``socketwire chat``: the chat page and its Socket.IO server, until Ctrl-C."""
    from .chat import STATIC_DIR, create_server
    from .hosting.standalone import run

    options: dict[str, Any] = {}
    if args.cors:
        # the official admin dashboard sends credentials: they must be allowed explicitly
        options.update(cors_allowed_origins=_origins(args.cors), cors_credentials=True)
    io = create_server(**options)
    if args.admin is not None:
        _enable_admin(io, args.admin)
    _enable_metrics(io, args)
    run(io, args.host, args.port, static_files={"/": str(STATIC_DIR)},
        on_started=_announce("chat", args.host), workers=args.workers)
    return 0


def run_serve(args: argparse.Namespace) -> int:
    """``socketwire serve MODULE:ATTR``: serve a user's Server, until Ctrl-C."""
    io = load_target(args.target)
    static = _static_mapping(args.static) or None
    _check_http3(io, args)
    _enable_metrics(io, args)
    if args.hosting == "asgi":
        if args.workers != 1:
            raise SystemExit("socketwire: --workers needs the standalone hosting")
        _serve_asgi(io, args.host, args.port, static, _announce(args.target, args.host))
        return 0
    from .hosting.standalone import run

    run(io, args.host, args.port, static_files=static, on_started=_announce(args.target, args.host),
        workers=args.workers, http3=args.http3, http3_port=args.http3_port)
    return 0


def _serve_asgi(io: Any, host: str, port: int, static: dict[str, str] | None,
                on_started: Any) -> None:
    """Serve through the ASGI app with uvicorn; the socket is bound before it is announced."""
    if importlib.util.find_spec("uvicorn") is None:
        raise SystemExit('socketwire: --hosting asgi needs uvicorn: pip install "socketwire[asgi]"')
    import uvicorn

    from .hosting.asgi import ASGIApp, uvicorn_config

    if not any(importlib.util.find_spec(m) for m in ("websockets", "wsproto")):
        print('socketwire: warning: uvicorn has no WebSocket library here, clients will stay on '
              'long-polling: pip install "socketwire[asgi]"', file=sys.stderr, flush=True)

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.create_server((host, port), family=family)
    # run_asgi's configuration: limits, socketwire's WebSocket protocol, no compression
    config = uvicorn_config(ASGIApp(io, static_files=static))
    on_started(_Bound(sock))
    uvicorn.Server(config).run(sockets=[sock])


class _Bound:
    """What ``_announce`` needs from a server: its port."""

    def __init__(self, sock: socket.socket) -> None:
        self.port = int(sock.getsockname()[1])


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``socketwire`` command; returns the exit status."""
    args = build_parser().parse_args(argv)
    if args.debug is not None:
        from .log import enable_debug

        enable_debug(args.debug)  # before any server exists: new ones trace their packets
    try:
        if args.command == "chat":
            return run_chat(args)
        return run_serve(args)
    except KeyboardInterrupt:
        return 0
    except OSError as exc:
        print(f"socketwire: {exc}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
