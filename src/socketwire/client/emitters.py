"""The client's emit helpers and event holders: ``socket.timeout(...)`` / ``socket.volatile``
and their client-wide forms, the manager's events, and the namespace shortcuts of
:class:`~socketwire.client.client.AsyncClient` (``client.on(...)``, ``client.emit(...)``)."""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from ..handlers import Listeners
from ..protocol.sio import check_event_name

if TYPE_CHECKING:
    from .socket import ClientSocket

__all__ = ["ClientTimedEmitter", "ClientVolatileEmitter", "ManagerEvents", "NamespaceShortcuts",
           "TimedEmitter", "VolatileEmitter"]

log = logging.getLogger("socketwire.client")


class NamespaceShortcuts:
    """The methods of :class:`AsyncClient` that act on one namespace's socket: the main
    namespace's unless ``namespace`` is given."""

    __slots__ = ()

    def socket(self, namespace: str | None = None) -> ClientSocket:
        """The socket for ``namespace`` (the main namespace's by default)."""
        raise NotImplementedError

    # ------------------------------------------------------------ listeners

    def on(
        self, event: str, handler: Callable[..., Any] | None = None, *, namespace: str | None = None
    ) -> Any:
        """Register a handler for ``event`` on ``namespace``; usable as a decorator.

        See :meth:`ClientSocket.on` (reserved events, answering server acks).
        """
        return self.socket(namespace).on(event, handler)

    def once(
        self, event: str, handler: Callable[..., Any] | None = None, *, namespace: str | None = None
    ) -> Any:
        """Like :meth:`on`, for the next occurrence only."""
        return self.socket(namespace).once(event, handler)

    def off(
        self,
        event: str | None = None,
        handler: Callable[..., Any] | None = None,
        *,
        namespace: str | None = None,
    ) -> None:
        """Remove one handler, every handler of ``event``, or every handler of ``namespace``."""
        self.socket(namespace).off(event, handler)

    def on_any(
        self, handler: Callable[..., Any], *, namespace: str | None = None
    ) -> Callable[..., Any]:
        """Call ``handler(event, *args)`` for every event received on ``namespace``."""
        return self.socket(namespace).on_any(handler)

    def off_any(
        self, handler: Callable[..., Any] | None = None, *, namespace: str | None = None
    ) -> None:
        """Remove a catch-all handler (or all of them)."""
        self.socket(namespace).off_any(handler)

    # ------------------------------------------------------------- emitting

    def emit(
        self,
        event: str,
        *args: Any,
        namespace: str | None = None,
        callback: Callable[..., Any] | None = None,
    ) -> None:
        """Emit ``event`` on ``namespace``; never waits (buffered while disconnected).

        ``callback(*answer)`` receives the server's ack.
        """
        self.socket(namespace).emit(event, *args, callback=callback)

    def send(
        self, *args: Any, namespace: str | None = None, callback: Callable[..., Any] | None = None
    ) -> None:
        """Emit a ``message`` event."""
        self.socket(namespace).send(*args, callback=callback)

    async def emit_with_ack(
        self, event: str, *args: Any, namespace: str | None = None, timeout: float | None = None
    ) -> Any:
        """Emit and await the server's ack (see :meth:`ClientSocket.emit_with_ack`)."""
        return await self.socket(namespace).emit_with_ack(event, *args, timeout=timeout)

    call = emit_with_ack

    def timeout(self, seconds: float) -> ClientTimedEmitter:
        """Emit with an ack deadline: ``client.timeout(5).emit("ev", callback=cb)`` calls
        ``cb(err, *answer)``; ``await client.timeout(5).emit_with_ack("ev")`` raises
        :class:`socketwire.AckTimeout`."""
        return ClientTimedEmitter(self, seconds)

    @property
    def volatile(self) -> ClientVolatileEmitter:
        """Emit only if connected now: ``client.volatile.emit("ev")``."""
        return ClientVolatileEmitter(self)


class TimedEmitter:
    """``socket.timeout(seconds)``: emits whose ack must come within ``seconds``."""

    __slots__ = ("seconds", "socket")

    def __init__(self, socket: ClientSocket, seconds: float) -> None:
        self.socket = socket
        self.seconds = seconds

    def emit(self, event: str, *args: Any, callback: Callable[..., Any] | None = None) -> None:
        """Emit; ``callback(err, *answer)`` gets the ack, or an :class:`AckTimeout`."""
        check_event_name(event)
        self.socket._emit(event, args, callback, self.seconds if callback else None,
                          with_error=True)

    async def emit_with_ack(self, event: str, *args: Any) -> Any:
        """Emit and await the ack; raises :class:`AckTimeout` when it is late."""
        return await self.socket.emit_with_ack(event, *args, timeout=self.seconds)


class VolatileEmitter:
    """``socket.volatile``: emits that are dropped rather than buffered while disconnected."""

    __slots__ = ("socket",)

    def __init__(self, socket: ClientSocket) -> None:
        self.socket = socket

    def emit(self, event: str, *args: Any, callback: Callable[..., Any] | None = None) -> None:
        """Emit if connected now; otherwise drop the packet."""
        check_event_name(event)
        self.socket._emit(event, args, callback, None, volatile=True)


class ManagerEvents(Listeners):
    """The events of the connection itself (socket.io-client's ``Manager`` events):
    ``open``, ``close`` (reason), ``error`` (a :class:`ConnectError`), ``ping``,
    ``reconnect_attempt`` (attempt number), ``reconnect`` (attempt number),
    ``reconnect_error`` (a :class:`ConnectError`) and ``reconnect_failed``."""

    def _fire(self, event: str, *args: Any) -> None:
        try:
            self._events.fire(event, *args)
        except Exception:
            log.exception("error in a %r listener", event)


class ClientTimedEmitter:
    """``client.timeout(seconds)``, for any namespace."""

    __slots__ = ("client", "seconds")

    def __init__(self, client: NamespaceShortcuts, seconds: float) -> None:
        self.client = client
        self.seconds = seconds

    def _on(self, namespace: str | None) -> TimedEmitter:
        return self.client.socket(namespace).timeout(self.seconds)

    def emit(
        self,
        event: str,
        *args: Any,
        namespace: str | None = None,
        callback: Callable[..., Any] | None = None,
    ) -> None:
        """Emit; ``callback(err, *answer)`` gets the ack or an :class:`AckTimeout`."""
        self._on(namespace).emit(event, *args, callback=callback)

    async def emit_with_ack(self, event: str, *args: Any, namespace: str | None = None) -> Any:
        """Emit and await the ack; raises :class:`AckTimeout` when it is late."""
        return await self._on(namespace).emit_with_ack(event, *args)


class ClientVolatileEmitter:
    """``client.volatile``, for any namespace."""

    __slots__ = ("client",)

    def __init__(self, client: NamespaceShortcuts) -> None:
        self.client = client

    def emit(
        self,
        event: str,
        *args: Any,
        namespace: str | None = None,
        callback: Callable[..., Any] | None = None,
    ) -> None:
        """Emit if ``namespace`` is connected now; otherwise drop the packet."""
        VolatileEmitter(self.client.socket(namespace)).emit(event, *args, callback=callback)

