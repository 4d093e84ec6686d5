"""The ASGI host: serve a socketwire server under uvicorn, hypercorn, granian..., or beside
FastAPI / Starlette routes (``other_app``), with optional static files."""

from __future__ import annotations

import asyncio
import contextlib
import contextvars
import logging
import os
import types
from collections import deque
from collections.abc import Awaitable, Callable, Coroutine, Generator, Mapping, MutableMapping
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl

from ..engine.http import BodyTooLarge, HttpApp, HttpRequest, HttpResponse, PreparedMessage
from ..engine.static import StaticFiles
from ._abort import abort_transport

if TYPE_CHECKING:
    import uvicorn

__all__ = ["ASGIApp", "run_asgi", "uvicorn_config"]

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


@types.coroutine
def _resume(coro: Coroutine[Any, Any, None], suspended: Any) -> Generator[Any, Any, None]:
    """Go on with ``coro`` from the point where it suspended (yielding ``suspended`` to the
    task running this), passing on what the task sends or throws in."""
    while True:
        try:
            value = yield suspended
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as exc:  # cancelled: the coroutine gets it
            try:
                suspended = coro.throw(exc)
            except StopIteration:
                return
        else:
            try:
                suspended = coro.send(value)
            except StopIteration:
                return


async def _awaiting(awaitable: Awaitable[None]) -> None:
    await awaitable


class _Channel:
    """The engine's view of one ASGI WebSocket.

    A message is handed to the server's ``send`` at once: its coroutine runs right away
    and, with uvicorn, finishes without suspending (it writes to the transport). Only when
    it does suspend (the transport's buffer is full, or another server's ``send`` waits)
    does a writer task go on with it, and the messages sent meanwhile queue behind it. So an
    idle connection holds no task, and a message makes no task (issue 13: at 10,000
    clients with 1 s pings, a task per ping was the largest cost of the ASGI host after the
    write itself)."""

    __slots__ = ("_closing", "_direct", "_queue", "_queued", "_reading", "_send", "request",
                 "writer")

    def __init__(self, send: Send, request: HttpRequest) -> None:
        self._send = send
        # socketwire's uvicorn protocol writes a message at once when it can (True), without
        # the ASGI message and coroutine of ``send``
        self._direct: Callable[[str | bytes], bool] | None = getattr(
            getattr(send, "__self__", None), "socketwire_write", None)
        self._queue: deque[str | bytes | int] | None = None  # made when a send suspends
        self._queued = 0
        self._reading: asyncio.Future[None] | None = None  # set while reading is paused
        self._closing = False
        self.request = request
        self.writer: asyncio.Task[None] | None = None

    def _busy(self) -> bool:
        return self.writer is not None and not self.writer.done()

    def _start(self, item: str | bytes | int) -> None:
        """Run the send of ``item`` up to its first suspension; a writer task goes on from
        there (then drains the queue)."""
        write = self._direct
        if write is not None and not isinstance(item, int) and write(item):
            return
        if isinstance(item, int):
            message: dict[str, Any] = {"type": "websocket.close", "code": item}
        elif isinstance(item, str):
            message = {"type": "websocket.send", "text": item}
        else:
            message = {"type": "websocket.send", "bytes": item}
        sending = self._send(message)
        coro = sending if type(sending) is types.CoroutineType else _awaiting(sending)
        try:
            suspended = coro.send(None)
        except StopIteration:
            return
        except Exception:  # the connection is gone; the receive loop notices
            self._gone()
            return
        if self._queue is None:
            self._queue = deque()
        self.writer = asyncio.get_running_loop().create_task(self._write(coro, suspended))

    def _put(self, item: str | bytes | int, size: int) -> None:
        if self._busy():
            assert self._queue is not None
            self._queue.append(item)
            self._queued += size
        else:
            self._start(item)

    def send(self, packet: str | bytes) -> None:
        if self._closing:
            return
        self._put(packet, len(packet))

    def send_prepared(self, message: PreparedMessage) -> None:
        if self._closing:
            return
        for packet in message.packets:
            self._put(packet, len(packet))

    def close(self, code: int = 1000) -> None:
        if self._closing:
            return
        self._closing = True
        self._put(code, 0)

    def abort(self) -> None:
        """Drop the connection and everything queued at once (a slow consumer over the cap).

        ASGI has no abort: the queue is released here, and when the server's ``send`` is a
        method of its protocol object holding the transport (uvicorn's), that transport is
        aborted too, since a close frame behind unread data would never leave.
        """
        self._closing = True
        self._drop()
        transport = getattr(getattr(self._send, "__self__", None), "transport", None)
        if callable(getattr(transport, "abort", None)) and callable(
            getattr(transport, "get_extra_info", None)
        ):
            abort_transport(transport)

    def buffered_amount(self) -> int:
        return self._queued

    def pause_reading(self) -> None:
        if self._reading is None:
            self._reading = asyncio.get_running_loop().create_future()

    def resume_reading(self) -> None:
        waiter, self._reading = self._reading, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)

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
        self._drop()

    def _drop(self) -> None:
        if self._queue is not None:
            self._queue.clear()
        self._queued = 0
        if self.writer is not None and not self.writer.done():
            self.writer.cancel()

    def _gone(self) -> None:
        self._closing = True
        if self._queue is not None:
            self._queue.clear()
        self._queued = 0

    async def _write(self, coro: Coroutine[Any, Any, None], suspended: Any) -> None:
        """The writer task: finish the suspended send, then send what queued behind it."""
        send = self._send
        queue = self._queue
        assert queue is not None
        try:
            await _resume(coro, suspended)
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
            self._gone()


