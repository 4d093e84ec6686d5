"""The Redis connections that the Redis adapters share, with their fault handling.

One :class:`RedisConnection` holds, for one server (all its namespaces):

- a **publisher**: one dedicated connection fed by a queue and written by one task, which
  pipelines whatever is queued (``PUBLISH`` and ``SPUBLISH``); ``publish()`` is synchronous
  and never waits for Redis;
- a **subscriber** for ``SUBSCRIBE`` and ``PSUBSCRIBE``, and one for ``SSUBSCRIBE`` per Redis
  node (created on first use), each read by one task that calls the callbacks registered per
  channel or pattern. Each channel is subscribed on exactly one connection, however many
  callbacks it has: ``PUBSUB NUMSUB`` (the server count of Node's adapters) counts
  connections;
- ``client``: the redis-py asyncio client (``redis.asyncio.Redis`` or ``RedisCluster``) for
  ordinary commands (``PUBSUB NUMSUB``, streams, keys).

Faults: when Redis goes away each connection reconnects with exponential backoff and jitter
(50 ms doubling, capped at 0.5 s as node-redis does), the subscribers subscribe again to
everything (room channels included), one WARNING is logged when the outage starts and one
INFO line when every connection is back. While Redis is down ``publish()`` drops the
message at once and counts it (:attr:`RedisConnection.stats`); nothing raises into the
event loop. Local delivery does not depend on Redis at all.

redis-py picks the hiredis parser by itself when ``hiredis`` is installed.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, cast

from redis.asyncio import Redis
from redis.asyncio.cluster import RedisCluster
from redis.backoff import NoBackoff
from redis.exceptions import RedisError, ResponseError
from redis.retry import Retry

__all__ = ["Callback", "RedisConnection", "RedisStats", "RedisUnavailable"]

log = logging.getLogger("socketwire.adapters.redis")

Callback = Callable[[str, bytes], None]
"""A subscription callback: ``callback(channel, payload)``."""

BACKOFF_MIN = 0.05
BACKOFF_MAX = 0.5
SUBSCRIBE_TIMEOUT = 5.0
PING_EVERY = 5.0  # an idle subscriber pings Redis this often to notice dead links
PUBLISH_BATCH = 512


class RedisUnavailable(ConnectionError):
    """Redis cannot be reached right now (the adapters reconnect by themselves)."""


@dataclass(slots=True)
class RedisStats:
    """Counters of a :class:`RedisConnection` (they only grow)."""

    published: int = 0
    """Messages written to Redis."""
    dropped: int = 0
    """Messages not sent because Redis was down (refused at once or lost in flight)."""
    outages: int = 0
    """Times Redis became unreachable."""
    reconnects: int = 0
    """Successful reconnections of any of the connections."""


def _backoff(attempt: int) -> float:
    base = min(BACKOFF_MAX, BACKOFF_MIN * (2 ** min(attempt, 10)))
    return float(base * random.uniform(0.5, 1.0))


def _text(value: Any) -> str:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    return str(value)


def _dedicated_kwargs(kwargs: dict[str, Any], *, read_timeout: float | None) -> dict[str, Any]:
    """Connection options for a connection this module drives itself: RESP2, no hidden
    retries or health checks (the loops below do both), bounded connect time."""
    out = dict(kwargs)
    out["protocol"] = 2
    out["retry"] = Retry(NoBackoff(), 0)
    out["health_check_interval"] = 0
    out["socket_timeout"] = read_timeout
    if not out.get("socket_connect_timeout"):
        out["socket_connect_timeout"] = 2.0
    out.pop("retry_on_timeout", None)
    out.pop("retry_on_error", None)
    return out


class _Health:
    """Tracks the connections of one RedisConnection to log once per outage."""

    def __init__(self, stats: RedisStats) -> None:
        self.stats = stats
        self.down: set[str] = set()
        self.since: float | None = None
        self.listeners: list[Callable[[], None]] = []
        self.on_lost: Callable[[], None] | None = None

    def lost(self, who: str, err: BaseException) -> None:
        if who in self.down:
            return
        self.down.add(who)
        if self.since is None:
            self.since = asyncio.get_running_loop().time()
            self.stats.outages += 1
            log.warning("Redis unreachable (%s: %s); reconnecting, messages to other servers "
                        "are dropped until it is back", who, err or type(err).__name__)
        if self.on_lost is not None:
            self.on_lost()

    def back(self, who: str) -> None:
        if who not in self.down:
            return
        self.stats.reconnects += 1
        self.down.discard(who)
        if not self.down and self.since is not None:
            took = asyncio.get_running_loop().time() - self.since
            self.since = None
            log.info("Redis reachable again after %.2f s (%d messages dropped so far)",
                     took, self.stats.dropped)
            for listener in list(self.listeners):
                try:
                    listener()
                except Exception:  # a listener's bug must not stop the reconnection
                    log.exception("reconnect listener failed")

    @property
    def ok(self) -> bool:
        return not self.down


class _Link:
    """One dedicated connection kept up: connect, serve until it breaks, back off, again.
    Subclasses say what serving is and what losing the link means."""

    _class: type[Any]
    _kwargs: dict[str, Any]
    _closing: bool
    _attempt: int = 0

    async def _serve(self, conn: Any) -> None:
        """Use the connected ``conn`` until it breaks (set ``_attempt = 0`` once it is up)."""
        raise NotImplementedError

    def _lost(self, err: BaseException) -> None:
        """The link broke with ``err`` (also while closing)."""

    def _down(self) -> None:
        """The link is gone, whatever the cause (also on cancellation)."""

    async def _run(self) -> None:
        self._attempt = 0
        while not self._closing:
            conn = self._class(**self._kwargs)
            try:
                await conn.connect()
                await self._serve(conn)
            except asyncio.CancelledError:
                raise
            except (RedisError, OSError, EOFError) as err:
                self._lost(err)
            finally:
                self._down()
                with contextlib.suppress(Exception):
                    await conn.disconnect()
            if self._closing:
                break
            await asyncio.sleep(_backoff(self._attempt))
            self._attempt += 1


class _Subscriber(_Link):
    """One subscribed connection (``SUBSCRIBE``/``PSUBSCRIBE``, or ``SSUBSCRIBE``) and its
    reader task; subscribes again to everything after a reconnection."""

    def __init__(self, name: str, kwargs: dict[str, Any], connection_class: type[Any],
                 health: _Health, sharded: bool) -> None:
        self.name = name
        self._kwargs = _dedicated_kwargs(kwargs, read_timeout=None)
        self._class = connection_class
        self._health = health
        self.sharded = sharded
        self.channels: dict[str, list[Callback]] = {}
        self.patterns: dict[str, list[Callback]] = {}
        self._conn: Any = None
        self._connected = asyncio.Event()
        self._pending: dict[tuple[str, str], list[asyncio.Future[None]]] = {}
        # sharded: channels whose SSUBSCRIBE awaits its answer, in the order sent (an error
        # answer, e.g. MOVED, names no channel: it is the oldest one)
        self._unconfirmed: deque[str] = deque()
        self.on_moved: Callable[[str, list[Callback]], None] | None = None
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._write_lock = asyncio.Lock()

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"socketwire-redis-{self.name}")

    async def wait_connected(self, timeout: float) -> bool:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._connected.wait(), timeout)
        return self._connected.is_set()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    # ------------------------------------------------------------ (un)subscribe

    async def add(self, kind: str, name: str, callback: Callback) -> None:
        table = self.patterns if kind == "p" else self.channels
        callbacks = table.get(name)
        if callbacks is not None:
            callbacks.append(callback)
            return
        table[name] = [callback]
        await self._send_and_confirm(self._sub_command(kind), name)

    async def remove(self, kind: str, name: str, callback: Callback | None) -> None:
        table = self.patterns if kind == "p" else self.channels
        callbacks = table.get(name)
        if callbacks is None:
            return
        if callback is not None and callback in callbacks:
            callbacks.remove(callback)
        if callback is None or not callbacks:
            del table[name]
            command = {"s": "UNSUBSCRIBE", "p": "PUNSUBSCRIBE", "ss": "SUNSUBSCRIBE"}[kind]
            # confirmed, as node-redis's: other connections see it once this returns
            await self._send_and_confirm(command, name)

    @staticmethod
    def _sub_command(kind: str) -> str:
        return {"s": "SUBSCRIBE", "p": "PSUBSCRIBE", "ss": "SSUBSCRIBE"}[kind]

    async def _send_and_confirm(self, command: str, name: str, confirm: bool = True) -> None:
        """Send now when connected (waiting for Redis's confirmation); when not, the
        reconnection will subscribe everything in the tables (which the caller updated
        first: the reconnection reads them under the same lock)."""
        fut: asyncio.Future[None] | None = None
        async with self._write_lock:
            conn = self._conn
            if conn is None:
                return
            if confirm:
                fut = asyncio.get_running_loop().create_future()
                self._pending.setdefault((command.lower(), name), []).append(fut)
            try:
                if command == "SSUBSCRIBE":
                    self._unconfirmed.append(name)
                await conn.send_command(command, name)
            except (RedisError, OSError):
                return  # the reader notices the broken link and resubscribes everything
        if fut is not None:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(fut), SUBSCRIBE_TIMEOUT)

    # ------------------------------------------------------------------ reader

    async def _serve(self, conn: Any) -> None:
        async with self._write_lock:
            self._conn = conn
            await self._resubscribe(conn)
        self._connected.set()
        self._health.back(self.name)
        self._attempt = 0
        await self._read(conn)

    def _lost(self, err: BaseException) -> None:
        if not self._closing:
            self._health.lost(self.name, err)

    def _down(self) -> None:
        self._connected.clear()
        self._conn = None

    async def _resubscribe(self, conn: Any) -> None:
        commands: list[tuple[str, ...]] = []
        self._unconfirmed.clear()
        if self.channels and self.sharded:
            # one command per channel: on a Redis Cluster channels of different slots may
            # not share an SSUBSCRIBE (CROSSSLOT), and a MOVED answer must name one channel
            for channel in self.channels:
                commands.append(("SSUBSCRIBE", channel))
                self._unconfirmed.append(channel)
        elif self.channels:
            commands.append(("SUBSCRIBE", *self.channels))
        if self.patterns:
            commands.append(("PSUBSCRIBE", *self.patterns))
        if commands:
            await conn.send_packed_command(conn.pack_commands(commands))

    async def _read(self, conn: Any) -> None:
        waiting_pong = False
        while True:
            try:
                msg = await conn.read_response(timeout=PING_EVERY, disconnect_on_error=True)
            except ResponseError as err:  # an error answer: the link itself is fine
                waiting_pong = False
                self._on_error_reply(err)
                continue
            if msg is None:  # idle: make sure the link is alive
                if waiting_pong:
                    raise RedisUnavailable("no answer to PING")
                waiting_pong = True
                async with self._write_lock:
                    await conn.send_command("PING")
                continue
            waiting_pong = False
            self._dispatch(msg)

    def _dispatch(self, msg: Any) -> None:
        if not isinstance(msg, list) or not msg:
            return
        kind = msg[0]
        if kind == b"message" or kind == b"smessage":
            callbacks = self.channels.get(_text(msg[1]))
            if callbacks:
                self._call(callbacks, _text(msg[1]), msg[2])
        elif kind == b"pmessage":
            callbacks = self.patterns.get(_text(msg[1]))
            if callbacks:
                self._call(callbacks, _text(msg[2]), msg[3])
        elif kind in (b"subscribe", b"psubscribe", b"ssubscribe"):
            channel = _text(msg[1])
            if kind == b"ssubscribe" and channel in self._unconfirmed:
                self._unconfirmed.remove(channel)
            self._confirmed("ssubscribe" if kind == b"ssubscribe" else _text(kind), channel)
        elif kind == b"sunsubscribe" and _text(msg[1]) in self.channels:
            # not asked for (remove() forgets a channel before unsubscribing): Redis
            # dropped it, its slot moved to another node of the cluster
            self._moved(_text(msg[1]))
        elif kind in (b"unsubscribe", b"punsubscribe", b"sunsubscribe"):
            self._confirmed(_text(kind), _text(msg[1]))
        # pong: nothing to do

    def _confirmed(self, command: str, channel: str) -> None:
        for fut in self._pending.pop((command, channel), None) or ():
            if not fut.done():
                fut.set_result(None)

    def _on_error_reply(self, err: ResponseError) -> None:
        if self.sharded and self._unconfirmed:
            channel = self._unconfirmed.popleft()
            if str(err).startswith("MOVED") and channel in self.channels:
                self._moved(channel)
                return
            self._confirmed("ssubscribe", channel)
        log.warning("Redis refused a subscription on %s: %s", self.name, err)

    def _moved(self, channel: str) -> None:
        """Hand ``channel`` (and its callbacks) over to the connection of its new node."""
        callbacks = self.channels.pop(channel, [])
        self._confirmed("ssubscribe", channel)
        if self.on_moved is not None and callbacks:
            self.on_moved(channel, callbacks)

    @staticmethod
    def _call(callbacks: list[Callback], channel: str, payload: bytes) -> None:
        for callback in list(callbacks):
            try:
                callback(channel, payload)
            except Exception:  # one bad message must not stop the reader
                log.warning("Redis message on %s could not be handled", channel, exc_info=True)

    async def close(self) -> None:
        self._closing = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        for waiters in self._pending.values():
            for fut in waiters:
                fut.cancel()
        self._pending.clear()


class _Publisher(_Link):
    """One dedicated connection that pipelines queued ``PUBLISH``/``SPUBLISH`` commands."""

    def __init__(self, kwargs: dict[str, Any], connection_class: type[Any], health: _Health,
                 stats: RedisStats) -> None:
        self._kwargs = _dedicated_kwargs(kwargs, read_timeout=5.0)
        self._class = connection_class
        self._health = health
        self._stats = stats
        self._queue: deque[tuple[str, str, bytes]] = deque()
        self._wake = asyncio.Event()
        self._task: asyncio.Task[None] | None = None
        self._closing = False
        self._probe = False
        self.up = False
        health.on_lost = self.probe

    def start(self) -> None:
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="socketwire-redis-publisher")

    def probe(self) -> None:
        """Another connection lost Redis: check this one now rather than on its next write."""
        self._probe = True
        self._wake.set()

    def put(self, command: str, channel: str, payload: bytes) -> bool:
        if not self.up or not self._health.ok:
            self._stats.dropped += 1
            return False
        self._queue.append((command, channel, payload))
        if len(self._queue) == 1:
            self._wake.set()
        return True

    async def _serve(self, conn: Any) -> None:
        self.up = True
        self._health.back("publisher")
        self._attempt = 0
        await self._write(conn)

    def _lost(self, err: BaseException) -> None:
        self.up = False
        lost = len(self._queue)
        self._queue.clear()
        self._stats.dropped += lost
        if not self._closing:
            self._health.lost("publisher", err)

    def _down(self) -> None:
        self.up = False

    async def _write(self, conn: Any) -> None:
        queue = self._queue
        while True:
            if not queue:
                self._wake.clear()
                try:
                    await asyncio.wait_for(self._wake.wait(), PING_EVERY)
                    ping = self._probe and not queue
                except TimeoutError:
                    ping = True
                self._probe = False
                if ping:
                    await conn.send_command("PING", check_health=False)
                    await conn.read_response()
                    continue
                if not queue:
                    continue
            batch = [queue.popleft() for _ in range(min(len(queue), PUBLISH_BATCH))]
            try:
                await conn.send_packed_command(conn.pack_commands(batch), check_health=False)
                for _ in batch:
                    try:
                        await conn.read_response()
                    except ResponseError:  # e.g. SPUBLISH on a Redis older than 7
                        self._stats.dropped += 1
            except BaseException:
                self._stats.dropped += len(batch)
                raise
            self._stats.published += len(batch)

    async def flush(self, timeout: float) -> None:
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while self._queue and self.up and loop.time() < deadline:
            await asyncio.sleep(0.005)

    async def close(self) -> None:
        self._closing = True
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


class RedisConnection:
    """Publisher, subscribers and a command client for one server's Redis adapters.

    ``url_or_client``: a ``redis://`` / ``rediss://`` / ``unix://`` URL, or an existing
    ``redis.asyncio.Redis`` or ``redis.asyncio.cluster.RedisCluster`` (its connection options
    are reused for the dedicated publish and subscribe connections; the client itself serves
    the other commands and is not closed by :meth:`close`).
    """

    def __init__(self, url_or_client: str | Redis | RedisCluster) -> None:
        self._own_client = isinstance(url_or_client, str)
        if isinstance(url_or_client, str):
            if url_or_client.startswith("redis+cluster://"):
                self.client: Redis | RedisCluster = RedisCluster.from_url(
                    "redis://" + url_or_client[len("redis+cluster://"):])
            else:
                self.client = Redis.from_url(url_or_client)
        else:
            self.client = url_or_client
        self.stats = RedisStats()
        self._health = _Health(self.stats)
        self._publisher: _Publisher | None = None
        self._subscriber: _Subscriber | None = None
        self._sharded: dict[str, _Subscriber] = {}
        self._started = False
        self._closed = False
        self._users = 0
        self._start_lock = asyncio.Lock()
        self._move_lock = asyncio.Lock()
        self._moves: set[asyncio.Task[None]] = set()

    # ------------------------------------------------------------- lifecycle

    @property
    def is_cluster(self) -> bool:
        """Whether the client is a Redis Cluster client."""
        return isinstance(self.client, RedisCluster)

    async def _node_kwargs(self, key: str | None = None) -> tuple[dict[str, Any], type[Any]]:
        """Connection options (and class) for a dedicated connection; on a cluster, to the
        node serving ``key`` (any node when ``None``)."""
        client = self.client
        if isinstance(client, RedisCluster):
            await client.initialize()
            node = (client.get_node_from_key(key) if key is not None
                    else client.get_default_node() or client.get_nodes()[0])
            if node is None:
                raise RedisUnavailable("no Redis Cluster node known")
            pool = node.connection_class, node.connection_kwargs
            kwargs = dict(pool[1])
            kwargs["host"], kwargs["port"] = node.host, node.port
            return kwargs, pool[0]
        pool_ = client.connection_pool
        return dict(pool_.connection_kwargs), pool_.connection_class

    async def start(self, timeout: float = SUBSCRIBE_TIMEOUT) -> None:
        """Open the publisher and the subscriber (idempotent; counted, see :meth:`close`).

        Waits up to ``timeout`` for them to connect; when Redis is down it returns anyway
        (the connections keep retrying in the background)."""
        async with self._start_lock:
            self._users += 1
            if self._started:
                return
            self._started = True
            self._closed = False
            kwargs, cls = await self._node_kwargs()
            self._publisher = _Publisher(kwargs, cls, self._health, self.stats)
            self._subscriber = _Subscriber("subscriber", kwargs, cls, self._health, False)
            self._publisher.start()
            self._subscriber.start()
            await self._subscriber.wait_connected(timeout)
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout
            while not self._publisher.up and loop.time() < deadline:
                await asyncio.sleep(0.005)

    async def close(self) -> None:
        """Release one :meth:`start`; the last one flushes queued messages (briefly), stops
        every connection and closes the client when it was made from a URL."""
        async with self._start_lock:
            self._users = max(0, self._users - 1)
            if self._users or not self._started:
                return
            self._started = False
            self._closed = True
            if self._publisher is not None:
                await self._publisher.flush(1.0)
                await self._publisher.close()
            for sub in (self._subscriber, *self._sharded.values()):
                if sub is not None:
                    await sub.close()
            for task in list(self._moves):
                task.cancel()
            self._sharded.clear()
            self._subscriber = None
            self._publisher = None
            if self._own_client:
                with contextlib.suppress(Exception):
                    await self.client.aclose()

    @property
    def available(self) -> bool:
        """Whether every connection is up right now."""
        return self._started and self._health.ok and bool(
            self._publisher and self._publisher.up)

    def on_reconnect(self, listener: Callable[[], None]) -> None:
        """Call ``listener()`` each time Redis is reachable again after an outage (after
        every subscription was restored)."""
        self._health.listeners.append(listener)

    # -------------------------------------------------------------- publishing

    def publish(self, channel: str, payload: bytes | str) -> bool:
        """Queue a ``PUBLISH``; returns ``False`` (and counts a drop) when Redis is down."""
        if isinstance(payload, str):
            payload = payload.encode()
        if self._publisher is None:
            self.stats.dropped += 1
            return False
        return self._publisher.put("PUBLISH", channel, payload)

    def spublish(self, channel: str, payload: bytes | str) -> bool:
        """Queue an ``SPUBLISH`` (sharded pub/sub, Redis 7); as :meth:`publish`.

        On a Redis Cluster it goes through the cluster client (routed by slot)."""
        if isinstance(payload, str):
            payload = payload.encode()
        if self.is_cluster:
            if not self._health.ok:
                self.stats.dropped += 1
                return False
            task = asyncio.get_running_loop().create_task(self._cluster_spublish(channel, payload))
            task.add_done_callback(_ignore_result)
            return True
        if self._publisher is None:
            self.stats.dropped += 1
            return False
        return self._publisher.put("SPUBLISH", channel, payload)

    async def _cluster_spublish(self, channel: str, payload: bytes) -> None:
        try:
            await cast(Any, self.client).execute_command("SPUBLISH", channel, payload)
            self.stats.published += 1
        except (RedisError, OSError):
            self.stats.dropped += 1

    # ------------------------------------------------------------ subscribing

    def _main(self) -> _Subscriber:
        if self._subscriber is None:
            raise RuntimeError("RedisConnection.start() was not awaited")
        return self._subscriber

    async def subscribe(self, channel: str, callback: Callback) -> None:
        """``SUBSCRIBE channel``: ``callback(channel, payload)`` for each message. Returns
        once Redis confirmed (at once while Redis is down: it is done on reconnection)."""
        await self._main().add("s", channel, callback)

    async def unsubscribe(self, channel: str, callback: Callback | None = None) -> None:
        """Remove ``callback`` (every callback when ``None``); the last one unsubscribes."""
        await self._main().remove("s", channel, callback)

    async def psubscribe(self, pattern: str, callback: Callback) -> None:
        """``PSUBSCRIBE pattern``: ``callback(channel, payload)`` for each matching message."""
        await self._main().add("p", pattern, callback)

    async def punsubscribe(self, pattern: str, callback: Callback | None = None) -> None:
        """As :meth:`unsubscribe`, for a pattern."""
        await self._main().remove("p", pattern, callback)

    async def _shard_for(self, channel: str) -> _Subscriber:
        if not self._started:
            raise RuntimeError("RedisConnection.start() was not awaited")
        kwargs, cls = await self._node_kwargs(channel if self.is_cluster else None)
        name = f"{kwargs.get('host')}:{kwargs.get('port')}:{kwargs.get('path', '')}"
        sub = self._sharded.get(name)
        if sub is None:
            sub = self._sharded[name] = _Subscriber(f"sharded-subscriber {name}", kwargs, cls,
                                                    self._health, True)
            sub.on_moved = self._on_moved
            sub.start()
            await sub.wait_connected(SUBSCRIBE_TIMEOUT)
        return sub

    def _on_moved(self, channel: str, callbacks: list[Callback]) -> None:
        task = asyncio.get_running_loop().create_task(self._move(channel, callbacks))
        self._moves.add(task)
        task.add_done_callback(self._moves.discard)

    async def _move(self, channel: str, callbacks: list[Callback]) -> None:
        """Subscribe ``channel`` again on the node that serves its slot now."""
        async with self._move_lock:
            for attempt in range(20):
                if self._closed:
                    return
                try:
                    client = self.client
                    if isinstance(client, RedisCluster):
                        await client.nodes_manager.initialize()
                    sub = await self._shard_for(channel)
                    if channel in sub.channels:  # moved back already
                        sub.channels[channel].extend(
                            c for c in callbacks if c not in sub.channels[channel])
                        return
                    for callback in callbacks:
                        await sub.add("ss", channel, callback)
                    log.info("sharded channel %s now on %s", channel, sub.name)
                    return
                except (RedisError, OSError) as err:
                    if attempt == 19:
                        log.warning("could not subscribe %s again after its slot moved: %s",
                                    channel, err)
                        return
                    await asyncio.sleep(_backoff(attempt))

    async def ssubscribe(self, channel: str, callback: Callback) -> None:
        """``SSUBSCRIBE channel`` (on the node owning its slot on a Redis Cluster)."""
        await (await self._shard_for(channel)).add("ss", channel, callback)

    async def sunsubscribe(self, channel: str, callback: Callback | None = None) -> None:
        """As :meth:`unsubscribe`, for a sharded channel."""
        for sub in self._sharded.values():
            if channel in sub.channels:
                await sub.remove("ss", channel, callback)

    def subscriptions(self) -> dict[str, list[str]]:
        """What is subscribed now: ``{"channels": [...], "patterns": [...], "sharded": [...]}``."""
        main = self._subscriber
        return {
            "channels": sorted(main.channels) if main else [],
            "patterns": sorted(main.patterns) if main else [],
            "sharded": sorted(c for s in self._sharded.values() for c in s.channels),
        }

    # ---------------------------------------------------------------- commands

    async def numsub(self, channel: str) -> int:
        """``PUBSUB NUMSUB channel`` (summed over the nodes of a Redis Cluster).

        Raises :class:`RedisUnavailable` when Redis cannot answer."""
        try:
            if isinstance(self.client, RedisCluster):
                total = 0
                for node in self.client.get_nodes():
                    reply = await cast(Any, self.client).execute_command(
                        "PUBSUB NUMSUB", channel, target_nodes=node)
                    total += _numsub_value(reply)
                return total
            reply = await cast(Any, self.client).execute_command("PUBSUB NUMSUB", channel)
            return _numsub_value(reply)
        except (RedisError, OSError) as err:
            raise RedisUnavailable(f"Redis unavailable: {err}") from err

    async def shardnumsub(self, channel: str) -> int:
        """``PUBSUB SHARDNUMSUB channel`` (asked of the node owning the slot on a cluster)."""
        try:
            if isinstance(self.client, RedisCluster):
                node = self.client.get_node_from_key(channel)
                reply = await cast(Any, self.client).execute_command(
                    "PUBSUB SHARDNUMSUB", channel, target_nodes=node)
            else:
                reply = await cast(Any, self.client).execute_command("PUBSUB SHARDNUMSUB", channel)
            return _numsub_value(reply)
        except (RedisError, OSError) as err:
            raise RedisUnavailable(f"Redis unavailable: {err}") from err


def _numsub_value(reply: Any) -> int:
    """The count in a ``PUBSUB NUMSUB`` reply (a flat list or pairs, by client version)."""
    if isinstance(reply, dict):
        return sum(int(v) for v in reply.values())
    if isinstance(reply, list | tuple):
        if reply and isinstance(reply[0], list | tuple):
            return sum(int(pair[1]) for pair in reply)
        return sum(int(v) for v in reply[1::2])
    return int(reply)


def _ignore_result(task: asyncio.Task[Any]) -> None:
    if not task.cancelled():
        task.exception()
