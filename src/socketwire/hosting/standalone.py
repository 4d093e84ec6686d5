"""The standalone host: an asyncio HTTP/1.1 + WebSocket server built for socketwire.

HTTP is parsed by httptools; WebSocket frames by :mod:`socketwire.hosting.wsframes`. Writes go
straight to the transport (no task per message), and broadcast frames are built once and
shared by every recipient. uvloop is used when it is installed.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import logging
import os
import signal
from collections import deque
from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qsl, unquote

import httptools

from ..engine.http import (
    BodyTooLarge,
    HttpApp,
    HttpRequest,
    HttpResponse,
    PreparedMessage,
    WebSocketHandler,
)
from ..engine.static import StaticFiles
from . import wsframes
from ._abort import abort_transport

__all__ = ["StandaloneServer", "run", "serve"]

log = logging.getLogger("socketwire.hosting")

WS_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
REASONS = {200: "OK", 204: "No Content", 301: "Moved Permanently", 400: "Bad Request",
           403: "Forbidden", 404: "Not Found", 413: "Payload Too Large",
           431: "Request Header Fields Too Large", 500: "Internal Server Error",
           503: "Service Unavailable"}
MAX_HEADER_BYTES = 64 * 1024
MAX_HEADERS = 200


def _encode_response(response: HttpResponse, keep_alive: bool) -> bytes:
    status = response.status
    lines = [f"HTTP/1.1 {status} {REASONS.get(status, 'Unknown')}"]
    has_length = False
    for name, value in response.headers:
        if name.lower() == "content-length":
            has_length = True
        lines.append(f"{name}: {value}")
    if not has_length:
        lines.append(f"Content-Length: {len(response.body)}")
    lines.append("Connection: keep-alive" if keep_alive else "Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + response.body


class _WebSocketChannel:
    """The engine's view of one WebSocket connection on this host."""

    __slots__ = ("_closing", "_owner", "_transport", "request")

    def __init__(self, transport: asyncio.Transport, request: HttpRequest,
                 owner: _HttpProtocol) -> None:
        self._transport = transport
        self._closing = False
        self.request = request
        self._owner = owner

    def send(self, packet: str | bytes) -> None:
        if self._closing:
            return
        if isinstance(packet, str):
            self._transport.write(wsframes.frame(wsframes.OP_TEXT, packet.encode()))
        else:
            self._transport.write(wsframes.frame(wsframes.OP_BINARY, packet))

    def send_prepared(self, message: PreparedMessage) -> None:
        if self._closing:
            return
        frames = message.ws_frames
        if frames is None:
            frames = message.ws_frames = b"".join(
                wsframes.frame(wsframes.OP_TEXT, p.encode()) if isinstance(p, str)
                else wsframes.frame(wsframes.OP_BINARY, p)
                for p in message.packets
            )
        self._transport.write(frames)

    def close(self, code: int = 1000) -> None:
        if self._closing:
            return
        self._closing = True
        if not self._transport.is_closing():
            self._transport.write(wsframes.close_frame(code))
            loop = asyncio.get_running_loop()
            loop.call_later(1.0, self._transport.close)

    def abort(self) -> None:
        """Drop the connection and its unsent data at once (a slow consumer over the cap)."""
        self._closing = True
        abort_transport(self._transport)

    def buffered_amount(self) -> int:
        return self._transport.get_write_buffer_size()

    async def flushed(self) -> None:
        return None  # writes go to the transport at once

    def pause_reading(self) -> None:
        self._owner.pause_ws()

    def resume_reading(self) -> None:
        self._owner.resume_ws()


