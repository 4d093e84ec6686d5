"""The standalone host: an asyncio HTTP/1.1 + WebSocket server built for socketwire.

Each TCP connection starts with an :class:`~socketwire.hosting.http1.HttpProtocol` (HTTP
parsed by httptools); an accepted upgrade swaps in a
:class:`~socketwire.hosting.websocket.WebSocketProtocol` (frames by
:mod:`socketwire.hosting.wsframes`) with ``transport.set_protocol``. Writes go straight to the
transport (no task per message), and broadcast frames are built once and shared by every
recipient; when one read brings several messages, each connection's frames produced while
handling them leave in one write (:class:`~socketwire.hosting.websocket.WriteCork`). This
module holds the server (listening, closing), :func:`serve` and :func:`run`; uvloop is used
when it is installed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import signal
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, cast

from ..engine.http import HttpApp
from ..engine.static import StaticFiles
from . import tune_gc
from .http1 import HttpProtocol
from .websocket import WebSocketProtocol, WriteCork

if TYPE_CHECKING:  # aioquic is optional (the webtransport extra)
    from ..engine.http import WebTransportApp
    from .http3 import Certificate, Http3Server

__all__ = ["StandaloneServer", "run", "serve"]

log = logging.getLogger("socketwire.hosting")

# the listen queue: asyncio's default of 100 drops SYNs past 100 connects in flight, and each
# dropped one waits for the client's 1 s retransmit (p99 connect ~1 s); the kernel caps it at
# net.core.somaxconn. uvicorn uses 2048, Node 511.
LISTEN_BACKLOG = 2048
# how long close() lets connections closed with unsent data finish before aborting them
CLOSE_GRACE = 1.0


class StandaloneServer:
    """A running standalone server; ``close()`` stops it.

    ``http_header_timeout`` (Node's ``headersTimeout``, 60 s): a connection that has not sent
    a complete request head in that time gets 408 and is closed. ``http_keepalive_timeout``
    (Node's ``keepAliveTimeout``, 5 s): an idle keep-alive connection is closed after it.
    ``None`` turns either off. ``ws_max_fragments``: fragments per WebSocket message (by
    default the size limit / 64) before the connection is closed with 1008.
    """

    def __init__(
        self,
        app: HttpApp,
        static: StaticFiles,
        *,
        http_header_timeout: float | None = 60.0,
        http_keepalive_timeout: float | None = 5.0,
        ws_max_fragments: int | None = None,
    ) -> None:
        self.app = app
        self.static = static
        self.http_header_timeout = http_header_timeout
        self.http_keepalive_timeout = http_keepalive_timeout
        self.ws_max_fragments = ws_max_fragments
        self.connections: set[HttpProtocol | WebSocketProtocol] = set()
        #: holds WebSocket writes while a read's messages are handled (see WriteCork)
        self.cork = WriteCork()
        self._servers: list[asyncio.base_events.Server] = []
        self.http3: Http3Server | None = None
        """The HTTP/3 (WebTransport) host, when serving one (see :func:`serve`)."""
        self._drained: asyncio.Future[None] | None = None  # set by close() while it waits

    @property
    def port(self) -> int:
        """The TCP port of the first listening socket."""
        return int(self._servers[0].sockets[0].getsockname()[1])

    def protocol_factory(self) -> asyncio.Protocol:
        """The protocol of each accepted connection (``--workers`` routes requests there)."""
        return HttpProtocol(self)

    async def start(self, host: str | None, port: int | None, **kwargs: Any) -> None:
        """Start the app (a Socket.IO server starts its adapters), then listen (on
        ``sock=`` when given: a socket already bound, as ``--workers`` shares one)."""
        await self.app.startup()
        loop = asyncio.get_running_loop()
        if kwargs.get("sock") is not None:
            server = await loop.create_server(self.protocol_factory, **kwargs)
        else:
            kwargs.setdefault("backlog", LISTEN_BACKLOG)
            server = await loop.create_server(self.protocol_factory, host, port,
                                              reuse_address=True, **kwargs)
        self._servers.append(server)

    async def start_http3(
        self, host: str, port: int, certificate: Certificate | None = None
    ) -> Http3Server:
        """Also serve WebTransport over HTTP/3 on UDP ``port`` (needs the ``webtransport``
        extra); ``certificate`` defaults to a fresh self-signed one."""
        from .http3 import Http3Server

        http3 = Http3Server(cast("WebTransportApp", self.app), certificate)
        await http3.start(host, port)
        self.http3 = http3
        return http3

    async def close(self) -> None:
        """Stop listening, close every session and connection."""
        for server in self._servers:
            server.close()
        await self.app.shutdown()
        if self.http3 is not None:  # after the sessions, which end their streams cleanly
            await self.http3.close()
        # answers in progress (long-polls released by the shutdown) go out before the close
        busy = [c.worker for c in self.connections
                if isinstance(c, HttpProtocol) and c.worker is not None and not c.worker.done()]
        if busy:
            await asyncio.wait(busy, timeout=1.0)
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.close()
        if self.connections:
            # a transport closed with unsent data stays open until the peer reads it: wait a
            # little for that, then abort what is left, so no socket outlives close()
            self._drained = asyncio.get_running_loop().create_future()
            try:
                await asyncio.wait_for(asyncio.shield(self._drained), CLOSE_GRACE)
            except TimeoutError:
                for conn in list(self.connections):
                    if conn.transport is not None:
                        conn.transport.abort()
                await asyncio.sleep(0)  # the aborted transports' connection_lost runs
            self._drained = None
        for server in self._servers:
            await server.wait_closed()

    def forget(self, conn: HttpProtocol | WebSocketProtocol) -> None:
        """``conn``'s TCP connection is gone (its ``connection_lost`` ran)."""
        self.connections.discard(conn)
        drained = self._drained
        if drained is not None and not self.connections and not drained.done():
            drained.set_result(None)


async def serve(
    app: HttpApp,
    host: str = "127.0.0.1",
    port: int = 3000,
    static_files: Mapping[str, str | os.PathLike[str]] | None = None,
    *,
    http_header_timeout: float | None = 60.0,
    http_keepalive_timeout: float | None = 5.0,
    ws_max_fragments: int | None = None,
    http3: bool | Certificate = False,
    http3_port: int | None = None,
    **kwargs: Any,
) -> StandaloneServer:
    """Start serving ``app`` (a ``socketwire.Server`` or an ``EngineServer``); returns at once.

    The timeouts and ``ws_max_fragments`` are :class:`StandaloneServer`'s; other keyword
    arguments go to ``loop.create_server`` (``ssl``, ``backlog``...). ``http3`` (``True`` or a
    :class:`~socketwire.hosting.http3.Certificate`) also serves WebTransport over HTTP/3 on
    UDP ``http3_port``, by default the TCP port's number (where browsers look for it), with a
    fresh self-signed certificate unless one is given (``server.http3.certificate``); the
    app must list ``"webtransport"`` in its ``transports``.
    """
    server = StandaloneServer(app, StaticFiles(static_files),
                              http_header_timeout=http_header_timeout,
                              http_keepalive_timeout=http_keepalive_timeout,
                              ws_max_fragments=ws_max_fragments)
    await server.start(host, port, **kwargs)
    if http3 is not False:
        try:
            await server.start_http3(host, server.port if http3_port is None else http3_port,
                                     None if http3 is True else http3)
        except BaseException:
            await server.close()
            raise
    return server


def install_uvloop() -> bool:
    """Use uvloop for new event loops when it is installed; tell whether it is."""
    try:
        import uvloop
    except ImportError:
        return False
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True


def run(
    app: HttpApp,
    host: str = "127.0.0.1",
    port: int = 3000,
    static_files: Mapping[str, str | os.PathLike[str]] | None = None,
    *,
    use_uvloop: bool = True,
    on_started: Any = None,
    http_header_timeout: float | None = 60.0,
    http_keepalive_timeout: float | None = 5.0,
    workers: int | str | None = None,
    http3: bool | Certificate = False,
    http3_port: int | None = None,
) -> None:
    """Serve ``app`` until SIGINT or SIGTERM (blocking), on uvloop when installed.

    ``on_started(server)`` is called once listening; by default a line saying where it serves
    is printed. ``workers=N`` serves with N processes sharing the port (``0`` or ``"auto"``:
    one per core), forked from this one: see :mod:`socketwire.hosting.workers`. ``http3``
    and ``http3_port``: WebTransport over HTTP/3, as in :func:`serve` (one process only).
    """
    if workers is not None and workers != 1:
        if http3:
            raise ValueError("http3 is served by one process: it cannot be combined with "
                             "workers (QUIC would need routing by connection id)")
        from .workers import run_workers

        run_workers(app, host, port, static_files, workers=workers, use_uvloop=use_uvloop,
                    on_started=on_started, http_header_timeout=http_header_timeout,
                    http_keepalive_timeout=http_keepalive_timeout)
        return
    if use_uvloop:
        install_uvloop()

    async def main() -> None:
        server = await serve(app, host, port, static_files,
                             http_header_timeout=http_header_timeout,
                             http_keepalive_timeout=http_keepalive_timeout,
                             http3=http3, http3_port=http3_port)
        tune_gc()  # start-up done: see socketwire.hosting.tune_gc
        stop = _stop_on_signals()
        if on_started is not None:
            on_started(server)
        else:
            _announce(server, host)
        await stop.wait()
        await server.close()

    asyncio.run(main())


def _stop_on_signals() -> asyncio.Event:
    """An event set by SIGINT or SIGTERM (where the loop can handle signals)."""
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        try:
            loop.add_signal_handler(sig, stop.set)
        except (NotImplementedError, RuntimeError):
            pass
    return stop


def _announce(server: StandaloneServer, host: str) -> None:
    """Print where ``server`` listens (and its WebTransport port and certificate hash)."""
    shown = "localhost" if host in ("0.0.0.0", "::", "") else host
    shown = f"[{shown}]" if ":" in shown else shown
    print(f"socketwire listening on http://{shown}:{server.port}/", flush=True)
    if server.http3 is not None:
        print(f"socketwire serving WebTransport on UDP port {server.http3.port}, "
              f"certificate SHA-256 {server.http3.certificate.sha256.hex()}", flush=True)
