"""The standalone host's HTTP/1.1 side: one :class:`HttpProtocol` per TCP connection until
it is upgraded to a WebSocket (:mod:`socketwire.hosting.websocket` takes the transport over
with ``transport.set_protocol``, as uvicorn does).

Requests are parsed by httptools and answered in order; pipelining, header sizes and the
header / keep-alive timeouts are bounded here.
"""

from __future__ import annotations

import asyncio
import logging
from collections import deque
from collections.abc import Awaitable, Callable
from sys import intern
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote

import httptools

from ..engine.http import BodyTooLarge, HttpRequest, HttpResponse
from ..protocol.eio import parse_query
from .websocket import WS_HIGH_WATER, WS_LOW_WATER, WebSocketProtocol, handshake_response

if TYPE_CHECKING:
    from .standalone import StandaloneServer

__all__ = ["HTTP_HIGH_WATER", "HTTP_LOW_WATER", "MAX_EARLY_WS_BYTES", "MAX_PIPELINED",
           "HttpProtocol", "encode_response"]

log = logging.getLogger("socketwire.hosting")

REASONS = {200: "OK", 204: "No Content", 301: "Moved Permanently", 400: "Bad Request",
           403: "Forbidden", 404: "Not Found", 408: "Request Timeout", 413: "Payload Too Large",
           431: "Request Header Fields Too Large", 500: "Internal Server Error",
           503: "Service Unavailable"}
MAX_HEADER_BYTES = 64 * 1024
MAX_HEADERS = 200

# Backpressure: a peer whose unsent data passes the high-water mark is not read from until it
# falls below the low one (asyncio's pause_writing / resume_writing); the WebSocket side has
# its own, larger marks (see :mod:`socketwire.hosting.websocket`).
HTTP_HIGH_WATER = 64 * 1024
HTTP_LOW_WATER = 16 * 1024
MAX_PIPELINED = 16  # requests parsed ahead of the one being answered before reading stops
MAX_EARLY_WS_BYTES = 64 * 1024  # frames sent before the 101, held while the upgrade is decided


_STATUS_LINES = {status: f"HTTP/1.1 {status} {reason}\r\n" for status, reason in REASONS.items()}
_KEEP_ALIVE = "Connection: keep-alive\r\n\r\n"
_CLOSE = "Connection: close\r\n\r\n"
# header names (as sent) to their lower-case, interned form; bounded, so that a peer sending
# made-up names cannot grow it
_NAMES: dict[bytes, str] = {}
_MAX_NAMES = 256
_HEADER = 0  # what the connection's deadline is for: a request head to complete
_IDLE = 1  # a kept-alive connection's next request to begin


# response heads already encoded, by status, connection, body length and headers: a polling
# server sends the same few again and again (bounded: emptied when full)
_HEADS: dict[tuple[Any, ...], bytes] = {}
_MAX_HEADS = 512


def encode_response(response: HttpResponse, keep_alive: bool) -> bytes:
    """The bytes of ``response`` on an HTTP/1.1 connection (kept alive or closing)."""
    body = response.body
    try:
        key = (response.status, keep_alive, len(body), *response.headers)
        head = _HEADS.get(key)
    except TypeError:  # a header value that cannot be a key
        return _encode_head(response, keep_alive) + body
    if head is None:
        head = _encode_head(response, keep_alive)
        if len(_HEADS) >= _MAX_HEADS:
            _HEADS.clear()
        _HEADS[key] = head
    return head + body


def _encode_head(response: HttpResponse, keep_alive: bool) -> bytes:
    status = response.status
    parts = [_STATUS_LINES.get(status) or f"HTTP/1.1 {status} Unknown\r\n"]
    has_length = False
    for name, value in response.headers:
        if not has_length and name.lower() == "content-length":
            has_length = True
        parts.append(f"{name}: {value}\r\n")
    if not has_length:
        parts.append(f"Content-Length: {len(response.body)}\r\n")
    parts.append(_KEEP_ALIVE if keep_alive else _CLOSE)
    return "".join(parts).encode("latin-1")


class _Nobody:
    """Takes no parser callbacks."""


# what a finished connection keeps instead of its parser, which calls back into it (a
# reference cycle that would otherwise wait for the garbage collector)
_NO_PARSER = httptools.HttpRequestParser(_Nobody())


