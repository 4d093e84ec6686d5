"""Server-wide Socket.IO listeners, for instrumentation (the admin UI, metrics...).

Every list starts empty; the server checks a list before calling into it, so an unused hook
costs one truthiness test on the paths it sits on. Engine-level hooks (raw connections,
packets, upgrades) are on ``io.engine.hooks``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .namespace import Namespace
    from .socket import Socket

__all__ = ["ServerHooks"]


@dataclass(slots=True)
class ServerHooks:
    """Listeners called by the server for every namespace (``io.hooks``).

    - ``new_namespace(nsp)``: a namespace was created (``io.of(name)``, or a child of a dynamic
      namespace).
    - ``connection(socket)``: a socket connected to any namespace; called after its CONNECT
      packet went out and before the namespace's ``connection`` handlers.
    - ``disconnect(socket, reason)``: a socket disconnected (after it left its rooms, before its
      own ``disconnect`` handlers).
    - ``event_received(socket, data)``: an event arrived; ``data`` is ``[event, *args]`` (without
      the ack callback). Called before the handlers; do not mutate it.
    - ``event_sent(socket, data)``: an event is sent to ``socket``, by ``socket.emit`` or by a
      broadcast (called once per local recipient); ``data`` is ``[event, *args]``.
    - ``shutdown()``: ``io.shutdown()`` was called.

    Listeners run synchronously on the event loop and must not raise.
    """

    new_namespace: list[Callable[[Namespace], None]] = field(default_factory=list)
    connection: list[Callable[[Socket], None]] = field(default_factory=list)
    disconnect: list[Callable[[Socket, str], None]] = field(default_factory=list)
    event_received: list[Callable[[Socket, list[Any]], None]] = field(default_factory=list)
    event_sent: list[Callable[[Socket, list[Any]], None]] = field(default_factory=list)
    shutdown: list[Callable[[], None]] = field(default_factory=list)
