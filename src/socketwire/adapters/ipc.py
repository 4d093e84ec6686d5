"""The cluster of ``--workers``: the workers of one machine talk over Unix sockets, on the
cluster core (:class:`~socketwire.adapters.cluster.ClusterAdapterWithHeartbeat`), as Node's
``@socket.io/cluster-adapter`` does over the ``cluster`` module's IPC.

Each worker has a bus (:class:`IpcBus`): one listening Unix socket (bound by the parent, so
it outlives a worker that dies and is restarted) for what the others send it, and one
connection to each other worker for what it sends them. Frames are a 4-byte big-endian
length and one cluster message (:func:`~socketwire.protocol.cluster.encode_message`: JSON, or
msgpack when it holds binary). Messages go straight from worker to worker: the parent never
relays anything. A response goes to the worker its request came from; a worker whose
connection breaks is forgotten by every adapter at once (its requests stop waiting for it).
Connection state recovery is not shared between workers (as in Node).
"""

from __future__ import annotations

import asyncio
import logging
import socket
import struct
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Protocol

from ..protocol.cluster import ClusterMessage, MessageType, decode_message, encode_message
from .cluster import ClusterAdapterWithHeartbeat

if TYPE_CHECKING:
    from ..server.namespace import Namespace

__all__ = ["IpcAdapter", "IpcBus", "WorkerPeers", "create_ipc_adapter"]

log = logging.getLogger("socketwire.adapters.ipc")

_LEN = struct.Struct("!I")
MAX_FRAME = 256 * 1024 * 1024
MAX_QUEUED = 64 * 1024 * 1024  # bytes queued for a worker not connected yet
_RESPONSES = frozenset({MessageType.FETCH_SOCKETS_RESPONSE, MessageType.SERVER_SIDE_EMIT_RESPONSE,
                        MessageType.BROADCAST_CLIENT_COUNT, MessageType.BROADCAST_ACK})
PEERS_WAIT = 2.0  # seconds a starting adapter waits to hear from the other workers


class WorkerPeers(Protocol):
    """What the bus needs to know of the workers (``hosting.workers.WorkerInfo``)."""

    slot: int
    count: int
    bus_listener: socket.socket | None

    def bus_path(self, slot: int) -> str:
        """The Unix socket path of worker ``slot``'s bus."""


class _Outgoing(asyncio.Protocol):
    """This worker's connection to another worker's bus (written to; read only for EOF)."""

    def __init__(self, peer: _Peer) -> None:
        self.peer = peer

    def connection_lost(self, exc: Exception | None) -> None:
        self.peer.lost(self)

    def data_received(self, data: bytes) -> None:
        pass


class _Peer:
    """Another worker, as a destination: frames are queued until the connection is up."""

    def __init__(self, bus: IpcBus, slot: int) -> None:
        self.bus = bus
        self.slot = slot
        self.transport: asyncio.Transport | None = None
        self.protocol: _Outgoing | None = None
        self.queue: deque[bytes] = deque()
        self.queued = 0
        self.connecting: asyncio.Task[None] | None = None

    def write(self, frame: bytes) -> None:
        transport = self.transport
        if transport is not None and not transport.is_closing():
            transport.write(frame)
            return
        if self.queued + len(frame) > MAX_QUEUED:
            log.warning("worker %d: worker %d unreachable, message dropped", self.bus.slot,
                        self.slot)
            return
        self.queue.append(frame)
        self.queued += len(frame)
        if self.connecting is None and not self.bus.closed:
            self.connecting = asyncio.get_running_loop().create_task(self._connect())

    async def _connect(self) -> None:
        loop = asyncio.get_running_loop()
        try:
            for attempt in range(50):
                try:
                    transport, protocol = await loop.create_unix_connection(
                        lambda: _Outgoing(self), self.bus.peers.bus_path(self.slot))
                    break
                except OSError as exc:
                    if attempt == 49 or self.bus.closed:
                        log.warning("worker %d: cannot reach worker %d: %s", self.bus.slot,
                                    self.slot, exc)
                        self.queue.clear()
                        self.queued = 0
                        return
                    await asyncio.sleep(0.1)
            if self.bus.closed:
                transport.close()
                return
            self.transport = transport
            self.protocol = protocol
            transport.write(_LEN.pack(4) + _LEN.pack(self.bus.slot))  # hello: who we are
            while self.queue:
                transport.write(self.queue.popleft())
            self.queued = 0
        finally:
            self.connecting = None

    def lost(self, protocol: _Outgoing) -> None:
        if self.protocol is protocol:
            self.transport = None
            self.protocol = None

    def close(self) -> None:
        if self.connecting is not None:
            self.connecting.cancel()
        if self.transport is not None:
            self.transport.close()
        self.queue.clear()


