"""The messages servers of a cluster exchange, as Node's ``ClusterAdapter`` (socket.io-adapter
``lib/cluster-adapter.ts``) defines them, and their encodings on Redis.

A message is a dict ``{"uid", "nsp", "type", "data"?}``: ``uid`` names the sending server,
``type`` is a :class:`MessageType` number and ``data`` depends on it (see
:class:`ClusterMessage`). Pure and I/O-free: the adapters publish and receive the bytes.

Encodings:

- pub/sub payload (sharded adapter): JSON text, unless the message may hold binary (a
  broadcast, an ack, a fetch_sockets or server-side emit answer) and does, then msgpack of
  the whole message. A receiver tells them apart by the first byte: ``{`` (0x7b) is JSON.
  The streams adapter always sends msgpack on pub/sub (:func:`pack`).
- stream entry (streams adapter): fields ``uid``, ``nsp``, ``type`` (the number as a
  string) and ``data`` (JSON text, or base64 of msgpack when it holds binary).

The msgpack dialects of the Node packages (notepack.io 3 for @socket.io/redis-adapter,
@msgpack/msgpack 2.8 for the streams adapter) agree on everything Socket.IO carries: bin for
buffers, the smallest integer type, float64 for other numbers, str for strings and keys; the
one codec of :mod:`socketwire.protocol.notepack` reads and writes both.
"""

from __future__ import annotations

import base64
import enum
import re
from typing import Any, TypedDict

from ..exceptions import RemoteProtocolError
from . import jsoncodec
from .sio import SioPacket, SioType, has_binary

_NUMERIC = re.compile(r"-?[0-9]+")

__all__ = [
    "EMITTER_UID",
    "MAY_CONTAIN_BINARY",
    "ClusterMessage",
    "MessageType",
    "decode_message",
    "decode_session",
    "decode_stream_entry",
    "encode_message",
    "encode_session",
    "encode_stream_entry",
    "hash_code",
    "pack",
    "packet_from_wire",
    "packet_to_wire",
    "stream_name",
    "unpack",
]

EMITTER_UID = "emitter"  # the uid of Node's emitters: not a server


class MessageType(enum.IntEnum):
    """Node's ``MessageType`` numbering (socket.io-adapter 2.5)."""

    INITIAL_HEARTBEAT = 1
    HEARTBEAT = 2
    BROADCAST = 3
    SOCKETS_JOIN = 4
    SOCKETS_LEAVE = 5
    DISCONNECT_SOCKETS = 6
    FETCH_SOCKETS = 7
    FETCH_SOCKETS_RESPONSE = 8
    SERVER_SIDE_EMIT = 9
    SERVER_SIDE_EMIT_RESPONSE = 10
    BROADCAST_CLIENT_COUNT = 11
    BROADCAST_ACK = 12
    ADAPTER_CLOSE = 13


class ClusterMessage(TypedDict, total=False):
    """A message or a response between servers. ``data`` per type:

    - BROADCAST: ``{opts: {rooms, except, flags}, packet: {type: 2, data}, requestId?}``
      (a ``requestId`` asks for acks)
    - SOCKETS_JOIN / SOCKETS_LEAVE: ``{opts, rooms}``; DISCONNECT_SOCKETS: ``{opts, close}``
    - FETCH_SOCKETS: ``{opts, requestId}``; SERVER_SIDE_EMIT: ``{packet: [ev, ...args],
      requestId?}``
    - FETCH_SOCKETS_RESPONSE: ``{requestId, sockets: [{id, handshake, rooms, data}]}``
    - SERVER_SIDE_EMIT_RESPONSE / BROADCAST_ACK: ``{requestId, packet}``
    - BROADCAST_CLIENT_COUNT: ``{requestId, clientCount}``
    - INITIAL_HEARTBEAT, HEARTBEAT, ADAPTER_CLOSE: no data
    """

    uid: str
    nsp: str
    type: int
    data: Any


# the types whose data may hold binary (the others are always JSON)
MAY_CONTAIN_BINARY = frozenset({
    MessageType.BROADCAST,
    MessageType.BROADCAST_ACK,
    MessageType.FETCH_SOCKETS_RESPONSE,
    MessageType.SERVER_SIDE_EMIT,
    MessageType.SERVER_SIDE_EMIT_RESPONSE,
})

_JSON_START = 0x7B  # "{"


# ---------------------------------------------------------------------------------- msgpack


def pack(value: Any) -> bytes:
    """msgpack bytes of ``value`` as the Node packages write them (bin for bytes). Needs
    the ``msgpack`` package (``pip install socketwire[msgpack]``, in the ``redis`` extra)."""
    from . import notepack  # msgpack only when a message holds binary

    return notepack.dumps(value)


def unpack(payload: bytes) -> Any:
    """Decode msgpack from a Node package (dates become ``Date.toJSON`` strings); invalid
    input raises :class:`RemoteProtocolError`."""
    from . import notepack

    try:
        return notepack.loads(payload)
    except ValueError as exc:
        raise RemoteProtocolError(str(exc)) from None