class _HttpProtocol(asyncio.Protocol):
    """One TCP connection: HTTP/1.1 requests, possibly upgraded to a WebSocket."""

    def __init__(self, server: StandaloneServer) -> None:
        self.server = server
        self.app = server.app
        self.transport: asyncio.Transport | None = None
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.headers: dict[str, str] = {}
        self.header_bytes = 0
        self.body = bytearray()
        self.body_too_large = False
        # requests are handed on as soon as their headers are parsed; the body follows through
        # a future (None when it was too large), so the engine sees overlapping POSTs
        self.queue: deque[tuple[HttpRequest, asyncio.Future[bytes | None] | None, bool]] = deque()
        self.body_future: asyncio.Future[bytes | None] | None = None
        self.worker: asyncio.Task[None] | None = None
        self.ws_parser: wsframes.FrameParser | None = None
        self.ws_handler: WebSocketHandler | None = None
        self.ws_channel: _WebSocketChannel | None = None
        self.pending_ws: bytes = b""
        self.ws_paused = False
        self.ws_backlog: deque[wsframes.Message] = deque()
        self.upgrading = False
        self.closed = False

    # ------------------------------------------------------------ connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's are not subclasses
        self.server.connections.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        if self.body_future is not None and not self.body_future.done():
            self.body_future.set_result(None)
        self.server.connections.discard(self)
        if self.worker is not None and not self.worker.done():
            self.worker.cancel()
        if self.ws_handler is not None:
            handler, self.ws_handler = self.ws_handler, None
            handler.on_close()

    def data_received(self, data: bytes) -> None:
        if self.ws_parser is not None:
            self._ws_data(data)
            return
        if self.upgrading:
            self.pending_ws += data
            return
        try:
            self.parser.feed_data(data)
        except httptools.HttpParserUpgrade as upgrade:
            offset = upgrade.args[0] if upgrade.args else len(data)
            self.pending_ws = data[offset:]
        except httptools.HttpParserError:
            self._reply_and_close(HttpResponse(400, [("Content-Type", "text/plain")],
                                               b"Bad Request"))

    def _reply_and_close(self, response: HttpResponse) -> None:
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_encode_response(response, False))
            self.transport.close()

    # ------------------------------------------------------ httptools callbacks

    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = {}
        self.header_bytes = 0
        self.body = bytearray()
        self.body_too_large = False

    def on_url(self, url: bytes) -> None:
        self.url += url
        if len(self.url) > MAX_HEADER_BYTES:
            raise httptools.HttpParserError("url too long")

    def on_header(self, name: bytes, value: bytes) -> None:
        self.header_bytes += len(name) + len(value)
        if self.header_bytes > MAX_HEADER_BYTES or len(self.headers) > MAX_HEADERS:
            self._reply_and_close(HttpResponse(431))
            raise httptools.HttpParserError("headers too large")
        key = name.decode("latin-1").lower()
        text = value.decode("latin-1")
        if key in self.headers:
            self.headers[key] += ", " + text
        else:
            self.headers[key] = text

    def _wants_websocket(self) -> bool:
        return (
            self.headers.get("upgrade", "").lower() == "websocket"
            and "upgrade" in self.headers.get("connection", "").lower()
        )

    def on_headers_complete(self) -> None:
        if self._wants_websocket():
            return  # queued by on_message_complete
        fut: asyncio.Future[bytes | None] = asyncio.get_running_loop().create_future()
        self.body_future = fut
        length = self.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.app.max_http_buffer_size:
            self.body_too_large = True
            fut.set_result(None)
        self._enqueue(self._request(), fut, bool(self.parser.should_keep_alive()))

    def on_body(self, body: bytes) -> None:
        if self.body_too_large:
            return
        self.body += body
        if len(self.body) > self.app.max_http_buffer_size:
            self.body_too_large = True
            self.body = bytearray()
            if self.body_future is not None and not self.body_future.done():
                self.body_future.set_result(None)

    def on_message_complete(self) -> None:
        fut, self.body_future = self.body_future, None
        if fut is not None:
            if not fut.done():
                fut.set_result(bytes(self.body))
            return
        if self.parser.should_upgrade() and self._wants_websocket():
            self.upgrading = True
            self._enqueue(self._request(), None, False)

    def _enqueue(self, request: HttpRequest, body: asyncio.Future[bytes | None] | None,
                 keep_alive: bool) -> None:
        self.queue.append((request, body, keep_alive))
        if self.worker is None or self.worker.done():
            self.worker = asyncio.get_running_loop().create_task(self._work())

    def _request(self) -> HttpRequest:
        parsed = httptools.parse_url(self.url)
        path = unquote(parsed.path.decode("latin-1")) if parsed.path else "/"
        qs = parsed.query.decode("latin-1") if parsed.query else ""
        query = dict(parse_qsl(qs, keep_blank_values=True)) if qs else {}
        peer = self.transport.get_extra_info("peername") if self.transport else None
        return HttpRequest(
            method=self.parser.get_method().decode("ascii"),
            path=path,
            query=query,
            headers=self.headers,
            remote_addr=peer[0] if peer else "",
            secure=self.transport is not None
            and self.transport.get_extra_info("sslcontext") is not None,
            query_string=qs,
        )

    # ---------------------------------------------------------------- requests

    async def _work(self) -> None:
        while self.queue and not self.closed:
            request, body, keep_alive = self.queue.popleft()
            if body is None:
                await self._upgrade(request)
                return
            try:
                response = await self._respond(request, body)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("error handling %s %s", request.method, request.path)
                response = HttpResponse(500, [("Content-Type", "text/plain")], b"error")
            if self.transport is None or self.transport.is_closing():
                return
            keep_alive = keep_alive and not response.close
            self.transport.write(_encode_response(response, keep_alive))
            if not keep_alive:
                self.transport.close()
                return

    async def _respond(
        self, request: HttpRequest, body_future: asyncio.Future[bytes | None]
    ) -> HttpResponse:
        app = self.app
        if request.path.startswith(app.path) or request.path + "/" == app.path:
            async def read_body(limit: int) -> bytes:
                body = await body_future
                if body is None or len(body) > limit:
                    raise BodyTooLarge()
                return body

            request.read_body = read_body
            return await app.handle_http(request)
        if await body_future is None:
            return HttpResponse(413, close=True)
        found = self.server.static.lookup(request.method, request.path)
        if found is None:
            extra = getattr(app, "lookup_static", None)
            if extra is not None:
                found = extra(request.method, request.path)
        if found is not None:
            return found
        return HttpResponse(404, [("Content-Type", "text/plain")], b"Not Found")

    # --------------------------------------------------------------- websocket

    async def _upgrade(self, request: HttpRequest) -> None:
        assert self.transport is not None
        transport = self.transport
        key = request.headers.get("sec-websocket-key", "")
        path_ok = request.path.startswith(self.app.path)
        if not path_ok or not key or request.headers.get("sec-websocket-version") != "13":
            self._reply_and_close(HttpResponse(400, [("Content-Type", "text/plain")],
                                               b"Bad Request"))
            return
        outcome = await self.app.open_websocket(request)
        if self.closed:
            return
        if isinstance(outcome, HttpResponse):
            self._reply_and_close(outcome)
            return
        accept = base64.b64encode(hashlib.sha1(key.encode() + WS_GUID).digest()).decode()
        extra = "".join(f"{name}: {value}\r\n" for name, value in outcome.headers)
        transport.write(
            (
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                f"Connection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n{extra}\r\n"
            ).encode("latin-1")
        )
        self.ws_parser = wsframes.FrameParser(self.app.max_http_buffer_size)
        self.ws_channel = _WebSocketChannel(transport, request, self)
        self.ws_handler = outcome.attach(self.ws_channel)
        self.upgrading = False
        if self.pending_ws:
            data, self.pending_ws = self.pending_ws, b""
            self._ws_data(data)

    def _ws_data(self, data: bytes) -> None:
        assert self.ws_parser is not None and self.transport is not None
        try:
            messages = self.ws_parser.feed(data)
        except wsframes.WebSocketError as exc:
            self._ws_fail(exc.code)
            return
        self._ws_deliver(deque(messages) if self.ws_paused else messages)

    def _ws_deliver(self, messages: list[wsframes.Message] | deque[wsframes.Message]) -> None:
        assert self.transport is not None
        handler = self.ws_handler
        for index, (opcode, payload) in enumerate(messages):
            if handler is None or self.closed:
                return
            if self.ws_paused:  # the engine paused reading: keep the rest for later
                rest = list(messages)[index:]
                self.ws_backlog.extend(rest)
                return
            if opcode == wsframes.OP_TEXT:
                try:
                    text = payload.decode("utf-8")
                except UnicodeDecodeError:
                    self._ws_fail(1007)
                    return
                handler.on_message(text)
            elif opcode == wsframes.OP_BINARY:
                handler.on_message(payload)
            elif opcode == wsframes.OP_PING:
                self.transport.write(wsframes.frame(wsframes.OP_PONG, payload))
            elif opcode == wsframes.OP_CLOSE:
                self._ws_closed_by_peer(payload)
                return

    def pause_ws(self) -> None:
        """Stop delivering WebSocket messages (flow control from the engine)."""
        if not self.ws_paused:
            self.ws_paused = True
            if self.transport is not None and not self.transport.is_closing():
                self.transport.pause_reading()

    def resume_ws(self) -> None:
        """Deliver the messages held back, then read again."""
        if not self.ws_paused:
            return
        self.ws_paused = False
        backlog, self.ws_backlog = self.ws_backlog, deque()
        if backlog:
            self._ws_deliver(backlog)
        if not self.ws_paused and self.transport is not None and not self.transport.is_closing():
            self.transport.resume_reading()

    def _ws_fail(self, code: int) -> None:
        if self.ws_channel is not None:
            self.ws_channel.close(code)
        if self.ws_handler is not None:
            handler, self.ws_handler = self.ws_handler, None
            handler.on_close()

    def _ws_closed_by_peer(self, payload: bytes) -> None:
        assert self.transport is not None
        if self.ws_channel is not None and not self.ws_channel._closing:
            self.ws_channel._closing = True
            code = payload[:2] if len(payload) >= 2 else b"\x03\xe8"
            self.transport.write(wsframes.frame(wsframes.OP_CLOSE, code))
        self.transport.close()
        if self.ws_handler is not None:
            handler, self.ws_handler = self.ws_handler, None
            handler.on_close()


