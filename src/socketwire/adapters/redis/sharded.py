"""The sharded Redis adapter: Redis 7 sharded pub/sub (SSUBSCRIBE / SPUBLISH), compatible
with ``createShardedAdapter`` of Node's ``@socket.io/redis-adapter`` 8.

Channels, for namespace ``nsp`` and prefix ``socket.io``:

- ``socket.io#/nsp#``: every message (broadcasts, requests), subscribed by every server;
- ``socket.io#/nsp#<uid>#``: the responses to this server's requests;
- in the ``dynamic`` mode (Node's default) ``socket.io#/nsp#<room>#`` for each public room
  this server has (a room that is not a socket id), subscribed when the room is created here
  and unsubscribed when it is gone; ``dynamic-private`` does it for socket-id rooms too;
  ``static`` uses the first two channels only.

A broadcast to exactly one room, without acks, goes to that room's channel when the mode
gives rooms channels (Node tells a socket id from a room by its length, 20 characters);
everything else goes to the main channel. Messages are JSON, or msgpack when they hold binary
(:mod:`socketwire.protocol.cluster`). The server count is ``PUBSUB SHARDNUMSUB`` of the main
channel. On a Redis Cluster each channel is subscribed on the node that owns its slot.
Connection state recovery is not supported, as in Node.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, Literal

from ...exceptions import RemoteProtocolError
from ...protocol.cluster import ClusterMessage, MessageType, decode_message, encode_message
from ..cluster import ClusterAdapter
from .connection import RedisConnection, RedisUnavailable

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.cluster import RedisCluster

    from ...server.namespace import Namespace

__all__ = ["ShardedRedisAdapter", "SubscriptionMode", "create_sharded_adapter"]

log = logging.getLogger("socketwire.adapters.redis")

SubscriptionMode = Literal["static", "dynamic", "dynamic-private"]
_MODES = ("static", "dynamic", "dynamic-private")


def looks_like_socket_id(room: str) -> bool:
    """Node's test: a room of 20 characters is taken for a socket id."""
    return len(room) == 20


def create_sharded_adapter(
    url_or_client: str | Redis | RedisCluster | RedisConnection,
    *,
    channel_prefix: str = "socket.io",
    subscription_mode: SubscriptionMode = "dynamic",
) -> Callable[[Namespace], ShardedRedisAdapter]:
    """An adapter factory for ``Server(adapter=...)``: sharded pub/sub on Redis 7 (or a Redis
    Cluster: a ``redis+cluster://`` URL or a ``RedisCluster`` client), wire-compatible with
    Node's ``createShardedAdapter(pub, sub, {channelPrefix, subscriptionMode})``.

    Every namespace of the server shares one set of connections; use one factory per
    ``Server`` (the server count is the number of subscribed connections).
    """
    if subscription_mode not in _MODES:
        raise ValueError(f"subscription_mode must be one of {', '.join(_MODES)}")
    connection = (url_or_client if isinstance(url_or_client, RedisConnection)
                  else RedisConnection(url_or_client))

    def factory(nsp: Namespace) -> ShardedRedisAdapter:
        return ShardedRedisAdapter(nsp, connection, channel_prefix=channel_prefix,
                                   subscription_mode=subscription_mode)

    return factory


