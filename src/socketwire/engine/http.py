"""The contract between the engine and its hosts (ASGI, standalone).

A host turns its HTTP requests into :class:`HttpRequest`, hands them to the engine, and writes
back the :class:`HttpResponse`. A host that has a request's whole body at hand may first offer
it to the app's ``handle_http_now(request, body)`` where the app has one (both servers do):
the answer if it is ready at once, ``None`` to go through ``handle_http`` (nothing was done),
or an awaitable for an answer that comes later.

For WebSocket requests a host wraps the connection in an object implementing
:class:`WebSocketChannel` and forwards incoming messages to the :class:`WebSocketHandler`
the engine gives back. The HTTP/3 host does the same for the stream
of a WebTransport session (:class:`WebTransportApp`).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "BodyTooLarge",
    "HttpApp",
    "HttpRequest",
    "HttpResponse",
    "PreparedMessage",
    "WebSocketChannel",
    "WebSocketHandler",
    "WebTransportApp",
]


class BodyTooLarge(Exception):
    """Raised by a request body reader when the body exceeds the allowed size."""


async def _no_body(limit: int) -> bytes:
    return b""


@dataclass(slots=True)
class HttpRequest:
    """An HTTP request as the engine sees it. Header names are lower case."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    remote_addr: str = ""
    secure: bool = False
    query_string: str = ""
    read_body: Callable[[int], Awaitable[bytes]] = _no_body
    """Reads the whole body; raises :class:`BodyTooLarge` past ``limit`` bytes."""

    @property
    def url(self) -> str:
        """The request target: path plus query string."""
        return self.path + ("?" + self.query_string if self.query_string else "")


@dataclass(slots=True)
class HttpResponse:
    """An HTTP response: status, headers and a complete body."""

    status: int
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    close: bool = False
    """Ask the host to close the connection after this response."""


class PreparedMessage:
    """Engine.IO packets encoded once, to be written to many sessions (a broadcast).

    ``packets`` are encoded Engine.IO packets: text ``str`` (``"4..."``) or binary ``bytes``.
    Hosts may cache their framed form in ``ws_frames`` (WebSocket) and ``wt_frames``
    (WebTransport stream), built on first use, then shared.
    """

    __slots__ = ("packets", "size", "ws_frames", "wt_frames")

    def __init__(self, packets: list[str | bytes]) -> None:
        self.packets = packets
        self.size = sum(len(p) for p in packets)
        self.ws_frames: bytes | None = None
        self.wt_frames: bytes | None = None


class WebSocketChannel(Protocol):
    """What a host offers the engine for one accepted WebSocket connection."""

    def send(self, packet: str | bytes) -> None:
        """Queue one message: text for ``str``, binary for ``bytes``. Never blocks."""

    def send_prepared(self, message: PreparedMessage) -> None:
        """Queue the packets of a prepared message, one WebSocket message each."""

    def close(self, code: int = 1000) -> None:
        """Close the connection (after what is queued)."""

    def abort(self) -> None:
        """Drop the connection and everything queued on it at once (a slow consumer past
        ``max_buffered_bytes``: no close handshake behind data the peer does not read)."""

    def buffered_amount(self) -> int:
        """Bytes queued but not yet handed to the network."""

    def pause_reading(self) -> None:
        """Stop handing the peer's messages to the engine (the session's handlers are
        behind); the host stops reading the network where it can."""

    def resume_reading(self) -> None:
        """Hand the peer's messages to the engine again, those held back first."""

    async def flushed(self) -> None:
        """Return once everything queued so far has been handed to the network."""


class WebSocketHandler(Protocol):
    """What the engine gives back to the host for an accepted WebSocket."""

    def on_message(self, data: str | bytes) -> None:
        """Called for every complete message received."""

    def on_close(self) -> None:
        """Called once when the connection is gone."""


class WebTransportApp(Protocol):
    """What the HTTP/3 host needs of an app to serve WebTransport (both Engine.IO and
    Socket.IO servers offer it). The host offers each session's stream as a
    :class:`WebSocketChannel` carrying one Engine.IO packet per message."""

    @property
    def path(self) -> str:
        """The URL prefix handled, with a trailing slash (``/socket.io/``)."""

    @property
    def max_http_buffer_size(self) -> int:
        """The largest packet accepted, in bytes."""

    @property
    def upgrade_timeout(self) -> float:
        """Seconds a session may take to open its stream and send its first packet."""

    async def open_webtransport(self, request: HttpRequest) -> HttpResponse | None:
        """Accept (``None``) or refuse (the response to send) a session request."""

    def attach_webtransport(
        self, request: HttpRequest, first: str | bytes, channel: WebSocketChannel
    ) -> WebSocketHandler | None:
        """Start the session's transport from the first packet of its stream (``None``:
        refused, the host closes the session)."""


class HttpApp(Protocol):
    """What hosts serve: an Engine.IO server, or a Socket.IO server wrapping one."""

    @property
    def path(self) -> str:
        """The URL prefix handled, with a trailing slash (``/socket.io/``)."""

    @property
    def max_http_buffer_size(self) -> int:
        """The largest request body accepted, in bytes."""

    async def handle_http(self, request: HttpRequest) -> HttpResponse:
        """Answer a plain HTTP request under ``path``."""

    async def open_websocket(self, request: HttpRequest) -> Any:
        """Accept (a ``WebSocketAcceptance``) or refuse (an ``HttpResponse``) a WebSocket."""

    def lookup_static(self, method: str, path: str) -> HttpResponse | None:
        """A file the app serves outside ``path`` (the admin UI's, say), or ``None``; hosts
        ask after their own static files."""

    async def startup(self) -> None:
        """Get ready to serve (the host is starting): a Socket.IO server starts its
        adapters."""

    async def shutdown(self) -> None:
        """Close every session (the host is stopping)."""
