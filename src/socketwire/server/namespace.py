"""Namespace: a group of sockets with its own handlers, middlewares, rooms and adapter."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..adapters.base import Adapter
from ..adapters.memory import InMemoryAdapter
from ..handlers import Emitter, Handler, call_handler
from .broadcast import SERVER_RESERVED_EVENTS, BroadcastOperator, check_server_side_event

if TYPE_CHECKING:
    from .remote import RemoteSocket
    from .server import Server
    from .socket import Socket

__all__ = ["Namespace", "NamespaceMatcher", "ParentNamespace"]

NamespaceMatcher = "re.Pattern[str] | Callable[[str, dict[str, Any]], bool]"


class Namespace:
    """A namespace such as ``/`` or ``/admin``: ``io.of("/admin")``."""

    def __init__(self, server: Server, name: str,
                 adapter: Callable[[Namespace], Adapter] | None = None) -> None:
        self.server = server
        self.name = name
        self.sockets: dict[str, Socket] = {}
        self._events = Emitter()
        self._middlewares: list[Handler] = []
        self._ack_id = 0
        #: how many sockets have onAnyOutgoing listeners (0: broadcasts skip calling them)
        self._outgoing_watchers = 0
        self.adapter: Adapter = (adapter or server.adapter_factory)(self)

    def __repr__(self) -> str:
        return f"<Namespace {self.name}>"

    def next_ack_id(self) -> int:
        """A fresh ack id for a packet sent on this namespace."""
        ack_id = self._ack_id
        self._ack_id += 1
        return ack_id

    # ------------------------------------------------------------ listeners

    def on(self, event: str, handler: Callable[..., Any] | None = None) -> Any:
        """Register a namespace event handler: ``connection`` (alias ``connect``) gets each new
        socket; any other event gets the other servers' :meth:`server_side_emit` of that
        name, as positional arguments, and its return value (awaited if needed), or the
        value it passes to a keyword-only ``ack`` parameter, answers their
        :meth:`server_side_emit_with_ack`. Usable as ``@nsp.on("connection")``."""
        if event == "connect":
            event = "connection"

        def register(fn: Callable[..., Any]) -> Callable[..., Any]:
            self._events.add(event, fn)
            return fn

        return register if handler is None else register(handler)

    def off(self, event: str | None = None, handler: Callable[..., Any] | None = None) -> None:
        """Remove a handler."""
        self._events.remove("connection" if event == "connect" else event, handler)

    def use(self, middleware: Callable[..., Any]) -> Callable[..., Any]:
        """Add a connection middleware ``middleware(socket)`` (sync or async).

        Raise :class:`socketwire.ConnectionRefused` to refuse the client: it receives
        ``connect_error`` with the message and data. Any other exception also refuses it,
        but is logged and the client only gets ``"Internal server error"``.
        """
        self._middlewares.append(Handler(middleware))
        return middleware

    # ------------------------------------------------------------ broadcast

    def _operator(self) -> BroadcastOperator:
        return BroadcastOperator(self)

    def emit(self, event: str, *args: Any, callback: Callable[..., Any] | None = None) -> None:
        """Emit to every socket of the namespace."""
        self._operator().emit(event, *args, callback=callback)

    def send(self, *args: Any) -> None:
        """Emit a ``message`` event to every socket."""
        self._operator().emit("message", *args)

    async def emit_with_ack(self, event: str, *args: Any) -> list[Any]:
        """Emit to every socket and await every ack (set a ``timeout`` first)."""
        responses: list[Any] = await self._operator().emit_with_ack(event, *args)
        return responses

    def to(self, room: str | Iterable[str]) -> BroadcastOperator:
        """Target the sockets in ``room`` (a socket id for one socket)."""
        return self._operator().to(room)

    in_ = to

    def except_(self, room: str | Iterable[str]) -> BroadcastOperator:
        """Leave out the sockets in ``room``."""
        return self._operator().except_(room)

    @property
    def volatile(self) -> BroadcastOperator:
        """Drop the packet for clients that cannot receive it right now."""
        return self._operator().volatile

    @property
    def local(self) -> BroadcastOperator:
        """Only this server's sockets."""
        return self._operator().local

    def timeout(self, seconds: float) -> BroadcastOperator:
        """Wait at most ``seconds`` for acks."""
        return self._operator().timeout(seconds)

    def compress(self, value: bool = True) -> BroadcastOperator:
        """Accepted for compatibility."""
        return self._operator().compress(value)

    async def fetch_sockets(self) -> list[Socket | RemoteSocket]:
        """Every socket of the namespace, across the cluster with a cluster adapter."""
        return await self._operator().fetch_sockets()

    def sockets_join(self, room: str | Iterable[str]) -> None:
        """Make every socket join ``room``."""
        self._operator().sockets_join(room)

    def sockets_leave(self, room: str | Iterable[str]) -> None:
        """Make every socket leave ``room``."""
        self._operator().sockets_leave(room)

    def disconnect_sockets(self, close: bool = False) -> None:
        """Disconnect every socket."""
        self._operator().disconnect_sockets(close)

    def server_side_emit(self, event: str, *args: Any) -> None:
        """Emit to the other servers of the cluster (their ``on(event)`` handlers)."""
        check_server_side_event(event)
        self.adapter.server_side_emit([event, *args])

    async def server_side_emit_with_ack(self, event: str, *args: Any) -> list[Any]:
        """Emit to the other servers and return their answers, one per server; waits 5
        seconds (``nsp.timeout(s).server_side_emit_with_ack(...)`` to choose), then raises
        :class:`~socketwire.ClusterTimeout` with the answers that came."""
        return await self._operator().server_side_emit_with_ack(event, *args)

    def on_server_side_emit(self, args: list[Any],
                            ack: Callable[[Any], None] | None = None) -> None:
        """The entry point for adapters: another server's ``server_side_emit`` (``args`` is
        ``[event, *args]``) arrived. The ``on(event)`` handlers are called with the
        arguments; with ``ack`` given, the first handler's answer is passed to it, once."""
        if not args or not isinstance(args[0], str) or args[0] in SERVER_RESERVED_EVENTS:
            return
        event = args[0]
        handlers = self._events.get(event)
        if not handlers:
            return
        values = args[1:]
        answer = _OnceAnswer(ack) if ack is not None else None
        for h in list(handlers):
            if h.once:
                self._events.remove(event, h.fn)
            if answer is None:
                call_handler(h, values)
            else:
                call_handler(h, values, answer.from_result, answer)
                answer = None  # only the first handler answers

    # ------------------------------------------------------------ internals

    def _add(self, socket: Socket) -> None:
        self.sockets[socket.id] = socket
        self.adapter.add_all(socket.id, [socket.id])

    def _remove(self, socket: Socket) -> None:
        self.sockets.pop(socket.id, None)
        socket._unwatch_outgoing()

    def _fire(self, event: str, *args: Any) -> None:
        self._events.fire(event, *args)


