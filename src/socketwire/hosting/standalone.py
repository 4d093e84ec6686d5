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
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any, cast
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
from . import tune_gc, wsframes
from ._abort import abort_transport

if TYPE_CHECKING:  # aioquic is optional (the webtransport extra)
    from ..engine.http import WebTransportApp
    from .http3 import Certificate, Http3Server

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


# Backpressure: a peer whose unsent data passes the high-water mark is not read from until it
# falls below the low one (asyncio's pause_writing / resume_writing). HTTP keeps asyncio's
# marks; a WebSocket gets larger ones, as what it is sent is mostly the application's (bounded
# by max_buffered_bytes) and its pongs must still be read while it catches up.
HTTP_HIGH_WATER = 64 * 1024
HTTP_LOW_WATER = 16 * 1024
WS_HIGH_WATER = 1024 * 1024
WS_LOW_WATER = 256 * 1024
MAX_PIPELINED = 16  # requests parsed ahead of the one being answered before reading stops
MAX_EARLY_WS_BYTES = 64 * 1024  # frames sent before the 101, held while the upgrade is decided
WS_CLOSE_TIMEOUT = 1.0  # how long a close frame of ours waits for the peer's
# the listen queue: asyncio's default of 100 drops SYNs past 100 connects in flight, and each
# dropped one waits for the client's 1 s retransmit (p99 connect ~1 s); the kernel caps it at
# net.core.somaxconn. uvicorn uses 2048, Node 511.
LISTEN_BACKLOG = 2048


class _HttpProtocol(asyncio.Protocol):
    """One TCP connection while it speaks HTTP/1.1: requests answered in order, pipelining
    bounded, header and keep-alive timeouts. An accepted WebSocket upgrade hands the
    transport over to a :class:`_WebSocketProtocol`."""

    __slots__ = ("app", "body", "body_future", "body_too_large", "closed", "header_bytes",
                 "headers", "in_message", "parser", "pending_ws", "queue", "read_paused",
                 "server", "timer", "transport", "upgrading", "url", "worker", "write_paused",
                 "writable")

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
        self.pending_ws: bytes = b""
        self.upgrading = False
        self.closed = False
        self.in_message = False
        self.read_paused = False
        self.write_paused = False
        self.writable: asyncio.Future[None] | None = None
        self.timer: asyncio.TimerHandle | None = None

    # ------------------------------------------------------------ connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's are not subclasses
        self.transport.set_write_buffer_limits(HTTP_HIGH_WATER, HTTP_LOW_WATER)  # type: ignore[union-attr]
        self.server.connections.add(self)
        self._arm(self.server.http_header_timeout, self._header_timeout)

    def connection_lost(self, exc: Exception | None) -> None:
        self.closed = True
        self._disarm()
        if self.body_future is not None and not self.body_future.done():
            self.body_future.set_result(None)
        self._wake_writer()
        self.server.connections.discard(self)
        if self.worker is not None and not self.worker.done():
            self.worker.cancel()

    def data_received(self, data: bytes) -> None:
        if self.upgrading:
            self.pending_ws += data
            if len(self.pending_ws) > MAX_EARLY_WS_BYTES:
                self._update_reading()
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
        self._disarm()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(_encode_response(response, False))
            self.transport.close()

    # ------------------------------------------------------- flow control

    def pause_writing(self) -> None:
        self.write_paused = True
        self._update_reading()

    def resume_writing(self) -> None:
        self.write_paused = False
        self._wake_writer()
        self._update_reading()

    def _wake_writer(self) -> None:
        waiter, self.writable = self.writable, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

    def _update_reading(self) -> None:
        """Read only while the peer takes our answers and few requests wait for one."""
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        pause = (self.write_paused or len(self.queue) > MAX_PIPELINED
                 or len(self.pending_ws) > MAX_EARLY_WS_BYTES)
        if pause != self.read_paused:
            self.read_paused = pause
            if pause:
                transport.pause_reading()
            else:
                transport.resume_reading()

    # ------------------------------------------------------------ timeouts

    def _arm(self, delay: float | None, callback: Callable[[], None]) -> None:
        self._disarm()
        if delay is not None and delay > 0:
            self.timer = asyncio.get_running_loop().call_later(delay, callback)

    def _disarm(self) -> None:
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _header_timeout(self) -> None:
        """No complete request head in time (Node's headersTimeout): 408, then close."""
        self.timer = None
        if self.worker is not None and not self.worker.done():
            return  # an answer is being written: the keep-alive timer follows it
        self._reply_and_close(HttpResponse(408, [("Content-Type", "text/plain")],
                                           b"Request Timeout"))

    def _idle_timeout(self) -> None:
        """A keep-alive connection left idle (Node's keepAliveTimeout): closed."""
        self.timer = None
        if self.transport is not None:
            self.transport.close()

    # ------------------------------------------------------ httptools callbacks

    def on_message_begin(self) -> None:
        self.url = b""
        self.headers = {}
        self.header_bytes = 0
        self.body = bytearray()
        self.body_too_large = False
        self.in_message = True
        self._arm(self.server.http_header_timeout, self._header_timeout)

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
        self._disarm()
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
        self.in_message = False
        fut, self.body_future = self.body_future, None
        if fut is not None:
            if not fut.done():
                fut.set_result(bytes(self.body))
            self.body = bytearray()
            return
        if self.parser.should_upgrade() and self._wants_websocket():
            self.upgrading = True
            self._enqueue(self._request(), None, False)

    def _enqueue(self, request: HttpRequest, body: asyncio.Future[bytes | None] | None,
                 keep_alive: bool) -> None:
        self.queue.append((request, body, keep_alive))
        if self.worker is None or self.worker.done():
            self.worker = asyncio.get_running_loop().create_task(self._work())
        if len(self.queue) > MAX_PIPELINED:
            self._update_reading()

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
            if self.read_paused:
                self._update_reading()
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
                self._disarm()
                self.transport.close()
                return
            if self.write_paused and not self.closed:
                # the peer is not reading our answers: the next waits until it does
                self.writable = asyncio.get_running_loop().create_future()
                await self.writable
        if self.closed or self.upgrading:
            return
        if self.in_message:  # a request head is arriving: its timeout runs again
            self._arm(self.server.http_header_timeout, self._header_timeout)
        else:
            self._arm(self.server.http_keepalive_timeout, self._idle_timeout)

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
        # from here on the connection is a WebSocket's: this object is dropped
        self._disarm()
        self.closed = True
        self.server.connections.discard(self)
        ws = _WebSocketProtocol(self.server, transport, request)
        self.server.connections.add(ws)
        transport.set_protocol(ws)
        transport.set_write_buffer_limits(WS_HIGH_WATER, WS_LOW_WATER)
        if self.read_paused:
            transport.resume_reading()
        pending, self.pending_ws = self.pending_ws, b""
        ws.start(outcome, pending)


