"""RemoteSocket: a socket of another server of the cluster, as ``fetch_sockets`` returns it."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from ..adapters.base import BroadcastFlags, BroadcastOptions, SocketDetails
from .broadcast import BroadcastOperator
from .socket import Handshake

if TYPE_CHECKING:
    from .namespace import Namespace

__all__ = ["RemoteSocket"]


class RemoteSocket:
    """A socket connected to another server (Node's ``RemoteSocket``).

    ``id``, ``handshake``, ``rooms`` and ``data`` are a snapshot taken when it was fetched;
    ``emit``, ``join``, ``leave`` and ``disconnect`` travel through the adapter to the
    server that holds the socket, as a broadcast to the socket's own room.
    """

    __slots__ = ("_operator", "data", "handshake", "id", "nsp", "rooms")

    def __init__(self, nsp: Namespace, details: SocketDetails) -> None:
        self.nsp = nsp
        self.id: str = str(details.get("id", ""))
        self.handshake = Handshake.from_details(details.get("handshake"))
        rooms = details.get("rooms")
        self.rooms: set[str] = {r for r in rooms if isinstance(r, str)} if isinstance(
            rooms, list) else set()
        self.data: Any = details.get("data")
        self._operator = BroadcastOperator(nsp, BroadcastOptions(
            rooms=frozenset([self.id]), flags=BroadcastFlags(expect_single_response=True)))

    def __repr__(self) -> str:
        return f"<RemoteSocket {self.id} {self.nsp.name}>"

    def emit(self, event: str, *args: Any, callback: Callable[..., Any] | None = None) -> None:
        """Send ``event`` to this client; with ``callback`` (set a :meth:`timeout`),
        ``callback(err, answer)`` gets its ack."""
        self._operator.emit(event, *args, callback=callback)

    def timeout(self, seconds: float) -> BroadcastOperator:
        """Emit with a deadline: ``await remote.timeout(5).emit_with_ack("ev")`` returns the
        client's answer or raises :class:`~socketwire.server.broadcast.BroadcastAckTimeout`."""
        return self._operator.timeout(seconds)

    def join(self, rooms: str | Iterable[str]) -> None:
        """Make the socket join one room or several, on its server."""
        self._operator.sockets_join(rooms)

    def leave(self, room: str) -> None:
        """Make the socket leave ``room``, on its server."""
        self._operator.sockets_leave(room)

    def disconnect(self, close: bool = False) -> RemoteSocket:
        """Disconnect the socket (``close`` also closes its whole connection)."""
        self._operator.disconnect_sockets(close)
        return self
