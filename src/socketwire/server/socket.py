"""Socket: one client's connection to one namespace."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from time import perf_counter
from typing import TYPE_CHECKING, Any

from ..adapters.base import BroadcastOptions, PersistedSession
from ..exceptions import AckTimeout, Disconnected
from ..handlers import (
    Handler,
    Listeners,
    ack_value,
    call_answering,
    call_handler,
    spawn,
)
from ..protocol.reasons import Reason
from ..protocol.sio import (
    RESERVED_EVENTS,
    SioPacket,
    SioType,
    check_event_name,
)
from .hooks import handler_failed, report_task, timed_ack
from .recovery import RECOVERABLE_REASONS

if TYPE_CHECKING:
    from ..adapters.base import RestoredSession
    from ..engine.session import EngineSession
    from .broadcast import BroadcastOperator
    from .connection import ServerConnection
    from .namespace import Namespace

__all__ = ["Handshake", "Socket"]

log = logging.getLogger("socketwire.server")

# enum members as module constants: identity checks on the per-packet path
_EVENT = SioType.EVENT
_BINARY_EVENT = SioType.BINARY_EVENT
_ACK = SioType.ACK
_BINARY_ACK = SioType.BINARY_ACK


@dataclass(slots=True)
class Handshake:
    """How the client connected, as socket.io's ``socket.handshake``."""

    headers: dict[str, str]
    query: dict[str, str]
    auth: dict[str, Any]
    address: str
    secure: bool
    url: str
    issued: int = field(default_factory=lambda: int(time.time() * 1000))
    xdomain: bool = False

    @property
    def time(self) -> str:
        """When the connection was made, as a readable date string."""
        return time.strftime("%a %b %d %Y %H:%M:%S GMT", time.gmtime(self.issued / 1000))

    @classmethod
    def from_details(cls, details: Any) -> Handshake:
        """A handshake from Node's handshake object, as cluster adapters carry it (fields
        of the wrong type are replaced by empty values)."""
        d = details if isinstance(details, dict) else {}

        def text(key: str) -> str:
            value = d.get(key)
            return value if isinstance(value, str) else ""

        def mapping(key: str) -> dict[str, Any]:
            value = d.get(key)
            return dict(value) if isinstance(value, dict) else {}

        issued = d.get("issued")
        return cls(
            headers=mapping("headers"),
            query=mapping("query"),
            auth=mapping("auth"),
            address=text("address"),
            secure=d.get("secure") is True,
            url=text("url"),
            issued=int(issued) if isinstance(issued, (int, float)) else 0,
            xdomain=d.get("xdomain") is True,
        )


class _AckEntry:
    __slots__ = ("callback", "timer")

    def __init__(self, callback: Callable[[list[Any] | None], None],
                 timer: asyncio.TimerHandle | None) -> None:
        self.callback = callback
        self.timer = timer


