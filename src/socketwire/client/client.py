"""AsyncClient: the asyncio Socket.IO v4 client (socket.io-client's ``Manager`` plus sockets).

::

    client = socketwire.AsyncClient()

    @client.on("news")
    def news(item):
        print(item)

    await client.connect("http://127.0.0.1:3000")
    client.emit("hello", {"x": 1})              # no await: emits are queued
    answer = await client.emit_with_ack("add", 1, 2)
    await client.wait()                         # until disconnected for good

One task supervises the connection: it opens the Engine.IO session, connects the active
namespaces, waits for the session to end and, if reconnection is on, waits a backoff delay
and tries again. Being a single task, there is never more than one connection or one
reconnection loop, and :meth:`AsyncClient.disconnect` ends it wherever it is.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Awaitable, Callable, Iterable, Mapping
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit

from ..exceptions import ConnectError
from ..protocol.parser import Parser, get_parser
from .backoff import Backoff
from .emitters import ManagerEvents, NamespaceShortcuts
from .socket import ClientSocket
from .supervisor import supervise
from .transports import TRANSPORTS, EngineConnection

__all__ = ["AsyncClient", "Auth"]

log = logging.getLogger("socketwire.client")

Auth = Mapping[str, Any] | Callable[[], "Mapping[str, Any] | Awaitable[Mapping[str, Any]]"] | None


class AsyncClient(NamespaceShortcuts):
    """An asyncio Socket.IO client, wire-compatible with socket.io 4 servers.

    Reconnection options are socket.io-client's, in seconds: ``reconnection`` (True),
    ``reconnection_attempts`` (infinite), ``reconnection_delay`` (1), ``reconnection_delay_max``
    (5) and ``randomization_factor`` (0.5). ``ssl_verify=False`` accepts any TLS certificate;
    ``max_attachments`` caps the binary attachments of one received packet; ``parser``
    (``"json"``) must match the server's (``"msgpack"`` for socket.io-msgpack-parser).
    ``server_certificate_hashes``: for the ``webtransport`` transport, SHA-256 hashes of
    server certificates trusted without a CA (a self-signed one's, as browsers take them).

    ``ack_timeout`` (seconds, socket.io-client's ``ackTimeout``) is the default deadline of
    every ack: callbacks then get ``(err, *answer)``. With ``retries`` (socket.io-client's
    ``retries``) every emit is delivered at least once: emits are sent one at a time and each
    is sent again (up to ``retries`` more times, and after a reconnection) until the server
    acknowledges it; their callbacks get ``(err, *answer)``.

    Manager-level events (reconnection, pings) are on :attr:`io`:
    ``client.io.on("reconnect", lambda attempt: ...)``.

    Methods taking ``namespace`` act on that namespace's :class:`ClientSocket`
    (``client.socket(namespace)``); by default on the client's main namespace,
    :attr:`namespace`: ``/``, or the namespace the URL given to :meth:`connect` names (as
    ``io("http://host:3000/chat")`` in socket.io-client).
    """

    def __init__(
        self,
        *,
        reconnection: bool = True,
        reconnection_attempts: float = math.inf,
        reconnection_delay: float = 1.0,
        reconnection_delay_max: float = 5.0,
        randomization_factor: float = 0.5,
        ssl_verify: bool = True,
        max_attachments: int = 10,
        retries: int = 0,
        ack_timeout: float | None = None,
        parser: str | Parser = "json",
        server_certificate_hashes: Iterable[bytes] = (),
    ) -> None:
        #: SHA-256 hashes of certificates WebTransport trusts without a CA (a browser's
        #: ``serverCertificateHashes``; e.g. ``Http3Server.certificate.sha256``)
        self.server_certificate_hashes = tuple(bytes(h) for h in server_certificate_hashes)
        #: the wire format, as the server's (``"json"`` or ``"msgpack"``, or a Parser)
        self.parser: Parser = get_parser(parser)
        self.reconnection = reconnection
        self.retries = max(0, int(retries))
        self.ack_timeout = ack_timeout
        #: manager-level events (socket.io-client's ``socket.io``): ``open``, ``close``
        #: (reason), ``error`` (ConnectError), ``ping``, ``reconnect_attempt`` (attempt),
        #: ``reconnect`` (attempt), ``reconnect_error`` (ConnectError), ``reconnect_failed``
        self.io = ManagerEvents()
        self.reconnection_attempts = reconnection_attempts
        self.backoff = Backoff(reconnection_delay, reconnection_delay_max, randomization_factor)
        self.ssl_verify = ssl_verify
        self.max_attachments = max_attachments
        self.url = ""
        self.path = "/socket.io/"
        self.headers: dict[str, str] = {}
        self.transports: tuple[str, ...] = ("polling", "websocket")
        self.auth: Auth = None
        self.wait_timeout = 20.0
        self.sockets: dict[str, ClientSocket] = {}
        self._engine: EngineConnection | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False
        self._closers: set[asyncio.Task[None]] = set()
        self._decoder = self.parser.decoder(max_attachments)
        #: the main namespace, which methods use when given no ``namespace``
        self.namespace = "/"
        self.socket("/")

    _schemes: tuple[str, ...] = ("http", "https", "ws", "wss")  # accepted in a server URL

    def __repr__(self) -> str:
        state = "connected" if self.connected else "disconnected"
        return f"<AsyncClient {self.url or '-'} {state}>"

    # ------------------------------------------------------------------ state

    def socket(self, namespace: str | None = None) -> ClientSocket:
        """The socket for ``namespace`` (created on first use, connected by :meth:`connect`
        or by its own ``connect()``); the main namespace's by default."""
        if namespace is None:
            namespace = self.namespace
        elif not namespace.startswith("/"):
            namespace = "/" + namespace
        sock = self.sockets.get(namespace)
        if sock is None:
            sock = self.sockets[namespace] = ClientSocket(self, namespace)
        return sock

    @property
    def connected(self) -> bool:
        """Whether at least one namespace is connected."""
        return any(s.connected for s in self.sockets.values())

    @property
    def sid(self) -> str | None:
        """The socket id of the main namespace (``None`` while not connected)."""
        return self.socket().id

    @property
    def recovered(self) -> bool:
        """Whether the main namespace's last connection recovered its session (connection
        state recovery on the server: same id, rooms and data, missed events replayed)."""
        return self.socket().recovered

    def get_sid(self, namespace: str | None = None) -> str | None:
        """The socket id of ``namespace`` (``None`` while not connected)."""
        sock = self.sockets.get(namespace or self.namespace)
        return sock.id if sock is not None else None

    @property
    def namespaces(self) -> list[str]:
        """The namespaces connected now."""
        return [name for name, s in self.sockets.items() if s.connected]

    @property
    def transport(self) -> str | None:
        """The Engine.IO transport in use (``polling``, ``websocket`` or ``webtransport``),
        if connected."""
        engine = self._engine
        return engine.transport if engine is not None and engine.is_open else None

    @property
    def engine(self) -> EngineConnection | None:
        """The current Engine.IO session, if one is open."""
        return self._engine

    # ------------------------------------------------------------- connecting

    async def connect(
        self,
        url: str,
        *,
        namespaces: Iterable[str] | None = None,
        auth: Auth = None,
        headers: Mapping[str, str] | None = None,
        transports: Iterable[str] | None = None,
        path: str = "/socket.io/",
        wait_timeout: float = 20.0,
        retry: bool = False,
    ) -> None:
        """Connect to the server at ``url`` and to ``namespaces``; returns once all of them
        are connected.

        As in socket.io-client, the URL's path names the main namespace
        (``http://host:3000/chat``: ``/chat``; none: ``/``); handlers and emits given no
        ``namespace`` use it. ``namespaces`` defaults to the main namespace plus every
        namespace a socket was made for.

        ``auth`` is the CONNECT payload: a dict, or a callable (sync or async) asked again
        for every (re)connection. ``transports`` lists ``polling``, ``websocket`` and/or
        ``webtransport`` (HTTP/3, the ``webtransport`` extra); the first is used for the
        handshake and polling is upgraded to the others (WebTransport first when the server
        offers it, as socket.io-client). Raises
        :class:`ConnectError` when the server cannot be reached (unless ``retry``, which
        keeps trying as reconnections do), refuses a namespace (with the server's message
        and data) or does not answer within ``wait_timeout`` seconds; the client is then
        disconnected.
        """
        if self._task is not None and not self._task.done():
            raise ConnectError("already connected")
        main = _url_namespace(url, self._schemes)
        wanted = tuple(transports) if transports is not None else ("polling", "websocket")
        if not wanted or any(t not in TRANSPORTS for t in wanted):
            raise ValueError("transports must be among " + ", ".join(map(repr, TRANSPORTS)))
        self.url, self.auth, self.headers = url, auth, dict(headers or {})
        self.transports, self.path, self.wait_timeout = wanted, path, wait_timeout
        self._stopping = False
        self.backoff.reset()
        self._set_main_namespace(main)
        waiters = []
        for sock in self._targets(main, namespaces):
            sock.active = True
            waiters.append(sock._connect_future())
        self._task = asyncio.get_running_loop().create_task(self._run(retry))
        await self._connected(waiters, wait_timeout)

    async def _connected(self, waiters: list[asyncio.Future[None]], wait_timeout: float) -> None:
        """Wait for every namespace's CONNECT reply; on failure or timeout, disconnect."""
        try:
            async with asyncio.timeout(wait_timeout):
                for fut in waiters:
                    await fut
        except TimeoutError:
            await self.disconnect()
            raise ConnectError("timeout") from None
        except BaseException:
            await self.disconnect()
            raise

    def _targets(self, main: str, namespaces: Iterable[str] | None) -> list[ClientSocket]:
        """The sockets :meth:`connect` connects: ``namespaces``, or the main namespace and
        every namespace a socket was made for."""
        if namespaces is not None:
            names = list(namespaces)
        elif main == "/":
            names = list(self.sockets)
        else:
            names = [name for name in self.sockets if name != "/"]
        return [self.socket(name) for name in names]

    def _set_main_namespace(self, name: str) -> None:
        """Make ``name`` the main namespace. The socket the client was made with (``/``),
        if still unused, becomes that namespace's: handlers registered on the client before
        ``connect("http://host/chat")`` belong to ``/chat``."""
        first = self.sockets.get("/")
        if (name != "/" and self.namespace == "/" and name not in self.sockets
                and first is not None and not first.active and first.id is None
                and not first._send_buffer and not first._acks):
            del self.sockets["/"]
            first.namespace = name
            self.sockets[name] = first
        self.namespace = name

    async def _open_engine(self) -> EngineConnection:
        """Open an Engine.IO session to the configured server (overridable: see testing)."""
        try:
            async with asyncio.timeout(self.wait_timeout):
                return await EngineConnection.open(
                    self.url,
                    self._on_engine_message,
                    path=self.path,
                    headers=self.headers,
                    transports=self.transports,
                    ssl_verify=self.ssl_verify,
                    certificate_hashes=self.server_certificate_hashes,
                )
        except TimeoutError:
            raise ConnectError("timeout") from None

    async def _run(self, retry: bool) -> None:
        """The supervisor: connect, serve, and reconnect after a backoff delay."""
        await supervise(self, retry)

    def _on_engine_message(self, data: str | bytes) -> None:
        # a RemoteProtocolError raised here makes the transport close with "parse error"
        packet = self._decoder.feed(data)
        if packet is None:
            return
        sock = self.sockets.get(packet.nsp)
        if sock is not None:
            sock._on_packet(packet)

    def _send(self, parts: list[str | bytes]) -> bool:
        """Queue packets on the open session; ``False`` if there is none right now (the
        session just closed and the sockets are about to hear of it)."""
        engine = self._engine
        if engine is None or not engine.is_open:
            return False
        engine.send_many(parts)
        return True

    def _any_active(self) -> bool:
        return any(s.active for s in self.sockets.values())

    def _activate(self, sock: ClientSocket) -> None:
        """A socket asked to connect: send its CONNECT if the session is open."""
        engine = self._engine
        if engine is None or not engine.is_open:
            if self._task is None or self._task.done():
                sock._settle(ConnectError("the client is not connected"))
                sock.active = False
            return  # the supervisor connects it once the session is open

        self._spawn(self._send_connect(engine, sock))

    async def _send_connect(self, engine: EngineConnection, sock: ClientSocket) -> None:
        """Send ``sock``'s CONNECT; an ``auth`` callable failing refuses the namespace."""
        try:
            packet = await sock._connect_packet()
        except Exception as exc:
            log.exception("auth for %s failed", sock.namespace)
            sock._on_connect_error(ConnectError(f"auth failed: {exc!r}"))
            return
        if engine.is_open and sock.active and not sock.connected:
            engine.send(packet)

    def _check_idle(self) -> None:
        """No active namespace left: close the connection for good."""
        if self._any_active() or self._stopping:
            return
        self._stopping = True
        engine = self._engine
        if engine is not None:
            self._spawn(engine.close())
        elif self._task is not None and not self._task.done():
            self._task.cancel()

    def _spawn(self, coro: Awaitable[None]) -> None:
        task: asyncio.Task[None] = asyncio.ensure_future(coro)
        self._closers.add(task)
        task.add_done_callback(self._closers.discard)

    # ---------------------------------------------------------- disconnecting

    async def disconnect(self) -> None:
        """Disconnect every namespace, close the connection and stop reconnecting."""
        self._stopping = True
        for sock in list(self.sockets.values()):
            sock._close_locally()
        engine = self._engine
        if engine is not None:
            await engine.close()
        task = self._task
        if task is not None and not task.done() and task is not asyncio.current_task():
            if engine is None:
                task.cancel()
            await asyncio.wait([task])
        if self._closers:
            await asyncio.wait(list(self._closers))

    async def wait(self) -> None:
        """Return once the client is disconnected for good (no more reconnection)."""
        while self._task is not None and not self._task.done():
            await asyncio.wait([self._task])

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.disconnect()


def _url_namespace(url: str, schemes: tuple[str, ...]) -> str:
    """The namespace a server URL names (its path; ``/`` for none); refuses what is not an
    ``http(s)://`` or ``ws(s)://`` URL with a host."""
    parts = urlsplit(url)
    if parts.scheme.lower() not in schemes or not parts.netloc:
        hint = f" (did you mean 'http://{url}'?)" if "://" not in url else ""
        raise ValueError(
            f"{url!r} is not a server URL: it needs a scheme (http, https, ws or wss) and a "
            f"host, as in 'http://127.0.0.1:3000'{hint}"
        )
    return parts.path or "/"
