"""Server-wide Engine.IO listeners, for instrumentation (the admin UI, metrics...).

Every list starts empty; the engine checks a list before calling into it, so an unused hook
costs one truthiness test on the paths it sits on.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .http import PreparedMessage
    from .session import EngineSession

__all__ = ["EngineHooks", "PacketCounter", "sent_kind"]


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

    - ``packet_counter``: a :class:`PacketCounter` the engine counts every packet in, without
      a call per packet (``None``: none).

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
    packet_counter: PacketCounter | None = None


class PacketCounter:
    """Packets and bytes by kind, counted by the engine as they pass, for a listener that only
    counts them: no listener call and nothing kept per packet (holding each packet for a
    batch to count later costs a busy server more than counting it: the memory of every
    packet stays in use instead of being reused at once).

    Kinds: a MESSAGE payload received is keyed by its first character (its Socket.IO type,
    ``"2"`` an event), an encoded packet sent by its first two characters when it is a
    MESSAGE (``"42"``) and by its type digit otherwise (``"2"`` a ping); binary messages by
    ``"b"``. Sizes are UTF-8 bytes, the type digit of text packets received included,
    transport framing not.

    The engine counts a run of ASCII text packets of one kind inline (a test of the kind and
    two additions, on ``in_*`` for packets received and ``out_*`` for packets sent), a run of
    one broadcast's copies on ``message`` / ``message_n``, pings on ``pings``; any other
    packet goes through :meth:`count_received` / :meth:`count_sent` / :meth:`count_prepared`.
    :meth:`received` and :meth:`sent` add the runs up and return the totals. Everything runs
    on the event loop's thread. Install one as ``engine.hooks.packet_counter``
    (``socketwire.metrics`` does).
    """

    __slots__ = ("_received", "_sent", "in_chars", "in_key", "in_n", "message", "message_n",
                 "out_chars", "out_key", "out_n", "pings")

    def __init__(self) -> None:
        self._received: dict[str, list[int]] = {}  # kind: [packets, bytes]
        self._sent: dict[str, list[int]] = {}
        self.in_key: str | None = None  # the kind of the current run (None: no run yet)
        self.in_n = 0
        self.in_chars = 0  # characters of the run's payloads (ASCII: bytes), type digit not
        self.out_key: str | None = None  # first two characters of the run's packets
        self.out_n = 0
        self.out_chars = 0
        self.message: PreparedMessage | None = None
        self.message_n = 0
        self.pings = 0

    def count_received(self, data: str | bytes) -> None:
        """Count a MESSAGE payload received that the inline run did not take (another kind
        starts a run; non-ASCII and binary ones are counted at once)."""
        if type(data) is str:
            if data.isascii():
                self._fold_received()
                self.in_key, self.in_n, self.in_chars = data[:1], 1, len(data)
                return
            _add(self._received, data[:1], 1, len(data.encode("utf-8", "surrogatepass")) + 1)
        else:
            _add(self._received, "b", 1, len(data))

    def count_sent(self, packet: str | bytes) -> None:
        """Count an encoded packet sent that the inline run did not take."""
        if type(packet) is str and packet.isascii():
            self._fold_sent()
            self.out_key, self.out_n, self.out_chars = packet[:2], 1, len(packet)
            return
        key, size = sent_kind(packet)
        _add(self._sent, key, 1, size)

    def count_prepared(self, message: PreparedMessage) -> None:
        """Count a copy of a broadcast's message other than the run's."""
        self._fold_message()
        self.message, self.message_n = message, 1

    def received(self) -> dict[str, tuple[int, int]]:
        """``{kind: (packets, bytes)}`` received so far."""
        self._fold_received()
        return {k: (v[0], v[1]) for k, v in self._received.items()}

    def sent(self) -> dict[str, tuple[int, int]]:
        """``{kind: (packets, bytes)}`` sent so far."""
        self._fold_sent()
        self._fold_message()
        if self.pings:
            _add(self._sent, "2", self.pings, self.pings)  # "2": one byte each
            self.pings = 0
        return {k: (v[0], v[1]) for k, v in self._sent.items()}

    def _fold_received(self) -> None:
        if self.in_n:
            assert self.in_key is not None
            _add(self._received, self.in_key, self.in_n, self.in_chars + self.in_n)
            self.in_n = self.in_chars = 0

    def _fold_sent(self) -> None:
        if self.out_n:
            assert self.out_key is not None
            key = self.out_key if self.out_key[:1] == "4" else self.out_key[:1]
            _add(self._sent, key, self.out_n, self.out_chars)
            self.out_n = self.out_chars = 0

    def _fold_message(self) -> None:
        if self.message_n:
            assert self.message is not None
            for packet in self.message.packets:
                key, size = sent_kind(packet)
                _add(self._sent, key, self.message_n, size * self.message_n)
            self.message_n = 0


def sent_kind(packet: str | bytes) -> tuple[str, int]:
    """The kind (as :class:`PacketCounter` keys packets sent) and UTF-8 size of a packet."""
    if type(packet) is str:
        key = packet[:2] if packet[:1] == "4" else packet[:1]
        if packet.isascii():
            return key, len(packet)
        return key, len(packet.encode("utf-8", "surrogatepass"))
    return "b", len(packet)


def _add(table: dict[str, list[int]], key: str, n: int, size: int) -> None:
    entry = table.get(key)
    if entry is None:
        table[key] = [n, size]
    else:
        entry[0] += n
        entry[1] += size
