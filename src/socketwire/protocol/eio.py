"""Engine.IO protocol v4: packets, polling payloads, the handshake.

A text packet is a ``str``: one digit for the type, then the payload. A binary packet is
``bytes`` and is always a MESSAGE. Polling payloads join packets with the record separator
``\\x1e``; binary packets travel there as ``b`` + base64.
"""

from __future__ import annotations

import base64
import binascii
import enum
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from urllib.parse import unquote

from ..exceptions import HandshakeError, RemoteProtocolError
from . import jsoncodec

__all__ = [
    "SEPARATOR",
    "EioType",
    "Handshake",
    "OpenInfo",
    "check_request",
    "decode_packet",
    "decode_payload",
    "encode_open",
    "encode_payload",
    "parse_query",
]

SEPARATOR = "\x1e"
TRANSPORTS = ("polling", "websocket")


class EioType(enum.IntEnum):
    """Engine.IO packet types."""

    OPEN = 0
    CLOSE = 1
    PING = 2
    PONG = 3
    MESSAGE = 4
    UPGRADE = 5
    NOOP = 6


# a decoded packet: (type, payload); binary messages carry bytes
EioPacket = tuple[EioType, "str | bytes"]

_TYPES = {str(t.value): t for t in EioType}


def decode_packet(data: str | bytes) -> EioPacket:
    """Decode one Engine.IO packet (a WebSocket message or one item of a payload).

    Raises :class:`RemoteProtocolError` for an empty or unknown packet.
    """
    if isinstance(data, (bytes, bytearray, memoryview)):
        return EioType.MESSAGE, bytes(data)
    if not data:
        raise RemoteProtocolError("empty packet")
    kind = _TYPES.get(data[0])
    if kind is None:
        raise RemoteProtocolError("unknown packet type")
    return kind, data[1:]


def decode_payload(body: str, max_packets: int = 0) -> list[EioPacket]:
    """Decode an HTTP long-polling body into packets.

    ``b`` + base64 items become binary MESSAGE packets. ``max_packets`` > 0 caps how many
    packets one body may hold.
    """
    items = body.split(SEPARATOR)
    if max_packets and len(items) > max_packets:
        raise RemoteProtocolError("too many packets in payload")
    out: list[EioPacket] = []
    for item in items:
        if item[:1] == "b":
            try:
                raw = base64.b64decode(item[1:], validate=True)
            except (binascii.Error, ValueError):
                raise RemoteProtocolError("invalid base64 packet") from None
            out.append((EioType.MESSAGE, raw))
        else:
            out.append(decode_packet(item))
    return out


def encode_payload(packets: Iterable[str | bytes]) -> str:
    """Join already-encoded packets (text ``str``, binary ``bytes``) into a polling body."""
    return SEPARATOR.join(
        p if isinstance(p, str) else "b" + base64.b64encode(p).decode("ascii") for p in packets
    )


@dataclass(frozen=True, slots=True)
class OpenInfo:
    """What the server announces in the OPEN packet (times in seconds, sizes in bytes)."""

    sid: str
    upgrades: tuple[str, ...]
    ping_interval: float
    ping_timeout: float
    max_payload: int


def encode_open(info: OpenInfo) -> str:
    """Encode the OPEN packet exactly as Node's engine.io (integer milliseconds, no extra keys)."""
    return "0" + jsoncodec.dumps(
        {
            "sid": info.sid,
            "upgrades": list(info.upgrades),
            "pingInterval": round(info.ping_interval * 1000),
            "pingTimeout": round(info.ping_timeout * 1000),
            "maxPayload": info.max_payload,
        }
    )


def open_encoder(
    upgrades: tuple[str, ...], ping_interval: float, ping_timeout: float, max_payload: int
) -> Callable[[str], str]:
    """:func:`encode_open` for sessions of the same settings: the packet built once, each
    session's id put in (the same bytes as ``encode_open``)."""
    packet = encode_open(OpenInfo("", upgrades, ping_interval, ping_timeout, max_payload))
    head, tail = '0{"sid":', packet[len('0{"sid":""'):]

    def encode(sid: str) -> str:
        return head + jsoncodec.dumps(sid) + tail

    return encode


_MAX_TIMER_SECONDS = (2**31 - 1) / 1000


def decode_open(payload: str) -> OpenInfo:
    """Decode the payload of an OPEN packet (client side)."""
    data = jsoncodec.loads(payload)
    try:
        info = OpenInfo(
            sid=str(data["sid"]),
            upgrades=tuple(data.get("upgrades") or ()),
            ping_interval=float(data["pingInterval"]) / 1000,
            ping_timeout=float(data["pingTimeout"]) / 1000,
            max_payload=int(data.get("maxPayload") or 1_000_000),
        )
    except (KeyError, TypeError, ValueError, AttributeError, OverflowError):
        # OverflowError: float() of an int beyond a double, int() of an infinite float
        raise RemoteProtocolError("invalid OPEN packet") from None
    for seconds in (info.ping_interval, info.ping_timeout):
        # a JS timer holds at most 2**31 - 1 ms; NaN fails both comparisons
        if not 0 <= seconds <= _MAX_TIMER_SECONDS:
            raise RemoteProtocolError("invalid OPEN packet")
    return info


def parse_query(qs: str) -> dict[str, str]:
    """A query string as ``dict(urllib.parse.parse_qsl(qs, keep_blank_values=True))`` gives
    it (``&``-separated, ``+`` and ``%XX`` decoded as UTF-8 with replacement, the last of a
    repeated name wins), without urllib's per-field work for fields needing no decoding
    (Engine.IO's ``EIO=4&transport=polling&sid=...``)."""
    out: dict[str, str] = {}
    plain = "%" not in qs and "+" not in qs
    for field in qs.split("&"):
        if not field:
            continue
        name, _, value = field.partition("=")
        if not plain and ("%" in field or "+" in field):
            name = unquote(name.replace("+", " "))
            value = unquote(value.replace("+", " "))
        out[name] = value
    return out


@dataclass(frozen=True, slots=True)
class Handshake:
    """A checked Engine.IO request: which transport it asks for, and for which session."""

    transport: str
    sid: str | None


def check_request(
    method: str,
    query: Mapping[str, str],
    transports: Iterable[str] = TRANSPORTS,
    check_version: bool = True,
) -> Handshake:
    """Validate an Engine.IO request's method and query as Node's engine.io does.

    Raises :class:`HandshakeError` with Node's error code, checked in Node's order: 0 for an
    unknown or disabled transport; then, for a new session (no ``sid``), 2 for a method other
    than GET and 5 for a missing or unsupported ``EIO``. A server that runs its own checks
    between those (Node's ``allowRequest``) passes ``check_version=False`` and calls
    :func:`check_version` afterwards.
    """
    transport = query.get("transport")
    if transport not in TRANSPORTS or transport not in transports:
        raise HandshakeError(0)
    sid = query.get("sid")
    if sid is None:
        if method != "GET":
            raise HandshakeError(2)
        if check_version:
            check_version_of(query)
    return Handshake(transport, sid)


def check_version_of(query: Mapping[str, str]) -> None:
    """Raise :class:`HandshakeError` code 5 unless the query asks for protocol 4 (``EIO=4``)."""
    if query.get("EIO") != "4":
        raise HandshakeError(5)
