"""The ASGI host: serve a socketwire server under uvicorn, hypercorn, granian..., or beside
FastAPI / Starlette routes (``other_app``), with optional static files."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
from collections import deque
from collections.abc import Awaitable, Callable, Mapping, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from ..engine.http import BodyTooLarge, HttpApp, HttpRequest, HttpResponse, PreparedMessage
from ..engine.static import StaticFiles
from ._abort import abort_transport

__all__ = ["ASGIApp", "run_asgi"]

log = logging.getLogger("socketwire.hosting")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGICallable = Callable[[Scope, Receive, Send], Awaitable[None]]


# uvicorn's websockets-sansio protocol (its default since 0.35) logs "ASGI callable returned
# without completing handshake" at ERROR after every denial response sent through the
# websocket.http.response extension, which is the ASGI way to refuse an upgrade with a
# status and body (its wsproto protocol does not; upstream fix pending as uvicorn PR 3138).
# The record is dropped for the connections socketwire itself refused, and only for them: the
# flag lives in the connection task's context.
_REFUSED_UPGRADE: contextvars.ContextVar[bool] = contextvars.ContextVar(
    "socketwire_refused_upgrade", default=False
)
_SPURIOUS = "ASGI callable returned without completing handshake"


class _RefusedUpgradeFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not (_REFUSED_UPGRADE.get() and record.getMessage().startswith(_SPURIOUS))


_FILTER = _RefusedUpgradeFilter()


def _install_log_filter() -> None:
    logger = logging.getLogger("uvicorn.error")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)


def _request_from_scope(scope: Scope) -> HttpRequest:
    headers: dict[str, str] = {}
    for raw_name, raw_value in scope.get("headers", []):
        name = raw_name.decode("latin-1").lower()
        value = raw_value.decode("latin-1")
        headers[name] = headers[name] + ", " + value if name in headers else value
    qs = scope.get("query_string", b"").decode("latin-1")
    client = scope.get("client")
    return HttpRequest(
        method=scope.get("method", "GET"),
        path=scope.get("path", "/"),
        query=dict(parse_qsl(qs, keep_blank_values=True)),
        headers=headers,
        remote_addr=client[0] if client else "",
        secure=scope.get("scheme") in ("https", "wss"),
        query_string=qs,
    )


async def _send_response(send: Send, response: HttpResponse) -> None:
    headers = [(k.lower().encode("latin-1"), v.encode("latin-1")) for k, v in response.headers]
    if not any(k == b"content-length" for k, _ in headers):
        headers.append((b"content-length", str(len(response.body)).encode()))
    if response.close:
        headers.append((b"connection", b"close"))
    await send({"type": "http.response.start", "status": response.status, "headers": headers})
    await send({"type": "http.response.body", "body": response.body})


async def _wait_disconnect(receive: Receive) -> None:
    while (await receive())["type"] != "http.disconnect":
        pass


class _Channel:
    """The engine's view of one ASGI WebSocket: a queue drained by a writer task that only
    exists while there is something to write (an idle connection holds no task)."""

    __slots__ = ("_closing", "_queue", "_queued", "_send", "reading", "request", "writer")

    def __init__(self, send: Send, request: HttpRequest) -> None:
        self._send = send
        self._queue: deque[str | bytes | int] = deque()
        self._queued = 0
        self.reading = asyncio.Event()  # cleared while the engine pauses reading
        self.reading.set()
        self._closing = False
        self.request = request
        self.writer: asyncio.Task[None] | None = None

    def _kick(self) -> None:
        if self.writer is None or self.writer.done():
            self.writer = asyncio.get_running_loop().create_task(self._write())

    def send(self, packet: str | bytes) -> None:
        if self._closing:
            return
        self._queue.append(packet)
        self._queued += len(packet)
        self._kick()

    def send_prepared(self, message: PreparedMessage) -> None:
        if self._closing:
            return
        self._queue.extend(message.packets)
        self._queued += message.size
        self._kick()

    def close(self, code: int = 1000) -> None:
        if self._closing:
            return
        self._closing = True
        self._queue.append(code)
        self._kick()

    def abort(self) -> None:
        """Drop the connection and everything queued at once (a slow consumer over the cap).

        ASGI has no abort: the queue is released here, and when the server's ``send`` is a
        method of its protocol object holding the transport (uvicorn's), that transport is
        aborted too, since a close frame behind unread data would never leave.
        """
        self._closing = True
        self._queue.clear()
        self._queued = 0
        if self.writer is not None and not self.writer.done():
            self.writer.cancel()
        transport = getattr(getattr(self._send, "__self__", None), "transport", None)
        if callable(getattr(transport, "abort", None)) and callable(
            getattr(transport, "get_extra_info", None)
        ):
            abort_transport(transport)

    def buffered_amount(self) -> int:
        return self._queued

    def pause_reading(self) -> None:
        self.reading.clear()

    def resume_reading(self) -> None:
        self.reading.set()

    async def flushed(self) -> None:
        writer = self.writer
        if writer is not None and not writer.done() and not self._closing:
            await asyncio.wait({writer})

    async def closed(self, timeout: float) -> None:
        """Wait (up to ``timeout``) for the close frame queued by :meth:`close` to go out."""
        writer = self.writer
        if writer is not None and not writer.done():
            await asyncio.wait({writer}, timeout=timeout)

    def stop(self) -> None:
        """The connection is gone: nothing more is written."""
        self._closing = True
        self._queue.clear()
        self._queued = 0
        if self.writer is not None and not self.writer.done():
            self.writer.cancel()

    async def _write(self) -> None:
        send = self._send
        queue = self._queue
        try:
            while queue:
                item = queue.popleft()
                if isinstance(item, int):
                    queue.clear()
                    await send({"type": "websocket.close", "code": item})
                    return
                self._queued -= len(item)
                if isinstance(item, str):
                    await send({"type": "websocket.send", "text": item})
                else:
                    await send({"type": "websocket.send", "bytes": item})
        except Exception:  # the connection is gone; the receive loop notices
            self._closing = True
            queue.clear()
            self._queued = 0


class ASGIApp:
    """An ASGI application serving a socketwire ``Server`` (or an ``EngineServer``).

    Requests outside the Socket.IO path go to ``static_files`` (``{url_prefix: folder}``),
    then to ``other_app`` (e.g. a FastAPI app), else get 404.
    """

    def __init__(
        self,
        app: Any,
        other_app: ASGICallable | None = None,
        static_files: Mapping[str, str | os.PathLike[str]] | None = None,
    ) -> None:
        inner = getattr(app, "http_app", None)
        self.app: HttpApp = inner() if callable(inner) else app
        self.other_app = other_app
        self.static = StaticFiles(static_files)
        self._started = False
        _install_log_filter()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """The ASGI entry point."""
        kind = scope["type"]
        if kind == "lifespan":
            await self._lifespan(scope, receive, send)
            return
        if not self._started:  # a server without lifespan events: start on first use
            self._started = True
            await self.app.startup()
        path: str = scope.get("path", "/")
        mine = path.startswith(self.app.path) or path + "/" == self.app.path
        if kind == "http":
            if mine:
                await self._http(scope, receive, send)
                return
            found = self.static.lookup(scope.get("method", "GET"), path)
            if found is None:
                extra = getattr(self.app, "lookup_static", None)
                if extra is not None:
                    found = extra(scope.get("method", "GET"), path)
            if found is not None:
                await _send_response(send, found)
                return
        elif kind == "websocket" and mine:
            await self._websocket(scope, receive, send)
            return
        if self.other_app is not None:
            await self.other_app(scope, receive, send)
        elif kind == "http":
            await _send_response(send, HttpResponse(404, [("Content-Type", "text/plain")],
                                                    b"Not Found"))
        elif kind == "websocket":
            await receive()
            await send({"type": "websocket.close", "code": 1000})

    async def _lifespan(self, scope: Scope, receive: Receive, send: Send) -> None:
        if self.other_app is not None:
            async def receive_and_follow() -> Any:
                message = await receive()
                if message["type"] == "lifespan.startup":
                    await self._startup()
                elif message["type"] == "lifespan.shutdown":
                    await self.app.shutdown()
                return message

            await self.other_app(scope, receive_and_follow, send)  # it answers lifespan
            return
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                try:
                    await self._startup()
                except Exception as exc:
                    await send({"type": "lifespan.startup.failed", "message": str(exc)})
                    return
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                await self.app.shutdown()
                await send({"type": "lifespan.shutdown.complete"})
                return

    async def _startup(self) -> None:
        self._started = True
        await self.app.startup()

    async def _http(self, scope: Scope, receive: Receive, send: Send) -> None:
        request = _request_from_scope(scope)
        disconnected = False

        async def read_body(limit: int) -> bytes:
            nonlocal disconnected
            chunks: list[bytes] = []
            size = 0
            while True:
                message = await receive()
                if message["type"] == "http.disconnect":
                    disconnected = True
                    raise BodyTooLarge("client went away")
                chunk = message.get("body", b"")
                size += len(chunk)
                if size > limit:
                    raise BodyTooLarge()
                chunks.append(chunk)
                if not message.get("more_body", False):
                    return b"".join(chunks)

        request.read_body = read_body
        if request.method != "GET":
            response = await self.app.handle_http(request)
        else:
            # a long-poll may wait: stop it if the client goes away meanwhile
            handler = asyncio.ensure_future(self.app.handle_http(request))
            watcher = asyncio.ensure_future(_wait_disconnect(receive))
            try:
                done, _ = await asyncio.wait({handler, watcher},
                                             return_when=asyncio.FIRST_COMPLETED)
            except asyncio.CancelledError:  # the ASGI server gave up on this request
                handler.cancel()
                watcher.cancel()
                raise
            if handler not in done:
                handler.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await handler
                await _send_response(send, HttpResponse(400))  # nobody reads it
                return
            watcher.cancel()
            response = handler.result()
        await _send_response(send, response)

    async def _websocket(self, scope: Scope, receive: Receive, send: Send) -> None:
        message = await receive()
        if message["type"] != "websocket.connect":
            return
        request = _request_from_scope(scope)
        outcome = await self.app.open_websocket(request)
        if isinstance(outcome, HttpResponse):
            if "websocket.http.response" in scope.get("extensions", {}):
                headers = [(k.lower().encode(), v.encode()) for k, v in outcome.headers]
                await send({"type": "websocket.http.response.start", "status": outcome.status,
                            "headers": headers})
                await send({"type": "websocket.http.response.body", "body": outcome.body})
                _REFUSED_UPGRADE.set(True)
            else:
                await send({"type": "websocket.close", "code": 1008})
            return
        accept: dict[str, Any] = {"type": "websocket.accept"}
        if outcome.headers:
            accept["headers"] = [(k.lower().encode("latin-1"), v.encode("latin-1"))
                                 for k, v in outcome.headers]
        await send(accept)
        channel = _Channel(send, request)
        handler = outcome.attach(channel)
        limit = self.app.max_http_buffer_size
        try:
            while True:
                if not channel.reading.is_set():
                    await channel.reading.wait()  # the engine paused reading (flow control)
                message = await receive()
                kind = message["type"]
                if kind == "websocket.receive":
                    text = message.get("text")
                    data = text if text is not None else message.get("bytes") or b""
                    if len(data) * 4 > limit and _byte_size(data) > limit:
                        # the ASGI server's own limit is its own; enforce ours as ws does
                        channel.close(1009)
                        await channel.closed(1.0)
                        break
                    handler.on_message(data)
                elif kind == "websocket.disconnect":
                    break
        finally:
            handler.on_close()
            channel.close()
            await channel.closed(1.0)  # a close frame the engine queued goes out first
            channel.stop()


def _byte_size(data: str | bytes) -> int:
    return len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))


def run_asgi(app: Any, host: str = "127.0.0.1", port: int = 3000, **kwargs: Any) -> None:
    """Serve ``app`` with uvicorn (must be installed), blocking until SIGINT or SIGTERM.

    On shutdown the sessions are closed first: uvicorn waits for requests in flight before
    its lifespan shutdown, and a pending long-poll would otherwise hold it up to a ping
    interval. uvicorn's WebSocket limit (``ws_max_size``) is set to the server's
    ``max_http_buffer_size`` and its own WebSocket pings are off (Engine.IO pings); the
    garbage collector is tuned once listening (:func:`socketwire.hosting.tune_gc`).
    """
    import uvicorn

    asgi = ASGIApp(app, **kwargs)

    class _Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets=sockets)
            from . import tune_gc

            tune_gc()  # start-up done: see socketwire.hosting.tune_gc

        async def shutdown(self, sockets: Any = None) -> None:
            await asgi.app.shutdown()
            await super().shutdown(sockets=sockets)

    config = uvicorn.Config(
        asgi, host=host, port=port, log_level="warning", lifespan="on",
        timeout_graceful_shutdown=5,
        ws_per_message_deflate=False,  # Node's default: no compression
        # uvicorn reassembles fragmented messages itself: no further than socketwire accepts
        # (it closes with 1009 past it), instead of its own 16 MiB
        ws_max_size=asgi.app.max_http_buffer_size,
        # Engine.IO's heartbeat already checks the peer: no second timer per connection
        ws_ping_interval=None,
    )
    _Server(config).run()
