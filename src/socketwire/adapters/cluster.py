"""The cluster core: what every multi-server adapter shares, in the spirit of Node's
``ClusterAdapter`` (socket.io-adapter ``lib/cluster-adapter.ts``).

A transport (Redis sharded pub/sub, Redis streams, the IPC of ``--workers``...) subclasses
:class:`ClusterAdapter` (or :class:`ClusterAdapterWithHeartbeat` when it cannot count
servers by itself), implements :meth:`~ClusterAdapter.do_publish` and
:meth:`~ClusterAdapter.do_publish_response`, and hands what it receives to
:meth:`~ClusterAdapter.on_message` / :meth:`~ClusterAdapter.on_response`. The core does the
rest, with Node's messages (:mod:`socketwire.protocol.cluster`):

- ``broadcast``: delivered to this server's sockets (encoded once) and published once;
  other servers deliver it to theirs. ``local`` broadcasts are not published.
- broadcasts with acks: each server answers with its client count
  (BROADCAST_CLIENT_COUNT) then one BROADCAST_ACK per client answer.
- ``add_sockets`` / ``del_sockets`` / ``disconnect_sockets``: applied here and published.
- ``fetch_sockets`` and ``server_side_emit_with_ack``: a request, then one response per other
  server, within a timeout (Node's messages in :class:`~socketwire.ClusterTimeout`).

Messages from this server (its ``uid``) and for other namespaces are ignored.
"""

from __future__ import annotations

import asyncio
import inspect
import itertools
import logging
import secrets
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from ..exceptions import ClusterTimeout
from ..protocol.cluster import EMITTER_UID, ClusterMessage, MessageType, packet_from_wire
from ..protocol.cluster import packet_to_wire as _packet_to_wire
from ..protocol.sio import SioPacket, SioType
from .base import BroadcastFlags, BroadcastOptions, SocketDetails, socket_details
from .memory import InMemoryAdapter

if TYPE_CHECKING:
    from ..server.namespace import Namespace
    from ..server.socket import Socket

__all__ = [
    "DEFAULT_TIMEOUT",
    "ClusterAdapter",
    "ClusterAdapterWithHeartbeat",
    "decode_options",
    "encode_options",
    "random_id",
]

log = logging.getLogger("socketwire.adapters.cluster")

DEFAULT_TIMEOUT = 5.0  # seconds, Node's DEFAULT_TIMEOUT for cluster requests

def random_id() -> str:
    """A server uid or request id: 16 hex characters, as Node's ``randomId()``."""
    return secrets.token_hex(8)


# ------------------------------------------------------------------------------ options


def encode_options(opts: BroadcastOptions) -> dict[str, Any]:
    """Broadcast options as Node sends them: ``{rooms, except, flags}`` (only the flags that
    are set; ``timeout`` in milliseconds)."""
    flags: dict[str, Any] = {}
    f = opts.flags
    if f.volatile:
        flags["volatile"] = True
    if not f.compress:
        flags["compress"] = False
    if f.local:
        flags["local"] = True
    if f.timeout is not None:
        flags["timeout"] = round(f.timeout * 1000)
    if f.expect_single_response:
        flags["expectSingleResponse"] = True
    return {"rooms": list(opts.rooms), "except": list(opts.except_rooms), "flags": flags}


def _rooms(value: Any) -> frozenset[str]:
    if not isinstance(value, list):
        return frozenset()
    return frozenset(r for r in value if isinstance(r, str))


def decode_options(value: Any) -> BroadcastOptions:
    """Broadcast options received from another server (malformed rooms and flags left
    out); raises ``ValueError`` when ``value`` is not an object."""
    if not isinstance(value, dict):
        raise ValueError("broadcast options must be an object")
    flags = value.get("flags")
    if not isinstance(flags, dict):
        flags = {}
    timeout = flags.get("timeout")
    return BroadcastOptions(
        rooms=_rooms(value.get("rooms")),
        except_rooms=_rooms(value.get("except")),
        flags=BroadcastFlags(
            volatile=bool(flags.get("volatile")),
            local=False,
            timeout=(timeout / 1000 if isinstance(timeout, (int, float))
                     and not isinstance(timeout, bool) and timeout >= 0 else None),
            compress=flags.get("compress") is not False,
            expect_single_response=bool(flags.get("expectSingleResponse")),
        ),
    )


