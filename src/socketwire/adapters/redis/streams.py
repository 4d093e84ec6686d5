"""The Redis streams adapter, compatible with Node's ``@socket.io/redis-streams-adapter`` 0.3.

- Messages that must survive a short outage (broadcasts, sockets join / leave, disconnect)
  are appended to a stream with ``XADD <stream> MAXLEN ~ <max_len> *`` and fields ``uid``,
  ``nsp``, ``type`` and ``data`` (JSON, or base64 msgpack when it holds binary). Every server
  reads the stream with ``XREAD BLOCK``, so a server that lost Redis for a moment carries on
  from the last entry it read; the entry id is the message's offset, which connection state
  recovery appends to the events it delivers.
- Transient messages (broadcasts with acks, ``fetch_sockets``, server-side emits) and every
  response travel over pub/sub (``PUBLISH``, or ``SPUBLISH`` with ``use_sharded_pubsub``) on
  ``<prefix>#<nsp>#`` and ``<prefix>#<nsp>#<uid>#``, as msgpack of the whole message.
- The server count is ``PUBSUB NUMSUB`` (``SHARDNUMSUB``) of ``<prefix>#<nsp>#``.
- Sessions (connection state recovery) are kept under ``<session_key_prefix><pid>``: base64
  msgpack of ``{sid, pid, rooms, data}``, expiring after ``max_disconnection_duration``; a
  session is restored once (GET and DEL in one transaction), with the stream entries after
  the client's offset that its rooms received.

With ``stream_count`` N > 1, namespace ``nsp`` uses stream ``<stream_name>-<hashCode(nsp) %
N>`` (JavaScript's signed remainder), so each namespace keeps its order.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections import deque
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, cast

from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import RedisError
from redis.exceptions import TimeoutError as RedisTimeoutError

from ...exceptions import RemoteProtocolError
from ...protocol import jsoncodec
from ...protocol.cluster import (
    ClusterMessage,
    MessageType,
    decode_session,
    decode_stream_entry,
    encode_session,
    encode_stream_entry,
    pack,
    stream_name,
    unpack,
)
from ..base import BroadcastOptions, PersistedSession, RestoredSession
from ..cluster import ClusterAdapter, decode_options
from .connection import BACKOFF_MAX, BACKOFF_MIN, RedisConnection, RedisUnavailable

if TYPE_CHECKING:
    from redis.asyncio import Redis
    from redis.asyncio.cluster import RedisCluster

    from ...server.namespace import Namespace

__all__ = ["RedisStreamsAdapter", "create_streams_adapter", "is_transient"]

log = logging.getLogger("socketwire.adapters.redis")

RESTORE_MAX_XRANGE_CALLS = 100  # as Node: a bound on the pages read to restore a session
_OFFSET = re.compile(r"[0-9]+-[0-9]+")


def create_streams_adapter(
    url_or_client: str | Redis | RedisCluster | RedisConnection,
    *,
    stream_name: str = "socket.io",
    stream_count: int = 1,
    max_len: int = 10_000,
    read_count: int = 100,
    block_time: float = 5.0,
    channel_prefix: str = "socket.io",
    use_sharded_pubsub: bool = False,
    session_key_prefix: str = "sio:session:",
    only_plaintext: bool = False,
) -> Callable[[Namespace], RedisStreamsAdapter]:
    """An adapter factory for ``Server(adapter=...)`` over Redis streams, wire-compatible with
    Node's ``createAdapter(redisClient, {streamName, streamCount, maxLen, readCount,
    blockTimeInMs, channelPrefix, useShardedPubSub, sessionKeyPrefix, onlyPlaintext})`` of
    @socket.io/redis-streams-adapter 0.3 (``block_time`` in seconds). It supports connection
    state recovery across servers. One factory per ``Server``: its namespaces share the
    connections and one stream reader per stream.
    """
    if stream_count < 1:
        raise ValueError("stream_count must be at least 1")
    options = _Options(stream_name, stream_count, max_len, read_count, block_time,
                       channel_prefix, use_sharded_pubsub, session_key_prefix, only_plaintext)
    connection = (url_or_client if isinstance(url_or_client, RedisConnection)
                  else RedisConnection(url_or_client))
    hub = _Hub(connection, options)

    def factory(nsp: Namespace) -> RedisStreamsAdapter:
        return RedisStreamsAdapter(nsp, hub)

    return factory


class _Options:
    __slots__ = ("block_time", "channel_prefix", "max_len", "only_plaintext", "read_count",
                 "session_key_prefix", "stream_count", "stream_name", "use_sharded_pubsub")

    def __init__(self, stream_name: str, stream_count: int, max_len: int, read_count: int,
                 block_time: float, channel_prefix: str, use_sharded_pubsub: bool,
                 session_key_prefix: str, only_plaintext: bool) -> None:
        self.stream_name = stream_name
        self.stream_count = stream_count
        self.max_len = max_len
        self.read_count = read_count
        self.block_time = block_time
        self.channel_prefix = channel_prefix
        self.use_sharded_pubsub = use_sharded_pubsub
        self.session_key_prefix = session_key_prefix
        self.only_plaintext = only_plaintext


def _socket_timeout(client: Any) -> float | None:
    """The socket timeout the connections of ``client`` get (of its default node's, for a
    cluster client), read from an unconnected connection object (redis-py defaults it)."""
    try:
        pool = getattr(client, "connection_pool", None)
        if pool is not None:
            cls, kwargs = pool.connection_class, pool.connection_kwargs
        else:
            node = client.get_default_node() or client.get_nodes()[0]
            cls, kwargs = node.connection_class, node.connection_kwargs
        value = getattr(cls(**kwargs), "socket_timeout", None)
    except Exception:  # an unknown client: assume Node's default is fine
        return None
    return float(value) if isinstance(value, (int, float)) else None


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _fields(raw: Any) -> dict[str, str]:
    if isinstance(raw, dict):
        return {_text(k): _text(v) for k, v in raw.items()}
    items = list(raw or ())
    return {_text(items[i]): _text(items[i + 1]) for i in range(0, len(items) - 1, 2)}


class _Hub:
    """What one server's streams adapters share: the connection, one reader per stream
    (started with the first namespace using it, stopped with the last), one writer."""

    def __init__(self, connection: RedisConnection, options: _Options) -> None:
        self.connection = connection
        self.options = options
        self.adapters: dict[str, RedisStreamsAdapter] = {}
        self._readers: dict[str, asyncio.Task[None]] = {}
        self._writes: deque[tuple[str, dict[str, str], asyncio.Future[str | None]]] = deque()
        self._writer: asyncio.Task[None] | None = None
        self._wake = asyncio.Event()
        self._down = False  # the readers or the writer are failing
        self._warned = False  # ... and that was logged

    @property
    def client(self) -> Any:
        return self.connection.client

    async def add(self, adapter: RedisStreamsAdapter) -> None:
        self.adapters[adapter.nsp.name] = adapter
        stream = adapter.stream
        if stream not in self._readers:
            start = await self._last_id(stream)
            self._readers[stream] = asyncio.get_running_loop().create_task(
                self._read(stream, start))
        if self._writer is None:
            self._writer = asyncio.get_running_loop().create_task(self._write())

    async def remove(self, adapter: RedisStreamsAdapter) -> None:
        if self.adapters.get(adapter.nsp.name) is adapter:
            del self.adapters[adapter.nsp.name]
        for stream in [s for s in self._readers
                       if not any(a.stream == s for a in self.adapters.values())]:
            task = self._readers.pop(stream)
            task.cancel()
            await asyncio.gather(task, return_exceptions=True)
        if not self.adapters and self._writer is not None:
            await self._flush(1.0)
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
            self._writer = None
            for _, _, future in self._writes:
                if not future.done():
                    future.set_result(None)
            self._writes.clear()

    async def _last_id(self, stream: str) -> str:
        """Where reading starts: after the stream's last entry (Node's ``$``, without the gap
        between two reads)."""
        try:
            last = await self.client.xrevrange(stream, "+", "-", count=1)
        except (RedisError, OSError):
            return "$"
        return _text(last[0][0]) if last else "0-0"

    # ---------------------------------------------------------------- reading

    def _block_ms(self) -> int:
        """XREAD's BLOCK: ``block_time``, kept below the client's socket timeout (a read
        must not time out while Redis is only waiting for entries)."""
        block = self.options.block_time
        timeout = _socket_timeout(self.client)
        if timeout is not None and block >= timeout:
            block = timeout * 0.8
        return max(1, int(block * 1000))

    async def _read(self, stream: str, offset: str) -> None:
        options = self.options
        block = self._block_ms()
        delay = BACKOFF_MIN
        while True:
            try:
                reply = await self.client.xread({stream: offset}, count=options.read_count,
                                                block=block)
            except asyncio.CancelledError:
                raise
            except RedisTimeoutError:
                continue  # nothing came in time: read again
            except (RedisError, OSError) as exc:
                self._failing(f"XREAD {stream}", exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)
                if offset == "$":
                    offset = await self._last_id(stream)
                continue
            delay = BACKOFF_MIN
            self._working()
            for _name, entries in _streams(reply):
                for entry_id, raw in entries:
                    offset = _text(entry_id)
                    self._dispatch(_fields(raw), offset)

    def _dispatch(self, fields: dict[str, str], offset: str) -> None:
        adapter = self.adapters.get(fields.get("nsp", ""))
        if adapter is None:
            return
        try:
            message = decode_stream_entry(fields)
        except RemoteProtocolError as exc:
            log.debug("ignoring stream entry %s: %s", offset, exc)
            return
        adapter.on_message(message, offset)

    # ---------------------------------------------------------------- writing

    def xadd(self, stream: str, fields: dict[str, str]) -> asyncio.Future[str | None]:
        """Queue an XADD; the future gets the entry id (``None`` when Redis is down)."""
        future: asyncio.Future[str | None] = asyncio.get_running_loop().create_future()
        if self._writer is None or (self._down and not self._writes):
            # Redis is known to be down (the readers tell when it is back): dropped at once
            # rather than delaying local deliveries behind the writer's backoff
            self.connection.stats.dropped += 1
            future.set_result(None)
            return future
        self._writes.append((stream, fields, future))
        self._wake.set()
        return future

    async def _write(self) -> None:
        """One task appends every queued entry, in order, pipelining what is queued."""
        max_len = self.options.max_len
        delay = BACKOFF_MIN
        while True:
            if not self._writes:
                self._wake.clear()
                await self._wake.wait()
                continue
            batch = list(self._writes)
            try:
                try:
                    ids = await self._append(batch, max_len)
                except RedisConnectionError:  # a pooled connection Redis closed: once more
                    ids = await self._append(batch, max_len)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError) as exc:
                self._failing("XADD", exc)
                for _ in batch:  # dropped, as published messages are while Redis is down
                    _, _, future = self._writes.popleft()
                    if not future.done():
                        future.set_result(None)
                self.connection.stats.dropped += len(batch)
                await asyncio.sleep(delay)
                delay = min(delay * 2, BACKOFF_MAX)
                continue
            delay = BACKOFF_MIN
            self._working()
            for entry_id in ids:
                _, _, future = self._writes.popleft()
                if not future.done():
                    future.set_result(_text(entry_id))

    async def _append(self, batch: list[tuple[str, dict[str, str], Any]],
                      max_len: int) -> list[Any]:
        if len(batch) == 1:
            stream, fields, _ = batch[0]
            return [await self.client.xadd(stream, fields, maxlen=max_len, approximate=True)]
        pipe = self.client.pipeline(transaction=False)
        for stream, fields, _ in batch:
            pipe.xadd(stream, fields, maxlen=max_len, approximate=True)
        return list(await pipe.execute())

    async def _flush(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._writes and loop.time() < deadline:
            await asyncio.sleep(0.005)

    def _failing(self, what: str, exc: BaseException) -> None:
        """Streams commands fail. An outage of Redis is reported once, by the connection
        layer; a warning here only when they keep failing while pub/sub works."""
        if not self._down:
            self._down = True
            self._warned = False
            log.debug("Redis streams unreachable (%s: %s); retrying", what, exc)
        elif not self._warned and self.connection.available:
            self._warned = True
            log.warning("Redis streams commands fail while Redis answers (%s: %s); retrying",
                        what, exc)

    def _working(self) -> None:
        if self._down:
            self._down = False
            log.debug("Redis streams reachable again")


def _streams(reply: Any) -> list[tuple[Any, list[Any]]]:
    """XREAD's reply as ``[(stream, [(id, fields), ...])]``, from RESP2 (a list of pairs) or
    RESP3 (a dict, each value wrapped in one more list)."""
    if not reply:
        return []
    if isinstance(reply, dict):
        out = []
        for name, value in reply.items():
            entries = list(value)
            if len(entries) == 1 and isinstance(entries[0], list) and entries[0] and \
                    isinstance(entries[0][0], list | tuple):
                entries = list(entries[0])
            out.append((name, entries))
        return out
    return [(item[0], list(item[1])) for item in reply]


class RedisStreamsAdapter(ClusterAdapter):
    """One namespace's adapter over Redis streams (see the module docs)."""

    def __init__(self, nsp: Namespace, hub: _Hub) -> None:
        super().__init__(nsp)
        self.hub = hub
        options = hub.options
        self.stream = stream_name(options.stream_name, options.stream_count, nsp.name)
        self.public_channel = f"{options.channel_prefix}#{nsp.name}#"
        self.private_channel = f"{self.public_channel}{self.uid}#"
        self._started = False
        self._persisting: set[asyncio.Task[Any]] = set()

    @property
    def conn(self) -> RedisConnection:
        """The Redis connections this server's streams adapters share."""
        return self.hub.connection

    # ------------------------------------------------------------- lifecycle

    async def init(self) -> None:
        """Connect, subscribe to the pub/sub channels, start reading the stream."""
        await self.conn.start()
        subscribe = (self.conn.ssubscribe if self.hub.options.use_sharded_pubsub
                     else self.conn.subscribe)
        await subscribe(self.public_channel, self._on_payload)
        await subscribe(self.private_channel, self._on_payload)
        await self.hub.add(self)
        self._started = True

    async def close(self) -> None:
        """Stop reading, unsubscribe, release the connection."""
        if not self._started:
            return
        self._started = False
        await asyncio.sleep(0)  # sessions of sockets closed just now start persisting
        if self._persisting:
            await asyncio.wait(set(self._persisting), timeout=2.0)
        await self.hub.remove(self)
        unsubscribe = (self.conn.sunsubscribe if self.hub.options.use_sharded_pubsub
                       else self.conn.unsubscribe)
        for channel in (self.public_channel, self.private_channel):
            try:
                await unsubscribe(channel, self._on_payload)
            except Exception as exc:  # Redis gone: nothing to unsubscribe from
                log.debug("unsubscribe %s: %s", channel, exc)
        await self.conn.close()

    # -------------------------------------------------------------- transport

    def _send(self, channel: str, payload: bytes) -> None:
        if self.hub.options.use_sharded_pubsub:
            self.conn.spublish(channel, payload)
        else:
            self.conn.publish(channel, payload)

    def do_publish(self, message: ClusterMessage) -> asyncio.Future[str | None] | None:
        """Transient messages over pub/sub; the others appended to the stream (the future
        gets the entry id, the offset)."""
        kind = message["type"]
        if is_transient(message):
            self._send(self.public_channel, pack(message))
            return None
        if self.hub.options.only_plaintext:  # Node's onlyPlaintext: no binary check
            fields = {"uid": message["uid"], "nsp": message["nsp"], "type": str(int(kind))}
            if message.get("data"):
                fields["data"] = jsoncodec.dumps(message["data"])
        else:
            fields = encode_stream_entry(message)
        return self.hub.xadd(self.stream, fields)

    def do_publish_response(self, requester_uid: str, response: ClusterMessage) -> None:
        """Responses over pub/sub, to the requester's channel."""
        self._send(f"{self.public_channel}{requester_uid}#", pack(response))

    def _on_payload(self, channel: str, payload: bytes) -> None:
        try:
            message = unpack(payload)
        except RemoteProtocolError as exc:
            log.debug("ignoring a message on %s: %s", channel, exc)
            return
        if isinstance(message, dict) and isinstance(message.get("type"), int):
            self.on_message(cast(ClusterMessage, message))

    async def count_servers(self) -> int:
        """``PUBSUB NUMSUB`` (``SHARDNUMSUB``) of the public channel (raises
        ``RedisUnavailable`` while Redis is down)."""
        try:
            if self.hub.options.use_sharded_pubsub:
                return await self.conn.shardnumsub(self.public_channel)
            return await self.conn.numsub(self.public_channel)
        except RedisUnavailable:
            raise RedisUnavailable("Redis is unreachable") from None

    # --------------------------------------------------------------- sessions

    def _session_key(self, pid: str) -> str:
        return self.hub.options.session_key_prefix + pid

    async def persist_session(self, session: PersistedSession) -> None:
        """``SET <prefix><pid> base64(msgpack(session)) PX <max disconnection duration>``;
        never raises (a session that cannot be stored cannot be recovered)."""
        settings = self.nsp.server.connection_state_recovery
        duration = settings.max_disconnection_duration if settings is not None else 120.0
        try:
            value = encode_session({"sid": session.sid, "pid": session.pid,
                                    "rooms": list(session.rooms), "data": session.data})
        except (TypeError, ValueError) as exc:
            log.warning("could not store the session of %s: %s", session.sid, exc)
            return
        task = asyncio.current_task()
        if task is not None:  # close() waits for it: sessions of a shutdown are kept too
            self._persisting.add(task)
        try:
            await self.hub.client.set(self._session_key(session.pid), value,
                                      px=max(1, int(duration * 1000)))
        except (RedisError, OSError) as exc:
            log.warning("could not store the session of %s: %s", session.sid, exc)
        finally:
            if task is not None:
                self._persisting.discard(task)

    async def restore_session(self, pid: str, offset: str) -> RestoredSession | None:
        """The session ``pid`` (taken once) with the stream entries after ``offset`` its rooms
        received; ``None`` when the offset is not a stream id (``""`` included: the streams
        adapter needs the client's last offset), or the session or the offset is gone."""
        if not _OFFSET.fullmatch(offset):
            return None
        client = self.hub.client
        key = self._session_key(pid)

        async def take() -> Any:
            pipe = client.pipeline(transaction=True)
            pipe.get(key)
            pipe.delete(key)
            return (await pipe.execute())[0]

        raw, here = await asyncio.gather(take(), client.xrange(self.stream, offset, offset))
        if not raw or not here:
            return None
        try:
            stored = decode_session(raw)
        except RemoteProtocolError:
            return None
        rooms = [r for r in stored.get("rooms") or () if isinstance(r, str)]
        missed: list[list[Any]] = []
        nsp = self.nsp.name
        start = offset
        for _ in range(RESTORE_MAX_XRANGE_CALLS):
            entries = await client.xrange(self.stream, _next_offset(start), "+",
                                          count=self.hub.options.read_count)
            if not entries:
                break
            for entry_id, raw_fields in entries:
                start = _text(entry_id)
                fields = _fields(raw_fields)
                if fields.get("nsp") != nsp or fields.get("type") != "3":
                    continue
                packet = _stored_packet(fields, rooms)
                if packet is not None:
                    packet.append(start)
                    missed.append(packet)
        sid = stored.get("sid")
        return RestoredSession(
            sid if isinstance(sid, str) else "", pid, rooms, stored.get("data"), missed)


