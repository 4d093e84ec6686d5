"""The Socket.IO parser seam: how packets become Engine.IO messages, and back.

A :class:`Parser` encodes packets into Engine.IO MESSAGE packets ready for a session (text
``str`` starting with ``"4"``, or binary ``bytes``) and makes decoders for what a peer sends.
Server and clients choose one (``Server(parser=...)``, ``AsyncClient(parser=...)``); both
sides of a connection must use the same. :data:`JSON` is Socket.IO's default format (what
socket.io-parser speaks); :class:`socketwire.protocol.msgpackparser.MsgpackParser`
(``"msgpack"``) is socket.io-msgpack-parser's.

Besides :meth:`Parser.encode` (any packet), the methods for the packets sent most often
(:meth:`Parser.event`, :meth:`Parser.ack`...) are the fast paths: they return one Engine.IO
packet, or a list of them when a packet has binary attachments.
"""

from __future__ import annotations

from typing import Any, Protocol

import orjson

from . import jsoncodec
from .sio import SioDecoder, SioPacket, SioType, encode_packet, has_binary

__all__ = ["JSON", "Decoder", "JsonParser", "Parser", "Wire", "get_parser"]

# what a parser hands the engine: one Engine.IO packet, or several (binary attachments)
Wire = str | bytes | list[str | bytes]


class Decoder(Protocol):
    """Incremental decoder of one connection: Engine.IO MESSAGE payloads in, packets out."""

    @property
    def waiting(self) -> bool:
        """True while a packet waits for more messages (binary attachments)."""

    def feed(self, message: str | bytes) -> SioPacket | None:
        """The packet ``message`` completes, if any; raises ``RemoteProtocolError`` on
        invalid input (the connection must then be closed)."""

    def reset(self) -> None:
        """Drop a partly received packet."""

    def main_event(self, message: str | bytes) -> tuple[list[Any], int | None] | None:
        """Optional (the server looks it up once per connection): the hot path of
        :meth:`feed`, an EVENT on the main namespace as ``(data, ack_id)``, or ``None`` for
        any other message, which :meth:`feed` then takes."""


class Parser:
    """Encoder and decoder factory of one wire format (subclass it for another)."""

    #: a short name for logs and docs
    name = "parser"

    def encode(self, packet: SioPacket) -> list[str | bytes]:
        """Encode any packet into Engine.IO packets."""
        raise NotImplementedError

    def decoder(self, max_attachments: int = 10) -> Decoder:
        """A new decoder for one connection."""
        raise NotImplementedError

    # the fast paths: subclasses may do better than encode()

    def event(self, nsp: str, data: list[Any], ack_id: int | None = None) -> Wire:
        """An EVENT carrying ``data`` (``[event, *args]``)."""
        return _single(self.encode(SioPacket(SioType.EVENT, nsp, data, ack_id)))

    def ack(self, nsp: str, ack_id: int, args: list[Any]) -> Wire:
        """The ACK answering ``ack_id`` with ``args``."""
        return _single(self.encode(SioPacket(SioType.ACK, nsp, args, ack_id)))

    def connect(self, nsp: str, payload: dict[str, Any] | None) -> str | bytes:
        """A CONNECT (the client's, with its auth; the server's reply, with ``sid``)."""
        return self.encode(SioPacket(SioType.CONNECT, nsp, payload))[0]

    def connect_error(self, nsp: str, payload: dict[str, Any]) -> str | bytes:
        """A CONNECT_ERROR (``{"message": ..., "data": ...}``)."""
        return self.encode(SioPacket(SioType.CONNECT_ERROR, nsp, payload))[0]

    def disconnect(self, nsp: str) -> str | bytes:
        """A DISCONNECT."""
        return self.encode(SioPacket(SioType.DISCONNECT, nsp))[0]


_dumps = orjson.dumps
_OPTS = jsoncodec.ORJSON_OPTIONS
_EncodeError = orjson.JSONEncodeError


def _single(parts: list[str | bytes]) -> Wire:
    return parts[0] if len(parts) == 1 else parts


class JsonParser(Parser):
    """Socket.IO's default format (socket.io-parser): JSON text, binary attachments."""

    name = "json"

    def encode(self, packet: SioPacket) -> list[str | bytes]:
        """Encode any packet: the text packet, then its attachments."""
        parts = encode_packet(packet)
        parts[0] = "4" + parts[0]  # type: ignore[operator]
        return parts

    def decoder(self, max_attachments: int = 10) -> Decoder:
        """A :class:`SioDecoder`."""
        return SioDecoder(max_attachments)

    def event(self, nsp: str, data: list[Any], ack_id: int | None = None) -> Wire:
        """An EVENT: text built directly unless ``data`` holds bytes."""
        # one orjson call first: it refuses bytes (and what needs jsoncodec's slower path:
        # sets, lone surrogates, huge ints), so success means a text packet of exactly the
        # bytes jsoncodec.dumps would give
        try:
            body = _dumps(data, option=_OPTS).decode()
        except _EncodeError:
            if has_binary(data):
                return self.encode(SioPacket(SioType.EVENT, nsp, data, ack_id))
            body = jsoncodec.dumps(data)
        if nsp == "/":
            return "42" + body if ack_id is None else "42" + str(ack_id) + body
        head = "42" + nsp + ","
        return head + body if ack_id is None else head + str(ack_id) + body

    def ack(self, nsp: str, ack_id: int, args: list[Any]) -> Wire:
        """An ACK: text built directly unless ``args`` holds bytes."""
        try:
            body = _dumps(args, option=_OPTS).decode()
        except _EncodeError:
            if has_binary(args):
                return _single(self.encode(SioPacket(SioType.ACK, nsp, args, ack_id)))
            body = jsoncodec.dumps(args)
        if nsp == "/":
            return "43" + str(ack_id) + body
        return "43" + nsp + "," + str(ack_id) + body

    def connect(self, nsp: str, payload: dict[str, Any] | None) -> str:
        """``40[nsp,][payload]``."""
        head = "40" if nsp == "/" else "40" + nsp + ","
        return head if payload is None else head + jsoncodec.dumps(payload)

    def connect_error(self, nsp: str, payload: dict[str, Any]) -> str:
        """``44[nsp,]payload``."""
        head = "44" if nsp == "/" else "44" + nsp + ","
        return head + jsoncodec.dumps(payload)

    def disconnect(self, nsp: str) -> str:
        """``41[nsp,]``."""
        return "41" if nsp == "/" else "41" + nsp + ","


#: the default parser
JSON = JsonParser()


def get_parser(parser: str | Parser | None) -> Parser:
    """The parser ``parser`` names: ``"json"`` (or ``None``: the default), ``"msgpack"``, or
    a :class:`Parser` instance."""
    if parser is None or parser == "json":
        return JSON
    if parser == "msgpack":
        from .msgpackparser import MsgpackParser

        return MsgpackParser()
    if isinstance(parser, Parser):
        return parser
    raise TypeError(f"parser must be 'json', 'msgpack' or a Parser, not {parser!r}")