class Socket(Listeners):
    """A client connected to a namespace. Created by the server; handed to ``connection``.

    Emitting never needs ``await``; ``emit_with_ack`` is the awaitable form.

    With connection state recovery on, ``recovered`` tells whether this socket got back the
    session (id, rooms, ``data``, missed events) of a connection that dropped.
    """

    def __init__(self, nsp: Namespace, connection: ServerConnection, auth: dict[str, Any],
                 session: RestoredSession | None = None):
        self.nsp = nsp
        self.server = nsp.server
        self.client = connection
        self.conn: EngineSession = connection.session
        self.recovered = session is not None
        #: the private session id (connection state recovery only)
        self.pid: str | None = None
        self._missed: list[list[Any]] | tuple[()] = ()
        #: whether the session was persisted when the socket dropped (its emits are kept)
        self._kept = False
        #: its connection middlewares are running (what it emits is written, as Node)
        self._connecting = False
        #: counted in ``nsp._outgoing_watchers`` (it has onAnyOutgoing listeners)
        self._watching = False
        if session is not None:
            self.id = session.sid
            self.pid = session.pid
            self._missed = session.missed_packets
        else:
            self.id = connection.new_socket_id()
            if self.server.connection_state_recovery is not None:
                self.pid = connection.new_socket_id()
        request = self.conn.request
        self.handshake = Handshake(
            headers=request.headers,
            query=request.query,
            auth=auth,
            address=request.remote_addr,
            secure=request.secure,
            url=request.url,
            xdomain="origin" in request.headers,
        )
        self.data: Any = {} if session is None else session.data
        self.connected = False
        Listeners.__init__(self)
        # replaced by a list / dict of its own when first used: most sockets never do
        self._middlewares: tuple[Handler, ...] = ()
        # EVENTs may go straight to _dispatch (no middleware, nothing held back)
        self._direct = True
        self._held: list[SioPacket] | None = None
        self._acks: dict[int, _AckEntry] = _NO_ACKS
        if session is not None and session.rooms:
            nsp.adapter.add_all(self.id, session.rooms)  # as Node: before the middlewares

    def __repr__(self) -> str:
        return f"<Socket {self.id} {self.nsp.name}>"

    # ----------------------------------------------------------------- state

    @property
    def rooms(self) -> set[str]:
        """The rooms this socket is in (its own id included)."""
        return set(self.nsp.adapter.socket_rooms(self.id) or ())

    @property
    def disconnected(self) -> bool:
        """Whether the socket is disconnected."""
        return not self.connected

    @property
    def transport(self) -> str:
        """The Engine.IO transport in use: ``polling`` or ``websocket``."""
        return self.conn.transport

    # ------------------------------------------------------------- listeners

    def use(self, middleware: Callable[..., Any]) -> Callable[..., Any]:
        """Add a packet middleware: ``middleware([event, *args])``, sync or async.

        Raising refuses the packet: the socket's ``error`` listeners get the exception.
        """
        self._middlewares = (*self._middlewares, Handler(middleware))
        self._direct = False
        return middleware

    def _hold_until_started(self) -> None:
        """Keep this socket's packets back until the coroutine ``connection`` handlers just
        spawned have run their first step (where they register their event handlers), as
        Node's run synchronously before any packet of the client is read. Their tasks' first
        steps are already scheduled; the release is scheduled after them."""
        self._direct = False
        self._held = []
        asyncio.get_running_loop().call_soon(self._release_held)

    def _release_held(self) -> None:
        held, self._held = self._held or [], None
        self._direct = not self._middlewares
        for packet in held:
            if self.connected:
                self._on_packet(packet)

    # --------------------------------------------------------------- emitting

    def emit(self, event: str, *args: Any, callback: Callable[..., Any] | None = None) -> None:
        """Send ``event`` to this client; ``callback(*answer)`` receives its ack, if given."""
        if event in RESERVED_EVENTS:
            check_event_name(event)  # raises
        if (callback is None and self.connected and not self._any_outgoing
                and self.server.connection_state_recovery is None
                and not self.server.hooks.event_sent):
            # the common case, as _emit does it without the branches that do not apply
            out = self.server._encode_event(self.nsp.name, [event, *args], None)
            if type(out) is list:
                self.conn.send_many(out)
            else:
                self.conn.send(out)  # type: ignore[arg-type]
            return
        self._emit(event, args, callback, None)

    def on_any_outgoing(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        """Call ``handler(event, *args)`` for every event sent to this socket, broadcasts
        included (as Node's ``onAnyOutgoing``)."""
        Listeners.on_any_outgoing(self, handler)
        self._watch_outgoing()
        return handler

    def prepend_any_outgoing(self, handler: Callable[..., Any]) -> Callable[..., Any]:
        """Like :meth:`on_any_outgoing`, called before the others."""
        Listeners.prepend_any_outgoing(self, handler)
        self._watch_outgoing()
        return handler

    def off_any_outgoing(self, handler: Callable[..., Any] | None = None) -> None:
        """Remove an outgoing catch-all handler (or all of them)."""
        Listeners.off_any_outgoing(self, handler)
        if not self._any_outgoing:
            self._unwatch_outgoing()

    def _watch_outgoing(self) -> None:
        """Counted among the namespace's sockets with onAnyOutgoing listeners."""
        if not self._watching:
            self._watching = True
            self.nsp._outgoing_watchers += 1

    def _unwatch_outgoing(self) -> None:
        """No longer counted among the namespace's sockets with onAnyOutgoing listeners."""
        if self._watching:
            self._watching = False
            self.nsp._outgoing_watchers -= 1

    def send(self, *args: Any, callback: Callable[..., Any] | None = None) -> None:
        """Emit a ``message`` event."""
        self._emit("message", args, callback, None)

    def _emit(self, event: str, args: tuple[Any, ...], callback: Callable[..., Any] | None,
              timeout: float | None, volatile: bool = False) -> None:
        if not self.connected and not self._connecting:
            if callback is not None:
                if timeout is not None:
                    callback(Disconnected("socket is disconnected"))
            elif self._kept and not volatile:
                # as Node: a dropped socket whose session is kept still emits through the
                # adapter, which numbers and stores the event for the session's recovery
                self.nsp.adapter.broadcast(
                    SioPacket(SioType.EVENT, self.nsp.name, [event, *args]),
                    BroadcastOptions(rooms=frozenset((self.id,))),
                )
            return
        if (callback is None and not volatile
                and self.server.connection_state_recovery is not None):
            # as Node: through the adapter, which numbers and keeps it for a recovery (and
            # calls the onAnyOutgoing listeners)
            self.nsp.adapter.broadcast(
                SioPacket(SioType.EVENT, self.nsp.name, [event, *args]),
                BroadcastOptions(rooms=frozenset((self.id,))),
            )
            return
        if self._any_outgoing:
            for h in list(self._any_outgoing):
                call_handler(h, (event, *args))
        if self.server.hooks.event_sent:
            sent = [event, *args]
            for hook in self.server.hooks.event_sent:
                hook(self, sent)
        if volatile and not self.conn.writable:
            return
        ack_id = None
        if callback is not None:
            ack_id = self.nsp.next_ack_id()
            if timeout is None:
                self.register_ack(ack_id, lambda answer: callback(*(answer or ())))
            else:
                self.register_ack(ack_id, _timeout_callback(callback), timeout)
        out = self.server._encode_event(self.nsp.name, [event, *args], ack_id)
        if type(out) is list:
            self.conn.send_many(out)
        else:
            self.conn.send(out)  # type: ignore[arg-type]

    def _send_event(self, data: list[Any]) -> None:
        """Send an EVENT without ack id carrying ``data`` (a replayed missed packet)."""
        out = self.server.parser.event(self.nsp.name, data)
        if type(out) is list:
            self.conn.send_many(out)
        else:
            self.conn.send(out)  # type: ignore[arg-type]

    async def emit_with_ack(self, event: str, *args: Any, timeout: float | None = None) -> Any:
        """Emit and wait for the client's ack; returns its value (a tuple for several).

        Raises :class:`AckTimeout` after ``timeout`` seconds, :class:`Disconnected` if the
        socket disconnects first.
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

        self._emit(event, args, done, timeout if timeout is not None else 1e9)
        return await fut

    def timeout(self, seconds: float) -> _TimedEmitter:
        """Emit with a deadline: ``socket.timeout(5).emit("ev", data, callback=cb)`` calls
        ``cb(err, *answer)`` with ``err`` an :class:`AckTimeout` when no answer came."""
        return _TimedEmitter(self, seconds)

    @property
    def volatile(self) -> _VolatileEmitter:
        """Emit only if the client can receive now; otherwise the packet is dropped."""
        return _VolatileEmitter(self)

    # ---------------------------------------------------------------- acks

    def register_ack(self, ack_id: int, callback: Callable[[list[Any] | None], None],
                     timeout: float | None = None) -> None:
        """Expect the client's ACK for packet ``ack_id`` (adapters call it for the local
        recipients of a broadcast with acknowledgement, before writing the packet).

        ``callback`` gets the ACK's arguments; with ``timeout`` (seconds) it gets ``None``
        when no answer came in time. When the socket disconnects an entry without timeout
        is dropped uncalled, one with a timeout is called with an empty list.
        """
        timer = None
        if timeout is not None:
            timer = asyncio.get_running_loop().call_later(timeout, self._ack_timed_out, ack_id)
        if self.server.hooks.ack_received:
            callback = timed_ack(self, callback)
        if self._acks is _NO_ACKS:
            self._acks = {}
        self._acks[ack_id] = _AckEntry(callback, timer)

    def _ack_timed_out(self, ack_id: int) -> None:
        entry = self._acks.pop(ack_id, None)
        if entry is not None:
            entry.callback(None)

    def _on_ack(self, packet: SioPacket) -> None:
        assert packet.id is not None
        entry = self._acks.pop(packet.id, None)
        if entry is None:
            return
        if entry.timer is not None:
            entry.timer.cancel()
        try:
            entry.callback(packet.data)
        except Exception:
            log.exception("error in ack callback")

    # ----------------------------------------------------------------- rooms

    def join(self, rooms: str | Iterable[str]) -> None:
        """Join one room or several."""
        self.nsp.adapter.add_all(self.id, [rooms] if isinstance(rooms, str) else rooms)

    def leave(self, room: str) -> None:
        """Leave a room."""
        self.nsp.adapter.delete(self.id, room)

    # ------------------------------------------------------------- broadcasts

    @property
    def broadcast(self) -> BroadcastOperator:
        """Every other socket of the namespace: ``socket.broadcast.emit(...)``."""
        return self.nsp._operator().except_(self.id)

    def to(self, room: str | Iterable[str]) -> BroadcastOperator:
        """Sockets in ``room`` except this one."""
        return self.broadcast.to(room)

    in_ = to

    def except_(self, room: str | Iterable[str]) -> BroadcastOperator:
        """Every other socket except those in ``room``."""
        return self.broadcast.except_(room)

    @property
    def local(self) -> BroadcastOperator:
        """Broadcast only to this server's sockets (cluster adapters)."""
        return self.broadcast.local

    # -------------------------------------------------------------- incoming

    def _on_packet(self, packet: SioPacket) -> None:
        if self._held is not None:
            self._held.append(packet)
            return
        kind = packet.type
        if kind is _EVENT or kind is _BINARY_EVENT:
            if self._middlewares:
                self.client.track(spawn(self._run_middlewares(packet)))
            else:
                self._dispatch(packet.data, packet.id)
        elif kind is _ACK or kind is _BINARY_ACK:
            self._on_ack(packet)
        elif kind is SioType.DISCONNECT:
            self._on_close(Reason.CLIENT_DISCONNECT)

    async def _run_middlewares(self, packet: SioPacket) -> None:
        args = list(packet.data)
        for mw in list(self._middlewares):
            try:
                result = mw.fn(args)
                if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
                    await result
            except Exception as exc:
                self._events.fire("error", exc)
                return
        if self.connected:
            self._dispatch(args, packet.id)

    def _dispatch(self, data: list[Any], ack_id: int | None) -> None:
        """Call the handlers of the event ``data`` (``[event, *args]``); the first one
        answers ``ack_id``, when the peer asked for an ack."""
        event = data[0]
        args = data[1:]
        if self._any:
            for h in list(self._any):
                call_handler(h, (event, *args))
        hooks = self.server.hooks
        if hooks.event_received:
            for hook in hooks.event_received:
                hook(self, data)
        handlers: Any = self._events._listeners.get(event if type(event) is str else str(event))
        if handlers is None:
            return
        if type(handlers) is Handler:
            handlers = (handlers,)
        tally = hooks.handler_tally
        if tally is None and not hooks.handler_done:
            for h in handlers:  # a tuple: handlers added or removed meanwhile do not change it
                if h.once:
                    self._events.remove(event, h.fn)
                if ack_id is None:
                    task = call_handler(h, args, None, None, event)
                else:
                    task = call_answering(h, args, self._send_ack, ack_id, event)
                    ack_id = None  # only the first handler answers
                if task:
                    self.client.track(task)
            return
        # timed (metrics, handler_done listeners): the same loop with a clock read before and
        # after each call; call_handler's False tells a failed call, and the tally's run is
        # counted here (HandlerTally.record's fast path, written out: this runs per message)
        for h in handlers:
            if h.once:
                self._events.remove(event, h.fn)
            start = perf_counter()
            if ack_id is None:
                task = call_handler(h, args, None, None, event)
            else:
                task = call_answering(h, args, self._send_ack, ack_id, event)
                ack_id = None
            if task is None:
                seconds = perf_counter() - start
                if tally is not None:
                    if seconds < tally.limit and event == tally.event:
                        tally.fast += 1
                        tally.total += seconds
                    else:
                        tally.record(event, seconds, True)
                if hooks.handler_done:
                    for done in hooks.handler_done:
                        done(self, event, seconds, True)
            elif task is False:
                handler_failed(self, event, perf_counter() - start)
            else:
                report_task(self, event, start, task)
                self.client.track(task)

    def _send_ack(self, ack_id: int, args: list[Any]) -> None:
        if not self.connected:
            return
        out = self.server._encode_ack(self.nsp.name, ack_id, args)
        if type(out) is list:
            self.conn.send_many(out)
        else:
            self.conn.send(out)  # type: ignore[arg-type]

    # ------------------------------------------------------------ disconnect

    def disconnect(self, close: bool = False) -> None:
        """Disconnect from the namespace; ``close=True`` also closes the whole connection."""
        if not self.connected:
            return
        if close:
            self.client.disconnect_all()
            return
        self.conn.send(self.server.parser.disconnect(self.nsp.name))
        self._on_close(Reason.SERVER_DISCONNECT)

    def _on_close(self, reason: str) -> None:
        if not self.connected:
            return
        self._events.fire("disconnecting", reason)
        self.connected = False
        if (self.pid is not None and reason in RECOVERABLE_REASONS
                and self.server.connection_state_recovery is not None):
            self._kept = True
            rooms = self.nsp.adapter.socket_rooms(self.id) or ()
            spawn(self.nsp.adapter.persist_session(
                PersistedSession(self.id, self.pid, list(rooms), self.data)))
        self.nsp.adapter.delete_all(self.id)
        self.nsp._remove(self)
        self.client._remove(self)
        acks, self._acks = self._acks, _NO_ACKS
        for entry in acks.values():
            if entry.timer is not None:
                entry.timer.cancel()
                entry.callback(_GONE)
        if self.server.hooks.disconnect:
            for hook in self.server.hooks.disconnect:
                hook(self, reason)
        self._events.fire("disconnect", reason)
        # nothing can call its handlers any more: dropped, so that the usual closures over
        # the socket (``@socket.on`` in the connection handler) go with it at once, not in a
        # later garbage collection
        self._events.remove()
        self._any = ()