class _WebSocketProtocol(asyncio.Protocol):
    """One upgraded connection: frames in and out, RFC 6455 closing handshake, flow control.
    It is also the engine's :class:`~socketwire.engine.http.WebSocketChannel` for it."""

    __slots__ = ("_backlog", "_close_timer", "_closing", "_engine_paused", "_gone",
                 "_read_paused", "_write_paused", "handler", "parser", "request", "server",
                 "transport")

    def __init__(self, server: StandaloneServer, transport: asyncio.Transport,
                 request: HttpRequest) -> None:
        self.server = server
        self.transport = transport
        self.request = request
        self.parser = wsframes.FrameParser(server.app.max_http_buffer_size,
                                           server.ws_max_fragments)
        self.handler: WebSocketHandler | None = None
        self._closing = False  # a close frame of ours is out: nothing else will be
        self._gone = False  # the TCP connection is closed (or closing) for good
        self._close_timer: asyncio.TimerHandle | None = None
        self._engine_paused = False
        self._write_paused = False
        self._read_paused = False
        self._backlog: deque[wsframes.Message] = deque()

    def start(self, acceptance: Any, pending: bytes) -> None:
        """Attach the engine's handler, then handle the bytes that came with the upgrade."""
        self.handler = acceptance.attach(self)
        if pending:
            self.data_received(pending)

    # ------------------------------------------------- the engine's channel

    def send(self, packet: str | bytes) -> None:
        """Queue one message: text for ``str``, binary for ``bytes``."""
        if self._closing:
            return
        if isinstance(packet, str):
            self.transport.write(wsframes.frame(wsframes.OP_TEXT, packet.encode()))
        else:
            self.transport.write(wsframes.frame(wsframes.OP_BINARY, packet))

    def send_prepared(self, message: PreparedMessage) -> None:
        """Queue a broadcast's frames, built once for every recipient."""
        if self._closing:
            return
        frames = message.ws_frames
        if frames is None:
            frames = message.ws_frames = b"".join(
                wsframes.frame(wsframes.OP_TEXT, p.encode()) if isinstance(p, str)
                else wsframes.frame(wsframes.OP_BINARY, p)
                for p in message.packets
            )
        self.transport.write(frames)

    def close(self, code: int = 1000) -> None:
        """Start the closing handshake; the TCP connection ends on the peer's close frame,
        or after ``WS_CLOSE_TIMEOUT``."""
        if self._closing:
            return
        self._closing = True
        if self.transport.is_closing():
            return
        self.transport.write(wsframes.close_frame(code))
        self._close_timer = asyncio.get_running_loop().call_later(WS_CLOSE_TIMEOUT,
                                                                  self._close_timed_out)
        if self._engine_paused or self._write_paused:
            self._set_reading()  # the peer's close frame must be read

    def abort(self) -> None:
        """Drop the connection and its unsent data at once (a slow consumer over the cap)."""
        self._closing = True
        self._end(abort=True)

    def buffered_amount(self) -> int:
        """Bytes written but not yet taken by the kernel."""
        return self.transport.get_write_buffer_size()

    async def flushed(self) -> None:
        """Writes go to the transport at once."""
        return None

    def pause_reading(self) -> None:
        """Stop delivering messages (flow control from the engine)."""
        if not self._engine_paused:
            self._engine_paused = True
            self._set_reading()

    def resume_reading(self) -> None:
        """Deliver the messages held back, then read again."""
        if not self._engine_paused:
            return
        self._engine_paused = False
        backlog, self._backlog = self._backlog, deque()
        if backlog:
            self._deliver(backlog)
        self._set_reading()

    # ------------------------------------------------------- asyncio protocol

    def pause_writing(self) -> None:
        self._write_paused = True
        self._set_reading()

    def resume_writing(self) -> None:
        self._write_paused = False
        self._set_reading()

    def _set_reading(self) -> None:
        transport = self.transport
        if self._gone or transport.is_closing():
            return
        pause = (self._engine_paused or self._write_paused) and not self._closing
        if pause != self._read_paused:
            self._read_paused = pause
            if pause:
                transport.pause_reading()
            else:
                transport.resume_reading()

    def connection_lost(self, exc: Exception | None) -> None:
        self._gone = True
        self._closing = True
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None
        self.server.connections.discard(self)
        self._backlog.clear()
        self._notify_closed()

    def eof_received(self) -> bool:
        return False  # the peer is done: close our side too (connection_lost follows)

    def data_received(self, data: bytes) -> None:
        if self._gone:
            return
        try:
            messages = self.parser.feed(data)
        except wsframes.WebSocketError as exc:
            self._deliver(exc.messages)
            self._fail(exc.code, exc.in_close_frame)
            return
        if messages:
            self._deliver(deque(messages) if self._engine_paused else messages)

    def _deliver(self, messages: list[wsframes.Message] | deque[wsframes.Message]) -> None:
        for index, (opcode, payload) in enumerate(messages):
            if self._gone:
                return
            if opcode == wsframes.OP_CLOSE:
                self._closed_by_peer(payload)  # type: ignore[arg-type]
                return
            if self._closing:
                continue  # after our close frame only the peer's close matters
            if opcode == wsframes.OP_PING:
                self.transport.write(wsframes.frame(wsframes.OP_PONG, payload))  # type: ignore[arg-type]
                continue
            if opcode == wsframes.OP_PONG:
                continue
            if self._engine_paused:  # the engine paused reading: keep the rest for later
                self._backlog.extend(list(messages)[index:])
                return
            handler = self.handler
            if handler is not None:
                handler.on_message(payload)

    def _fail(self, code: int, peer_closed: bool = False) -> None:
        """The peer broke the protocol: close frame with ``code``; the peer's reply (read with
        a fresh parser, since the stream is out of step) ends the connection, or our frame
        does at once when the offence was the peer's own (invalid) close frame."""
        self.parser = wsframes.FrameParser(125)
        if self._closing:
            self._end(abort=True)
            return
        self.close(code)
        if peer_closed:
            self._end()
        self._notify_closed()

    def _closed_by_peer(self, payload: bytes) -> None:
        if not self._closing:
            self._closing = True
            # echo the status code (RFC 6455 section 5.5.1), without the reason
            self.transport.write(wsframes.frame(wsframes.OP_CLOSE, payload[:2]))
        self._end()
        self._notify_closed()

    def _close_timed_out(self) -> None:
        self._close_timer = None
        self._end(abort=True)

    def _end(self, abort: bool = False) -> None:
        if self._close_timer is not None:
            self._close_timer.cancel()
            self._close_timer = None
        if self._gone:
            return
        self._gone = True
        self._backlog.clear()
        if abort:
            abort_transport(self.transport)
        else:
            self.transport.close()  # what is queued (our close frame) goes out first

    def _notify_closed(self) -> None:
        handler, self.handler = self.handler, None
        if handler is not None:
            handler.on_close()


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
        self.connections: set[_HttpProtocol | _WebSocketProtocol] = set()
        self._servers: list[asyncio.base_events.Server] = []
        self.http3: Http3Server | None = None
        """The HTTP/3 (WebTransport) host, when serving one (see :func:`serve`)."""

    @property
    def port(self) -> int:
        """The TCP port of the first listening socket."""
        return int(self._servers[0].sockets[0].getsockname()[1])

    def protocol_factory(self) -> asyncio.Protocol:
        """The protocol of each accepted connection (``--workers`` routes requests there)."""
        return _HttpProtocol(self)

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
                if isinstance(c, _HttpProtocol) and c.worker is not None and not c.worker.done()]
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
    server = StandaloneServer(_as_http_app(app), StaticFiles(static_files),
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
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            try:
                loop.add_signal_handler(sig, stop.set)
            except (NotImplementedError, RuntimeError):
                pass
        if on_started is not None:
            on_started(server)
        else:
            shown = "localhost" if host in ("0.0.0.0", "::", "") else host
            shown = f"[{shown}]" if ":" in shown else shown
            print(f"socketwire listening on http://{shown}:{server.port}/", flush=True)
            if server.http3 is not None:
                print(f"socketwire serving WebTransport on UDP port {server.http3.port}, "
                      f"certificate SHA-256 {server.http3.certificate.sha256.hex()}", flush=True)
        await stop.wait()
        await server.close()

    asyncio.run(main())