class _OnceAnswer:
    """Passes one server-side emit's answer to the adapter's ``ack``, the first time only:
    a handler's return value, or the first argument it gives its ``ack`` parameter."""

    __slots__ = ("ack",)

    def __init__(self, ack: Callable[[Any], None]) -> None:
        self.ack: Callable[[Any], None] | None = ack

    def __call__(self, *args: Any) -> None:
        self.from_result(args[0] if args else None)

    def from_result(self, result: Any) -> None:
        """Answer with ``result``, unless already answered."""
        ack, self.ack = self.ack, None
        if ack is not None:
            ack(result)


class ParentNamespace(Namespace):
    """A dynamic namespace: children are created on demand for names that match.

    Handlers and middlewares registered on the parent apply to every child; emitting on the
    parent reaches the sockets of every child.
    """

    _count = 0

    def __init__(self, server: Server, matcher: Any) -> None:
        ParentNamespace._count += 1
        # the parent only forwards to its children: it never needs a cluster adapter
        super().__init__(server, f"/_{ParentNamespace._count}", InMemoryAdapter)
        self.matcher = matcher
        self.children: set[Namespace] = set()

    def matches(self, name: str, auth: dict[str, Any]) -> bool:
        """Whether ``name`` belongs to this dynamic namespace."""
        if isinstance(self.matcher, re.Pattern):
            return self.matcher.fullmatch(name) is not None
        try:
            return bool(self.matcher(name, auth))
        except Exception:
            return False

    def create_child(self, name: str) -> Namespace:
        """Create the namespace ``name``, sharing this parent's handlers and middlewares."""
        child = Namespace(self.server, name)
        child._events = self._events
        child._middlewares = self._middlewares
        self.children.add(child)
        return child

    def emit(self, event: str, *args: Any, callback: Callable[..., Any] | None = None) -> None:
        """Emit to the sockets of every child namespace."""
        for child in list(self.children):
            child.emit(event, *args, callback=callback)
