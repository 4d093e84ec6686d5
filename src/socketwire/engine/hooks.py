"""Server-wide Engine.IO listeners, for instrumentation (the admin UI, metrics...).

Every list starts empty; the engine checks a list before calling into it, so an unused hook
costs one truthiness test on the paths it sits on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .session import EngineSession

__all__ = ["EngineHooks"]


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
