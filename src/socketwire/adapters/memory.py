"""The in-memory adapter: one server, rooms in dicts, each broadcast encoded once."""

from __future__ import annotations

import functools
import secrets
import time
from collections import deque
from collections.abc import Callable, Coroutine
from typing import TYPE_CHECKING, Any

from ..engine.http import PreparedMessage
from ..handlers import call_handler
from ..protocol.parser import JSON, Parser
from ..protocol.sio import SioPacket, SioType
from .base import Adapter, BroadcastOptions, PersistedSession, RestoredSession

if TYPE_CHECKING:
    from ..server.namespace import Namespace
    from ..server.socket import Socket

__all__ = ["InMemoryAdapter", "SessionAwareAdapter", "prepare"]


def prepare(packet: SioPacket, parser: Parser = JSON) -> PreparedMessage:
    """Encode a Socket.IO packet once into Engine.IO packets ready for every recipient
    (with the server's parser: ``prepare(packet, nsp.server.parser)``)."""
    return PreparedMessage(parser.encode(packet))


class InMemoryAdapter(Adapter):
    """The default adapter, for a single server process."""

    def broadcast(self, packet: SioPacket, opts: BroadcastOptions) -> None:
        """Encode once, then write the same bytes to every targeted socket."""
        sockets = self.local_sockets(opts)
        if not sockets:
            return
        if self.nsp.server.hooks.event_sent:
            self._notify_sent(sockets, packet)
        message = prepare(packet, self.nsp.server.parser)
        if self.nsp._outgoing_watchers:  # once per broadcast: most namespaces have none
            _send_watched(sockets, packet, message, opts.flags.volatile)
        elif opts.flags.volatile:
            for socket in sockets:
                session = socket.conn
                if session.writable:
                    session.send_prepared(message)
        else:
            for socket in sockets:
                socket.conn.send_prepared(message)

    def broadcast_with_ack(
        self,
        packet: SioPacket,
        opts: BroadcastOptions,
        on_count: Callable[[int], None],
        on_ack: Callable[[str, list[Any]], None],
    ) -> None:
        """Broadcast with one shared ack id; every recipient's answer goes to ``on_ack``."""
        sockets = self.local_sockets(opts)
        on_count(len(sockets))
        if not sockets:
            return
        if self.nsp.server.hooks.event_sent:
            self._notify_sent(sockets, packet)
        message = prepare(packet, self.nsp.server.parser)
        assert packet.id is not None
        watched = self.nsp._outgoing_watchers
        for socket in sockets:
            socket.register_ack(packet.id, functools.partial(on_ack, socket.id))
            if watched and socket._any_outgoing:
                _notify_outgoing(socket, packet.data)
            socket.conn.send_prepared(message)


def _notify_outgoing(socket: Socket, data: list[Any]) -> None:
    """Call ``socket``'s onAnyOutgoing listeners with a packet's ``[event, *args]``."""
    for handler in socket._any_outgoing:
        call_handler(handler, data)


def _send_watched(sockets: list[Socket], packet: SioPacket, message: PreparedMessage,
                  volatile: bool) -> None:
    """The broadcast loop when some socket has onAnyOutgoing listeners: as Node, each
    recipient's listeners are called (volatile ones too), then its copy is written."""
    for socket in sockets:
        if socket._any_outgoing:
            _notify_outgoing(socket, packet.data)
        session = socket.conn
        if not volatile or session.writable:
            session.send_prepared(message)


class SessionAwareAdapter(InMemoryAdapter):
    """The in-memory adapter with connection state recovery (Node's ``SessionAwareAdapter``).

    Every EVENT it broadcasts without ack id and not volatile gets an offset appended to its
    data and is kept for ``max_disconnection_duration``; sessions persisted when a socket
    drops are kept as long. Both are purged by time, as they age out (no timer).
    """

    def __init__(self, nsp: Namespace) -> None:
        super().__init__(nsp)
        settings = nsp.server.connection_state_recovery
        self.max_disconnection_duration = (
            settings.max_disconnection_duration if settings is not None else 120.0
        )
        # offsets are "<prefix>.<sequence in hex>": the prefix tells this adapter's offsets
        # from those of an earlier process, the sequence finds the packet at once
        self._prefix = f"{int(time.time() * 1000):x}{secrets.token_hex(2)}"
        self._packets: deque[_StoredPacket] = deque()
        self._next_seq = 0  # sequence number of the next stored packet
        self._sessions: dict[str, tuple[PersistedSession, float, int]] = {}
        self._sessions_purged = time.monotonic()

    def broadcast(self, packet: SioPacket, opts: BroadcastOptions) -> None:
        """Store and number the packet when it can be replayed, then broadcast it."""
        if packet.type is SioType.EVENT and packet.id is None and not opts.flags.volatile:
            now = time.monotonic()
            seq = self._next_seq
            self._next_seq = seq + 1
            packet.data.append(f"{self._prefix}.{seq:x}")
            packets = self._packets
            packets.append(_StoredPacket(now, opts, packet.data))
            limit = now - self.max_disconnection_duration
            while packets[0].emitted_at < limit:
                packets.popleft()
        super().broadcast(packet, opts)

    def persist_session(self, session: PersistedSession) -> Coroutine[Any, Any, None]:
        """Keep ``session`` for ``max_disconnection_duration`` seconds.

        Kept at once, when called (the coroutine returned does nothing more): what is
        emitted to the socket right after it dropped, before the coroutine runs, is replayed.
        """
        now = time.monotonic()
        if now - self._sessions_purged > 10.0:
            self._sessions_purged = now
            limit = now - self.max_disconnection_duration
            for pid in [p for p, (_, at, _) in self._sessions.items() if at < limit]:
                del self._sessions[pid]
        self._sessions[session.pid] = (session, now, self._next_seq)
        return _kept()

    async def restore_session(self, pid: str, offset: str) -> RestoredSession | None:
        """The session ``pid`` and the packets its rooms got after ``offset`` (``""``: after
        it was persisted); ``None`` if unknown, expired, or the offset is no longer kept."""
        entry = self._sessions.pop(pid, None)
        if entry is None:
            return None
        session, persisted_at, seq_at_persist = entry
        if time.monotonic() - persisted_at > self.max_disconnection_duration:
            return None
        first = self._next_seq - len(self._packets)  # sequence number of _packets[0]
        if offset:
            prefix, _, seq_text = offset.rpartition(".")
            try:
                seq = int(seq_text, 16)
            except ValueError:
                return None
            if prefix != self._prefix or not first <= seq < self._next_seq:
                return None  # not ours, or too old
            start = seq + 1
        else:
            start = seq_at_persist
            if start < first:
                return None  # packets since the drop were already purged
        rooms = session.rooms
        missed: list[list[Any]] = []
        packets = self._packets
        for i in range(start - first, len(packets)):
            stored = packets[i]
            if _includes(rooms, stored.opts):
                missed.append(stored.data)
        return RestoredSession(session.sid, session.pid, list(rooms), session.data, missed)


async def _kept() -> None:
    """What ``persist_session`` returns: the session is already kept."""


class _StoredPacket:
    __slots__ = ("data", "emitted_at", "opts")

    def __init__(self, emitted_at: float, opts: BroadcastOptions, data: list[Any]) -> None:
        self.emitted_at = emitted_at
        self.opts = opts
        self.data = data


def _includes(rooms: list[str], opts: BroadcastOptions) -> bool:
    """Whether a socket in ``rooms`` was targeted by a broadcast with ``opts``."""
    if opts.rooms and not any(room in opts.rooms for room in rooms):
        return False
    return not any(room in opts.except_rooms for room in rooms)