def is_transient(message: ClusterMessage) -> bool:
    """Whether ``message`` goes over pub/sub rather than the stream (Node's ``isEphemeral``):
    broadcasts with acks, ``fetch_sockets`` and server-side emits."""
    kind = message["type"]
    return (kind == MessageType.SERVER_SIDE_EMIT or kind == MessageType.FETCH_SOCKETS
            or (kind == MessageType.BROADCAST and "requestId" in message.get("data", {})))


def _next_offset(offset: str) -> str:
    """The smallest id after ``offset`` (inclusive XRANGE bounds work before Redis 6.2)."""
    ms, _, seq = offset.partition("-")
    return f"{ms}-{int(seq) + 1}"


def _stored_packet(fields: dict[str, str], rooms: list[str]) -> list[Any] | None:
    """The event data of a stored BROADCAST entry when a socket in ``rooms`` got it."""
    try:
        data: Any = decode_stream_entry(fields).get("data")
        packet = data["packet"]
        opts: BroadcastOptions = decode_options(data["opts"])
    except (RemoteProtocolError, KeyError, TypeError, ValueError):
        return None
    events = packet.get("data") if isinstance(packet, dict) else None
    if not isinstance(events, list) or not events or opts.flags.volatile:
        return None
    if opts.rooms and not any(room in opts.rooms for room in rooms):
        return None
    if any(room in opts.except_rooms for room in rooms):
        return None
    return list(events)
