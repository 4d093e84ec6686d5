"""ClientSocket: the client's connection to one namespace (socket.io-client's ``Socket``).

Sockets are made by :meth:`AsyncClient.socket`; several namespaces share the client's one
Engine.IO connection. Emitting never needs ``await``: while the namespace is not connected,
packets wait in a send buffer and go out, in order, right after the next CONNECT reply
(volatile packets are dropped instead).
"""

from __future__ import annotations

import asyncio
import inspect
import logging
from collections import deque
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from ..exceptions import AckTimeout, ConnectError, Disconnected
from ..handlers import AckSender, Listeners, ack_value, call_handler
from ..protocol.reasons import Reason
from ..protocol.sio import SioPacket, SioType, check_event_name
from .acks import PendingAck, Queued
from .emitters import TimedEmitter, VolatileEmitter

if TYPE_CHECKING:
    from .client import AsyncClient

__all__ = ["ClientSocket"]

log = logging.getLogger("socketwire.client")


def _retrieve(fut: asyncio.Future[Any]) -> None:
    if not fut.cancelled():
        fut.exception()  # marks the exception as seen: no "never retrieved" warning


class ClientSocket(Listeners):
    """One namespace of an :class:`AsyncClient`.

    ``id`` is the socket id the server gave (``None`` while disconnected); ``connected``
    tells whether the namespace is connected now; ``active`` whether the socket wants to be
    (it reconnects with the client until the server or the application disconnects it).
    Besides the server's events, handlers can listen to ``connect`` (no arguments),
    ``disconnect`` (the reason) and ``connect_error`` (a :class:`ConnectError`).

    Against a server with connection state recovery, a socket that lost its connection asks
    for its session back when it reconnects; ``recovered`` then tells whether it got it (same
    ``id``, rooms and data; the events it missed are delivered before ``connect``). As with
    socket.io-client, such events carry the server's offset (a string) as their last
    argument; handlers with fixed parameters do not see it.
    """

    def __init__(self, client: AsyncClient, namespace: str) -> None:
        self.client = client
        self.namespace = namespace
        self.id: str | None = None
        self.connected = False
        self.active = False
        Listeners.__init__(self)
        self._acks: dict[int, PendingAck] = {}
        self._next_ack = 0
        self._send_buffer: deque[tuple[list[str | bytes], int | None]] = deque()
        self._queue: deque[Queued] = deque()  # emits with retries, one in flight at a time
        self._receive_buffer: list[SioPacket] = []  # events that came before the CONNECT reply
        self._waiters: list[asyncio.Future[None]] = []
        self.recovered = False
        self._pid: str | None = None  # the server's private session id (recovery)
        self._last_offset: str | None = None

    def __repr__(self) -> str:
        state = "connected" if self.connected else "disconnected"
        return f"<ClientSocket {self.namespace} {self.id or '-'} {state}>"

    # -------------------------------------------------------------- listeners

    # --------------------------------------------------------------- emitting

    def emit(self, event: str, *args: Any, callback: Callable[..., Any] | None = None) -> None:
        """Send ``event`` with ``args``; ``callback(*answer)`` receives the server's ack.

        Never waits: while disconnected, the packet is buffered until the next connection.
        """
        check_event_name(event)
        self._emit(event, args, callback, None)

    def send(self, *args: Any, callback: Callable[..., Any] | None = None) -> None:
        """Emit a ``message`` event."""
        self._emit("message", args, callback, None)

    async def emit_with_ack(self, event: str, *args: Any, timeout: float | None = None) -> Any:
        """Emit and wait for the ack: its value, a tuple for several, ``None`` for none.

        Raises :class:`AckTimeout` after ``timeout`` seconds and :class:`Disconnected` when
        the connection is lost after the packet was sent.
        """
        check_event_name(event)
        fut: asyncio.Future[Any] = asyncio.get_running_loop().create_future()

        def done(err: Exception | None, *answer: Any) -> None:
            if fut.done():
                return
            if err is not None:
                fut.set_exception(err)
            else:
                fut.set_result(ack_value(answer))

        self._emit(event, args, done, timeout, with_error=True)
        return await fut

    def timeout(self, seconds: float) -> TimedEmitter:
        """Emit with a deadline for the ack: ``socket.timeout(5).emit("ev", cb=...)`` calls
        ``callback(err, *answer)``, ``err`` being an :class:`AckTimeout` when it is late."""
        return TimedEmitter(self, seconds)

    @property
    def volatile(self) -> VolatileEmitter:
        """Emit only if connected now; otherwise the packet is dropped, not buffered."""
        return VolatileEmitter(self)

    def _emit(
        self,
        event: str,
        args: tuple[Any, ...],
        callback: Callable[..., Any] | None,
        timeout: float | None,
        *,
        with_error: bool = False,
        volatile: bool = False,
        from_queue: bool = False,
    ) -> None:
        client = self.client
        if client.retries and not from_queue and not volatile:
            self._enqueue(event, args, callback, timeout)
            return
        if callback is not None and timeout is None and client.ack_timeout is not None:
            timeout = client.ack_timeout  # as socket.io-client's ackTimeout: (err, *answer)
        for h in list(self._any_outgoing):
            call_handler(h, (event, *args))
        ack_id: int | None = None
        if callback is not None:
            ack_id = self._next_ack
            self._next_ack += 1
            entry = PendingAck(callback, with_error or timeout is not None, event, timeout)
            if timeout is not None:
                entry.timer = asyncio.get_running_loop().call_later(
                    timeout, self._ack_timed_out, ack_id
                )
            self._acks[ack_id] = entry
        parts = client.parser.encode(SioPacket(SioType.EVENT, self.namespace, [event, *args],
                                               ack_id))
        if self.connected and self.client._send(parts):
            return
        if not volatile:
            self._send_buffer.append((parts, ack_id))

    def _ack_timed_out(self, ack_id: int) -> None:
        entry = self._acks.pop(ack_id, None)
        if entry is None:
            return
        entry.timer = None
        for i, (_, buffered_id) in enumerate(self._send_buffer):
            if buffered_id == ack_id:  # never sent: it will not be sent late either
                del self._send_buffer[i]
                break
        _guard(entry.fail, AckTimeout(
            f'operation has timed out: no ack for "{entry.event}" within {entry.timeout:g} s',
            event=entry.event))

    # ----------------------------------------------------------------- retries

    def _enqueue(self, event: str, args: tuple[Any, ...], callback: Callable[..., Any] | None,
                 timeout: float | None) -> None:
        # as socket.io-client: the callback of an emit with retries is err-first
        self._queue.append(Queued(event, args, callback, timeout))
        self._drain_queue()

    def _drain_queue(self, force: bool = False) -> None:
        """Send the head of the retry queue, unless it is in flight (``force``: again)."""
        if not self.connected or not self._queue:
            return
        entry = self._queue[0]
        if entry.pending and not force:
            return
        entry.pending = True
        entry.tries += 1

        def done(err: Exception | None, *answer: Any) -> None:
            if not self._queue or self._queue[0] is not entry:
                return
            if err is None:
                self._queue.popleft()
                if entry.callback is not None:
                    _guard(entry.callback, None, *answer)
            elif entry.tries > self.client.retries:
                self._queue.popleft()
                if entry.callback is not None:
                    _guard(entry.callback, err)
            entry.pending = False
            self._drain_queue()

        self._emit(entry.event, entry.args, done, entry.timeout, with_error=True,
                   from_queue=True)

    # ------------------------------------------------------------- connecting

    async def connect(self, wait_timeout: float = 20.0) -> None:
        """Connect this namespace over the client's connection (already open or opening).

        Raises :class:`ConnectError` if the server refuses, or no answer came in time.
        """
        if self.connected:
            return
        fut = self._connect_future()
        self.active = True
        self.client._activate(self)
        try:
            async with asyncio.timeout(wait_timeout):
                await asyncio.shield(fut)
        except TimeoutError:
            raise ConnectError("timeout") from None

    def _connect_future(self) -> asyncio.Future[None]:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        fut.add_done_callback(_retrieve)
        self._waiters.append(fut)
        return fut

    def _settle(self, error: Exception | None) -> None:
        waiters, self._waiters = self._waiters, []
        for fut in waiters:
            if not fut.done():
                if error is None:
                    fut.set_result(None)
                else:
                    fut.set_exception(error)

    async def _connect_packet(self) -> str | bytes:
        """The CONNECT packet, with the auth payload asked for now."""
        source = self.client.auth
        auth: Any = source() if callable(source) else source
        if inspect.isawaitable(auth):
            auth = await auth
        if auth is not None and not isinstance(auth, Mapping):
            raise TypeError("auth must be a dict (or a callable returning one)")
        if self._pid is not None:  # ask for the session back (socket.io-client's fields)
            session: dict[str, Any] = {"pid": self._pid}
            if self._last_offset is not None:
                session["offset"] = self._last_offset
            auth = {**session, **(auth or {})}
        return self.client.parser.connect(self.namespace, None if auth is None else dict(auth))

    # --------------------------------------------------------------- incoming

    def _on_packet(self, packet: SioPacket) -> None:
        kind = packet.type
        if kind in (SioType.EVENT, SioType.BINARY_EVENT):
            if self.connected:
                self._dispatch(packet)
            elif self.active:
                self._receive_buffer.append(packet)  # a recovery's missed events
        elif kind in (SioType.ACK, SioType.BINARY_ACK):
            if packet.id is not None:
                entry = self._acks.pop(packet.id, None)
                if entry is not None:
                    _guard(entry.answer, list(packet.data))
        elif kind == SioType.CONNECT:
            data = packet.data if isinstance(packet.data, dict) else {}
            pid = data.get("pid")
            self._on_connect(str(data.get("sid", "")), pid if isinstance(pid, str) else None)
        elif kind == SioType.CONNECT_ERROR:
            data = packet.data
            if isinstance(data, dict):
                error = ConnectError(str(data.get("message", "")), data.get("data"))
            else:
                error = ConnectError(str(data))
            self._on_connect_error(error)
        elif kind == SioType.DISCONNECT:
            if self.connected:
                self.active = False
                self._on_close(Reason.IO_SERVER_DISCONNECT)
                self.client._check_idle()

    def _on_connect(self, sid: str, pid: str | None = None) -> None:
        if not self.active:
            self._receive_buffer = []
            return
        self.id = sid
        self.recovered = pid is not None and pid == self._pid
        self._pid = pid
        if not self.recovered:
            self._last_offset = None
        self.connected = True
        received, self._receive_buffer = self._receive_buffer, []
        for packet in received:
            if self.connected:
                self._dispatch(packet)
        buffered, self._send_buffer = self._send_buffer, deque()
        for parts, _ in buffered:
            self.client._send(parts)
        self._drain_queue(force=True)
        self._settle(None)
        self._events.fire("connect")

    def _on_connect_error(self, error: ConnectError) -> None:
        self._receive_buffer = []
        self.active = False
        self.connected = False
        self.id = None
        self._events.fire("connect_error", error)
        self._settle(error)
        self.client._check_idle()

    def _dispatch(self, packet: SioPacket) -> None:
        event, *args = packet.data
        ack_id = packet.id
        if self._pid is not None and args and type(args[-1]) is str:
            self._last_offset = args[-1]  # as socket.io-client: the last string argument
        for h in list(self._any):
            call_handler(h, (event, *args))
        handlers = self._events.get(event if isinstance(event, str) else str(event))
        for h in list(handlers):
            if h.once:
                self._events.remove(event, h.fn)
            if ack_id is None:
                call_handler(h, args, None, None, event)
            else:
                sender = AckSender(self._send_ack, ack_id)
                call_handler(h, args, sender.from_result, sender, event)
                ack_id = None  # only the first handler answers

    def _send_ack(self, ack_id: int, args: list[Any]) -> None:
        if not self.connected:
            return
        self.client._send(self.client.parser.encode(SioPacket(SioType.ACK, self.namespace, args,
                                                              ack_id)))

    # ------------------------------------------------------------- disconnect

    def _on_close(self, reason: str) -> None:
        """The namespace is disconnected (the socket may stay active to reconnect)."""
        self._receive_buffer = []
        if not self.connected:
            return
        self.connected = False
        self.id = None
        buffered = {ack_id for _, ack_id in self._send_buffer}
        for ack_id in [i for i in self._acks if i not in buffered]:
            entry = self._acks.pop(ack_id)
            _guard(entry.fail, Disconnected("socket has been disconnected"))
        self._events.fire("disconnect", reason)

    def _close_locally(self) -> None:
        """The application disconnects: tell the server, then ``io client disconnect``."""
        self.active = False
        if self.connected:
            self.client._send([self.client.parser.disconnect(self.namespace)])
            self._on_close(Reason.IO_CLIENT_DISCONNECT)
        self._settle(ConnectError(Reason.IO_CLIENT_DISCONNECT))

    async def disconnect(self) -> None:
        """Disconnect this namespace; the last one disconnects the whole client."""
        self._close_locally()
        self.client._check_idle()


def _guard(fn: Callable[..., None], *args: Any) -> None:
    try:
        fn(*args)
    except Exception:
        log.exception("error in ack callback")