class _Incoming(asyncio.Protocol):
    """Another worker's connection to this one: frames in."""

    def __init__(self, bus: IpcBus) -> None:
        self.bus = bus
        self.buffer = bytearray()
        self.slot: int | None = None
        self.transport: asyncio.BaseTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport
        self.bus.incoming.add(self)

    def connection_lost(self, exc: Exception | None) -> None:
        self.bus.incoming.discard(self)
        if self.slot is not None:
            self.bus.worker_gone(self.slot, self)

    def data_received(self, data: bytes) -> None:
        buffer = self.buffer
        buffer += data
        offset = 0
        size = len(buffer)
        while size - offset >= 4:
            (length,) = _LEN.unpack_from(buffer, offset)
            if length > MAX_FRAME:
                log.warning("worker %d: oversized frame from worker %s: connection dropped",
                            self.bus.slot, self.slot)
                if self.transport is not None:
                    self.transport.close()
                return
            if size - offset - 4 < length:
                break
            frame = bytes(buffer[offset + 4:offset + 4 + length])
            offset += 4 + length
            if self.slot is None:
                if length == 4:
                    (self.slot,) = _LEN.unpack(frame)
                    self.bus.worker_seen(self.slot, self)
                continue
            if self.bus.deliver(self.slot, frame) and size - offset >= 4:
                # a response woke a request up: what the worker sent after it is handled
                # after the requester's code resumed, in the order it was sent
                rest = bytes(buffer[offset:])
                buffer.clear()
                asyncio.get_running_loop().call_soon(self.data_received, rest)
                return
        if offset:
            del buffer[:offset]