class ShardedRedisAdapter(ClusterAdapter):
    """One namespace's adapter over Redis sharded pub/sub (see the module docs)."""

    def __init__(self, nsp: Namespace, connection: RedisConnection, *,
                 channel_prefix: str = "socket.io",
                 subscription_mode: SubscriptionMode = "dynamic") -> None:
        super().__init__(nsp)
        self.conn = connection
        self.mode = subscription_mode
        self.channel = f"{channel_prefix}#{nsp.name}#"
        self.response_channel = f"{self.channel}{self.uid}#"
        self._room_channels: set[str] = set()  # room channels subscribed (or being)
        self._ops = asyncio.Lock()  # room (un)subscriptions in the order rooms come and go
        self._started = False
        if subscription_mode != "static":
            self.on("create-room", self._room_created)
            self.on("delete-room", self._room_deleted)

    # ------------------------------------------------------------- lifecycle

    async def init(self) -> None:
        """Connect, subscribe to the main and response channels (and existing rooms)."""
        await self.conn.start()
        await self.conn.ssubscribe(self.channel, self._on_payload)
        await self.conn.ssubscribe(self.response_channel, self._on_payload)
        self._started = True
        for room in list(self.rooms):
            self._room_created(room)

    async def close(self) -> None:
        """Unsubscribe everything and release the connection."""
        if not self._started:
            return
        self._started = False
        async with self._ops:
            for channel in (self.channel, self.response_channel, *self._room_channels):
                try:
                    await self.conn.sunsubscribe(channel, self._on_payload)
                except Exception as exc:  # Redis gone: nothing to unsubscribe from
                    log.debug("sunsubscribe %s: %s", channel, exc)
            self._room_channels.clear()
        await self.conn.close()

    # --------------------------------------------------------------- channels

    def room_channel(self, room: str) -> str:
        """The channel of ``room``: ``<prefix>#<nsp>#<room>#``."""
        return f"{self.channel}{room}#"

    def _separate_channel(self, room: str) -> bool:
        if self.mode == "dynamic-private":
            return True
        return self.mode == "dynamic" and room not in self.sids  # public rooms only

    def _room_created(self, room: str) -> None:
        if not self._started or not self._separate_channel(room):
            return
        channel = self.room_channel(room)
        if channel in self._room_channels:
            return
        self._room_channels.add(channel)
        self._change(self.conn.ssubscribe, channel)

    def _room_deleted(self, room: str) -> None:
        channel = self.room_channel(room)
        if not self._started or channel not in self._room_channels:
            return
        self._room_channels.discard(channel)
        self._change(self.conn.sunsubscribe, channel)

    def _change(self, operation: Callable[..., Any], channel: str) -> None:
        async def run() -> None:
            async with self._ops:
                try:
                    await operation(channel, self._on_payload)
                except Exception as exc:  # redone by the connection layer on reconnection
                    log.debug("room channel %s: %s", channel, exc)

        task = asyncio.get_running_loop().create_task(run())
        task.add_done_callback(_consume)

    def channel_for(self, message: ClusterMessage) -> str:
        """The channel ``message`` is published on: a room's channel for a broadcast to that
        one room without acks (public rooms in ``dynamic``, any in ``dynamic-private``), else
        the main channel."""
        if message["type"] == MessageType.BROADCAST and self.mode != "static":
            data = message["data"]
            rooms = data["opts"]["rooms"]
            if "requestId" not in data and len(rooms) == 1:
                room = rooms[0]
                if self.mode == "dynamic-private" or not looks_like_socket_id(room):
                    return self.room_channel(room)
        return self.channel

    # -------------------------------------------------------------- transport

    def do_publish(self, message: ClusterMessage) -> None:
        """SPUBLISH the message (encoded once) on its channel."""
        self.conn.spublish(self.channel_for(message), encode_message(message))
        return None

    def do_publish_response(self, requester_uid: str, response: ClusterMessage) -> None:
        """SPUBLISH the response on the requester's channel."""
        self.conn.spublish(f"{self.channel}{requester_uid}#", encode_message(response))

    def _on_payload(self, channel: str, payload: bytes) -> None:
        try:
            message = decode_message(payload)
        except RemoteProtocolError as exc:
            log.debug("ignoring a message on %s: %s", channel, exc)
            return
        if channel == self.response_channel:
            self.on_response(message)
        else:
            self.on_message(message)

    async def count_servers(self) -> int:
        """``PUBSUB SHARDNUMSUB`` of the main channel: the servers serving the namespace (raises
        ``RedisUnavailable`` while Redis is down)."""
        try:
            return await self.conn.shardnumsub(self.channel)
        except RedisUnavailable:
            raise RedisUnavailable("Redis is unreachable") from None


def _consume(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()