def _request_id(data: Any) -> str | None:
    if isinstance(data, dict):
        rid = data.get("requestId")
        if isinstance(rid, str):
            return rid
    return None


def _clean_socket(value: Any) -> SocketDetails | None:
    if not isinstance(value, dict) or not isinstance(value.get("id"), str):
        return None
    return value  # type: ignore[return-value]


class _Request:
    """A request waiting for other servers' answers."""

    __slots__ = ("current", "expected", "future", "missing", "responses", "timer", "type")

    def __init__(self, kind: MessageType, future: asyncio.Future[list[Any]], expected: int,
                 responses: list[Any], missing: set[str] | None = None) -> None:
        self.type = kind
        self.future = future
        self.expected = expected
        self.current = 0
        self.responses = responses
        self.missing = missing  # uids still to answer (heartbeat variant), else None
        self.timer: asyncio.TimerHandle | None = None

    def done(self) -> bool:
        if self.missing is not None:
            return not self.missing
        return self.current >= self.expected


class _AckRequest:
    __slots__ = ("on_ack", "on_count", "seq")

    def __init__(self, on_count: Callable[[int], None],
                 on_ack: Callable[[str, list[Any]], None]) -> None:
        self.on_count = on_count
        self.on_ack = on_ack
        self.seq = itertools.count()


