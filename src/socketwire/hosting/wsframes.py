"""A sans-I/O WebSocket (RFC 6455) frame codec for the server side.

``FrameParser.feed`` takes bytes from the network and returns complete messages; protocol
violations raise :class:`WebSocketError` carrying the close code to send. Frames sent by the
server are built by :func:`frame` (unmasked, never fragmented).
"""

from __future__ import annotations

import struct

__all__ = ["OP_BINARY", "OP_CLOSE", "OP_PING", "OP_PONG", "OP_TEXT", "FrameParser",
           "WebSocketError", "close_frame", "frame", "unmask"]

OP_CONT = 0x0
OP_TEXT = 0x1
OP_BINARY = 0x2
OP_CLOSE = 0x8
OP_PING = 0x9
OP_PONG = 0xA

_H2 = struct.Struct("!BB")
_H4 = struct.Struct("!BBH")
_H10 = struct.Struct("!BBQ")
_ZERO_MASK = b"\x00\x00\x00\x00"


class WebSocketError(Exception):
    """The peer broke the WebSocket protocol; ``code`` is the close code to answer with."""

    def __init__(self, code: int, reason: str) -> None:
        self.code = code
        self.reason = reason
        super().__init__(f"{code} {reason}")


def unmask(data: bytes, mask: bytes) -> bytes:
    """XOR ``data`` with the 4-byte ``mask`` repeated (client-to-server masking)."""
    n = len(data)
    if not n or mask == _ZERO_MASK:
        return bytes(data)
    key = (mask * ((n >> 2) + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(key, "little")).to_bytes(n, "little")


def frame(opcode: int, payload: bytes) -> bytes:
    """Build one unmasked final frame."""
    n = len(payload)
    if n < 126:
        return _H2.pack(0x80 | opcode, n) + payload
    if n < 65536:
        return _H4.pack(0x80 | opcode, 126, n) + payload
    return _H10.pack(0x80 | opcode, 127, n) + payload


def close_frame(code: int = 1000, reason: str = "") -> bytes:
    """Build a close frame with a status code."""
    return frame(OP_CLOSE, struct.pack("!H", code) + reason.encode()[:120])


Message = tuple[int, bytes]
"""(opcode, payload): OP_TEXT / OP_BINARY data messages, or control frames."""


class FrameParser:
    """Incremental frame parser with fragment reassembly and a message size cap."""

    __slots__ = ("_buf", "_frag", "_frag_op", "_frag_size", "max_size")

    def __init__(self, max_size: int = 1_000_000) -> None:
        self.max_size = max_size
        self._buf = b""
        self._frag = bytearray()  # one buffer: tiny fragments cost their bytes, no more
        self._frag_op = 0
        self._frag_size = 0

    def feed(self, data: bytes) -> list[Message]:
        """Add bytes; return every complete message (and control frame) they finish."""
        buf = self._buf + data if self._buf else data
        out: list[Message] = []
        pos = 0
        end = len(buf)
        max_size = self.max_size
        while end - pos >= 2:
            b0 = buf[pos]
            b1 = buf[pos + 1]
            if not b1 & 0x80:
                raise WebSocketError(1002, "unmasked client frame")
            if b0 & 0x70:
                raise WebSocketError(1002, "reserved bits set")
            length = b1 & 0x7F
            head = 2
            if length == 126:
                if end - pos < 4:
                    break
                length = (buf[pos + 2] << 8) | buf[pos + 3]
                head = 4
            elif length == 127:
                if end - pos < 10:
                    break
                length = int.from_bytes(buf[pos + 2 : pos + 10], "big")
                head = 10
            opcode = b0 & 0x0F
            fin = b0 & 0x80
            if opcode >= 0x8:
                if length > 125 or not fin:
                    raise WebSocketError(1002, "bad control frame")
            elif length > max_size or self._frag_size + length > max_size:
                raise WebSocketError(1009, "message too big")
            total = head + 4 + length
            if end - pos < total:
                break
            mask = buf[pos + head : pos + head + 4]
            payload = unmask(buf[pos + head + 4 : pos + total], mask)
            pos += total
            if opcode == OP_TEXT or opcode == OP_BINARY:
                if self._frag_op:
                    raise WebSocketError(1002, "expected continuation frame")
                if fin:
                    out.append((opcode, payload))
                else:
                    self._frag_op = opcode
                    self._frag = bytearray(payload)
                    self._frag_size = length
            elif opcode == OP_CONT:
                if not self._frag_op:
                    raise WebSocketError(1002, "unexpected continuation frame")
                self._frag += payload
                self._frag_size += length
                if fin:
                    out.append((self._frag_op, bytes(self._frag)))
                    self._frag_op = 0
                    self._frag = bytearray()
                    self._frag_size = 0
            elif opcode in (OP_CLOSE, OP_PING, OP_PONG):
                out.append((opcode, payload))
            else:
                raise WebSocketError(1002, "unknown opcode")
        self._buf = buf[pos:] if pos < end else b""
        if len(self._buf) > max_size + 14:
            raise WebSocketError(1009, "message too big")
        return out
