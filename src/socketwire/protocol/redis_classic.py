"""The wire format of Node's classic Redis adapter (@socket.io/redis-adapter 8) and of
@socket.io/redis-emitter 5, as read from their code.

Channels, per namespace ``nsp`` and key (``socket.io`` by default):

- ``{key}#{nsp}#``: broadcasts, ``{key}#{nsp}#{room}#`` when a broadcast targets exactly one
  room (subscribed as the pattern ``{key}#{nsp}#*``);
- ``{key}-request#{nsp}#``: requests (``PUBSUB NUMSUB`` of it is the server count);
- ``{key}-response#{nsp}#`` and ``{key}-response#{nsp}#{uid}#``: responses.

A broadcast is MessagePack ``[uid, {type: 2, data, nsp}, {rooms, except, flags}]`` (the emitter
uses the uid ``"emitter"``); requests and responses are JSON objects with a ``type`` of
:class:`RequestType`, except broadcasts with ack (``BROADCAST`` requests and
``BROADCAST_ACK`` responses), which are MessagePack. Flags travel as Node writes them:
``volatile`` / ``compress`` / ``local`` when set, ``timeout`` in milliseconds.
"""

from __future__ import annotations

import enum
import secrets
import string
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from . import notepack

__all__ = [
    "Channels",
    "IncomingBroadcast",
    "RequestType",
    "decode_broadcast",
    "decode_request",
    "encode_broadcast",
    "encode_broadcast_ack",
    "encode_broadcast_ack_request",
    "encode_json",
    "flags_from_wire",
    "flags_to_wire",
    "new_uid",
    "rooms_of",
    "target_of",
]

_ALPHABET = string.ascii_letters + string.digits


class RequestType(enum.IntEnum):
    """Node's ``RequestType`` numbering."""

    SOCKETS = 0
    ALL_ROOMS = 1
    REMOTE_JOIN = 2
    REMOTE_LEAVE = 3
    REMOTE_DISCONNECT = 4
    REMOTE_FETCH = 5
    SERVER_SIDE_EMIT = 6
    BROADCAST = 7
    BROADCAST_CLIENT_COUNT = 8
    BROADCAST_ACK = 9


def new_uid(length: int = 6) -> str:
    """A random id of ``length`` letters and digits (Node uses ``uid2(6)``)."""
    return "".join(secrets.choice(_ALPHABET) for _ in range(length))


@dataclass(frozen=True, slots=True)
class Channels:
    """The channel names of one namespace."""

    broadcast: str
    request: str
    response: str
    specific_response: str

    @classmethod
    def of(cls, key: str, nsp: str, uid: str) -> Channels:
        """The channels for namespace ``nsp`` and adapter ``uid``."""
        response = f"{key}-response#{nsp}#"
        return cls(f"{key}#{nsp}#", f"{key}-request#{nsp}#", response, f"{response}{uid}#")

    @property
    def pattern(self) -> str:
        """The pattern subscribed for broadcasts."""
        return self.broadcast + "*"

    def for_rooms(self, rooms: Iterable[str]) -> str:
        """Where a broadcast to ``rooms`` is published (the room's own channel for one)."""
        rooms = list(rooms)
        if len(rooms) == 1:
            return f"{self.broadcast}{rooms[0]}#"
        return self.broadcast

    def room_of(self, channel: str) -> str | None:
        """The room a broadcast channel names (``""`` for the namespace-wide one), or
        ``None`` when ``channel`` is not one of this namespace's."""
        if not channel.startswith(self.broadcast) or not channel.endswith("#"):
            return None
        return channel[len(self.broadcast):-1]


def flags_to_wire(volatile: bool = False, compress: bool = True, local: bool = False,
                  timeout: float | None = None,
                  expect_single_response: bool = False) -> dict[str, Any]:
    """Broadcast flags as socket.io 4.8 sets them (only those that are set)."""
    flags: dict[str, Any] = {}
    if volatile:
        flags["volatile"] = True
    if not compress:
        flags["compress"] = False
    if local:
        flags["local"] = True
    if timeout is not None:
        flags["timeout"] = round(timeout * 1000)
    if expect_single_response:
        flags["expectSingleResponse"] = True
    return flags


