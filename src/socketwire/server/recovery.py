"""Connection state recovery settings (socket.io 4.6+'s ``connectionStateRecovery``)."""

from __future__ import annotations

from dataclasses import dataclass

from ..protocol.reasons import Reason

__all__ = ["RECOVERABLE_REASONS", "ConnectionStateRecovery"]

# the disconnection reasons after which, as in Node, a socket's session is kept for recovery
RECOVERABLE_REASONS = frozenset({
    Reason.TRANSPORT_ERROR,
    Reason.TRANSPORT_CLOSE,
    Reason.FORCED_CLOSE,
    Reason.PING_TIMEOUT,
    Reason.SERVER_SHUTTING_DOWN,
    Reason.FORCED_SERVER_CLOSE,
})


@dataclass(frozen=True, slots=True)
class ConnectionStateRecovery:
    """Let clients that lost their connection get their session back.

    A client that reconnects within ``max_disconnection_duration`` seconds keeps its socket
    id, rooms and ``socket.data`` and receives the events it missed, before ``connect``.
    With ``skip_middlewares`` (Node's default) a recovered socket skips the connection
    middlewares. ``Server(connection_state_recovery=True)`` uses these defaults.

    As in Node, what is emitted to the dropped socket meanwhile is replayed too: broadcasts
    to its rooms, and ``socket.emit`` on the old ``Socket`` object (even from its
    ``disconnect`` handler); never volatile emits nor emits expecting an ack.
    """

    max_disconnection_duration: float = 120.0
    skip_middlewares: bool = True
