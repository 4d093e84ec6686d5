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

Imported by :func:`socketwire.hosting.asgi.uvicorn_config` only (uvicorn is optional).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.websockets.websockets_sansio_impl import WebSocketsSansIOProtocol
from websockets.frames import Frame

from .wsframes import FRAGMENT_COST

__all__ = ["SocketwireWebSocketProtocol", "max_fragments_for"]


def max_fragments_for(max_size: int) -> int:
    """Fragments one message may have: the size limit over ``FRAGMENT_COST`` (the
    standalone host's rule), at least 16."""
    return max(16, max_size // FRAGMENT_COST)


class _Inbox:
    """What uvicorn's protocol uses of an ``asyncio.Queue`` (``put_nowait``, ``get``,
    ``empty``), without its deques: a list read from a head index, a waiter list made only
    while the application waits."""

    __slots__ = ("_head", "_items", "_waiters")

    def __init__(self) -> None:
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
            waiter = asyncio.get_running_loop().create_future()
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

    __slots__ = ("_set", "_waiters")

    def __init__(self) -> None:
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
        waiter = asyncio.get_running_loop().create_future()
        if self._waiters is None:
            self._waiters = []
        self._waiters.append(waiter)
        await waiter


class SocketwireWebSocketProtocol(WebSocketsSansIOProtocol):
    """uvicorn's websockets-sansio protocol with a fragment-count limit (1008) and lighter
    per-connection state; its other behaviour is uvicorn's."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.queue = _Inbox()  # type: ignore[assignment]
        self.writable = _Flag()  # type: ignore[assignment]
        self.max_fragments = max_fragments_for(self.config.ws_max_size)
        self.fragments = 0

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

    def start_keepalive(self) -> None:
        """Called by uvicorn right after it accepted the connection: the handshake's request
        and response are no longer needed and are let go (its keep-alive pings are uvicorn's,
        off under socketwire)."""
        super().start_keepalive()
        self.request = None  # type: ignore[assignment]
        self.response = None  # type: ignore[assignment]