_NO_ACKS: dict[int, _AckEntry] = {}  # shared by sockets that never expected an ack; never written
_GONE: list[Any] = []  # passed to pending ack callbacks when the socket disconnects


def _timeout_callback(callback: Callable[..., Any]) -> Callable[[list[Any] | None], None]:
    def done(answer: list[Any] | None) -> None:
        if answer is None:
            callback(AckTimeout("operation has timed out"))
        elif answer is _GONE:
            callback(Disconnected("socket has been disconnected"))
        else:
            callback(None, *answer)
    return done


class _TimedEmitter:
    __slots__ = ("seconds", "socket")

    def __init__(self, socket: Socket, seconds: float) -> None:
        self.socket = socket
        self.seconds = seconds

    def emit(self, event: str, *args: Any, callback: Callable[..., Any] | None = None) -> None:
        """Emit; ``callback(err, *answer)`` gets the ack or an :class:`AckTimeout`."""
        check_event_name(event)
        self.socket._emit(event, args, callback, self.seconds if callback else None)

    async def emit_with_ack(self, event: str, *args: Any) -> Any:
        """Emit and await the ack; raises :class:`AckTimeout` when it is late."""
        return await self.socket.emit_with_ack(event, *args, timeout=self.seconds)


class _VolatileEmitter:
    __slots__ = ("socket",)

    def __init__(self, socket: Socket) -> None:
        self.socket = socket

    def emit(self, event: str, *args: Any, callback: Callable[..., Any] | None = None) -> None:
        """Emit unless the client cannot receive right now."""
        check_event_name(event)
        self.socket._emit(event, args, callback, None, volatile=True)
