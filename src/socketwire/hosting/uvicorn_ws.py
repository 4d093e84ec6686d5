"""uvicorn's WebSocket protocol (websockets' sans-I/O frames) as socketwire runs it: with a
fragment-count limit, and lighter per-connection state.

uvicorn reassembles fragmented messages itself, bounded by bytes only (``ws_max_size``): a
flood of zero-length continuation frames was reassembled for as long as the peer sent them
(issue 13 item 7; CVE-2026-48779 is the same class in Node's ws). This protocol counts
fragments as the standalone host does (``ws_max_size / 64`` per message, at least 16) and
fails the connection with **1008** past the limit, as Node's ws does.

Each connection also held five ``collections.deque`` objects (an ``asyncio.Queue`` is three
deques and an ``asyncio.Event``; ``writable`` is another Event), about 760 bytes each even
when empty, and kept the handshake's request and response for the connection's lifetime.
Here the receive queue and the ``writable`` flag are small list-based equivalents and the
handshake objects are dropped once the connection is accepted.

A message sent on an open connection whose transport takes data is framed by socketwire's
frame builder (the standalone host's) and written at once, instead of through websockets'
send path (state checks, a frame object, its serialization, a list of writes to join): the
same bytes, as websockets' server side sends a message in one unmasked frame without
compression. Anything else (the handshake, closing, a paused transport) is uvicorn's.

When the ASGI application is socketwire's own (:class:`socketwire.hosting.asgi.ASGIApp`, which
finds ``socketwire_direct`` and ``socketwire_write`` on the object its ``receive`` and ``send``
are methods of), complete messages take a direct lane: handed to the engine from
``data_received`` instead of queued as ASGI events for the app's task to ``receive`` (with a
read pause and resume of the transport per message), and the engine's messages framed and
written without an ASGI message and a ``send`` coroutine. The app still takes the ASGI way
whenever the lane declines (reading paused by flow control, a message over the size limit,
anything already queued: order is kept), and for every other server and protocol. In
process (``bench/micro_asgi.py --callgrind``) an echo costs 84 k instructions instead of
132 k, a client's pong 103 k instead of 125 k (the standalone host: 49 k per echo).

:func:`socketwire.hosting.asgi.uvicorn_config` (hence ``run_asgi`` and ``socketwire serve
--hosting asgi``) uses it; it needs uvicorn (>= 0.35) and websockets. From uvicorn's own
command line, run_asgi's settings are::

    uvicorn myapp:app --ws socketwire.hosting.uvicorn_ws:SocketwireWebSocketProtocol \
        --ws-per-message-deflate false --ws-max-size 1000000 --ws-ping-interval 0

(``--ws-max-size`` as the server's ``max_http_buffer_size``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame
from websockets.protocol import OPEN

from .wsframes import FRAGMENT_COST, OP_BINARY, OP_TEXT, frame

__all__ = ["SocketwireWebSocketProtocol", "max_fragments_for"]


def max_fragments_for(max_size: int) -> int:
    """Fragments one message may have: the size limit over ``FRAGMENT_COST`` (the
    standalone host's rule), at least 16."""
    return max(16, max_size // FRAGMENT_COST)


class _Inbox:
    """What uvicorn's protocol uses of an ``asyncio.Queue`` (``put_nowait``, ``get``,
    ``empty``), without its deques: a list read from a head index, a waiter list made only
    while the application waits."""

    __slots__ = ("_head", "_items", "_loop", "_waiters")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._items: list[Any] = []
        self._head = 0
        self._waiters: list[asyncio.Future[None]] | None = None

    def empty(self) -> bool:
        """Whether nothing is queued."""
        return self._head >= len(self._items)

    def qsize(self) -> int:
        """How many items are queued."""
        return len(self._items) - self._head

    def put_nowait(self, item: Any) -> None:
        """Queue ``item`` and wake the first waiting reader."""
        self._items.append(item)
        self._wake()

    def _wake(self) -> None:
        waiters = self._waiters
        while waiters:
            waiter = waiters.pop(0)
            if not waiter.done():
                waiter.set_result(None)
                return

    async def get(self) -> Any:
        """The next item, waiting for one if need be."""
        while self._head >= len(self._items):
            waiter = self._loop.create_future()
            if self._waiters is None:
                self._waiters = []
            self._waiters.append(waiter)
            try:
                await waiter
            except BaseException:
                if waiter in self._waiters:
                    self._waiters.remove(waiter)
                elif not self.empty():
                    self._wake()  # it was woken for an item it will not take
                raise
            finally:
                if not self._waiters:
                    self._waiters = None
        items = self._items
        item = items[self._head]
        self._head += 1
        if self._head >= len(items):
            items.clear()
            self._head = 0
        elif self._head >= 64 and self._head * 2 >= len(items):
            del items[:self._head]
            self._head = 0
        return item


class _Flag:
    """What uvicorn's protocol uses of an ``asyncio.Event`` (``set``, ``clear``,
    ``is_set``, ``wait``) with no deque while nobody waits."""

    __slots__ = ("_loop", "_set", "_waiters")

    def __init__(self, loop: asyncio.AbstractEventLoop) -> None:
        self._loop = loop
        self._set = True
        self._waiters: list[asyncio.Future[None]] | None = None

    def is_set(self) -> bool:
        """Whether the flag is up."""
        return self._set

    def set(self) -> None:
        """Raise the flag and wake every waiter."""
        self._set = True
        waiters, self._waiters = self._waiters, None
        for waiter in waiters or ():
            if not waiter.done():
                waiter.set_result(None)

    def clear(self) -> None:
        """Lower the flag."""
        self._set = False

    async def wait(self) -> None:
        """Return once the flag is up."""
        if self._set:
            return
        waiter = self._loop.create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        await waiter


class SocketwireWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol with a fragment-count limit (1008) and lighter
    per-connection state; its other behaviour is uvicorn's."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = _Inbox(self.loop)  # type: ignore[assignment]
        self._writable = _Flag(self.loop)
        self.writable = self._writable  # type: ignore[assignment]
        self.max_fragments = max_fragments_for(self.config.ws_max_size)
        self.fragments = 0
        #: socketwire's ASGI app sets this once it accepted the connection: a complete
        #: message is handed to it at once (True: taken) instead of through the receive
        #: queue, the app's task and ``receive``; False (reading paused, a message over the
        #: limit) and anything while the queue holds items go the ASGI way, in order.
        self.socketwire_direct: Callable[[str | bytes], bool] | None = None

    def handle_text(self, event: Frame) -> None:
        """A text frame (first of a message)."""
        self.fragments = 1
        super().handle_text(event)

    def handle_bytes(self, event: Frame) -> None:
        """A binary frame (first of a message)."""
        self.fragments = 1
        super().handle_bytes(event)

    def handle_cont(self, event: Frame) -> None:
        """A continuation frame: counted; past the limit the connection fails with 1008."""
        if self.close_sent:
            return  # failed already: the frames parsed from the same chunk are dropped
        self.fragments += 1
        if self.fragments > self.max_fragments:
            self.frames = []
            self.conn.fail(1008, "too many fragments")
            self.handle_parser_exception()
            return
        super().handle_cont(event)

    def send_receive_event_to_app(self) -> None:
        """A complete message: to socketwire's app directly when it asked for it (and
        nothing is queued before it), else uvicorn's way (the receive queue)."""
        direct = self.socketwire_direct
        if direct is not None and not self.close_sent and self.queue.empty():
            frames = self.frames
            data = frames[0] if len(frames) == 1 else b"".join(frames)
            if self.curr_msg_data_type == "text":
                try:
                    message: str | bytes = data.decode()
                except UnicodeDecodeError:
                    super().send_receive_event_to_app()  # uvicorn fails it with 1007
                    return
            else:
                message = data
            if direct(message):
                self.frames = []
                return
        super().send_receive_event_to_app()

    def socketwire_write(self, data: str | bytes) -> bool:
        """Frame and write one message at once when the connection is open and its
        transport takes data (True); False: it must go through :meth:`send` (closing, a
        paused transport, anything in websockets' own output)."""
        if not (self.handshake_complete and not self.close_sent and not self.disconnected
                and self.initial_response is None and self._writable._set
                and self.conn.state is OPEN and not self.conn.writes
                and not self.conn.expect_continuation_frame):
            return False
        if type(data) is str:
            self.transport.write(frame(OP_TEXT, data.encode()))
        else:
            self.transport.write(frame(OP_BINARY, data))  # type: ignore[arg-type]
        return True

    async def send(self, message: Any) -> None:
        """uvicorn's ``send``, with a direct path for ``websocket.send`` on an open
        connection."""
        if message["type"] == "websocket.send":
            data = message.get("bytes")
            if data is None:
                data = message.get("text")
            if data is not None and self.socketwire_write(data):
                return
        await super().send(message)

    def start_keepalive(self) -> None:
        """Called by uvicorn right after it accepted the connection: the handshake's request
        and response are no longer needed and are let go (its keep-alive pings are uvicorn's,
        off under socketwire)."""
        super().start_keepalive()
        self.request = None  # type: ignore[assignment]
        self.response = None  # type: ignore[assignment]
