"""Emit to a Socket.IO cluster from any Python process (a worker, a cron job, a script), in
the format of Node's ``@socket.io/redis-emitter`` 5: the servers (socketwire or Node, with the
classic Redis adapter) deliver to their clients.

Two classes with the same operations: :class:`Emitter` (asyncio, on ``redis.asyncio``) and
:class:`SyncEmitter` (blocking, on ``redis.Redis``, for code without an event loop)::

    from socketwire.emitter import Emitter, SyncEmitter

    async with Emitter("redis://127.0.0.1:6379/0") as emitter:
        await emitter.to("room1").emit("news", {"title": "..."})
        await emitter.of("/admin").except_("banned").emit("alert", 1)
        await emitter.in_("room1").sockets_join("room2")
        await emitter.disconnect_sockets(close=True)
        await emitter.server_side_emit("reload-config")

    with SyncEmitter("redis://127.0.0.1:6379/0") as emitter:
        emitter.to(user_id).emit("invoice-ready", invoice_id)

As Node's emitter: acknowledgements are not supported, reserved event names (``connect``,
``disconnect``...) are refused with :class:`~socketwire.exceptions.LocalProtocolError`, each
operation is one ``PUBLISH`` (a call returns once Redis has it), and nothing is counted in the
servers' ``server_count``. Needs ``pip install socketwire[redis]``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, Generic, TypeVar, cast

import redis
import redis.asyncio

from .protocol import redis_classic as wire
from .protocol.redis_classic import RequestType
from .protocol.sio import check_event_name

__all__ = ["Emitter", "EmitterOperator", "SyncEmitter", "SyncEmitterOperator"]

UID = "emitter"

C = TypeVar("C")
Op = TypeVar("Op", bound="_Operator[Any, Any]")


def _rooms(value: str | Iterable[str]) -> list[str]:
    return [value] if isinstance(value, str) else list(value)


def _nsp(name: str) -> str:
    return name if name.startswith("/") else "/" + name


class _Target:
    """Who an emitter operation reaches, and the messages it publishes."""

    __slots__ = ("except_rooms", "flags", "key", "nsp", "rooms")

    def __init__(self, key: str, nsp: str, rooms: tuple[str, ...] = (),
                 except_rooms: tuple[str, ...] = (), flags: dict[str, Any] | None = None) -> None:
        self.key = key
        self.nsp = nsp
        self.rooms = rooms
        self.except_rooms = except_rooms
        self.flags = flags or {}

    def add(self, rooms: str | Iterable[str] = (), except_rooms: str | Iterable[str] = (),
            **flags: Any) -> _Target:
        def merge(old: tuple[str, ...], new: str | Iterable[str]) -> tuple[str, ...]:
            return old + tuple(r for r in _rooms(new) if r not in old)

        return _Target(self.key, self.nsp, merge(self.rooms, rooms),
                       merge(self.except_rooms, except_rooms), {**self.flags, **flags})

    @property
    def channels(self) -> wire.Channels:
        return wire.Channels.of(self.key, self.nsp, UID)

    def _opts(self) -> dict[str, Any]:
        return {"rooms": list(self.rooms), "except": list(self.except_rooms)}

    def emit(self, event: str, args: tuple[Any, ...]) -> tuple[str, bytes]:
        check_event_name(event)
        payload = wire.encode_broadcast(UID, [event, *args], self.nsp, self.rooms,
                                        self.except_rooms, self.flags)
        return self.channels.for_rooms(self.rooms), payload

    def join(self, rooms: str | Iterable[str]) -> tuple[str, bytes]:
        return self.channels.request, wire.encode_json(
            {"type": int(RequestType.REMOTE_JOIN), "opts": self._opts(), "rooms": _rooms(rooms)})

    def leave(self, rooms: str | Iterable[str]) -> tuple[str, bytes]:
        return self.channels.request, wire.encode_json(
            {"type": int(RequestType.REMOTE_LEAVE), "opts": self._opts(), "rooms": _rooms(rooms)})

    def disconnect(self, close: bool) -> tuple[str, bytes]:
        return self.channels.request, wire.encode_json(
            {"type": int(RequestType.REMOTE_DISCONNECT), "opts": self._opts(), "close": close})

    def server_side_emit(self, event: str, args: tuple[Any, ...]) -> tuple[str, bytes]:
        return self.channels.request, wire.encode_json(
            {"uid": UID, "type": int(RequestType.SERVER_SIDE_EMIT), "data": [event, *args]})


class _Operator(Generic[C, Op]):
    """The chainable part shared by both emitters: rooms, exclusions, flags."""

    __slots__ = ("_client", "_target")
    _OPERATOR: type[Any]

    def __init__(self, client: C, target: _Target) -> None:
        self._client = client
        self._target = target

    def _with(self, target: _Target) -> Op:
        return cast(Op, self._OPERATOR(self._client, target))

    def to(self, room: str | Iterable[str]) -> Op:
        """Also target the sockets in ``room`` (one or several; a socket id for one socket)."""
        return self._with(self._target.add(rooms=room))

    def in_(self, room: str | Iterable[str]) -> Op:
        """The same as :meth:`to`."""
        return self.to(room)

    def except_(self, room: str | Iterable[str]) -> Op:
        """Leave out the sockets in ``room``."""
        return self._with(self._target.add(except_rooms=room))

    @property
    def volatile(self) -> Op:
        """Servers drop the event for clients that cannot receive it right now."""
        return self._with(self._target.add(volatile=True))

    def compress(self, value: bool = True) -> Op:
        """The ``compress`` flag, passed on to the servers."""
        return self._with(self._target.add(compress=value))


class EmitterOperator(_Operator["redis.asyncio.Redis", "EmitterOperator"]):
    """An :class:`Emitter` narrowed to rooms / flags (each method returns a new one)."""

    async def _publish(self, channel: str, payload: bytes) -> None:
        await self._client.publish(channel, payload)

    async def emit(self, event: str, *args: Any) -> None:
        """Emit ``event`` to the targeted sockets of every server."""
        await self._publish(*self._target.emit(event, args))

    async def sockets_join(self, rooms: str | Iterable[str]) -> None:
        """Make the targeted sockets join ``rooms``."""
        await self._publish(*self._target.join(rooms))

    async def sockets_leave(self, rooms: str | Iterable[str]) -> None:
        """Make the targeted sockets leave ``rooms``."""
        await self._publish(*self._target.leave(rooms))

    async def disconnect_sockets(self, close: bool = False) -> None:
        """Disconnect the targeted sockets (``close`` also closes their connections)."""
        await self._publish(*self._target.disconnect(close))


EmitterOperator._OPERATOR = EmitterOperator


class Emitter(EmitterOperator):
    """Asyncio emitter: ``Emitter(url_or_client, key="socket.io")`` (an ``redis.asyncio``
    client given is not closed by :meth:`aclose`)."""

    __slots__ = ("_own",)

    def __init__(self, url_or_client: str | redis.asyncio.Redis, key: str = "socket.io",
                 *, nsp: str = "/") -> None:
        self._own = isinstance(url_or_client, str)
        client = (redis.asyncio.Redis.from_url(url_or_client)
                  if isinstance(url_or_client, str) else url_or_client)
        super().__init__(client, _Target(key, _nsp(nsp)))

    def of(self, nsp: str) -> Emitter:
        """The same emitter for namespace ``nsp`` (sharing the Redis client)."""
        other = Emitter(self._client, self._target.key, nsp=nsp)
        other._own = False
        return other

    async def server_side_emit(self, event: str, *args: Any) -> None:
        """Send ``event`` to every server's ``on(event)`` handlers (no acks)."""
        await self._publish(*self._target.server_side_emit(event, args))

    async def aclose(self) -> None:
        """Close the Redis client if the emitter made it."""
        if self._own:
            await self._client.aclose()

    async def __aenter__(self) -> Emitter:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


