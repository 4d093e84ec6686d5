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

if TYPE_CHECKING:
    from ..adapters.base import BroadcastOptions
    from .namespace import Namespace
    from .socket import Socket

__all__ = ["HandlerTally", "ServerHooks", "handler_failed", "report_task", "timed_ack"]


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
    - ``handler_tally``: a :class:`HandlerTally` the server counts what ``handler_done`` tells
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
    handler_tally: HandlerTally | None = None


class HandlerTally:
    """Event handler runs tallied as they end, for a listener that aggregates them: no
    listener call and nothing kept per call.

    ``Socket._dispatch`` counts inline a run of calls of one event that ran inline, did not
    fail and took less than ``limit`` seconds each (``fast`` calls, ``total`` seconds, of
    ``event``); any other call goes to :meth:`record` (coroutine handlers too, when their
    task ends). The owner gets a run as ``runs(event, calls, seconds)`` (:meth:`fold`, also
    called when the event changes) and every other call as ``other(event, seconds, ok)``.
    Call :meth:`fold` before reading the owner's figures, on the event loop's thread.
    ``socketwire.metrics`` installs one as ``io.hooks.handler_tally``, with ``limit`` its
    histograms' first bound (a run's calls all fall in that bucket).
    """

    __slots__ = ("_other", "_runs", "event", "fast", "limit", "total")

    def __init__(self, runs: Callable[[str, int, float], None],
                 other: Callable[[str, float, bool], None], limit: float) -> None:
        self._runs = runs
        self._other = other
        self.limit = limit
        self.event: str | None = None
        self.fast = 0
        self.total = 0.0

    def record(self, event: str, seconds: float, ok: bool) -> None:
        """Count one handler's run."""
        if ok and seconds < self.limit and type(event) is str:
            if event != self.event:
                self.fold()
                self.event = event
            self.fast += 1
            self.total += seconds
        else:
            self._other(event, seconds, ok)

    def fold(self) -> None:
        """Hand the current run to the owner."""
        if self.fast:
            assert self.event is not None
            self._runs(self.event, self.fast, self.total)
            self.fast = 0
            self.total = 0.0


# Helpers for the paths that call ``handler_done`` and ``ack_received``, only taken when
# a listener is registered.

def handler_failed(socket: Socket, event: str, seconds: float) -> None:
    """Tell the ``handler_done`` listeners and ``handler_tally`` that a handler ran inline for
    ``seconds`` and failed."""
    hooks = socket.server.hooks
    for hook in hooks.handler_done:
        hook(socket, event, seconds, False)
    if hooks.handler_tally is not None:
        hooks.handler_tally.record(event, seconds, False)


def report_task(socket: Socket, event: str, start: float, task: asyncio.Task[Any]) -> None:
    """Call the ``handler_done`` listeners (and count in ``handler_tally``) when the task of a
    coroutine handler called at ``start`` (``time.perf_counter()``) ends."""
    def done(task: asyncio.Task[Any]) -> None:
        seconds = time.perf_counter() - start
        ok = not task.cancelled() and task.exception() is None and task.result() is not False
        hooks = socket.server.hooks
        for hook in hooks.handler_done:
            hook(socket, event, seconds, ok)
        if hooks.handler_tally is not None:
            hooks.handler_tally.record(event, seconds, ok)

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
