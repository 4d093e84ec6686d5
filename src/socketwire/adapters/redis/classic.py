"""The classic Redis adapter, wire-compatible with Node's ``@socket.io/redis-adapter`` 8
(``createAdapter``): socketwire and Node socket.io servers can share one Redis and form one
cluster.

``Server(adapter=create_adapter("redis://127.0.0.1:6379/0"))``. Every namespace of the server
shares one :class:`~socketwire.adapters.redis.connection.RedisConnection`. What travels, and
on which channel, is in :mod:`socketwire.protocol.redis_classic`.

As in Node:

- a broadcast is delivered to this server's sockets directly and published once for the
  others (not at all with the ``local`` flag); a broadcast to exactly one room goes to that
  room's channel, and servers without the room drop it unread;
- ``sockets_join`` / ``sockets_leave`` / ``disconnect_sockets`` are only published: this server
  applies them when Redis delivers its own message back (so the order is the same on every
  server). When Redis is down they are applied here at once instead;
- ``fetch_sockets``, ``all_rooms`` and ``server_side_emit_with_ack`` ask the other servers and
  wait for as many answers as ``PUBSUB NUMSUB`` counts servers, at most ``request_timeout``
  seconds (the ``timeout`` flag for ``fetch_sockets`` and broadcasts with acks); then they raise
  :class:`~socketwire.ClusterTimeout` with Node's message. When Redis is unreachable they raise
  it at once, saying so;
- broadcasts with acks count the clients of every server (``BROADCAST_CLIENT_COUNT``) and
  gather the first argument of each client's answer;
- connection state recovery is not supported by this adapter (as in Node): use the streams
  adapter for it.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import logging
import weakref
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, cast

from ...exceptions import ClusterTimeout
from ...protocol import redis_classic as wire
from ...protocol.redis_classic import RequestType
from ...protocol.sio import SioPacket, SioType
from ..base import Adapter, BroadcastFlags, BroadcastOptions, SocketDetails, socket_details
from ..memory import InMemoryAdapter
from .connection import RedisConnection, RedisUnavailable

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.cluster import RedisCluster

    from ...server.namespace import Namespace
    from ...server.server import Server
    from ...server.socket import Socket

__all__ = ["RedisAdapter", "create_adapter"]

log = logging.getLogger("socketwire.adapters.redis")


def create_adapter(
    url_or_client: str | Redis | RedisCluster,
    *,
    key: str = "socket.io",
    request_timeout: float = 5.0,
    publish_on_specific_response_channel: bool = False,
) -> Callable[[Namespace], Adapter]:
    """The classic Redis adapter for ``Server(adapter=...)``.

    ``url_or_client``: a ``redis://`` URL (``redis+cluster://`` for a Redis Cluster) or a
    redis-py asyncio client (kept open when the server stops). ``key`` is Node's ``key``
    option (the channel prefix), ``request_timeout`` its ``requestsTimeout`` in seconds, and
    ``publish_on_specific_response_channel`` its option of that name (answers go to the
    requester's own channel). One call per ``Server``: its namespaces share the connections.
    """
    connections: weakref.WeakKeyDictionary[Server, RedisConnection] = weakref.WeakKeyDictionary()

    def factory(nsp: Namespace) -> Adapter:
        conn = connections.get(nsp.server)
        if conn is None:
            conn = connections[nsp.server] = RedisConnection(url_or_client)
        return RedisAdapter(nsp, conn, key=key, request_timeout=request_timeout,
                            publish_on_specific_response_channel=publish_on_specific_response_channel)

    return factory


@dataclass(slots=True)
class _Request:
    """A request of this server waiting for other servers' answers."""

    type: RequestType
    expected: int  # answers wanted (servers, this one counted for fetch/all_rooms)
    future: asyncio.Future[None]
    received: int = 1
    sockets: list[SocketDetails] = field(default_factory=list)
    rooms: set[str] = field(default_factory=set)
    responses: list[Any] = field(default_factory=list)


@dataclass(slots=True)
class _AckRequest:
    """A broadcast with acks of this server: where other servers' counts and answers go."""

    on_count: Callable[[int], None]
    on_ack: Callable[[str, list[Any]], None]
    timer: asyncio.TimerHandle | None = None


class RedisAdapter(InMemoryAdapter):
    """One namespace's classic Redis adapter (made by :func:`create_adapter`)."""

    def __init__(self, nsp: Namespace, conn: RedisConnection, *, key: str = "socket.io",
                 request_timeout: float = 5.0,
                 publish_on_specific_response_channel: bool = False) -> None:
        super().__init__(nsp)
        self.conn = conn
        self.key = key
        self.uid = wire.new_uid()
        self.request_timeout = request_timeout
        self.publish_on_specific_response_channel = publish_on_specific_response_channel
        self.channels = wire.Channels.of(key, nsp.name, self.uid)
        self._requests: dict[str, _Request] = {}
        self._ack_requests: dict[str, _AckRequest] = {}
        self._answer_ids = itertools.count()
        self._started = False

    # ------------------------------------------------------------- lifecycle

    async def init(self) -> None:
        """Connect (shared per server) and subscribe to this namespace's channels."""
        if self._started:
            return
        self._started = True
        await self.conn.start()
        ch = self.channels
        await self.conn.psubscribe(ch.pattern, self._on_broadcast)
        for channel in (ch.request, ch.response, ch.specific_response):
            await self.conn.subscribe(channel, self._on_request)

    async def close(self) -> None:
        """Unsubscribe; the last namespace closes the connections."""
        if not self._started:
            return
        self._started = False
        ch = self.channels
        with contextlib.suppress(Exception):
            await self.conn.punsubscribe(ch.pattern, self._on_broadcast)
            for channel in (ch.request, ch.response, ch.specific_response):
                await self.conn.unsubscribe(channel, self._on_request)
        for request in self._requests.values():
            if not request.future.done():
                request.future.cancel()
        self._requests.clear()
        for ack in self._ack_requests.values():
            if ack.timer is not None:
                ack.timer.cancel()
        self._ack_requests.clear()
        await self.conn.close()

    # ------------------------------------------------------------- broadcasts

    def broadcast(self, packet: SioPacket, opts: BroadcastOptions) -> None:
        """Deliver to this server's sockets and publish once for the others."""
        if not opts.flags.local:
            payload = wire.encode_broadcast(
                self.uid, packet.data, self.nsp.name, opts.rooms, opts.except_rooms,
                _flags(opts.flags))
            self.conn.publish(self.channels.for_rooms(opts.rooms), payload)
        super().broadcast(packet, opts)

    def broadcast_with_ack(
        self,
        packet: SioPacket,
        opts: BroadcastOptions,
        on_count: Callable[[int], None],
        on_ack: Callable[[str, list[Any]], None],
    ) -> None:
        """Ask the other servers to broadcast too and report their clients' counts and
        answers; this server's sockets get the packet directly."""
        if not opts.flags.local:
            request_id = wire.new_uid()
            payload = wire.encode_broadcast_ack_request(
                self.uid, request_id, packet.data, self.nsp.name, opts.rooms,
                opts.except_rooms, _flags(opts.flags))
            if self.conn.publish(self.channels.request, payload):
                entry = _AckRequest(on_count, on_ack)
                self._ack_requests[request_id] = entry
                # as Node: no way to know when every remote client answered, so forget the
                # request once the broadcast's timeout passed
                entry.timer = asyncio.get_running_loop().call_later(
                    opts.flags.timeout if opts.flags.timeout is not None else self.request_timeout,
                    self._ack_requests.pop, request_id, None)
        super().broadcast_with_ack(packet, opts, on_count, on_ack)

    def _on_broadcast(self, channel: str, payload: bytes) -> None:
        room = self.channels.room_of(channel)
        if room is None:
            return
        if room and room not in self.rooms:
            return  # no socket here is in that room: not even decoded
        message = wire.decode_broadcast(payload)
        if message is None:
            log.warning("malformed broadcast on %s ignored", channel)
            return
        if message.uid == self.uid or message.nsp != self.nsp.name:
            return
        flags = BroadcastFlags(**wire.flags_from_wire(message.flags))
        opts = BroadcastOptions(message.rooms, message.except_rooms, flags)
        InMemoryAdapter.broadcast(self, SioPacket(SioType.EVENT, self.nsp.name, message.data),
                                  opts)

    # ------------------------------------------------------- requests (in)

    def _on_request(self, channel: str, payload: bytes) -> None:
        if channel.startswith(self.channels.response):
            self._on_response(payload)
            return
        if channel != self.channels.request:
            return
        request = wire.decode_request(payload)
        if request is None:
            log.warning("malformed request on %s ignored", channel)
            return
        kind = request.get("type")
        request_id = request.get("requestId")
        rid = request_id if isinstance(request_id, str) else None
        if kind == RequestType.SOCKETS:
            if rid is None or rid in self._requests:
                return
            rooms, _ = wire.target_of({"opts": {"rooms": request.get("rooms")}})
            self._respond(request, {"requestId": rid, "sockets": self.local_sids(
                BroadcastOptions(rooms=rooms))})
        elif kind == RequestType.ALL_ROOMS:
            if rid is None or rid in self._requests:
                return
            self._respond(request, {"requestId": rid, "rooms": list(self.rooms)})
        elif kind in (RequestType.REMOTE_JOIN, RequestType.REMOTE_LEAVE,
                      RequestType.REMOTE_DISCONNECT):
            self._remote_operation(request, rid)
        elif kind == RequestType.REMOTE_FETCH:
            if rid is None or rid in self._requests:
                return
            rooms, except_rooms = wire.target_of(request)
            sockets = [socket_details(s) for s in self.local_sockets(
                BroadcastOptions(rooms, except_rooms))]
            self._respond(request, {"requestId": rid, "sockets": sockets})
        elif kind == RequestType.SERVER_SIDE_EMIT:
            self._on_server_side_emit(request, rid)
        elif kind == RequestType.BROADCAST:
            self._on_broadcast_request(request, rid)

    def _remote_operation(self, request: dict[str, Any], rid: str | None) -> None:
        """REMOTE_JOIN / LEAVE / DISCONNECT: the current form targets by rooms (applied here
        for this server's sockets, the sender included); the legacy form names one socket
        and wants an answer."""
        kind = request.get("type")
        if isinstance(request.get("opts"), dict):
            rooms, except_rooms = wire.target_of(request)
            self._apply(kind, BroadcastOptions(rooms, except_rooms),
                        wire.rooms_of(request.get("rooms")), bool(request.get("close")))
            return
        socket = self.nsp.sockets.get(request.get("sid"))  # type: ignore[arg-type]
        if socket is None:
            return
        if kind == RequestType.REMOTE_JOIN:
            socket.join(wire.rooms_of(request.get("room")))
        elif kind == RequestType.REMOTE_LEAVE:
            for room in wire.rooms_of(request.get("room")):
                socket.leave(room)
        else:
            socket.disconnect(bool(request.get("close")))
        if rid is not None:
            self._respond(request, {"requestId": rid})

    def _apply(self, kind: Any, opts: BroadcastOptions, rooms: list[str], close: bool) -> None:
        if kind == RequestType.REMOTE_JOIN:
            InMemoryAdapter.add_sockets(self, opts, rooms)
        elif kind == RequestType.REMOTE_LEAVE:
            InMemoryAdapter.del_sockets(self, opts, rooms)
        else:
            InMemoryAdapter.disconnect_sockets(self, opts, close)

    def _on_server_side_emit(self, request: dict[str, Any], rid: str | None) -> None:
        if request.get("uid") == self.uid:
            return
        data = request.get("data")
        if not isinstance(data, list):
            return
        if rid is None:
            self.nsp.on_server_side_emit(data)
            return
        response_channel = self.channels.response

        def answer(value: Any) -> None:  # always on the common response channel, as Node
            message: dict[str, Any] = {"type": int(RequestType.SERVER_SIDE_EMIT),
                                       "requestId": rid, "data": value}
            self.conn.publish(response_channel, wire.encode_json(message))

        self.nsp.on_server_side_emit(data, answer)

    def _on_broadcast_request(self, request: dict[str, Any], rid: str | None) -> None:
        if rid is None or rid in self._ack_requests:
            return  # our own
        packet = request.get("packet")
        data = packet.get("data") if isinstance(packet, dict) else None
        if not isinstance(data, list) or not data:
            return
        rooms, except_rooms = wire.target_of(request)
        # as Node, the receiving server drops the flags (its clients' acks wait for ever;
        # the requester forgets the request after its timeout)
        opts = BroadcastOptions(rooms, except_rooms)
        local = SioPacket(SioType.EVENT, self.nsp.name, data, self.nsp.next_ack_id())

        def on_count(count: int) -> None:
            self._respond(request, {"type": int(RequestType.BROADCAST_CLIENT_COUNT),
                                    "requestId": rid, "clientCount": count})

        def on_ack(_sid: str, answer: list[Any]) -> None:
            self._respond_raw(request, wire.encode_broadcast_ack(rid, answer))

        InMemoryAdapter.broadcast_with_ack(self, local, opts, on_count, on_ack)

    def _respond(self, request: dict[str, Any], message: dict[str, Any]) -> None:
        self._respond_raw(request, wire.encode_json(message))

    def _respond_raw(self, request: dict[str, Any], payload: bytes) -> None:
        channel = self.channels.response
        if self.publish_on_specific_response_channel and isinstance(request.get("uid"), str):
            channel = f"{channel}{request['uid']}#"
        self.conn.publish(channel, payload)

    # ------------------------------------------------------ responses (in)

    def _on_response(self, payload: bytes) -> None:
        response = wire.decode_request(payload)
        if response is None:
            return
        rid = response.get("requestId")
        if not isinstance(rid, str):
            return
        ack = self._ack_requests.get(rid)
        if ack is not None:
            kind = response.get("type")
            if kind == RequestType.BROADCAST_CLIENT_COUNT:
                count = response.get("clientCount")
                if isinstance(count, int) and not isinstance(count, bool):
                    ack.on_count(count)
            elif kind == RequestType.BROADCAST_ACK:
                answer = [response["packet"]] if "packet" in response else []
                ack.on_ack(f"{rid}:{next(self._answer_ids)}", answer)
            return
        request = self._requests.get(rid)
        if request is None:
            return
        if request.type in (RequestType.REMOTE_FETCH, RequestType.SOCKETS):
            request.received += 1
            sockets = response.get("sockets")
            if isinstance(sockets, list):
                request.sockets.extend(cast(SocketDetails, s) for s in sockets
                                       if isinstance(s, dict))
        elif request.type == RequestType.ALL_ROOMS:
            request.received += 1
            rooms = response.get("rooms")
            if isinstance(rooms, list):
                request.rooms.update(wire.rooms_of(rooms))
        elif request.type == RequestType.SERVER_SIDE_EMIT:
            request.responses.append(response.get("data"))
            request.received = len(request.responses)
        if request.received >= request.expected and not request.future.done():
            request.future.set_result(None)

    # -------------------------------------------------------- requests (out)

    async def _count_for(self, what: str) -> int:
        try:
            return await self.conn.numsub(self.channels.request)
        except RedisUnavailable:
            raise ClusterTimeout(f"timeout reached while waiting for {what} response "
                                 "(Redis is unreachable)") from None

    async def _ask(self, kind: RequestType, message: dict[str, Any], expected: int,
                   timeout: float, what: str) -> _Request:
        request_id = wire.new_uid()
        message = {"uid": self.uid, "requestId": request_id, "type": int(kind), **message}
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        request = _Request(kind, expected, future,
                           received=0 if kind == RequestType.SERVER_SIDE_EMIT else 1)
        self._requests[request_id] = request
        try:
            if not self.conn.publish(self.channels.request, wire.encode_json(message)):
                raise ClusterTimeout(f"timeout reached while waiting for {what} response "
                                     "(Redis is unreachable)", received=request.received,
                                     expected=expected)
            try:
                await asyncio.wait_for(asyncio.shield(future), timeout)
            except TimeoutError:
                if kind == RequestType.SERVER_SIDE_EMIT:
                    raise ClusterTimeout(
                        f"timeout reached: only {len(request.responses)} responses received "
                        f"out of {expected}", request.responses, len(request.responses),
                        expected) from None
                raise ClusterTimeout(f"timeout reached while waiting for {what} response",
                                     received=request.received, expected=expected) from None
        finally:
            self._requests.pop(request_id, None)
        return request

    async def fetch_sockets(self, opts: BroadcastOptions) -> list[Socket | SocketDetails]:
        """This server's targeted sockets and the other servers' (as their details)."""
        local: list[Socket | SocketDetails] = list(self.local_sockets(opts))
        if opts.flags.local:
            return local
        servers = await self._count_for("fetchSockets")
        if servers <= 1:
            return local
        timeout = opts.flags.timeout if opts.flags.timeout is not None else self.request_timeout
        request = await self._ask(
            RequestType.REMOTE_FETCH,
            {"opts": {"rooms": list(opts.rooms), "except": list(opts.except_rooms)}},
            servers, timeout, "fetchSockets")
        return local + list(request.sockets)

    async def all_rooms(self) -> set[str]:
        """Every room of the namespace on every server (socket-id rooms included)."""
        rooms = set(self.rooms)
        servers = await self._count_for("allRooms")
        if servers <= 1:
            return rooms
        request = await self._ask(RequestType.ALL_ROOMS, {}, servers, self.request_timeout,
                                  "allRooms")
        return rooms | request.rooms

    def add_sockets(self, opts: BroadcastOptions, rooms: Iterable[str]) -> None:
        """``sockets_join``: published; applied here when Redis delivers it back."""
        self._publish_operation(RequestType.REMOTE_JOIN, opts, {"rooms": list(rooms)})

    def del_sockets(self, opts: BroadcastOptions, rooms: Iterable[str]) -> None:
        """``sockets_leave``: published; applied here when Redis delivers it back."""
        self._publish_operation(RequestType.REMOTE_LEAVE, opts, {"rooms": list(rooms)})

    def disconnect_sockets(self, opts: BroadcastOptions, close: bool) -> None:
        """``disconnect_sockets``: published; applied here when Redis delivers it back."""
        self._publish_operation(RequestType.REMOTE_DISCONNECT, opts, {"close": close})

    def _publish_operation(self, kind: RequestType, opts: BroadcastOptions,
                           fields: dict[str, Any]) -> None:
        rooms = list(fields.get("rooms", ()))
        close = bool(fields.get("close", False))
        if opts.flags.local:
            self._apply(kind, opts, rooms, close)
            return
        message = {"uid": self.uid, "type": int(kind),
                   "opts": {"rooms": list(opts.rooms), "except": list(opts.except_rooms)},
                   **fields}
        if not self.conn.publish(self.channels.request, wire.encode_json(message)):
            self._apply(kind, opts, rooms, close)  # Redis is down: at least this server

    def server_side_emit(self, args: list[Any]) -> None:
        """Send ``[event, *args]`` to the other servers' ``on(event)`` handlers."""
        message = {"uid": self.uid, "type": int(RequestType.SERVER_SIDE_EMIT), "data": args}
        self.conn.publish(self.channels.request, wire.encode_json(message))

    async def server_side_emit_with_ack(self, args: list[Any], timeout: float) -> list[Any]:
        """Send ``[event, *args]`` and gather one answer per other server."""
        others = await self._count_for("serverSideEmit") - 1
        if others <= 0:
            return []
        request = await self._ask(RequestType.SERVER_SIDE_EMIT, {"data": args}, others,
                                  timeout, "serverSideEmit")
        return request.responses

    async def server_count(self) -> int:
        """``PUBSUB NUMSUB`` of the request channel (1 while Redis is unreachable: only this
        server can be reached then)."""
        try:
            return max(1, await self.conn.numsub(self.channels.request))
        except RedisUnavailable:
            return 1

    def known_server_count(self) -> int | None:
        """Not known without asking Redis."""
        return None


def _flags(flags: BroadcastFlags) -> dict[str, Any]:
    return wire.flags_to_wire(flags.volatile, flags.compress, flags.local, flags.timeout,
                              flags.expect_single_response)