# ----------------------------------------------------------------------------- messages


def _checked(value: Any) -> ClusterMessage:
    if not isinstance(value, dict):
        raise RemoteProtocolError("a cluster message must be an object")
    kind = value.get("type")
    if not isinstance(kind, int) or isinstance(kind, bool):
        raise RemoteProtocolError("a cluster message needs a numeric type")
    if not isinstance(value.get("uid", ""), str) or not isinstance(value.get("nsp", ""), str):
        raise RemoteProtocolError("a cluster message's uid and nsp must be strings")
    return value  # type: ignore[return-value]


def encode_message(message: ClusterMessage) -> bytes:
    """The pub/sub payload of the sharded adapter: JSON, or msgpack when the data holds
    binary."""
    if message.get("type") in MAY_CONTAIN_BINARY and has_binary(message.get("data")):
        return pack(message)
    return jsoncodec.dumps_bytes(message)


def decode_message(payload: bytes) -> ClusterMessage:
    """Decode a pub/sub payload (JSON when it starts with ``{``, else msgpack); raises
    :class:`RemoteProtocolError` for anything that is not a cluster message."""
    if not payload:
        raise RemoteProtocolError("empty cluster message")
    if payload[0] == _JSON_START:
        return _checked(jsoncodec.loads(payload))
    return _checked(unpack(payload))


def encode_stream_entry(message: ClusterMessage) -> dict[str, str]:
    """The fields of the stream entry for ``message`` (the streams adapter's XADD)."""
    fields = {"uid": message.get("uid", ""), "nsp": message.get("nsp", ""),
              "type": str(int(message["type"]))}
    data = message.get("data")
    if data:
        if message["type"] in MAY_CONTAIN_BINARY and has_binary(data):
            fields["data"] = base64.b64encode(pack(data)).decode("ascii")
        else:
            fields["data"] = jsoncodec.dumps(data)
    return fields


def decode_stream_entry(fields: dict[str, str]) -> ClusterMessage:
    """The message of a stream entry; raises :class:`RemoteProtocolError` when invalid."""
    kind = fields.get("type", "")
    if _NUMERIC.fullmatch(kind) is None:  # ASCII digits only: "²".isdigit() is true
        raise RemoteProtocolError("a stream entry needs a numeric type")
    message: ClusterMessage = {"uid": fields.get("uid", ""), "nsp": fields.get("nsp", ""),
                               "type": int(kind)}
    data = fields.get("data")
    if data:
        if data.startswith("{"):
            message["data"] = jsoncodec.loads(data)
        else:
            try:
                raw = base64.b64decode(data, validate=True)
            except ValueError:
                raise RemoteProtocolError("invalid base64 in a stream entry") from None
            message["data"] = unpack(raw)
    return message


def hash_code(text: str) -> int:
    """Java's ``String.hashCode`` over UTF-16 code units, as a signed 32-bit int (the
    streams adapter's namespace hash)."""
    h = 0
    units = text.encode("utf-16-le")
    for i in range(0, len(units), 2):
        h = (h * 31 + (units[i] | units[i + 1] << 8)) & 0xFFFFFFFF
    return h - 0x100000000 if h & 0x80000000 else h


def stream_name(prefix: str, count: int, nsp: str) -> str:
    """The stream a namespace's messages go to: ``prefix`` alone for one stream, else
    ``prefix-N`` with N the hash modulo ``count``, the sign kept (JavaScript's ``%``)."""
    if count == 1:
        return prefix
    h = hash_code(nsp)
    index = abs(h) % count
    return f"{prefix}-{-index if h < 0 else index}"


def encode_session(session: dict[str, Any]) -> str:
    """A session to persist (``{sid, pid, rooms, data}``): base64 of msgpack."""
    return base64.b64encode(pack(session)).decode("ascii")


def decode_session(text: str | bytes) -> dict[str, Any]:
    """A persisted session; raises :class:`RemoteProtocolError` when invalid."""
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        raise RemoteProtocolError("invalid base64 session") from None
    value = unpack(raw)
    if not isinstance(value, dict):
        raise RemoteProtocolError("a session must be an object")
    return value


# ------------------------------------------------------------------------------ packets


def packet_to_wire(packet: SioPacket) -> dict[str, Any]:
    """A broadcast packet as Node's adapters carry it: ``{type: 2, data}`` (no ``nsp``: the
    message has it; no ``id``: each server gives its own)."""
    return {"type": int(SioType.EVENT), "data": packet.data}


def packet_from_wire(value: Any, nsp: str) -> SioPacket | None:
    """The EVENT packet of a broadcast received from another server (``None`` when it is
    not one: a type other than EVENT / BINARY_EVENT, or no ``[event, ...]`` data)."""
    if not isinstance(value, dict) or value.get("type") not in (2, 5):
        return None
    data = value.get("data")
    if not isinstance(data, list) or not data:
        return None
    return SioPacket(SioType.EVENT, nsp, data)