class ClusterAdapter(InMemoryAdapter):
    """An adapter whose namespace spans several servers (Node's ``ClusterAdapter``).

    Subclasses implement :meth:`do_publish`, :meth:`do_publish_response` and
    :meth:`count_servers`, and call :meth:`on_message` / :meth:`on_response` with what they
    receive. ``uid`` names this adapter on the bus (16 hex characters).
    """

    def __init__(self, nsp: Namespace) -> None:
        super().__init__(nsp)
        self.uid = random_id()
        self._requests: dict[str, _Request] = {}
        self._ack_requests: dict[str, _AckRequest] = {}
        # local deliveries waiting for an offset (connection state recovery): (packet,
        # options, future of the offset or None)
        self._waiting: deque[tuple[SioPacket, BroadcastOptions, Any]] = deque()

    # ------------------------------------------------------------- the transport

    def do_publish(self, message: ClusterMessage) -> str | None | Awaitable[str | None]:
        """Send ``message`` to the other servers; return its offset (``None`` when the
        transport has none) or an awaitable of it. Encode it before returning: the core may
        change the packet afterwards."""
        raise NotImplementedError

    def do_publish_response(self, requester_uid: str,
                            response: ClusterMessage) -> None | Awaitable[None]:
        """Send ``response`` to the server ``requester_uid`` (encode it before returning)."""
        raise NotImplementedError

    async def count_servers(self) -> int:
        """How many servers (this one included) serve this namespace; raises
        ``ConnectionError`` when the transport cannot tell right now."""
        raise NotImplementedError

    async def server_count(self) -> int:
        """How many servers serve this namespace (1, only this one can be reached, while the
        transport is down)."""
        try:
            return max(1, await self.count_servers())
        except ConnectionError:
            return 1

    async def _servers_for(self, what: str) -> int:
        try:
            return await self.count_servers()
        except ConnectionError as exc:
            raise ClusterTimeout(
                f"timeout reached while waiting for {what} response ({exc})") from None

    def known_server_count(self) -> int | None:
        """Unknown without asking the transport."""
        return None

    # --------------------------------------------------------------- publishing

    def _message(self, kind: MessageType, data: Any = None) -> ClusterMessage:
        message: ClusterMessage = {"uid": self.uid, "nsp": self.nsp.name, "type": int(kind)}
        if data is not None:
            message["data"] = data
        return message

    def publish(self, kind: MessageType, data: Any = None) -> str | None | asyncio.Future[Any]:
        """Publish a message of ``kind``; failures are logged, never raised. Returns the
        offset, or a future of it."""
        return self._run_publish(self.do_publish, self._message(kind, data))

    def publish_response(self, requester_uid: str, kind: MessageType, data: Any) -> None:
        """Answer the server ``requester_uid``."""
        self._run_publish(lambda m: self.do_publish_response(requester_uid, m),
                          self._message(kind, data))

    def _run_publish(self, send: Callable[[ClusterMessage], Any],
                     message: ClusterMessage) -> str | None | asyncio.Future[Any]:
        try:
            result = send(message)
        except Exception as exc:
            log.warning("[%s] could not publish a message of type %s on %s: %s", self.uid,
                        message["type"], self.nsp.name, exc)
            return None
        if result is None or isinstance(result, str):
            return result
        if inspect.isawaitable(result):
            future = asyncio.ensure_future(result)
            future.add_done_callback(self._published)
            return future
        return None

    def _published(self, future: asyncio.Future[Any]) -> None:
        if not future.cancelled() and future.exception() is not None:
            log.warning("[%s] could not publish on %s: %s", self.uid, self.nsp.name,
                        future.exception())

    def _stores_offsets(self, packet: SioPacket, opts: BroadcastOptions) -> bool:
        return (self.nsp.server.connection_state_recovery is not None
                and packet.type is SioType.EVENT and packet.id is None
                and not opts.flags.volatile)

    # ------------------------------------------------------------- broadcasting

    def broadcast(self, packet: SioPacket, opts: BroadcastOptions) -> None:
        """Publish once, deliver to this server's sockets (encoded once). With connection
        state recovery the transport's offset is appended to the packet first; when the
        transport learns it later, local deliveries wait for it, in order."""
        if opts.flags.local and not self._waiting:
            InMemoryAdapter.broadcast(self, packet, opts)
            return
        result: Any = None
        if not opts.flags.local:
            result = self.publish(MessageType.BROADCAST, {
                "packet": _packet_to_wire(packet), "opts": encode_options(opts)})
        stores = self._stores_offsets(packet, opts)
        if isinstance(result, asyncio.Future) and stores or self._waiting:
            self._waiting.append((packet, opts, result if stores else None))
            if isinstance(result, asyncio.Future) and stores:
                result.add_done_callback(self._deliver_waiting)
            else:
                self._deliver_waiting()
            return
        if stores and isinstance(result, str) and result:
            packet.data.append(result)
        InMemoryAdapter.broadcast(self, packet, opts)

    def _deliver_waiting(self, _done: Any = None) -> None:
        """Deliver the broadcasts waiting for their offsets, oldest first, up to the first
        one whose offset is still unknown."""
        waiting = self._waiting
        while waiting:
            packet, opts, future = waiting[0]
            if future is not None:
                if not future.done():
                    return
                offset = None if future.cancelled() or future.exception() else future.result()
                if isinstance(offset, str) and offset:
                    packet.data.append(offset)
            waiting.popleft()
            InMemoryAdapter.broadcast(self, packet, opts)

    def broadcast_with_ack(
        self,
        packet: SioPacket,
        opts: BroadcastOptions,
        on_count: Callable[[int], None],
        on_ack: Callable[[str, list[Any]], None],
    ) -> None:
        """Ask every server to broadcast expecting acks; their counts and answers come back
        as responses and go to ``on_count`` / ``on_ack``."""
        if not opts.flags.local:
            rid = random_id()
            self._ack_requests[rid] = _AckRequest(on_count, on_ack)
            self.publish(MessageType.BROADCAST, {
                "packet": _packet_to_wire(packet), "requestId": rid,
                "opts": encode_options(opts)})
            # nobody tells when every answer came: forget the request after the timeout
            timeout = opts.flags.timeout
            asyncio.get_running_loop().call_later(
                DEFAULT_TIMEOUT if timeout is None else timeout,
                self._ack_requests.pop, rid, None)
        InMemoryAdapter.broadcast_with_ack(self, packet, opts, on_count, on_ack)

    def add_sockets(self, opts: BroadcastOptions, rooms: Any) -> None:
        """Make the targeted sockets of every server join ``rooms``."""
        rooms = list(rooms)
        if not opts.flags.local:
            self.publish(MessageType.SOCKETS_JOIN, {"opts": encode_options(opts), "rooms": rooms})
        super().add_sockets(opts, rooms)

    def del_sockets(self, opts: BroadcastOptions, rooms: Any) -> None:
        """Make the targeted sockets of every server leave ``rooms``."""
        rooms = list(rooms)
        if not opts.flags.local:
            self.publish(MessageType.SOCKETS_LEAVE, {"opts": encode_options(opts), "rooms": rooms})
        super().del_sockets(opts, rooms)

    def disconnect_sockets(self, opts: BroadcastOptions, close: bool) -> None:
        """Disconnect the targeted sockets of every server."""
        if not opts.flags.local:
            self.publish(MessageType.DISCONNECT_SOCKETS,
                         {"opts": encode_options(opts), "close": close})
        super().disconnect_sockets(opts, close)

    # ---------------------------------------------------------------- requests

    def _expected_servers(self, count: int) -> tuple[int, set[str] | None]:
        return count - 1, None

    async def fetch_sockets(self, opts: BroadcastOptions) -> list[Socket | SocketDetails]:
        """This server's targeted sockets and the other servers' (as details); raises
        :class:`~socketwire.ClusterTimeout` when one does not answer in time (the
        ``timeout`` flag, else 5 seconds)."""
        local: list[Socket | SocketDetails] = list(self.local_sockets(opts))
        if opts.flags.local:
            return local
        expected, missing = self._expected_servers(await self._servers_for("fetchSockets"))
        if expected <= 0:
            return local
        return await self._request(
            MessageType.FETCH_SOCKETS, {"opts": encode_options(opts)}, expected, missing,
            local, opts.flags.timeout or DEFAULT_TIMEOUT)

    def server_side_emit(self, args: list[Any]) -> None:
        """Send ``[event, *args]`` to the other servers."""
        self.publish(MessageType.SERVER_SIDE_EMIT, {"packet": args})

    async def server_side_emit_with_ack(self, args: list[Any], timeout: float) -> list[Any]:
        """Send ``[event, *args]`` to the other servers and return one answer per server."""
        expected, missing = self._expected_servers(
            await self._servers_for("serverSideEmit"))
        if expected <= 0:
            return []
        return await self._request(MessageType.SERVER_SIDE_EMIT, {"packet": args}, expected,
                                   missing, [], timeout)

    async def _request(self, kind: MessageType, data: dict[str, Any], expected: int,
                       missing: set[str] | None, responses: list[Any],
                       timeout: float) -> list[Any]:
        loop = asyncio.get_running_loop()
        rid = random_id()
        request = _Request(kind, loop.create_future(), expected, responses, missing)
        self._requests[rid] = request
        request.timer = loop.call_later(timeout, self._timed_out, rid)
        data["requestId"] = rid
        self.publish(kind, data)
        try:
            return await request.future
        finally:
            request.timer.cancel()
            self._requests.pop(rid, None)

    def _timed_out(self, rid: str) -> None:
        request = self._requests.pop(rid, None)
        if request is None or request.future.done():
            return
        if request.missing is not None:
            message = f"timeout reached: missing {len(request.missing)} responses"
        else:
            message = (f"timeout reached: only {request.current} responses received out of "
                       f"{request.expected}")
        received = request.current
        answers = request.responses if request.type is MessageType.SERVER_SIDE_EMIT else []
        request.future.set_exception(
            ClusterTimeout(message, answers, received, request.expected))

    # ---------------------------------------------------------------- receiving

    def on_message(self, message: ClusterMessage, offset: str | None = None) -> None:
        """A message from the bus (``offset``: its position, for transports that have one).
        Responses may come this way too."""
        if message.get("uid") == self.uid or message.get("nsp") != self.nsp.name:
            return
        try:
            self._dispatch(message, offset)
        except (KeyError, TypeError, ValueError, AttributeError, IndexError) as exc:
            log.debug("[%s] invalid message of type %s: %s", self.uid, message.get("type"), exc)

    def _dispatch(self, message: ClusterMessage, offset: str | None) -> None:
        kind = message.get("type")
        handler = _HANDLERS.get(kind)  # type: ignore[arg-type]
        if handler is not None:
            data = message.get("data")
            if isinstance(data, dict):
                handler(self, message.get("uid", ""), data, offset)
        elif kind in _RESPONSE_TYPES:
            self.on_response(message)
        else:
            log.debug("[%s] unknown message type %s", self.uid, kind)

    def _on_broadcast(self, sender: str, data: dict[str, Any], offset: str | None) -> None:
        opts = decode_options(data["opts"])
        packet = packet_from_wire(data["packet"], self.nsp.name)
        if packet is None:
            return
        rid = _request_id(data)
        if rid is not None:
            self._broadcast_for(sender, rid, packet, opts)
            return
        if offset and self._stores_offsets(packet, opts):
            packet.data.append(offset)
        InMemoryAdapter.broadcast(self, packet, opts)

    def _on_sockets_join(self, _sender: str, data: dict[str, Any], _offset: str | None) -> None:
        InMemoryAdapter.add_sockets(self, decode_options(data.get("opts")),
                                    _str_list(data.get("rooms")))

    def _on_sockets_leave(self, _sender: str, data: dict[str, Any], _offset: str | None) -> None:
        InMemoryAdapter.del_sockets(self, decode_options(data.get("opts")),
                                    _str_list(data.get("rooms")))

    def _on_disconnect_sockets(self, _sender: str, data: dict[str, Any],
                               _offset: str | None) -> None:
        InMemoryAdapter.disconnect_sockets(self, decode_options(data.get("opts")),
                                           data.get("close") is True)

    def _on_fetch_sockets(self, sender: str, data: dict[str, Any], _offset: str | None) -> None:
        rid = _request_id(data)
        if rid is None:
            return
        sockets = self.local_sockets(decode_options(data.get("opts")))
        self.publish_response(sender, MessageType.FETCH_SOCKETS_RESPONSE, {
            "requestId": rid, "sockets": [socket_details(s) for s in sockets]})

    def _on_server_side_emit(self, sender: str, data: dict[str, Any],
                             _offset: str | None) -> None:
        args = data.get("packet")
        if not isinstance(args, list):
            return
        rid = _request_id(data)
        if rid is None:
            self.nsp.on_server_side_emit(args)
            return

        def answer(value: Any) -> None:
            self.publish_response(sender, MessageType.SERVER_SIDE_EMIT_RESPONSE,
                                  {"requestId": rid, "packet": value})

        self.nsp.on_server_side_emit(args, answer)

    def _broadcast_for(self, requester: str, rid: str, packet: SioPacket,
                       opts: BroadcastOptions) -> None:
        """Another server's broadcast with acks: deliver with an ack id of ours, answer with
        the count, then each client's answer."""
        local = SioPacket(SioType.EVENT, packet.nsp, packet.data, self.nsp.next_ack_id())

        def on_count(count: int) -> None:
            self.publish_response(requester, MessageType.BROADCAST_CLIENT_COUNT,
                                  {"requestId": rid, "clientCount": count})

        def on_ack(_sid: str, args: list[Any]) -> None:
            self.publish_response(requester, MessageType.BROADCAST_ACK,
                                  {"requestId": rid, "packet": args[0] if args else None})

        InMemoryAdapter.broadcast_with_ack(self, local, opts, on_count, on_ack)

    def on_response(self, response: ClusterMessage) -> None:
        """A response to one of this server's requests (unknown request ids are ignored)."""
        if response.get("uid") == self.uid:
            return
        data = response.get("data")
        rid = _request_id(data)
        if rid is None:
            return
        assert isinstance(data, dict)
        kind = response.get("type")
        if kind == MessageType.BROADCAST_CLIENT_COUNT:
            pending = self._ack_requests.get(rid)
            count = data.get("clientCount")
            if pending is not None and isinstance(count, int) and not isinstance(count, bool):
                pending.on_count(count)
        elif kind == MessageType.BROADCAST_ACK:
            pending = self._ack_requests.get(rid)
            if pending is not None:  # a remote client has no sid here: a unique name
                pending.on_ack(f"{response.get('uid')}#{next(pending.seq)}",
                               [data.get("packet")])
        elif kind in (MessageType.FETCH_SOCKETS_RESPONSE, MessageType.SERVER_SIDE_EMIT_RESPONSE):
            request = self._requests.get(rid)
            if request is None or request.future.done():
                return
            if kind == MessageType.FETCH_SOCKETS_RESPONSE:
                sockets = data.get("sockets")
                for s in sockets if isinstance(sockets, list) else ():
                    clean = _clean_socket(s)
                    if clean is not None:
                        request.responses.append(clean)
            else:
                request.responses.append(data.get("packet"))
            self._count_response(request, response.get("uid", ""))

    def _count_response(self, request: _Request, uid: str) -> None:
        request.current += 1
        if request.missing is not None:
            request.missing.discard(uid)
        if request.done() and not request.future.done():
            request.future.set_result(request.responses)


