"""Namespace: a group of sockets with its own handlers, middlewares, rooms and adapter."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..adapters.base import Adapter
from ..handlers import Emitter, Handler
from .broadcast import BroadcastOperator

if TYPE_CHECKING:
    from .server import Server
    from .socket import Socket

__all__ = ["Namespace", "NamespaceMatcher", "ParentNamespace"]

NamespaceMatcher = "re.Pattern[str] | Callable[[str, dict[str, Any]], bool]"


class Namespace:
    """A namespace such as ``/`` or ``/admin``: ``io.of("/admin")``."""

    def __init__(self, server: Server, name: str) -> None:
        self.server = server
        self.name = name
        self.sockets: dict[str, Socket] = {}
        self._events = Emitter()
        self._middlewares: list[Handler] = []
        self._ack_id = 0
        self.adapter: Adapter = server.adapter_factory(self)

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
        socket. Usable as ``@nsp.on("connection")``."""
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
        return await self._operator().emit_with_ack(event, *args)

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

    async def fetch_sockets(self) -> list[Any]:
        """Every socket of the namespace."""
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
        self.adapter.server_side_emit([event, *args])

    # ------------------------------------------------------------ internals

    def _add(self, socket: Socket) -> None:
        self.sockets[socket.id] = socket
        self.adapter.add_all(socket.id, [socket.id])

    def _remove(self, socket: Socket) -> None:
        self.sockets.pop(socket.id, None)

    def _fire(self, event: str, *args: Any) -> None:
        self._events.fire(event, *args)


class ParentNamespace(Namespace):
    """A dynamic namespace: children are created on demand for names that match.

    Handlers and middlewares registered on the parent apply to every child; emitting on the
    parent reaches the sockets of every child.
    """

    _count = 0

    def __init__(self, server: Server, matcher: Any) -> None:
        ParentNamespace._count += 1
        super().__init__(server, f"/_{ParentNamespace._count}")
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