class ASGIApp:
    """An ASGI application serving a socketwire ``Server`` (or an ``EngineServer``).

    Requests outside the Socket.IO path go to ``static_files`` (``{url_prefix: folder}``),
    then to ``other_app`` (e.g. a FastAPI app), else get 404.
    """

    def __init__(
        self,
        app: HttpApp,
        other_app: ASGICallable | None = None,
        static_files: Mapping[str, str | os.PathLike[str]] | None = None,
    ) -> None:
        self.app = app
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
                found = self.app.lookup_static(scope.get("method", "GET"), path)
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
        # socketwire's own uvicorn protocol hands complete messages over directly (no queue,
        # no task switch, no read pause per message); every other server goes through receive
        server: Any = getattr(receive, "__self__", None)
        direct = hasattr(server, "socketwire_direct")

        held = False  # the loop below holds a message (read, then paused): others queue

        def take(data: str | bytes) -> bool:
            if held or channel._reading is not None or (len(data) * 4 > limit
                                                and _byte_size(data) > limit):
                return False  # paused, or over the limit: the loop below handles it
            try:
                handler.on_message(data)
            except Exception:  # as an exception out of the loop below would: 1011, no lane
                server.socketwire_direct = None
                log.exception("socketwire: message handling failed")
                channel.close(1011)
            return True

        if direct:
            server.socketwire_direct = take
        try:
            while True:
                if channel._reading is not None:
                    await channel._reading  # the engine paused reading (flow control)
                message = await receive()
                kind = message["type"]
                if kind == "websocket.receive":
                    text = message.get("text")
                    data = text if text is not None else message.get("bytes") or b""
                    if len(data) * 4 > limit and _byte_size(data) > limit:
                        # the ASGI server's own limit is its own; enforce ours as ws does
                        held = True  # nothing more is handled
                        channel.close(1009)
                        await channel.closed(1.0)
                        break
                    while channel._reading is not None:  # paused while receive() waited
                        held = True
                        await channel._reading
                    held = False
                    handler.on_message(data)
                elif kind == "websocket.disconnect":
                    break
        finally:
            if direct:
                server.socketwire_direct = None
            handler.on_close()
            channel.close()
            await channel.closed(1.0)  # a close frame the engine queued goes out first
            channel.stop()


def _byte_size(data: str | bytes) -> int:
    return len(data) if isinstance(data, bytes) else len(data.encode("utf-8", "surrogatepass"))


def uvicorn_config(app: Any, host: str = "127.0.0.1", port: int = 3000,
                   **options: Any) -> uvicorn.Config:
    """The uvicorn configuration :func:`run_asgi` serves ``app`` with (an :class:`ASGIApp`, or
    a socketwire ``Server`` wrapped in one); ``options`` are uvicorn's and win.

    uvicorn's WebSocket limit (``ws_max_size``) is the server's ``max_http_buffer_size``; its
    WebSocket protocol is :class:`~socketwire.hosting.uvicorn_ws.SocketwireWebSocketProtocol`
    (uvicorn's websockets-sansio one with a fragment-count limit, 1008 as Node's ws, and
    lighter per-connection state); no permessage-deflate (Node's default) and no
    WebSocket-level pings (Engine.IO pings).
    """
    import uvicorn

    try:
        from .uvicorn_ws import SocketwireWebSocketProtocol

        ws: Any = SocketwireWebSocketProtocol
    except ImportError:  # no websockets (wsproto only), or a uvicorn before its sansio protocol
        ws = "auto"
        log.warning("uvicorn runs without socketwire's WebSocket protocol (it needs websockets "
                    "and uvicorn >= 0.35): no fragment-count limit")

    asgi = app if isinstance(app, ASGIApp) else ASGIApp(app)
    settings: dict[str, Any] = {
        "host": host, "port": port, "log_level": "warning", "lifespan": "on",
        "timeout_graceful_shutdown": 5,
        "ws": ws,
        "ws_per_message_deflate": False,  # Node's default: no compression
        # uvicorn reassembles fragmented messages itself: no further than socketwire accepts
        # (it closes with 1009 past it), instead of its own 16 MiB
        "ws_max_size": asgi.app.max_http_buffer_size,
        # Engine.IO's heartbeat already checks the peer: no second timer per connection
        "ws_ping_interval": None,
    }
    settings.update(options)
    return uvicorn.Config(asgi, **settings)


def run_asgi(app: Any, host: str = "127.0.0.1", port: int = 3000, **kwargs: Any) -> None:
    """Serve ``app`` with uvicorn (must be installed), blocking until SIGINT or SIGTERM.

    On shutdown the sessions are closed first: uvicorn waits for requests in flight before
    its lifespan shutdown, and a pending long-poll would otherwise hold it up to a ping
    interval. uvicorn is configured by :func:`uvicorn_config`; the garbage collector is
    tuned once listening (:func:`socketwire.hosting.tune_gc`).
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

    _Server(uvicorn_config(asgi, host, port)).run()
