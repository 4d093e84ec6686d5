"""Server: the Socket.IO server, ``io`` in the socket.io tutorial."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Awaitable, Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..adapters.base import Adapter
from ..adapters.memory import InMemoryAdapter, SessionAwareAdapter
from ..engine.http import HttpRequest, HttpResponse, WebSocketChannel, WebSocketHandler
from ..engine.server import AllowRequest, CorsOrigins, EngineServer, WebSocketAcceptance
from ..engine.session import EngineSession
from ..engine.static import StaticFiles
from ..handlers import spawn
from ..protocol.parser import Parser, get_parser
from ..protocol.reasons import Reason
from .broadcast import BroadcastOperator
from .connection import ServerConnection
from .hooks import ServerHooks
from .namespace import Namespace, ParentNamespace
from .recovery import ConnectionStateRecovery

if TYPE_CHECKING:
    import os
    from collections.abc import Mapping

    from ..hosting.asgi import ASGIApp, ASGICallable
    from .remote import RemoteSocket
    from .socket import Socket

__all__ = ["Server"]

class Server:
    """A Socket.IO v4 server.

    ``io = Server()``; register ``@io.on("connection")``; serve it with ``socketwire.run(io)``
    or mount ``io.asgi_app()`` under any ASGI server. Times are in seconds.

    Options (Node's defaults): ``path`` ("/socket.io/"), ``ping_interval`` (25),
    ``ping_timeout`` (20), ``max_http_buffer_size`` (1e6 bytes), ``transports``
    (polling and websocket), ``allow_upgrades`` (True), ``upgrade_timeout`` (10),
    ``connect_timeout`` (45), ``cors_allowed_origins`` (None: no CORS headers),
    ``cors_credentials`` (refused with ``"*"``: list the origins), ``allow_request`` (a hook
    refusing requests with 403), ``cookie`` (sticky-session cookie), ``serve_client`` (True:
    the browser client at
    ``/socket.io/socketwire.js`` and ``socketwire.esm.js``), ``adapter`` (a factory taking a
    namespace; the in-memory adapter by default), ``max_attachments`` (10),
    ``max_buffered_bytes`` (16 MiB of unsent data before a client is dropped),
    ``max_pending_handlers`` (64 coroutine handlers running per connection before it stops
    reading from that client), ``connection_state_recovery`` (off; ``True`` or a
    :class:`ConnectionStateRecovery` lets dropped clients recover their id, rooms, data and
    missed events; the default adapter is then the in-memory ``SessionAwareAdapter``),
    ``parser`` (``"json"``; ``"msgpack"`` speaks socket.io-msgpack-parser's format, which
    every client must then use too).
    """

    def __init__(
        self,
        *,
        path: str = "/socket.io/",
        ping_interval: float = 25.0,
        ping_timeout: float = 20.0,
        max_http_buffer_size: int = 1_000_000,
        transports: Iterable[str] = ("polling", "websocket"),
        allow_upgrades: bool = True,
        upgrade_timeout: float = 10.0,
        connect_timeout: float = 45.0,
        cors_allowed_origins: CorsOrigins = None,
        cors_credentials: bool = False,
        allow_request: AllowRequest | None = None,
        cookie: bool | str | dict[str, Any] = False,
        serve_client: bool = True,
        adapter: Callable[[Namespace], Adapter] | None = None,
        max_attachments: int = 10,
        max_buffered_bytes: int = 16 * 1024 * 1024,
        max_pending_handlers: int = 64,
        connection_state_recovery: bool | ConnectionStateRecovery = False,
        parser: str | Parser = "json",
    ) -> None:
        self.engine = EngineServer(
            self._on_session,
            path=path,
            ping_interval=ping_interval,
            ping_timeout=ping_timeout,
            max_http_buffer_size=max_http_buffer_size,
            transports=transports,
            allow_upgrades=allow_upgrades,
            upgrade_timeout=upgrade_timeout,
            cors_allowed_origins=cors_allowed_origins,
            cors_credentials=cors_credentials,
            allow_request=allow_request,
            cookie=cookie,
            max_buffered_bytes=max_buffered_bytes,
        )
        self.connect_timeout = connect_timeout
        self.serve_client = serve_client
        #: the wire format: "json" (Socket.IO's default) or "msgpack"
        #: (socket.io-msgpack-parser's), or any :class:`socketwire.protocol.parser.Parser`
        self.parser: Parser = get_parser(parser)
        # the parser's fast encoders, bound once (sockets call them for every packet)
        self._encode_event = self.parser.event
        self._encode_ack = self.parser.ack
        if connection_state_recovery is True:
            connection_state_recovery = ConnectionStateRecovery()
        #: the recovery settings (``None`` when off); adapters read it as
        #: ``nsp.server.connection_state_recovery``
        self.connection_state_recovery: ConnectionStateRecovery | None = (
            connection_state_recovery or None
        )
        if adapter is None:
            adapter = SessionAwareAdapter if self.connection_state_recovery else InMemoryAdapter
        self.adapter_factory = adapter
        self.max_attachments = max_attachments
        self.max_pending_handlers = max(2, max_pending_handlers)
        self.namespaces: dict[str, Namespace] = {}
        self._parents: list[ParentNamespace] = []
        self.hooks = ServerHooks()
        self.static_routes: dict[str, str | os.PathLike[str]] = {}
        self._static: tuple[tuple[tuple[str, Any], ...], StaticFiles] | None = None
        self._started = False
        self._startup_lock = asyncio.Lock()
        self._adapters_open = True  # closed by the first shutdown, opened again by startup
        self._adapter_inits: set[asyncio.Task[None]] = set()
        #: in a worker of ``run(io, workers=N)``: its ``WorkerInfo`` (``.slot``, ``.count``)
        self.worker: Any = None
        self.sockets = self.of("/")

    # ------------------------------------------------------------ namespaces

    def of(self, name: str | re.Pattern[str] | Callable[[str, dict[str, Any]], bool]) -> Namespace:
        """The namespace ``name``, created on first use; a regex or a callable
        ``(name, auth) -> bool`` makes a dynamic namespace."""
        if isinstance(name, str):
            if not name.startswith("/"):
                name = "/" + name
            nsp = self.namespaces.get(name)
            if nsp is None:
                nsp = self.namespaces[name] = Namespace(self, name)
                self._namespace_created(nsp)
            return nsp
        parent = ParentNamespace(self, name)
        self._parents.append(parent)
        return parent

    def _namespace_for(self, name: str, auth: dict[str, Any]) -> Namespace | None:
        nsp = self.namespaces.get(name)
        if nsp is not None:
            return nsp
        for parent in self._parents:
            if parent.matches(name, auth):
                child = self.namespaces[name] = parent.create_child(name)
                self._namespace_created(child)
                return child
        return None

    def _namespace_created(self, nsp: Namespace) -> None:
        if self._started:  # created after start: its adapter starts in the background
            task = spawn(nsp.adapter.init())
            self._adapter_inits.add(task)
            task.add_done_callback(self._adapter_inits.discard)
        if self.hooks.new_namespace:
            for hook in self.hooks.new_namespace:
                hook(nsp)

    # ------------------------------------------------------------ main namespace

    def on(self, event: str, handler: Callable[..., Any] | None = None) -> Any:
        """Register a handler on the main namespace (``connection``)."""
        return self.sockets.on(event, handler)

    def off(self, event: str | None = None, handler: Callable[..., Any] | None = None) -> None:
        """Remove a handler of the main namespace (every handler of ``event`` without one)."""
        self.sockets.off(event, handler)

    def use(self, middleware: Callable[..., Any]) -> Callable[..., Any]:
        """Add a connection middleware to the main namespace."""
        return self.sockets.use(middleware)

    def emit(self, event: str, *args: Any, callback: Callable[..., Any] | None = None) -> None:
        """Emit to every socket of the main namespace."""
        self.sockets.emit(event, *args, callback=callback)

    def send(self, *args: Any) -> None:
        """Emit a ``message`` event to every socket of the main namespace."""
        self.sockets.send(*args)

    async def emit_with_ack(self, event: str, *args: Any) -> list[Any]:
        """Emit to every socket and await all acks."""
        return await self.sockets.emit_with_ack(event, *args)

    def to(self, room: str | Iterable[str]) -> BroadcastOperator:
        """Target the sockets in ``room``; a socket id targets that socket alone."""
        return self.sockets.to(room)

    in_ = to

    def except_(self, room: str | Iterable[str]) -> BroadcastOperator:
        """Every socket except those in ``room``."""
        return self.sockets.except_(room)

    @property
    def volatile(self) -> BroadcastOperator:
        """Drop the packet for clients that cannot receive it right now."""
        return self.sockets.volatile

    @property
    def local(self) -> BroadcastOperator:
        """Only this server's sockets."""
        return self.sockets.local

    def timeout(self, seconds: float) -> BroadcastOperator:
        """Wait at most ``seconds`` for acks."""
        return self.sockets.timeout(seconds)

    def compress(self, value: bool = True) -> BroadcastOperator:
        """Accepted for compatibility."""
        return self.sockets.compress(value)

    async def fetch_sockets(self) -> list[Socket | RemoteSocket]:
        """Every socket of the main namespace, across the cluster with a cluster adapter."""
        return await self.sockets.fetch_sockets()

    def sockets_join(self, room: str | Iterable[str]) -> None:
        """Make every socket of the main namespace join ``room``."""
        self.sockets.sockets_join(room)

    def sockets_leave(self, room: str | Iterable[str]) -> None:
        """Make every socket of the main namespace leave ``room``."""
        self.sockets.sockets_leave(room)

    def disconnect_sockets(self, close: bool = False) -> None:
        """Disconnect every socket of the main namespace."""
        self.sockets.disconnect_sockets(close)

    def server_side_emit(self, event: str, *args: Any) -> None:
        """Emit to the other servers of the cluster: their ``@io.on(event)`` handlers get
        ``args``."""
        self.sockets.server_side_emit(event, *args)

    async def server_side_emit_with_ack(self, event: str, *args: Any) -> list[Any]:
        """Emit to the other servers and return their handlers' answers, one per server
        (5 seconds at most: ``io.timeout(s).server_side_emit_with_ack(...)`` to choose);
        raises :class:`~socketwire.ClusterTimeout` with the answers that came."""
        return await self.sockets.server_side_emit_with_ack(event, *args)

    # --------------------------------------------------------------- engine

    def _on_session(self, session: EngineSession) -> None:
        session.handler = ServerConnection(self, session)

    @property
    def path(self) -> str:
        """The URL prefix served (``/socket.io/``)."""
        return self.engine.path

    @property
    def max_http_buffer_size(self) -> int:
        """The largest request body accepted."""
        return self.engine.max_http_buffer_size

    @property
    def upgrade_timeout(self) -> float:
        """Seconds an upgrade (or a new WebTransport session's first packet) may take."""
        return self.engine.upgrade_timeout

    async def handle_http(self, request: HttpRequest) -> HttpResponse:
        """Answer an HTTP request under ``path`` (the browser client files, then Engine.IO)."""
        client = self._client_file(request)
        if client is not None:
            return client
        return await self.engine.handle_http(request)

    def handle_http_now(
        self, request: HttpRequest, body: bytes
    ) -> HttpResponse | Awaitable[HttpResponse] | None:
        """:meth:`handle_http` for a request whose ``body`` is in, when the answer is ready
        at once (see :meth:`EngineServer.handle_http_now`); ``None``: nothing done."""
        client = self._client_file(request)
        if client is not None:
            return client
        return self.engine.handle_http_now(request, body)

    def _client_file(self, request: HttpRequest) -> HttpResponse | None:
        if (self.serve_client and request.method in ("GET", "HEAD")
                and request.path.startswith(self.engine.path)):
            from ..static import browser_client_file

            body = browser_client_file(request.path[len(self.engine.path):])
            if body is not None:
                headers = [("Content-Type", "application/javascript; charset=utf-8"),
                           ("Content-Length", str(len(body))), ("Cache-Control", "no-cache"),
                           *self.engine.cors_headers(request)]  # a cross-origin import
                return HttpResponse(200, headers, b"" if request.method == "HEAD" else body)
        return None

    async def open_websocket(self, request: HttpRequest) -> WebSocketAcceptance | HttpResponse:
        """Accept or refuse a WebSocket request."""
        return await self.engine.open_websocket(request)

    async def open_webtransport(self, request: HttpRequest) -> HttpResponse | None:
        """Accept (``None``) or refuse a WebTransport session request (HTTP/3 host)."""
        return await self.engine.open_webtransport(request)

    def attach_webtransport(
        self, request: HttpRequest, first: str | bytes, channel: WebSocketChannel
    ) -> WebSocketHandler | None:
        """Start an accepted WebTransport session's transport from its first packet."""
        return self.engine.attach_webtransport(request, first, channel)

    def lookup_static(self, method: str, path: str) -> HttpResponse | None:
        """A file of :attr:`static_routes` (``{url_prefix: folder}``) for a request outside
        :attr:`path`, or ``None``. Extensions (the admin UI) add routes there; both hosts ask
        after their own ``static_files``."""
        routes = self.static_routes
        if not routes:
            return None
        key = tuple(routes.items())
        cached = self._static
        if cached is None or cached[0] != key:
            cached = self._static = (key, StaticFiles(routes))
        return cached[1].lookup(method, path)

    async def startup(self) -> None:
        """Start the adapter of every namespace (``await adapter.init()``); namespaces
        created later start theirs when created. Both hosts and the ``TestClient`` call it;
        calling it again does nothing until :meth:`shutdown`."""
        async with self._startup_lock:  # a second caller waits for the first to finish
            if self._started:
                return
            self._started = True
            self._adapters_open = True
            try:
                for nsp in list(self.namespaces.values()):
                    await nsp.adapter.init()
            except BaseException:
                self._started = False
                raise
            for hook in list(self.hooks.startup):
                hook()

    async def shutdown(self) -> None:
        """Close every connection ("server shutting down") and stop the adapters."""
        self._started = False
        for hook in list(self.hooks.shutdown):
            hook()
        for nsp in list(self.namespaces.values()):
            for socket in list(nsp.sockets.values()):
                socket._on_close(Reason.SERVER_SHUTTING_DOWN)  # no DISCONNECT: clients retry
        await self.engine.close_all(Reason.FORCED_SERVER_CLOSE)
        if self._adapter_inits:
            await asyncio.gather(*self._adapter_inits, return_exceptions=True)
        if self._adapters_open:  # once, however many times the host calls it
            self._adapters_open = False
            for nsp in list(self.namespaces.values()):
                await nsp.adapter.close()

    async def close(self) -> None:
        """Node's ``io.close()``: the same as :meth:`shutdown`."""
        await self.shutdown()

    # ---------------------------------------------------------------- workers

    def join_workers(self, worker: Any) -> None:
        """Called in each worker of ``run(io, workers=N)`` before it starts (``worker`` is a
        ``hosting.workers.WorkerInfo``): unless an adapter was given, every namespace joins
        the workers' cluster over local IPC (:mod:`socketwire.adapters.ipc`). The adapters
        made before the fork are made again in the worker (each server of a cluster needs
        its own uid), keeping their listeners."""
        from ..adapters.ipc import create_ipc_adapter

        self.worker = worker
        if self.adapter_factory in (InMemoryAdapter, SessionAwareAdapter):
            self.adapter_factory = create_ipc_adapter(worker)
        for nsp in self.namespaces.values():  # dynamic parents are not there: they need none
            old = nsp.adapter
            nsp.adapter = self.adapter_factory(nsp)
            nsp.adapter._listeners = old._listeners

    # ---------------------------------------------------------------- hosting

    def asgi_app(
        self,
        other_app: ASGICallable | None = None,
        static_files: Mapping[str, str | os.PathLike[str]] | None = None,
    ) -> ASGIApp:
        """An ASGI application serving this server (and ``other_app`` for other paths)."""
        from ..hosting.asgi import ASGIApp

        return ASGIApp(self, other_app=other_app, static_files=static_files)
