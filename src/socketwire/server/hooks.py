"""Server-wide Socket.IO listeners, for instrumentation (the admin UI, metrics...).

Every list starts empty; the server checks a list before calling into it, so an unused hook
costs one truthiness test on the paths it sits on. Engine-level hooks (raw connections,
packets, upgrades) are on ``io.engine.hooks``.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..engine.hooks import BatchLog

if TYPE_CHECKING:
    from ..adapters.base import BroadcastOptions
    from .namespace import Namespace
    from .socket import Socket

__all__ = ["HandlerLog", "ServerHooks", "report_task", "timed_ack"]


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
    - ``startup()``: ``io.startup()`` started the adapters (the host serves from now on; in
      each worker of ``--workers``).
    - ``shutdown()``: ``io.shutdown()`` was called.
    - ``broadcast(nsp, opts)``: a broadcast (``io.emit``, ``socket.to(room).emit``...) is about
      to go to the sockets ``opts`` targets; called once per broadcast.
    - ``handler_done(socket, event, seconds, ok)``: an event handler finished (a coroutine's
      when its task ends); ``ok`` is ``False`` when it raised or its answer could not be sent.
    - ``ack_received(socket, seconds)``: a client answered an emit with ack (a broadcast's
      too), ``seconds`` after it was sent.
    - ``handler_log``: a :class:`HandlerLog` the server records what ``handler_done`` tells
      in, without a call per handler (``None``: none).

    Listeners run synchronously on the event loop and must not raise.
    """

    new_namespace: list[Callable[[Namespace], None]] = field(default_factory=list)
    connection: list[Callable[[Socket], None]] = field(default_factory=list)
    disconnect: list[Callable[[Socket, str], None]] = field(default_factory=list)
    event_received: list[Callable[[Socket, list[Any]], None]] = field(default_factory=list)
    event_sent: list[Callable[[Socket, list[Any]], None]] = field(default_factory=list)
    startup: list[Callable[[], None]] = field(default_factory=list)
    shutdown: list[Callable[[], None]] = field(default_factory=list)
    broadcast: list[Callable[[Namespace, BroadcastOptions], None]] = field(default_factory=list)
    handler_done: list[Callable[[Socket, str, float, bool], None]] = field(default_factory=list)
    ack_received: list[Callable[[Socket, float], None]] = field(default_factory=list)
    handler_log: HandlerLog | None = None


class HandlerLog(BatchLog):
    """Event handler timings recorded in bulk, for a listener that only aggregates them.

    What ``handler_done`` tells with a listener call per handler, the server appends here to
    plain lists (``events``, ``seconds``; ``failed``: the events of the handlers that failed)
    and the owner's ``take(events, seconds, failed)`` gets them a batch at a time, ``delay``
    seconds after the batch began or when :meth:`flush` is called. ``socketwire.metrics``
    uses it; install one as ``io.hooks.handler_log``. Coroutine handlers are reported through
    ``handler_done``'s path when their task ends, and recorded here then.
    """

    __slots__ = ("_take", "events", "failed", "seconds")

    def __init__(self, take: Callable[[list[str], list[float], list[str]], None],
                 delay: float = 0.02) -> None:
        super().__init__(delay)
        self._take = take
        self.events: list[str] = []
        self.seconds: list[float] = []
        self.failed: list[str] = []

    def record(self, event: str, seconds: float, ok: bool) -> None:
        """Record one handler's run."""
        if not self.pending:
            self.wake()
        self.events.append(event)
        self.seconds.append(seconds)
        if not ok:
            self.failed.append(event)

    def flush(self) -> None:
        """Hand the recorded timings to the owner now."""
        self.pending = False
        if not self.events:
            return
        events, seconds, failed = self.events, self.seconds, self.failed
        self.events, self.seconds, self.failed = [], [], []
        self._take(events, seconds, failed)


# Helpers for the paths that call ``handler_done`` and ``ack_received``, only taken when
# a listener is registered.

def report_task(socket: Socket, event: str, start: float, task: asyncio.Task[Any]) -> None:
    """Call the ``handler_done`` listeners (and record in ``handler_log``) when the task of a
    coroutine handler called at ``start`` (``time.perf_counter()``) ends."""
    def done(task: asyncio.Task[Any]) -> None:
        seconds = time.perf_counter() - start
        ok = not task.cancelled() and task.exception() is None and task.result() is not False
        hooks = socket.server.hooks
        for hook in hooks.handler_done:
            hook(socket, event, seconds, ok)
        if hooks.handler_log is not None:
            hooks.handler_log.record(event, seconds, ok)

    task.add_done_callback(done)


def timed_ack(socket: Socket, callback: Callable[[list[Any] | None], None]
              ) -> Callable[[list[Any] | None], None]:
    """``callback`` for an ack, telling the ``ack_received`` listeners when the answer comes
    (not on a timeout nor when the socket disconnects first)."""
    start = time.perf_counter()

    def answered(answer: list[Any] | None) -> None:
        if answer is not None and socket.connected:
            seconds = time.perf_counter() - start
            for hook in socket.server.hooks.ack_received:
                hook(socket, seconds)
        callback(answer)

    return answered
