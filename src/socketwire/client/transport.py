"""The client's :class:`ClientTransport` base, the message :class:`Channel` it may run on,
and the URL and error-message helpers the transports share."""

from __future__ import annotations

import functools
import socket
from collections import deque
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, ClassVar, Protocol
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp

if TYPE_CHECKING:
    from .transports import EngineConnection

__all__ = ["Channel", "ClientTransport", "ConnectOptions", "describe", "engine_url", "new_http",
           "with_http"]


@dataclass(slots=True)
class ConnectOptions:
    """Where and how a client session connects (kept for its upgrades)."""

    url: str = ""
    path: str = "/socket.io/"
    query: dict[str, str] = field(default_factory=dict)
    headers: dict[str, str] = field(default_factory=dict)
    ssl_verify: bool = True
    certificate_hashes: tuple[bytes, ...] = ()
    """SHA-256 hashes of server certificates WebTransport trusts without a CA."""
    upgrades: tuple[str, ...] = ()
    """The transports the session may upgrade to (after the one it opens on)."""

    def endpoint(self, transport: str, sid: str | None = None, websocket: bool = False) -> str:
        """The Engine.IO URL for ``transport`` (of session ``sid``, if given)."""
        query = {**self.query, "EIO": "4", "transport": transport}
        if sid is not None:
            query["sid"] = sid
        return engine_url(self.url, self.path, query, websocket)


def new_http(options: ConnectOptions) -> aiohttp.ClientSession:
    """The HTTP client a session's requests (polling, the WebSocket handshake) go through."""
    return aiohttp.ClientSession(
        headers=dict(options.headers),
        cookie_jar=aiohttp.CookieJar(unsafe=True),  # sticky-session cookies on IP hosts
        timeout=aiohttp.ClientTimeout(total=None, sock_connect=30),
        connector=aiohttp.TCPConnector(ssl=True if options.ssl_verify else False),
    )


async def with_http(
    options: ConnectOptions,
    handshake: Callable[[aiohttp.ClientSession], Awaitable[EngineConnection]],
) -> EngineConnection:
    """Run ``handshake`` with a new HTTP client, which the session then owns; closed if the
    handshake fails."""
    http = new_http(options)
    try:
        return await handshake(http)
    except BaseException:
        await http.close()
        raise


class Channel(Protocol):
    """A message channel carrying one Engine.IO packet per message (a WebSocket)."""

    async def send(self, data: str | bytes) -> None:
        """Send one message: text for ``str``, binary for ``bytes``."""

    async def receive(self) -> str | bytes | None:
        """The next message, or ``None`` once the channel is closed."""

    async def close(self) -> None:
        """Close the channel (idempotent)."""


class ClientTransport:
    """One way of carrying a client session's packets (polling, WebSocket, WebTransport).

    The connection holds one (:attr:`EngineConnection.current`) and swaps it when an
    upgrade completes; each transport owns its own state (the HTTP requests, the channel).
    """

    name: ClassVar[str] = ""
    #: the transports this one may be upgraded to, the preferred first (socket.io-client
    #: favours WebTransport)
    upgrades: ClassVar[tuple[str, ...]] = ()

    __slots__ = ("conn",)

    def __init__(self, conn: EngineConnection) -> None:
        self.conn = conn

    @classmethod
    async def connect(
        cls, options: ConnectOptions, on_message: Callable[[str | bytes], None]
    ) -> EngineConnection:
        """Open a new session on this transport; :class:`ConnectError` when refused. By
        default: :meth:`_handshake` with an HTTP client session of its own."""
        return await with_http(options, functools.partial(cls._handshake, options, on_message))

    @classmethod
    async def _handshake(cls, options: ConnectOptions, on_message: Callable[[str | bytes], None],
                         http: aiohttp.ClientSession) -> EngineConnection:
        """The handshake of :meth:`connect` over ``http``."""
        raise NotImplementedError

    async def write(self, outbox: deque[str | bytes]) -> bool:
        """Send some of ``outbox`` (taking what it sends out of it); ``False`` on failure."""
        raise NotImplementedError

    async def read(self) -> None:
        """Receive packets and hand them to the connection until this transport is paused,
        replaced or closed (ending the session when the server goes away)."""
        raise NotImplementedError

    async def send_close(self) -> None:
        """Tell the server the client closes (a CLOSE packet); errors are ignored."""
        raise NotImplementedError

    async def close(self) -> None:
        """Let go of what this transport holds (its channel)."""


def engine_url(url: str, path: str, query: Mapping[str, str], websocket: bool = False) -> str:
    """The Engine.IO endpoint for a server ``url`` (whose own query string is kept)."""
    parts = urlsplit(url)
    scheme = parts.scheme.lower() or "http"
    if websocket:
        scheme = {"http": "ws", "https": "wss"}.get(scheme, scheme)
    else:
        scheme = {"ws": "http", "wss": "https"}.get(scheme, scheme)
    if not path.startswith("/"):
        path = "/" + path
    if not path.endswith("/"):
        path += "/"
    qs = "&".join(q for q in (parts.query, urlencode(dict(query))) if q)
    return urlunsplit((scheme, parts.netloc, path, qs, ""))


def describe(exc: BaseException, target: str) -> str:
    """Why a request to ``target`` failed, in words that name the cause and the peer."""
    where = urlsplit(target).netloc
    if isinstance(exc, aiohttp.ClientConnectorError):
        peer = f"{exc.host}:{exc.port}"
        cause = exc.os_error
        if isinstance(cause, ConnectionRefusedError):
            return f"connection refused to {peer}"
        if isinstance(cause, socket.gaierror) or type(exc).__name__ == "ClientConnectorDNSError":
            return f"cannot resolve the host name {exc.host!r}"
        return f"cannot connect to {peer}: {cause.strerror or cause}"
    if isinstance(exc, aiohttp.WSServerHandshakeError):
        return f"WebSocket handshake refused by {where}: HTTP {exc.status} {exc.message}"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return f"{where} closed the connection before answering"
    if isinstance(exc, TimeoutError):
        return f"timed out talking to {where}"
    return f"{type(exc).__name__} talking to {where}: {exc}"
