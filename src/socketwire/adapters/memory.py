"""The in-memory adapter: one server, rooms in dicts, each broadcast encoded once."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from ..engine.http import PreparedMessage
from ..protocol.sio import SioPacket, encode_packet
from .base import Adapter, BroadcastOptions

__all__ = ["InMemoryAdapter", "prepare"]


def prepare(packet: SioPacket) -> PreparedMessage:
    """Encode a Socket.IO packet once into Engine.IO packets ready for every recipient."""
    parts = encode_packet(packet)
    parts[0] = "4" + parts[0]  # type: ignore[operator]
    return PreparedMessage(parts)


class InMemoryAdapter(Adapter):
    """The default adapter, for a single server process."""

    def broadcast(self, packet: SioPacket, opts: BroadcastOptions) -> None:
        """Encode once, then write the same bytes to every targeted socket."""
        sockets = self.local_sockets(opts)
        if not sockets:
            return
        if self.nsp.server.hooks.event_sent:
            self._notify_sent(sockets, packet)
        message = prepare(packet)
        if opts.flags.volatile:
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
        message = prepare(packet)
        assert packet.id is not None
        for socket in sockets:
            socket.register_ack(packet.id, functools.partial(on_ack, socket.id))
            socket.conn.send_prepared(message)