def flags_from_wire(flags: Any) -> dict[str, Any]:
    """Keyword arguments for ``BroadcastFlags`` from the flags another server sent."""
    if not isinstance(flags, dict):
        return {}
    out: dict[str, Any] = {}
    if flags.get("volatile"):
        out["volatile"] = True
    if flags.get("compress") is False:
        out["compress"] = False
    timeout = flags.get("timeout")
    if isinstance(timeout, int | float) and not isinstance(timeout, bool) and timeout >= 0:
        out["timeout"] = timeout / 1000
    return out


def _str_list(value: Any) -> list[str]:
    if not isinstance(value, list):
        return []
    return [v if isinstance(v, str) else _room_text(v) for v in value
            if isinstance(v, str | int | float) and not isinstance(v, bool)]


def _room_text(value: int | float) -> str:
    """A numeric room from a JavaScript server, as its string (``1``, not ``1.0``)."""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def encode_broadcast(uid: str, data: list[Any], nsp: str, rooms: Iterable[str],
                     except_rooms: Iterable[str], flags: dict[str, Any]) -> bytes:
    """A broadcast message (``packet.type`` is always EVENT: receivers re-encode binary)."""
    return notepack.dumps([
        uid,
        {"type": 2, "data": data, "nsp": nsp},
        {"rooms": list(rooms), "except": list(except_rooms), "flags": flags},
    ])


def encode_broadcast_ack_request(uid: str, request_id: str, data: list[Any], nsp: str,
                                 rooms: Iterable[str], except_rooms: Iterable[str],
                                 flags: dict[str, Any]) -> bytes:
    """A ``BROADCAST`` request: a broadcast whose recipients' acks come back as responses."""
    return notepack.dumps({
        "uid": uid,
        "requestId": request_id,
        "type": int(RequestType.BROADCAST),
        "packet": {"type": 2, "data": data, "nsp": nsp},
        "opts": {"rooms": list(rooms), "except": list(except_rooms), "flags": flags},
    })


def encode_broadcast_ack(request_id: str, answer: list[Any]) -> bytes:
    """A ``BROADCAST_ACK`` response: one client's answer (its first argument, as Node)."""
    message: dict[str, Any] = {"type": int(RequestType.BROADCAST_ACK), "requestId": request_id}
    if answer:
        message["packet"] = answer[0]
    return notepack.dumps(message)


def encode_json(message: dict[str, Any]) -> bytes:
    """A JSON request or response."""
    return notepack.dumps_json(message)


@dataclass(frozen=True, slots=True)
class IncomingBroadcast:
    """A broadcast from another server (or an emitter)."""

    uid: str
    nsp: str
    data: list[Any]
    rooms: frozenset[str]
    except_rooms: frozenset[str]
    flags: dict[str, Any]


def decode_broadcast(payload: bytes) -> IncomingBroadcast | None:
    """Decode a broadcast message; ``None`` when it is not a valid one."""
    try:
        value = notepack.loads(payload)
    except ValueError:
        return None
    if not isinstance(value, list) or len(value) < 2:
        return None
    uid, packet = value[0], value[1]
    opts = value[2] if len(value) > 2 and isinstance(value[2], dict) else {}
    if not isinstance(packet, dict):
        return None
    data = packet.get("data")
    if not isinstance(data, list) or not data:
        return None
    nsp = packet.get("nsp")
    flags = opts.get("flags")
    return IncomingBroadcast(
        uid=uid if isinstance(uid, str) else "",
        nsp=nsp if isinstance(nsp, str) else "/",
        data=data,
        rooms=frozenset(_str_list(opts.get("rooms"))),
        except_rooms=frozenset(_str_list(opts.get("except"))),
        flags=flags if isinstance(flags, dict) else {},
    )


def decode_request(payload: bytes) -> dict[str, Any] | None:
    """Decode a request or response (JSON or MessagePack by its first byte); ``None`` when
    malformed or not an object."""
    try:
        value = notepack.loads_any(payload)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def target_of(message: dict[str, Any]) -> tuple[frozenset[str], frozenset[str]]:
    """``(rooms, except)`` of a request's ``opts``."""
    opts = message.get("opts")
    if not isinstance(opts, dict):
        return frozenset(), frozenset()
    return frozenset(_str_list(opts.get("rooms"))), frozenset(_str_list(opts.get("except")))


def rooms_of(value: Any) -> list[str]:
    """A request's ``rooms`` (a list, or one room)."""
    if isinstance(value, str):
        return [value]
    return _str_list(value)
