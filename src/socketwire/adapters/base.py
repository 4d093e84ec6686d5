"""The adapter interface.

The server reaches sockets only through an :class:`Adapter`: room membership, broadcasts
(with or without acknowledgements), and the cluster-wide operations (``fetch_sockets``,
``add_sockets``, ``del_sockets``, ``disconnect_sockets``, ``server_side_emit``). A cluster
adapter (Redis, ...) overrides the operations that must reach other servers and calls the
local ones for this server; every operation that may cross the network is ``async`` or
reports through callbacks, so it fits without changing the server.

Two entry points go the other way, from an adapter into the server: a server-side emit
received from another server goes to :meth:`Namespace.on_server_side_emit
<socketwire.server.namespace.Namespace.on_server_side_emit>`, and a local recipient of a
broadcast with acknowledgement is told to expect the answer with
:meth:`Socket.register_ack <socketwire.server.socket.Socket.register_ack>`. The server calls
:meth:`Adapter.init` for each namespace when it starts (or when the namespace is created
later) and :meth:`Adapter.close` when it shuts down.

Room events are announced to listeners registered with :meth:`Adapter.on`:
``create-room`` (room), ``delete-room`` (room), ``join-room`` (room, sid),
``leave-room`` (room, sid).

Connection state recovery stores sessions through :meth:`Adapter.persist_session` and
:meth:`Adapter.restore_session` (Node's ``persistSession`` / ``restoreSession``). The base
adapter stores nothing; an adapter that implements them (the in-memory
``SessionAwareAdapter``, the Redis streams adapter) also appends an offset to the packets its
``broadcast`` stores, when ``nsp.server.connection_state_recovery`` is set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypedDict

from ..protocol.sio import SioPacket

if TYPE_CHECKING:
    from ..server.namespace import Namespace
    from ..server.socket import Socket

__all__ = [
    "Adapter",
    "BroadcastFlags",
    "BroadcastOptions",
    "PersistedSession",
    "RestoredSession",
    "SocketDetails",
    "socket_details",
]


@dataclass(frozen=True, slots=True)
class BroadcastFlags:
    """Modifiers of a broadcast."""

    volatile: bool = False
    local: bool = False
    timeout: float | None = None
    compress: bool = True
    expect_single_response: bool = False  # RemoteSocket.emit with an ack: one answer, not a list


@dataclass(frozen=True, slots=True)
class BroadcastOptions:
    """Who a broadcast targets: sockets in any of ``rooms`` (all when empty), minus those in
    any of ``except_rooms``."""

    rooms: frozenset[str] = frozenset()
    except_rooms: frozenset[str] = frozenset()
    flags: BroadcastFlags = field(default_factory=BroadcastFlags)


@dataclass(slots=True)
class PersistedSession:
    """What connection state recovery keeps of a socket that dropped (Node's
    ``SessionToPersist``): its id, private session id, rooms and ``socket.data``."""

    sid: str
    pid: str
    rooms: list[str]
    data: Any


@dataclass(slots=True)
class RestoredSession(PersistedSession):
    """A session found again (Node's ``Session``), with the packets the socket missed.

    Each of ``missed_packets`` is the data array of an EVENT, offset last:
    ``[event, *args, offset]``, in the order they were broadcast.
    """

    missed_packets: list[list[Any]]


class SocketDetails(TypedDict):
    """A socket of another server, as a cluster carries it (Node's ``SocketDetails``):
    ``handshake`` is Node's handshake object (``headers``, ``time``, ``address``,
    ``xdomain``, ``secure``, ``issued``, ``url``, ``query``, ``auth``)."""

    id: str
    handshake: dict[str, Any]
    rooms: list[str]
    data: Any


def socket_details(socket: Socket) -> SocketDetails:
    """A local socket in the shape cluster adapters send it to other servers (the handshake
    as Node's, without a ``sessionStore``)."""
    hs = socket.handshake
    return {
        "id": socket.id,
        "handshake": {
            "headers": dict(hs.headers),
            "time": hs.time,
            "address": hs.address,
            "xdomain": hs.xdomain,
            "secure": hs.secure,
            "issued": hs.issued,
            "url": hs.url,
            "query": dict(hs.query),
            "auth": hs.auth,
        },
        "rooms": list(socket.rooms),
        "data": socket.data,
    }


class Adapter:
    """Base adapter: keeps this server's rooms; subclasses decide how broadcasts travel."""

    def __init__(self, nsp: Namespace) -> None:
        self.nsp = nsp
        self.rooms: dict[str, set[str]] = {}
        self.sids: dict[str, set[str]] = {}
        self._listeners: dict[str, list[Callable[..., None]]] = {}

    # ------------------------------------------------------------------ events

    def on(self, event: str, listener: Callable[..., None]) -> None:
        """Listen to room events: ``create-room``, ``delete-room``, ``join-room``,
        ``leave-room``."""
        self._listeners.setdefault(event, []).append(listener)

    def off(self, event: str, listener: Callable[..., None]) -> None:
        """Stop listening."""
        if listener in self._listeners.get(event, []):
            self._listeners[event].remove(listener)

    def _emit(self, event: str, *args: Any) -> None:
        for listener in self._listeners.get(event, ()):
            listener(*args)

    # ------------------------------------------------------------------- rooms

    async def init(self) -> None:
        """Start the adapter (subscribe to channels...). The server awaits it once per
        namespace when it starts, or runs it when a namespace is created later."""

    async def close(self) -> None:
        """Stop the adapter (the server is shutting down)."""

    def add_all(self, sid: str, rooms: Iterable[str]) -> None:
        """Put socket ``sid`` in ``rooms``."""
        mine = self.sids.get(sid)
        if mine is None:
            mine = self.sids[sid] = set()
        for room in rooms:
            if room in mine:
                continue
            mine.add(room)
            members = self.rooms.get(room)
            if members is None:
                members = self.rooms[room] = set()
                if self._listeners:
                    self._emit("create-room", room)
            members.add(sid)
            if self._listeners:
                self._emit("join-room", room, sid)

    def delete(self, sid: str, room: str) -> None:
        """Take socket ``sid`` out of ``room``."""
        mine = self.sids.get(sid)
        if mine is not None:
            mine.discard(room)
        self._leave_room(room, sid)

    def delete_all(self, sid: str) -> None:
        """Take socket ``sid`` out of every room."""
        mine = self.sids.pop(sid, None)
        if not mine:
            return
        for room in list(mine):
            self._leave_room(room, sid)

    def _leave_room(self, room: str, sid: str) -> None:
        members = self.rooms.get(room)
        if members is None or sid not in members:
            return
        members.discard(sid)
        if self._listeners:
            self._emit("leave-room", room, sid)
        if not members:
            del self.rooms[room]
            if self._listeners:
                self._emit("delete-room", room)

    def socket_rooms(self, sid: str) -> set[str] | None:
        """The rooms socket ``sid`` is in (``None`` when unknown)."""
        return self.sids.get(sid)

    def local_sids(self, opts: BroadcastOptions) -> list[str]:
        """The ids of this server's sockets that ``opts`` targets, each once."""
        excluded: set[str] = set()
        for room in opts.except_rooms:
            members = self.rooms.get(room)
            if members:
                excluded.update(members)
        if opts.rooms:
            seen: set[str] = set()
            out: list[str] = []
            for room in opts.rooms:
                for sid in self.rooms.get(room, ()):
                    if sid not in seen and sid not in excluded:
                        seen.add(sid)
                        out.append(sid)
            return out
        if not excluded:
            return list(self.sids)
        return [sid for sid in self.sids if sid not in excluded]

    def _notify_sent(self, sockets: Iterable[Socket], packet: SioPacket) -> None:
        """Tell the server's ``event_sent`` hooks that ``packet`` goes to ``sockets``
        (adapters call it for the local recipients of a broadcast)."""
        hooks = self.nsp.server.hooks.event_sent
        data = packet.data
        for socket in sockets:
            for hook in hooks:
                hook(socket, data)

    def local_sockets(self, opts: BroadcastOptions) -> list[Socket]:
        """This server's sockets that ``opts`` targets."""
        sockets = self.nsp.sockets
        return [sockets[sid] for sid in self.local_sids(opts) if sid in sockets]

    # --------------------------------------------------------------- broadcast

    def broadcast(self, packet: SioPacket, opts: BroadcastOptions) -> None:
        """Send ``packet`` to every targeted socket (encoded once)."""
        raise NotImplementedError

    def broadcast_with_ack(
        self,
        packet: SioPacket,
        opts: BroadcastOptions,
        on_count: Callable[[int], None],
        on_ack: Callable[[str, list[Any]], None],
    ) -> None:
        """Send ``packet`` expecting acks: ``on_count(n)`` reports how many clients were
        reached (possibly several times, once per server), ``on_ack(sid, args)`` each answer."""
        raise NotImplementedError

    # ------------------------------------------------------------ cluster-wide

    async def fetch_sockets(self, opts: BroadcastOptions) -> list[Socket | SocketDetails]:
        """The targeted sockets: ``Socket`` for this server's, :class:`SocketDetails` for
        other servers' (a cluster adapter raises :class:`~socketwire.ClusterTimeout` when
        some server does not answer in time)."""
        return list(self.local_sockets(opts))

    def add_sockets(self, opts: BroadcastOptions, rooms: Iterable[str]) -> None:
        """Make the targeted sockets join ``rooms``."""
        rooms = list(rooms)
        for socket in self.local_sockets(opts):
            socket.join(rooms)

    def del_sockets(self, opts: BroadcastOptions, rooms: Iterable[str]) -> None:
        """Make the targeted sockets leave ``rooms``."""
        rooms = list(rooms)
        for socket in self.local_sockets(opts):
            for room in rooms:
                socket.leave(room)

    def disconnect_sockets(self, opts: BroadcastOptions, close: bool) -> None:
        """Disconnect the targeted sockets (``close`` also closes their connections)."""
        for socket in self.local_sockets(opts):
            socket.disconnect(close)

    def server_side_emit(self, args: list[Any]) -> None:
        """Send ``[event, *args]`` to the other servers of the cluster (none for a single
        server); each calls its namespace's ``on_server_side_emit``."""

    async def server_side_emit_with_ack(self, args: list[Any], timeout: float) -> list[Any]:
        """Send ``[event, *args]`` to the other servers and return their answers, one per
        server; raises :class:`~socketwire.ClusterTimeout` (with the answers that came) when
        some do not answer within ``timeout`` seconds."""
        return []

    async def all_rooms(self) -> set[str]:
        """Every room of the namespace (across the cluster with a cluster adapter that
        supports it), socket-id rooms included, as Node's ``allRooms``."""
        return set(self.rooms)

    async def server_count(self) -> int:
        """How many servers share this adapter's channel."""
        return 1

    def known_server_count(self) -> int | None:
        """The server count when known without asking the network (``None`` otherwise)."""
        return 1

    # ---------------------------------------------------- connection state recovery

    async def persist_session(self, session: PersistedSession) -> None:
        """Keep ``session`` for a while, so that its client can recover it (the base adapter
        keeps nothing)."""

    async def restore_session(self, pid: str, offset: str) -> RestoredSession | None:
        """The session ``pid`` with every packet broadcast after ``offset`` that its rooms
        receive, or ``None`` (unknown, expired, or ``offset`` no longer known).

        ``offset`` is the last offset the client saw; ``""`` means it saw none (a socket that
        was never sent an event): the packets broadcast since the session was persisted.
        A session is restored at most once.
        """
        return None
