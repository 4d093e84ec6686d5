"""Socket.IO protocol v5: packets, the encoder and the incremental decoder.

Wire form of one packet (carried in Engine.IO MESSAGE packets)::

    <type>[<attachments>-][<namespace>,][<ack id>][<JSON payload>]

followed, for BINARY_EVENT / BINARY_ACK, by ``attachments`` binary Engine.IO messages.
Binary values inside the payload are replaced by ``{"_placeholder":true,"num":N}``,
numbered depth-first.
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson

from ..exceptions import LocalProtocolError, RemoteProtocolError
from . import jsoncodec

__all__ = [
    "RESERVED_EVENTS",
    "SioDecoder",
    "SioPacket",
    "SioType",
    "encode_packet",
    "has_binary",
]

RESERVED_EVENTS = frozenset(
    {"connect", "connect_error", "disconnect", "disconnecting", "newListener", "removeListener"}
)
BINARY_TYPES = (bytes, bytearray, memoryview)
MAX_ACK_ID_DIGITS = 16  # ids stay below 2**53 in JavaScript


class SioType(enum.IntEnum):
    """Socket.IO packet types."""

    CONNECT = 0
    DISCONNECT = 1
    EVENT = 2
    ACK = 3
    CONNECT_ERROR = 4
    BINARY_EVENT = 5
    BINARY_ACK = 6


_ABSENT: Any = None
_EVENT = SioType.EVENT
# a decoder's buffers while no binary packet is pending: shared, never appended to (a
# packet that expects attachments gets a list of its own)
_NO_BUFFERS: list[bytes] = []
_orjson_loads = orjson.loads
_DecodeError = orjson.JSONDecodeError


@dataclass(frozen=True, slots=True)
class SioPacket:
    """One Socket.IO packet. ``data`` is the decoded JSON payload (``None`` when absent)."""

    type: SioType
    nsp: str = "/"
    data: Any = None
    id: int | None = None


# ---------------------------------------------------------------------------------- binary


_SCALARS = frozenset({str, int, float, bool, type(None)})


def has_binary(value: Any, depth: int = 0) -> bool:
    """Tell whether ``value`` holds bytes anywhere inside lists, tuples and dicts."""
    kind = type(value)
    if kind in _SCALARS:
        return False
    if isinstance(value, BINARY_TYPES):
        return True
    if depth > 255:  # orjson refuses to encode deeper anyway
        return False
    if isinstance(value, (list, tuple)):
        items: Any = value
    elif isinstance(value, dict):
        items = value.values()
    else:
        return False
    for item in items:
        if type(item) not in _SCALARS and has_binary(item, depth + 1):
            return True
    return False


def _deconstruct(value: Any, buffers: list[bytes]) -> Any:
    if isinstance(value, BINARY_TYPES):
        buffers.append(bytes(value))
        return {"_placeholder": True, "num": len(buffers) - 1}
    if isinstance(value, (list, tuple)):
        return [_deconstruct(v, buffers) for v in value]
    if isinstance(value, dict):
        return {k: _deconstruct(v, buffers) for k, v in value.items()}
    return value


def _resolve(value: Any, buffers: list[bytes]) -> Any:
    """Return the buffer ``value`` stands for if it is a placeholder, else ``value``."""
    if isinstance(value, dict) and value.get("_placeholder") is True:
        num = value.get("num")
        if isinstance(num, int) and not isinstance(num, bool) and 0 <= num < len(buffers):
            return buffers[num]
        raise RemoteProtocolError("illegal attachments")
    return value


def _reconstruct(value: Any, buffers: list[bytes]) -> Any:
    """Replace placeholders with buffers, in place (``value`` is freshly decoded JSON).

    Iterative, so any nesting the JSON parser accepted is walked without recursion.
    """
    value = _resolve(value, buffers)
    stack = [value]
    while stack:
        node = stack.pop()
        if isinstance(node, list):
            for i, item in enumerate(node):
                if isinstance(item, (list, dict)):
                    node[i] = item = _resolve(item, buffers)
                    if not isinstance(item, bytes):
                        stack.append(item)
        elif isinstance(node, dict):
            for key, item in node.items():
                if isinstance(item, (list, dict)):
                    node[key] = item = _resolve(item, buffers)
                    if not isinstance(item, bytes):
                        stack.append(item)
    return value


# --------------------------------------------------------------------------------- encoder


def encode_packet(packet: SioPacket) -> list[str | bytes]:
    """Encode a packet: the text header, then its binary attachments (if any).

    EVENT / ACK packets whose data holds bytes are sent as BINARY_EVENT / BINARY_ACK.
    """
    kind = packet.type
    data = packet.data
    buffers: list[bytes] = []
    if kind in (SioType.EVENT, SioType.ACK) and has_binary(data):
        kind = SioType.BINARY_EVENT if kind == SioType.EVENT else SioType.BINARY_ACK
        data = _deconstruct(data, buffers)
    elif kind in (SioType.BINARY_EVENT, SioType.BINARY_ACK):
        data = _deconstruct(data, buffers)
        if not buffers:  # "50-" is refused by socket.io-parser: send a plain EVENT / ACK
            kind = SioType.EVENT if kind == SioType.BINARY_EVENT else SioType.ACK
    parts = [str(int(kind))]
    if buffers or kind in (SioType.BINARY_EVENT, SioType.BINARY_ACK):
        parts.append(f"{len(buffers)}-")
    if packet.nsp != "/":
        parts.append(packet.nsp)
        parts.append(",")
    if packet.id is not None:
        parts.append(str(packet.id))
    if data is not None:
        parts.append(jsoncodec.dumps(data))
    out: list[str | bytes] = ["".join(parts)]
    out.extend(buffers)
    return out


def encode_event(nsp: str, args: list[Any] | tuple[Any, ...], ack_id: int | None = None) -> str:
    """Fast path: encode a text-only EVENT ``[event, *args]`` (the caller checked for bytes)."""
    head = "2" if nsp == "/" else "2" + nsp + ","
    if ack_id is not None:
        head += str(ack_id)
    return head + jsoncodec.dumps(args)


# --------------------------------------------------------------------------------- decoder


def _is_object(value: Any) -> bool:
    return isinstance(value, dict)


def _valid_payload(kind: SioType, data: Any, present: bool) -> bool:
    if kind == SioType.CONNECT:
        return not present or _is_object(data)
    if kind == SioType.DISCONNECT:
        return not present
    if kind == SioType.CONNECT_ERROR:
        return present and (isinstance(data, str) or _is_object(data))
    if kind in (SioType.EVENT, SioType.BINARY_EVENT):
        if not isinstance(data, list) or not data:
            return False
        name = data[0]
        if isinstance(name, str):
            return name not in RESERVED_EVENTS
        return jsoncodec.is_finite_number(name)
    return isinstance(data, list)  # ACK / BINARY_ACK


def decode_main_event(text: str | bytes) -> tuple[list[Any], int | None] | None:
    """The hot path of :func:`decode_text`: when ``text`` is an EVENT on the main namespace
    (``2["name",...]`` or ``2<id>["name",...]``), its data and ack id; ``None`` when it is
    any other packet, or ``bytes`` (:func:`decode_text` decodes those). An invalid EVENT
    raises :class:`RemoteProtocolError`."""
    if type(text) is not str or text[:1] != "2":
        return None
    bracket = text.find("[", 1, MAX_ACK_ID_DIGITS + 2)
    ack_id: int | None = None
    if bracket > 1:
        digits = text[1:bracket]
        if not (digits.isdigit() and digits.isascii()):
            return None  # a namespace, or not an event: the general path
        ack_id = int(digits)
    elif bracket < 0:
        return None
    try:
        data = _orjson_loads(text[bracket:])
    except _DecodeError:  # lone surrogates escaped, or not JSON: the slower path
        data = jsoncodec.loads(text[bracket:])
    if (type(data) is not list or not data or type(data[0]) is not str
            or data[0] in RESERVED_EVENTS):
        if not _valid_payload(_EVENT, data, True):
            raise RemoteProtocolError("invalid payload")
    return data, ack_id


def decode_text(text: str, max_attachments: int = 10) -> tuple[SioPacket, int]:
    """Decode the text part of a packet; returns the packet and its attachment count.

    For binary packets the data still holds placeholders; :class:`SioDecoder` fills them.
    """
    event = decode_main_event(text)
    if event is not None:
        return SioPacket(_EVENT, "/", event[0], event[1]), 0
    n = len(text)
    if not n:
        raise RemoteProtocolError("empty packet")
    c = text[0]
    if c < "0" or c > "6":
        raise RemoteProtocolError("unknown packet type")
    kind = SioType(ord(c) - 48)
    i = 1
    attachments = 0
    if kind in (SioType.BINARY_EVENT, SioType.BINARY_ACK):
        dash = text.find("-", 1, 12)
        digits = text[1:dash] if dash > 0 else ""
        if not digits.isdigit() or not digits.isascii():
            raise RemoteProtocolError("illegal attachments")
        attachments = int(digits)
        if attachments < 1:
            raise RemoteProtocolError("illegal attachments")
        if attachments > max_attachments:
            raise RemoteProtocolError("too many attachments")
        i = dash + 1
    nsp = "/"
    if i < n and text[i] == "/":
        comma = text.find(",", i)
        if comma < 0:
            nsp = text[i:]
            i = n
        else:
            nsp = text[i:comma]
            i = comma + 1
    ack_id: int | None = None
    j = i
    limit = min(n, i + MAX_ACK_ID_DIGITS + 1)  # stop early: a longer id is rejected anyway
    while j < limit and "0" <= text[j] <= "9":
        j += 1
    if j > i:
        if j - i > MAX_ACK_ID_DIGITS:
            raise RemoteProtocolError("invalid ack id")
        ack_id = int(text[i:j])
        i = j
    elif i < n and text[i] in " \t\n\r":
        # socket.io-parser reads leading whitespace as an ack id (Number(" ") == 0): refuse
        # rather than decode the packet with another meaning
        raise RemoteProtocolError("invalid payload")
    present = i < n
    data = jsoncodec.loads(text[i:]) if present else None
    if not _valid_payload(kind, data, present):
        raise RemoteProtocolError("invalid payload")
    if kind in (SioType.ACK, SioType.BINARY_ACK) and ack_id is None:
        raise RemoteProtocolError("ack without id")
    return SioPacket(kind, nsp, data, ack_id), attachments


class SioDecoder:
    """Incremental decoder: feed Engine.IO MESSAGE payloads, get complete packets.

    ``feed`` returns a packet when one is complete, ``None`` while a binary packet waits for
    attachments, and raises :class:`RemoteProtocolError` on invalid input (the connection
    must then be closed). A text packet while attachments are expected, or bytes when none
    are, is an error.
    """

    __slots__ = ("_buffers", "_expected", "_pending", "main_event", "max_attachments")

    def __init__(self, max_attachments: int = 10) -> None:
        self.max_attachments = max_attachments
        self._pending: SioPacket | None = None
        self._expected = 0
        self._buffers: list[bytes] = _NO_BUFFERS
        #: The hot path of :meth:`feed`: ``main_event(message)`` is, when ``message`` is a
        #: complete EVENT on the main namespace, its data and ack id; ``None`` when it is
        #: anything else, or while attachments are awaited (:meth:`feed` takes it then).
        #: :func:`decode_main_event` itself while no attachment is awaited, without a call
        #: of its own in between.
        self.main_event: Callable[[str | bytes], tuple[list[Any], int | None] | None] = (
            decode_main_event)

    @property
    def waiting(self) -> bool:
        """True while a binary packet waits for its attachments."""
        return self._pending is not None

    def feed(self, message: str | bytes) -> SioPacket | None:
        """Feed one Engine.IO message; return the packet it completes, if any."""
        if isinstance(message, str):
            if self._pending is not None:
                self.reset()
                raise RemoteProtocolError("got text while waiting for attachments")
            packet, attachments = decode_text(message, self.max_attachments)
            kind = packet.type
            if kind is _EVENT:
                return packet
            if kind is SioType.BINARY_EVENT or kind is SioType.BINARY_ACK:
                if attachments == 0:
                    return self._finish(packet, [])
                self._pending = packet
                self._expected = attachments
                self._buffers = []
                self.main_event = _declines
                return None
            return packet
        if self._pending is None:
            raise RemoteProtocolError("got binary data with no binary packet pending")
        self._buffers.append(bytes(message))
        if len(self._buffers) < self._expected:
            return None
        packet, buffers = self._pending, self._buffers
        self.reset()
        return self._finish(packet, buffers)

    def _finish(self, packet: SioPacket, buffers: list[bytes]) -> SioPacket:
        data = _reconstruct(packet.data, buffers)
        if packet.type == SioType.BINARY_EVENT and not _valid_payload(packet.type, data, True):
            raise RemoteProtocolError("invalid payload")
        return SioPacket(packet.type, packet.nsp, data, packet.id)

    def reset(self) -> None:
        """Drop a partly received binary packet."""
        self._pending = None
        self._expected = 0
        self._buffers = _NO_BUFFERS
        self.main_event = decode_main_event


def _declines(message: str | bytes) -> None:
    """:attr:`SioDecoder.main_event` while attachments are awaited."""
    return None


def check_event_name(event: str) -> None:
    """Raise :class:`LocalProtocolError` if ``event`` is reserved and may not be emitted."""
    if event in RESERVED_EVENTS:
        raise LocalProtocolError(f'"{event}" is a reserved event name')