class IpcBus:
    """One worker's end of the workers' mesh, shared by the adapters of all its namespaces."""

    def __init__(self, peers: WorkerPeers) -> None:
        self.peers = peers
        self.slot = peers.slot
        self.closed = False
        self.adapters: dict[str, IpcAdapter] = {}
        self.incoming: set[_Incoming] = set()
        self._links: dict[int, _Incoming] = {}  # slot -> its current connection to us
        self._out: dict[int, _Peer] = {}
        self._uids: dict[str, int] = {}  # adapter uid -> the slot it lives in
        self._server: asyncio.base_events.Server | None = None
        self._starting: asyncio.Future[None] | None = None
        self.users = 0
        self.sent = 0
        self.received = 0

    # ------------------------------------------------------------ lifecycle

    async def start(self) -> None:
        """Listen on this worker's socket (idempotent; refcounted with :meth:`stop`)."""
        self.users += 1
        if self._server is not None or self.peers.bus_listener is None:
            return
        loop = asyncio.get_running_loop()
        self._server = await loop.create_unix_server(lambda: _Incoming(self),
                                                     sock=self.peers.bus_listener)

    async def stop(self) -> None:
        """Stop when the last adapter is done."""
        self.users -= 1
        if self.users > 0:
            return
        self.closed = True
        for peer in self._out.values():
            peer.close()
        for link in list(self.incoming):
            if link.transport is not None:
                link.transport.close()
        if self._server is not None:
            self._server.close()
            self._server = None

    # ---------------------------------------------------------------- send

    def _peer(self, slot: int) -> _Peer:
        peer = self._out.get(slot)
        if peer is None:
            peer = self._out[slot] = _Peer(self, slot)
        return peer

    def send(self, payload: bytes, to_uid: str | None = None) -> None:
        """Send a frame to every other worker, or to the one where adapter ``to_uid`` lives."""
        frame = _LEN.pack(len(payload)) + payload
        slot = self._uids.get(to_uid) if to_uid is not None else None
        if slot is not None:
            self._peer(slot).write(frame)
            self.sent += 1
            return
        for other in range(self.peers.count):
            if other != self.slot:
                self._peer(other).write(frame)
                self.sent += 1

    # -------------------------------------------------------------- receive

    def worker_seen(self, slot: int, link: _Incoming) -> None:
        """Worker ``slot`` connected to us (its first frame named it)."""
        old = self._links.get(slot)
        if old is not None and old is not link:
            self._forget(slot)  # the worker was restarted: its predecessor is gone
        self._links[slot] = link

    def worker_gone(self, slot: int, link: _Incoming) -> None:
        """A worker's connection ended: it died or stopped; forget its adapters."""
        if self._links.get(slot) is link:
            del self._links[slot]
            self._forget(slot)

    def _forget(self, slot: int) -> None:
        gone = [uid for uid, where in self._uids.items() if where == slot]
        for uid in gone:
            del self._uids[uid]
            for adapter in list(self.adapters.values()):
                adapter.node_gone(uid)
        # what we send it next goes to its restarted successor, over a new connection
        peer = self._out.get(slot)
        if peer is not None and peer.transport is not None:
            peer.transport.close()
            peer.transport = None
            peer.protocol = None

    def deliver(self, slot: int, frame: bytes) -> bool:
        """Hand a frame to its namespace's adapter; tell whether it was a response."""
        self.received += 1
        try:
            message = decode_message(frame)
        except Exception as exc:
            log.debug("worker %d: undecodable frame from worker %d: %s", self.slot, slot, exc)
            return False
        uid = message.get("uid")
        if isinstance(uid, str):
            self._uids[uid] = slot
        adapter = self.adapters.get(str(message.get("nsp")))
        if adapter is not None:
            adapter.on_message(message)
        return message.get("type") in _RESPONSES


class IpcAdapter(ClusterAdapterWithHeartbeat):
    """A namespace's adapter in a worker of ``--workers``: the cluster core over the
    workers' Unix sockets (made by :func:`create_ipc_adapter`)."""

    def __init__(self, nsp: Namespace, bus: IpcBus, **kwargs: Any) -> None:
        super().__init__(nsp, **kwargs)
        self.bus = bus

    async def init(self) -> None:
        """Join the bus, announce this worker, and wait a moment to hear from the others
        (so a request made at once counts every worker)."""
        self.bus.adapters[self.nsp.name] = self
        await self.bus.start()
        await super().init()
        expected = self.bus.peers.count - 1
        loop = asyncio.get_running_loop()
        deadline = loop.time() + PEERS_WAIT
        while len(self.nodes) < expected and loop.time() < deadline:
            await asyncio.sleep(0.01)

    async def close(self) -> None:
        """Say goodbye, then leave the bus."""
        await super().close()
        if self.bus.adapters.get(self.nsp.name) is self:
            del self.bus.adapters[self.nsp.name]
        await self.bus.stop()

    def do_publish(self, message: ClusterMessage) -> None:
        """Send to every other worker."""
        self.bus.send(encode_message(message))

    def do_publish_response(self, requester_uid: str, response: ClusterMessage) -> None:
        """Send to the worker of ``requester_uid``."""
        self.bus.send(encode_message(response), requester_uid)

    def node_gone(self, uid: str) -> None:
        """The worker of adapter ``uid`` is gone: stop counting and waiting for it."""
        if uid in self.nodes:
            self._remove_node(uid)


def create_ipc_adapter(peers: WorkerPeers, **kwargs: Any) -> Callable[[Namespace], IpcAdapter]:
    """An adapter factory for the workers of ``--workers`` (one bus per worker process);
    ``kwargs`` go to :class:`ClusterAdapterWithHeartbeat` (``heartbeat_interval``...)."""
    bus = IpcBus(peers)

    def factory(nsp: Namespace) -> IpcAdapter:
        return IpcAdapter(nsp, bus, **kwargs)

    return factory
