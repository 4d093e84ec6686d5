"""The MessagePack parser, wire-compatible with socket.io-msgpack-parser.

Each packet is one binary Engine.IO message: the MessagePack map ``{"type", "nsp", "data",
"id"}`` (``data`` and ``id`` left out when absent). Binary values travel inline (MessagePack
``bin``), so there are no attachments and no BINARY_EVENT / BINARY_ACK types. Peers using
socket.io-msgpack-parser (the official Node server and client with ``parser:
require("socket.io-msgpack-parser")``, or socket.io-client's ``socket.io.msgpack.min.js``)
understand it.

What notepack.io 2 (socket.io-msgpack-parser's codec) writes for JavaScript values MessagePack
has no type for is read back as a Node server reads it, told apart by the framing byte:
``undefined`` (fixext 1 type 0) as ``None``, a ``Date`` (fixext 8 type 0) as its JSON string
(what the JSON parser delivers), an ``ArrayBuffer`` or typed array (ext 8 / 16 / 32 type 0,
of any size) as ``bytes``; other extensions as ``[type, bytes]``.

Needs the ``msgpack`` package (``pip install socketwire[msgpack]``).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from ..exceptions import LocalProtocolError, RemoteProtocolError
from .parser import Decoder, Parser, Wire
from .sio import RESERVED_EVENTS, SioPacket, SioType

__all__ = ["MsgpackDecoder", "MsgpackParser"]

_TYPES = {t.value: t for t in (SioType.CONNECT, SioType.DISCONNECT, SioType.EVENT,
                               SioType.ACK, SioType.CONNECT_ERROR)}


def _default(value: Any) -> Any:
    if isinstance(value, (set, frozenset)):
        return list(value)
    raise TypeError(f"Object of type {type(value).__name__} cannot be encoded as MessagePack")


class MsgpackParser(Parser):
    """socket.io-msgpack-parser's format."""

    name = "msgpack"

    def __init__(self) -> None:
        import msgpack  # the optional dependency, loaded only when this parser is used

        self._msgpack = msgpack

    def _pack(self, obj: dict[str, Any]) -> bytes:
        try:
            packed: bytes = self._msgpack.packb(obj, default=_default, use_bin_type=True)
        except (TypeError, ValueError, OverflowError) as exc:
            raise LocalProtocolError(f"cannot encode as MessagePack: {exc}") from None
        return packed

    def encode(self, packet: SioPacket) -> list[str | bytes]:
        """One binary message holding the whole packet."""
        kind = packet.type
        if kind is SioType.BINARY_EVENT:
            kind = SioType.EVENT
        elif kind is SioType.BINARY_ACK:
            kind = SioType.ACK
        obj: dict[str, Any] = {"type": int(kind), "nsp": packet.nsp}
        if packet.data is not None or kind in (SioType.EVENT, SioType.ACK):
            obj["data"] = packet.data
        if packet.id is not None:
            obj["id"] = packet.id
        return [self._pack(obj)]

    def event(self, nsp: str, data: list[Any], ack_id: int | None = None) -> Wire:
        """An EVENT, one binary message."""
        obj: dict[str, Any] = {"type": 2, "nsp": nsp, "data": data}
        if ack_id is not None:
            obj["id"] = ack_id
        return self._pack(obj)

    def ack(self, nsp: str, ack_id: int, args: list[Any]) -> Wire:
        """An ACK, one binary message."""
        return self._pack({"type": 3, "nsp": nsp, "data": args, "id": ack_id})

    def decoder(self, max_attachments: int = 10) -> Decoder:
        """A :class:`MsgpackDecoder` (``max_attachments`` does not apply: no attachments)."""
        return MsgpackDecoder(self._msgpack)


class MsgpackDecoder:
    """Decodes one binary message per packet, with socket.io-msgpack-parser's checks."""

    __slots__ = ("_msgpack",)

    def __init__(self, module: Any) -> None:
        self._msgpack = module

    @property
    def waiting(self) -> bool:
        """Never: a packet is always one message."""
        return False

    def feed(self, message: str | bytes) -> SioPacket | None:
        """Decode one packet; invalid input raises :class:`RemoteProtocolError`."""
        if isinstance(message, str):
            raise RemoteProtocolError("expected a binary MessagePack message, got text")
        try:
            try:
                obj = self._msgpack.unpackb(message, raw=False, ext_hook=_ext)
            except _TypeZero:  # rare: read again, by the framing of each extension
                from . import notepack  # (needs msgpack, as this parser)

                obj = notepack.unpack_framed(message, self._unpack, None)[0]
        except Exception:  # ExtraData, FormatError, StackError, ValueError, ...
            raise RemoteProtocolError("invalid MessagePack payload") from None
        if not isinstance(obj, dict):
            raise RemoteProtocolError("invalid packet")
        kind = obj.get("type")
        if type(kind) is not int or kind not in _TYPES:
            raise RemoteProtocolError("invalid packet type")
        nsp = obj.get("nsp")
        if not isinstance(nsp, str):
            raise RemoteProtocolError("invalid namespace")
        sio_type = _TYPES[kind]
        present = "data" in obj
        data = obj.get("data")
        if not _valid(sio_type, data, present):
            raise RemoteProtocolError("invalid payload")
        ack_id = obj.get("id")
        if ack_id is not None and (type(ack_id) is not int or ack_id < 0):
            raise RemoteProtocolError("invalid packet id")
        if sio_type is SioType.ACK and ack_id is None:
            raise RemoteProtocolError("ack without id")
        return SioPacket(sio_type, nsp, data, ack_id)

    def reset(self) -> None:
        """Nothing to drop."""

    def main_event(self, message: str | bytes) -> None:
        """No hot path of its own: :meth:`feed` decodes every message."""
        return None

    def _unpack(self, data: bytes, ext_hook: Callable[[int, bytes], Any]) -> Any:
        return self._msgpack.unpackb(data, raw=False, ext_hook=ext_hook)


class _TypeZero(Exception):
    """An extension of type 0: notepack's legacy forms, read by their framing byte."""


def _ext(code: int, data: bytes) -> Any:
    # notepack.io 2 (under socket.io-msgpack-parser 3) writes JavaScript's undefined as fixext
    # 1 type 0 (d4 00 00; e.g. a CONNECT without auth: read as absent, None), a Date as fixext
    # 8 type 0 (read as its JSON string, as the JSON parser gets it) and an ArrayBuffer or a
    # typed array as ext 8 / 16 / 32 type 0 (bytes): told apart by framing, in a second pass
    if code == 0:
        raise _TypeZero
    return [code, bytes(data)]  # as notepack: [type, Buffer]


def _valid(kind: SioType, data: Any, present: bool) -> bool:
    if kind is SioType.CONNECT:
        return data is None or isinstance(data, dict)
    if kind is SioType.DISCONNECT:
        return data is None
    if kind is SioType.CONNECT_ERROR:
        return isinstance(data, (str, dict))
    if not isinstance(data, list):
        return False
    if kind is SioType.EVENT:
        if not data:
            return False
        name = data[0]
        if isinstance(name, str):
            return name not in RESERVED_EVENTS
        return type(name) in (int, float)
    return True