class HttpProtocol(asyncio.Protocol):
    """One TCP connection while it speaks HTTP/1.1: requests answered in order, pipelining
    bounded, header and keep-alive timeouts. An accepted WebSocket upgrade hands the
    transport over to a :class:`WebSocketProtocol`."""

    __slots__ = ("answer_now", "app", "body", "body_future", "body_too_large", "closed",
                 "deadline", "deadline_kind", "header_bytes", "headers", "in_message",
                 "loop", "parser", "peer", "pending_ws", "queue", "read_paused", "secure",
                 "server", "timer", "timer_when", "transport", "unanswered", "upgrading",
                 "url", "worker", "write_paused", "writable")

    def __init__(self, server: StandaloneServer) -> None:
        self.server = server
        self.app = server.app
        # the app's synchronous lane (see socketwire.engine.http), when it has one
        self.answer_now: Callable[[HttpRequest, bytes], Any] | None = getattr(
            server.app, "handle_http_now", None)
        self.loop = asyncio.get_running_loop()
        self.transport: asyncio.Transport | None = None
        self.peer = ""
        self.secure = False
        self.parser = httptools.HttpRequestParser(self)
        self.url = b""
        self.headers: dict[str, str] = {}
        self.header_bytes = 0
        self.body = bytearray()
        self.body_too_large = False
        # requests wait here for their turn when one is being answered, as soon as their heads
        # are parsed; the body follows through a future (None when it was too large), so the
        # engine sees overlapping POSTs. The last item is an answer being awaited (a request
        # the app took at once but answers later).
        self.queue: deque[tuple[HttpRequest, asyncio.Future[bytes | None] | None, bool,
                                Awaitable[HttpResponse] | None]] = deque()
        self.body_future: asyncio.Future[bytes | None] | None = None
        # a request parsed while none is being answered: answered as soon as its body is in,
        # within the same data_received when it can be (no task), else queued at its end
        self.unanswered: tuple[HttpRequest, bool] | None = None
        self.worker: asyncio.Task[None] | None = None
        self.pending_ws: bytes = b""
        self.upgrading = False
        self.closed = False
        self.in_message = False
        self.read_paused = False
        self.write_paused = False
        self.writable: asyncio.Future[None] | None = None
        # one timer per connection: it fires at timer_when, then acts on the deadline of the
        # moment (moved on since without touching the timer, or gone: deadline None)
        self.timer: asyncio.TimerHandle | None = None
        self.timer_when = 0.0
        self.deadline: float | None = None
        self.deadline_kind = _HEADER

    # ------------------------------------------------------------ connection

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        """A connection accepted: the request-head timer starts."""
        self.transport = transport  # type: ignore[assignment]  # uvloop's are not subclasses
        self.transport.set_write_buffer_limits(HTTP_HIGH_WATER, HTTP_LOW_WATER)  # type: ignore[union-attr]
        peer = transport.get_extra_info("peername")
        self.peer = peer[0] if peer else ""
        self.secure = transport.get_extra_info("sslcontext") is not None
        self.server.connections.add(self)
        self._arm(self.server.http_header_timeout, _HEADER)

    def connection_lost(self, exc: Exception | None) -> None:
        """The connection is gone: a body awaited ends empty, the worker stops."""
        self.closed = True
        self._cancel_timer()
        self.unanswered = None
        self.parser = _NO_PARSER
        if self.body_future is not None and not self.body_future.done():
            self.body_future.set_result(None)
        self._wake_writer()
        self.server.forget(self)
        if self.worker is not None and not self.worker.done():
            self.worker.cancel()

    def data_received(self, data: bytes) -> None:
        """Bytes from the peer: parsed as HTTP, or held while an upgrade is decided."""
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
            self.unanswered = None
            self._reply_and_close(HttpResponse(400, [("Content-Type", "text/plain")],
                                               b"Bad Request"))
            return
        if self.unanswered is not None:
            # its body is not all here: the request waits for it as any other (no task had
            # seen it before this point either way)
            request, keep_alive = self.unanswered
            self.unanswered = None
            fut = self.loop.create_future()
            self.body_future = fut
            if self.body_too_large:
                fut.set_result(None)
            self._enqueue(request, fut, keep_alive)

    def _reply_and_close(self, response: HttpResponse) -> None:
        self._cancel_timer()
        if self.transport is not None and not self.transport.is_closing():
            self.transport.write(encode_response(response, False))
            self.transport.close()

    # ------------------------------------------------------- flow control

    def pause_writing(self) -> None:
        """The peer is not taking our answers: stop reading it."""
        self.write_paused = True
        self._update_reading()

    def resume_writing(self) -> None:
        """The peer reads again: the next answer goes out, reading resumes."""
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

    def _arm(self, delay: float | None, kind: int) -> None:
        """Move the deadline (``kind``: what for) ``delay`` seconds from now; the timer is
        touched only when it would fire too late."""
        if delay is None or delay <= 0:
            self.deadline = None
            return
        when = self.loop.time() + delay
        self.deadline = when
        self.deadline_kind = kind
        timer = self.timer
        if timer is not None:
            if self.timer_when <= when:
                return  # it fires first, and moves on to this deadline then
            timer.cancel()
        self.timer_when = when
        self.timer = self.loop.call_at(when, self._deadline_reached)

    def _disarm(self) -> None:
        self.deadline = None

    def _cancel_timer(self) -> None:
        self.deadline = None
        if self.timer is not None:
            self.timer.cancel()
            self.timer = None

    def _deadline_reached(self) -> None:
        self.timer = None
        when = self.deadline
        if when is None or self.closed:
            return
        if self.loop.time() < when:  # moved on since the timer was set
            self.timer_when = when
            self.timer = self.loop.call_at(when, self._deadline_reached)
            return
        self.deadline = None
        if self.deadline_kind == _HEADER:
            self._header_timeout()
        else:
            self._idle_timeout()

    def _header_timeout(self) -> None:
        """No complete request head in time (Node's headersTimeout): 408, then close."""
        if self.worker is not None and not self.worker.done():
            return  # an answer is being written: the keep-alive timer follows it
        self._reply_and_close(HttpResponse(408, [("Content-Type", "text/plain")],
                                           b"Request Timeout"))

    def _idle_timeout(self) -> None:
        """A keep-alive connection left idle (Node's keepAliveTimeout): closed."""
        if self.transport is not None:
            self.transport.close()

    # ------------------------------------------------------ httptools callbacks

    def on_message_begin(self) -> None:
        """httptools: a request starts."""
        self.url = b""
        self.headers = {}
        self.header_bytes = 0
        if self.body:
            self.body = bytearray()
        self.body_too_large = False
        self.in_message = True
        self._arm(self.server.http_header_timeout, _HEADER)

    def on_url(self, url: bytes) -> None:
        """httptools: part of the request target (bounded)."""
        self.url += url
        if len(self.url) > MAX_HEADER_BYTES:
            raise httptools.HttpParserError("url too long")

    def on_header(self, name: bytes, value: bytes) -> None:
        """httptools: one header (size and count bounded; repeats joined)."""
        self.header_bytes += len(name) + len(value)
        if self.header_bytes > MAX_HEADER_BYTES or len(self.headers) > MAX_HEADERS:
            self._reply_and_close(HttpResponse(431))
            raise httptools.HttpParserError("headers too large")
        # interned: every connection keeps its request's headers (the handshake's), and the
        # same dozen names would otherwise be copied into each
        key = _NAMES.get(name)
        if key is None:
            key = intern(name.decode("latin-1").lower())
            if len(_NAMES) < _MAX_NAMES:
                _NAMES[bytes(name)] = key
        text = value.decode("latin-1")
        if key in self.headers:
            self.headers[key] += ", " + text
        else:
            self.headers[key] = text

    def _wants_websocket(self) -> bool:
        return (
            "upgrade" in self.headers
            and self.headers["upgrade"].lower() == "websocket"
            and "upgrade" in self.headers.get("connection", "").lower()
        )

    def on_headers_complete(self) -> None:
        """httptools: the head is complete; the request is handed on now, its body follows."""
        self._disarm()
        if self._wants_websocket():
            return  # queued by on_message_complete
        transport = self.transport
        if transport is None or transport.is_closing():
            return  # closed after an earlier answer: what follows is not read
        length = self.headers.get("content-length")
        if length is not None and length.isdigit() and int(length) > self.app.max_http_buffer_size:
            self.body_too_large = True
        keep_alive = bool(self.parser.should_keep_alive())
        if (not self.body_too_large and not self.queue and not self.write_paused
                and (self.worker is None or self.worker.done())):
            self.unanswered = (self._request(), keep_alive)  # answered once its body is in
            return
        fut: asyncio.Future[bytes | None] = self.loop.create_future()
        self.body_future = fut
        if self.body_too_large:
            fut.set_result(None)
        self._enqueue(self._request(), fut, keep_alive)

    def on_body(self, body: bytes) -> None:
        """httptools: part of the body (bounded by ``max_http_buffer_size``)."""
        if self.body_too_large:
            return
        self.body += body
        if len(self.body) > self.app.max_http_buffer_size:
            self.body_too_large = True
            self.body = bytearray()
            if self.body_future is not None and not self.body_future.done():
                self.body_future.set_result(None)

    def on_message_complete(self) -> None:
        """httptools: the request is complete (or an upgrade is asked for)."""
        self.in_message = False
        head = self.unanswered
        if head is not None:
            self.unanswered = None
            if self.body_too_large:
                too_large: asyncio.Future[bytes | None] = self.loop.create_future()
                too_large.set_result(None)
                self._enqueue(head[0], too_large, head[1])
            else:
                body = bytes(self.body)
                self.body = bytearray()
                self._answer(head[0], body, head[1])
            return
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
                 keep_alive: bool, answer: Awaitable[HttpResponse] | None = None) -> None:
        self.queue.append((request, body, keep_alive, answer))
        if self.worker is None or self.worker.done():
            self.worker = self.loop.create_task(self._work())
        if len(self.queue) > MAX_PIPELINED:
            self._update_reading()

    def _answer(self, request: HttpRequest, body: bytes, keep_alive: bool) -> None:
        """A whole request, none before it unanswered: answered here if the app can at once
        (the connection's next deadline set after it), else queued for the worker."""
        try:
            response = self._respond_now(request, body)
        except Exception:
            log.exception("error handling %s %s", request.method, request.path)
            response = HttpResponse(500, [("Content-Type", "text/plain")], b"error")
        if response is None or not isinstance(response, HttpResponse):
            fut: asyncio.Future[bytes | None] = self.loop.create_future()
            fut.set_result(body)
            self._enqueue(request, fut, keep_alive, response)
            return
        transport = self.transport
        if transport is None or transport.is_closing():
            return
        keep_alive = keep_alive and not response.close
        transport.write(encode_response(response, keep_alive))
        if not keep_alive:
            self._cancel_timer()
            transport.close()
        elif self.write_paused:
            # the peer is not taking our answers: the worker waits for it, then sets the
            # keep-alive deadline (as after an answer of its own)
            self.worker = self.loop.create_task(self._work())
        else:
            self._arm(self.server.http_keepalive_timeout, _IDLE)

    def _respond_now(
        self, request: HttpRequest, body: bytes
    ) -> HttpResponse | Awaitable[HttpResponse] | None:
        app = self.app
        if request.path.startswith(app.path) or request.path + "/" == app.path:
            answer_now = self.answer_now
            if answer_now is None:
                return None
            return answer_now(request, body)  # type: ignore[no-any-return]
        return self._static_or_404(request)

    def _static_or_404(self, request: HttpRequest) -> HttpResponse:
        """A static file of the host's or the app's for ``request``, else 404."""
        found = self.server.static.lookup(request.method, request.path)
        if found is None:
            found = self.app.lookup_static(request.method, request.path)
        if found is not None:
            return found
        return HttpResponse(404, [("Content-Type", "text/plain")], b"Not Found")

    def _request(self) -> HttpRequest:
        parsed = httptools.parse_url(self.url)
        raw_path = parsed.path
        if not raw_path:
            path = "/"
        else:
            path = raw_path.decode("latin-1")
            if "%" in path:
                path = unquote(path)
        qs = parsed.query.decode("latin-1") if parsed.query else ""
        query = parse_query(qs) if qs else {}
        # (positional: the dataclass's keyword form costs twice as much)
        return HttpRequest(self.parser.get_method().decode("ascii"), path, query, self.headers,
                           self.peer, self.secure, qs)

    # ---------------------------------------------------------------- requests

    async def _work(self) -> None:
        while not self.closed:
            if self.write_paused:
                # the peer is not reading our answers: the next waits until it does
                self.writable = self.loop.create_future()
                await self.writable
                continue
            if not self.queue:
                break
            request, body, keep_alive, answer = self.queue.popleft()
            if self.read_paused:
                self._update_reading()
            if body is None:
                await self._upgrade(request)
                return
            try:
                if answer is not None:
                    response = await answer
                else:
                    response = await self._respond(request, body)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("error handling %s %s", request.method, request.path)
                response = HttpResponse(500, [("Content-Type", "text/plain")], b"error")
            if self.transport is None or self.transport.is_closing():
                return
            keep_alive = keep_alive and not response.close
            self.transport.write(encode_response(response, keep_alive))
            if not keep_alive:
                self._cancel_timer()
                self.transport.close()
                return
        if self.closed or self.upgrading:
            return
        if self.in_message:  # a request head is arriving: its timeout runs again
            self._arm(self.server.http_header_timeout, _HEADER)
        else:
            self._arm(self.server.http_keepalive_timeout, _IDLE)

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
        return self._static_or_404(request)

    # --------------------------------------------------------------- websocket

    async def _upgrade(self, request: HttpRequest) -> None:
        """Ask the engine about a WebSocket upgrade; on yes, hand the connection over."""
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
        assert self.transport is not None
        self.transport.write(handshake_response(key, outcome.headers))
        self._hand_over(request, outcome)

    def _hand_over(self, request: HttpRequest, acceptance: Any) -> None:
        """From the 101 on the connection is a WebSocket's: a :class:`WebSocketProtocol`
        takes the transport (``set_protocol``) and this object is dropped."""
        transport = self.transport
        assert transport is not None
        self._cancel_timer()
        self.closed = True
        self.parser = _NO_PARSER
        self.server.connections.discard(self)
        ws = WebSocketProtocol(self.server, transport, request)
        self.server.connections.add(ws)
        transport.set_protocol(ws)
        transport.set_write_buffer_limits(WS_HIGH_WATER, WS_LOW_WATER)
        if self.read_paused:
            transport.resume_reading()
        pending, self.pending_ws = self.pending_ws, b""
        ws.start(acceptance, pending)
