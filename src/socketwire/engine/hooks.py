"""Server-wide Engine.IO listeners, for instrumentation (the admin UI, metrics...).

Every list starts empty; the engine checks a list before calling into it, so an unused hook
costs one truthiness test on the paths it sits on.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .session import EngineSession

__all__ = ["BatchLog", "EngineHooks", "PacketLog"]


@dataclass(slots=True)
class EngineHooks:
    """Listeners called by the engine for every session.

    - ``connection(session)``: a session was opened (after its OPEN packet was sent).
    - ``close(session, reason)``: a session closed; ``reason`` is Node's (``transport close``,
      ``ping timeout``, ``forced close``...).
    - ``upgrade(session)``: a polling session now uses its WebSocket.
    - ``upgrade_failed(session)``: an upgrade was abandoned (timeout, bad probe, the WebSocket
      or the session closed first); polling goes on.
    - ``overflow(session)``: the session is being closed because its unsent data passed
      ``max_buffered_bytes`` (a slow consumer).
    - ``packet_in(session, data)``: the payload of a MESSAGE packet received (``str`` or
      ``bytes``, without the packet type).
    - ``packet_out(session, packets)``: encoded Engine.IO packets handed to the transport (text
      packets start with their type digit; ``bytes`` are binary messages). Pings are included.

    - ``packet_log``: a :class:`PacketLog` the engine records every packet in, without a call
      per packet (``None``: none).

    Listeners run synchronously on the event loop and must not raise.
    """

    connection: list[Callable[[EngineSession], None]] = field(default_factory=list)
    close: list[Callable[[EngineSession, str], None]] = field(default_factory=list)
    upgrade: list[Callable[[EngineSession], None]] = field(default_factory=list)
    upgrade_failed: list[Callable[[EngineSession], None]] = field(default_factory=list)
    overflow: list[Callable[[EngineSession], None]] = field(default_factory=list)
    packet_in: list[Callable[[EngineSession, str | bytes], None]] = field(default_factory=list)
    packet_out: list[Callable[[EngineSession, Sequence[str | bytes]], None]] = field(
        default_factory=list
    )
    packet_log: PacketLog | None = None


class BatchLog:
    """What a counting listener is told in bulk: the recorder appends to plain lists, and
    :meth:`flush` (a subclass's) hands them over ``delay`` seconds after a batch began
    (``loop.call_later``) or when called before the figures are read."""

    __slots__ = ("delay", "pending")

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.pending = False  # a flush is scheduled (recorders check it before waking)

    def wake(self) -> None:
        """Schedule the flush of the batch that just started (called on the event loop)."""
        if self.pending:
            return
        self.pending = True
        try:
            asyncio.get_running_loop().call_later(self.delay, self.flush)
        except RuntimeError:  # no running loop (a synchronous caller): hand it over at once
            self.flush()

    def flush(self) -> None:
        """Hand what was recorded to the owner now."""
        raise NotImplementedError


class PacketLog(BatchLog):
    """The packets of every session, recorded in bulk for a listener that only counts them.

    Where ``packet_in`` / ``packet_out`` cost a listener call per packet, the engine appends
    to two plain lists here (``incoming``: MESSAGE payloads as ``packet_in`` gets them;
    ``outgoing``: encoded packets, one entry per recipient, as ``packet_out`` gets them) and
    the owner's ``take(incoming, outgoing)`` gets them a batch at a time: ``delay`` seconds
    after the first packet of a batch (``loop.call_later``), or when :meth:`flush` is called
    (before the figures are read). A batch holds its packets for that long at most.
    ``socketwire.metrics`` uses it; install one as ``engine.hooks.packet_log``.
    """

    __slots__ = ("_take", "incoming", "outgoing")

    def __init__(self, take: Callable[[list[str | bytes], list[str | bytes]], None],
                 delay: float = 0.02) -> None:
        super().__init__(delay)
        self._take = take
        self.incoming: list[str | bytes] = []
        self.outgoing: list[str | bytes] = []

    def flush(self) -> None:
        """Hand the recorded packets to the owner now."""
        self.pending = False
        incoming, outgoing = self.incoming, self.outgoing
        if not incoming and not outgoing:
            return
        self.incoming, self.outgoing = [], []
        self._take(incoming, outgoing)