_RESPONSE_TYPES = frozenset({
    MessageType.FETCH_SOCKETS_RESPONSE, MessageType.SERVER_SIDE_EMIT_RESPONSE,
    MessageType.BROADCAST_CLIENT_COUNT, MessageType.BROADCAST_ACK,
})


_Handler = Callable[[ClusterAdapter, str, dict[str, Any], "str | None"], None]
_HANDLERS: dict[int, _Handler] = {
    MessageType.BROADCAST: ClusterAdapter._on_broadcast,
    MessageType.SOCKETS_JOIN: ClusterAdapter._on_sockets_join,
    MessageType.SOCKETS_LEAVE: ClusterAdapter._on_sockets_leave,
    MessageType.DISCONNECT_SOCKETS: ClusterAdapter._on_disconnect_sockets,
    MessageType.FETCH_SOCKETS: ClusterAdapter._on_fetch_sockets,
    MessageType.SERVER_SIDE_EMIT: ClusterAdapter._on_server_side_emit,
}


def _str_list(value: Any) -> list[str]:
    return [r for r in value if isinstance(r, str)] if isinstance(value, list) else []


class ClusterAdapterWithHeartbeat(ClusterAdapter):
    """A cluster adapter that counts servers itself, by their heartbeats (Node's
    ``ClusterAdapterWithHeartbeat``), for transports that cannot count subscribers.

    ``init`` announces the server (INITIAL_HEARTBEAT, which the others answer with a
    HEARTBEAT); a HEARTBEAT goes out whenever nothing was published for
    ``heartbeat_interval`` seconds (5); a server not heard from for ``heartbeat_timeout``
    seconds (10) is gone, and ``close`` says goodbye (ADAPTER_CLOSE). Requests wait for
    the servers known when they are made and end early when one of those is gone.
    """

    def __init__(self, nsp: Namespace, *, heartbeat_interval: float = 5.0,
                 heartbeat_timeout: float = 10.0) -> None:
        super().__init__(nsp)
        self.heartbeat_interval = heartbeat_interval
        self.heartbeat_timeout = heartbeat_timeout
        self.nodes: dict[str, float] = {}  # uid -> when last heard from (loop time)
        self._last_publish = 0.0
        self._tick: asyncio.TimerHandle | None = None

    async def init(self) -> None:
        """Announce this server and start the heartbeat."""
        await super().init()
        self.publish(MessageType.INITIAL_HEARTBEAT)
        self._schedule()

    async def close(self) -> None:
        """Say goodbye to the other servers and stop the heartbeat."""
        if self._tick is not None:
            self._tick.cancel()
            self._tick = None
        self.publish(MessageType.ADAPTER_CLOSE)
        await super().close()

    def _schedule(self) -> None:
        loop = asyncio.get_running_loop()
        self._tick = loop.call_later(min(1.0, self.heartbeat_interval), self._on_tick)

    def _on_tick(self) -> None:
        now = asyncio.get_running_loop().time()
        for uid in [u for u, seen in self.nodes.items() if now - seen > self.heartbeat_timeout]:
            log.debug("[%s] server %s seems gone", self.uid, uid)
            self._remove_node(uid)
        if now - self._last_publish >= self.heartbeat_interval:
            self.publish(MessageType.HEARTBEAT)
        self._schedule()

    def publish(self, kind: MessageType, data: Any = None) -> str | None | asyncio.Future[Any]:
        """Publish, and push the next heartbeat back."""
        try:
            self._last_publish = asyncio.get_running_loop().time()
        except RuntimeError:
            pass
        return super().publish(kind, data)

    def on_message(self, message: ClusterMessage, offset: str | None = None) -> None:
        """Track the sender, answer heartbeats, then handle the message."""
        uid = message.get("uid")
        if uid == self.uid or message.get("nsp") != self.nsp.name:
            return
        if isinstance(uid, str) and uid and uid != EMITTER_UID:
            self.nodes[uid] = asyncio.get_running_loop().time()
        kind = message.get("type")
        if kind == MessageType.INITIAL_HEARTBEAT:
            self.publish(MessageType.HEARTBEAT)
        elif kind == MessageType.HEARTBEAT:
            pass
        elif kind == MessageType.ADAPTER_CLOSE:
            if isinstance(uid, str):
                self._remove_node(uid)
        else:
            super().on_message(message, offset)

    async def count_servers(self) -> int:
        """This server and those heard from recently."""
        return 1 + len(self.nodes)

    def known_server_count(self) -> int | None:
        """Known without asking: this server and those heard from recently."""
        return 1 + len(self.nodes)

    def _expected_servers(self, count: int) -> tuple[int, set[str] | None]:
        return len(self.nodes), set(self.nodes)

    def _remove_node(self, uid: str) -> None:
        self.nodes.pop(uid, None)
        for request in list(self._requests.values()):
            if request.missing is not None and uid in request.missing:
                request.missing.discard(uid)
                if request.done() and not request.future.done():
                    request.future.set_result(request.responses)