class StandaloneServer:
    """A running standalone server; ``close()`` stops it."""

    def __init__(self, app: HttpApp, static: StaticFiles) -> None:
        self.app = app
        self.static = static
        self.connections: set[_HttpProtocol] = set()
        self._servers: list[asyncio.base_events.Server] = []

    @property
    def port(self) -> int:
        """The TCP port of the first listening socket."""
        return int(self._servers[0].sockets[0].getsockname()[1])

    async def start(self, host: str, port: int, **kwargs: Any) -> None:
        """Start listening."""
        loop = asyncio.get_running_loop()
        server = await loop.create_server(lambda: _HttpProtocol(self), host, port,
                                          reuse_address=True, **kwargs)
        self._servers.append(server)

    async def close(self) -> None:
        """Stop listening, close every session and connection."""
        for server in self._servers:
            server.close()
        await self.app.shutdown()
        # answers in progress (long-polls released by the shutdown) go out before the close
        busy = [c.worker for c in self.connections if c.worker is not None and not c.worker.done()]
        if busy:
            await asyncio.wait(busy, timeout=1.0)
        for conn in list(self.connections):
            if conn.transport is not None:
                conn.transport.close()
        for server in self._servers:
            await server.wait_closed()


async def serve(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 3000,
    static_files: Mapping[str, str | os.PathLike[str]] | None = None,
    **kwargs: Any,
) -> StandaloneServer:
    """Start serving ``app`` (a ``socketwire.Server`` or an ``EngineServer``); returns at once."""
    server = StandaloneServer(_as_http_app(app), StaticFiles(static_files))
    await server.start(host, port, **kwargs)
    return server


def _as_http_app(app: Any) -> HttpApp:
    inner = getattr(app, "http_app", None)
    return inner() if callable(inner) else app  # type: ignore[no-any-return]


def install_uvloop() -> bool:
    """Use uvloop for new event loops when it is installed; tell whether it is."""
    try:
        import uvloop
    except ImportError:
        return False
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    return True


def run(
    app: Any,
    host: str = "127.0.0.1",
    port: int = 3000,
    static_files: Mapping[str, str | os.PathLike[str]] | None = None,
    *,
    use_uvloop: bool = True,
    on_started: Any = None,
) -> None:
    """Serve ``app`` until SIGINT or SIGTERM (blocking), on uvloop when installed."""
    if use_uvloop:
        install_uvloop()

    async def main() -> None:
        server = await serve(app, host, port, static_files)
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):
                pass
        if on_started is not None:
            on_started(server)
        await stop.wait()
        await server.close()

    asyncio.run(main())