class SyncEmitterOperator(_Operator["redis.Redis", "SyncEmitterOperator"]):
    """A :class:`SyncEmitter` narrowed to rooms / flags (each method returns a new one)."""

    def _publish(self, channel: str, payload: bytes) -> None:
        self._client.publish(channel, payload)

    def emit(self, event: str, *args: Any) -> None:
        """Emit ``event`` to the targeted sockets of every server."""
        self._publish(*self._target.emit(event, args))

    def sockets_join(self, rooms: str | Iterable[str]) -> None:
        """Make the targeted sockets join ``rooms``."""
        self._publish(*self._target.join(rooms))

    def sockets_leave(self, rooms: str | Iterable[str]) -> None:
        """Make the targeted sockets leave ``rooms``."""
        self._publish(*self._target.leave(rooms))

    def disconnect_sockets(self, close: bool = False) -> None:
        """Disconnect the targeted sockets (``close`` also closes their connections)."""
        self._publish(*self._target.disconnect(close))


SyncEmitterOperator._OPERATOR = SyncEmitterOperator


class SyncEmitter(SyncEmitterOperator):
    """Blocking emitter: ``SyncEmitter(url_or_client, key="socket.io")`` (a ``redis.Redis``
    client given is not closed by :meth:`close`). Safe to share between threads (redis-py's
    connection pool)."""

    __slots__ = ("_own",)

    def __init__(self, url_or_client: str | redis.Redis, key: str = "socket.io",
                 *, nsp: str = "/") -> None:
        self._own = isinstance(url_or_client, str)
        client = redis.Redis.from_url(url_or_client) if isinstance(url_or_client, str) \
            else url_or_client
        super().__init__(client, _Target(key, _nsp(nsp)))

    def of(self, nsp: str) -> SyncEmitter:
        """The same emitter for namespace ``nsp`` (sharing the Redis client)."""
        other = SyncEmitter(self._client, self._target.key, nsp=nsp)
        other._own = False
        return other

    def server_side_emit(self, event: str, *args: Any) -> None:
        """Send ``event`` to every server's ``on(event)`` handlers (no acks)."""
        self._publish(*self._target.server_side_emit(event, args))

    def close(self) -> None:
        """Close the Redis client if the emitter made it."""
        if self._own:
            self._client.close()

    def __enter__(self) -> SyncEmitter:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
