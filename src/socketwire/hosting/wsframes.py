"""A sans-I/O WebSocket (RFC 6455) frame codec for the server side.

``FrameParser.feed`` takes bytes from the network and returns complete messages (text already
checked as UTF-8, fragment by fragment); protocol violations raise :class:`WebSocketError`
carrying the close code to send (RFC 6455: 1002 protocol error, 1007 invalid UTF-8, 1008
too many fragments, 1009 too big). Frames sent by the
server are built by :func:`frame` (unmasked, never fragmented).
"""

from __future__ import annotations

import codecs
import struct

__all__ = ["OP_BINARY", "OP_CLOSE", "OP_PING", "OP_PONG", "OP_TEXT", "TEXT_HEADS", "FrameParser",
           "WebSocketError", "check_close_payload", "close_code_valid", "close_frame", "frame",
           "unmask", "unmask_python"]

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
_NO_TEXT: list[str] = []  # shared while no text message is fragmented; never appended to


class WebSocketError(Exception):
    """The peer broke the WebSocket protocol; ``code`` is the close code to answer with.

    ``messages`` holds the messages completed before the offending frame (in the same
    :meth:`FrameParser.feed` call): they are delivered before the connection is failed.
    """

    def __init__(self, code: int, reason: str, messages: list[Message] | None = None) -> None:
        self.code = code
        self.reason = reason
        self.messages: list[Message] = messages if messages is not None else []
        self.in_close_frame = False
        """The offending frame was the peer's close frame: it will send no other."""
        super().__init__(f"{code} {reason}")


def close_code_valid(code: int) -> bool:
    """Whether a peer may send ``code`` in a close frame (RFC 6455 section 7.4, the IANA
    registry: 1004-1006 and 1015 are reserved, 1016-2999 unassigned, 3000-4999 for
    libraries and applications)."""
    return 1000 <= code <= 1003 or 1007 <= code <= 1014 or 3000 <= code <= 4999


def check_close_payload(payload: bytes) -> int | None:
    """Validate a received close frame's payload; returns its code (``None`` when empty).

    Raises :class:`WebSocketError` with 1002 for a one-byte payload or an invalid code, and
    1007 for a reason that is not UTF-8.
    """
    if not payload:
        return None
    if len(payload) == 1:
        raise WebSocketError(1002, "close frame with a one-byte payload")
    code = (payload[0] << 8) | payload[1]
    if not close_code_valid(code):
        raise WebSocketError(1002, f"invalid close code {code}")
    try:
        payload[2:].decode("utf-8")
    except UnicodeDecodeError:
        raise WebSocketError(1007, "close reason is not UTF-8") from None
    return code


def unmask_python(data: bytes, mask: bytes) -> bytes:
    """XOR ``data`` with the 4-byte ``mask`` repeated (client-to-server masking), in Python:
    one big-integer XOR."""
    n = len(data)
    if not n or mask == _ZERO_MASK:
        return bytes(data)
    key = (mask * ((n >> 2) + 1))[:n]
    return (int.from_bytes(data, "little") ^ int.from_bytes(key, "little")).to_bytes(n, "little")


try:
    # :func:`unmask_python` compiled, by the ``websockets`` package's C helper (5x faster for
    # 32 bytes, 45x for 4 KB, 80x for 64 KB), called as it is: a Python wrapper (one to skip
    # the all-zero mask, say) would cost more than the XOR it saves on a small frame
    from websockets.speedups import apply_mask as _unmask_compiled
except ImportError:  # websockets not installed, or built without its C extension
    unmask = unmask_python
else:
    unmask = _unmask_compiled


TEXT_HEADS = tuple(_H2.pack(0x80 | OP_TEXT, n) for n in range(126))
"""The header of a final, unmasked text frame of ``n`` bytes, for ``n`` < 126, by index:
``TEXT_HEADS[n] + payload`` is :func:`frame`'s result without its call."""


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


Message = tuple[int, "bytes | str"]
"""(opcode, payload): OP_TEXT messages carry checked text (``str``), OP_BINARY and the control
frames bytes; a close frame's payload has been validated (:func:`check_close_payload`)."""

FRAGMENT_COST = 64
"""Bytes of bookkeeping a fragment is counted for: the default fragment limit is the size
limit over this (a flood of tiny fragments costs far more than its payload)."""


class FrameParser:
    """Incremental frame parser: fragment reassembly, a message size cap, a fragment-count cap
    (1008 past it, as Node's ws), UTF-8 checked fragment by fragment (1007 at the first
    invalid fragment, not at the end of the message) and close frames validated."""

    __slots__ = ("_buf", "_decoder", "_frag", "_frag_count", "_frag_op", "_frag_size",
                 "_text", "max_fragments", "max_size")

    def __init__(self, max_size: int = 1_000_000, max_fragments: int | None = None) -> None:
        self.max_size = max_size
        self.max_fragments = (max_fragments if max_fragments is not None
                              else max(16, max_size // FRAGMENT_COST))
        self._buf = b""
        # one buffer: tiny fragments cost their bytes, no more (made when a fragmented
        # message starts: most connections never send one)
        self._frag: bytearray | bytes = b""
        self._text: list[str] = _NO_TEXT
        self._decoder: codecs.IncrementalDecoder | None = None
        self._frag_op = 0
        self._frag_size = 0
        self._frag_count = 0

    def single_text(self, data: bytes) -> str | None:
        """The hot path: when ``data`` is exactly one small, final, masked text frame of
        valid UTF-8 and nothing is pending, that frame's text (the frame is consumed);
        otherwise ``None`` and nothing is consumed (:meth:`feed` then takes ``data``)."""
        n = len(data) - 6
        if (0 <= n < 126 and data[1] == 0x80 | n and data[0] == 0x81 and not self._buf
                and not self._frag_op and n <= self.max_size):
            try:
                return unmask(data[6:], data[2:6]).decode("utf-8")
            except UnicodeDecodeError:
                return None  # the general path fails the frame with the right code
        return None

    def feed(self, data: bytes) -> list[Message]:
        """Add bytes; return every complete message (and control frame) they finish."""
        text = self.single_text(data)
        if text is not None:
            return [(OP_TEXT, text)]
        out: list[Message] = []
        try:
            return self._feed(data, out)
        except WebSocketError as exc:
            exc.messages = out
            self._buf = b""
            raise

    def _feed(self, data: bytes, out: list[Message]) -> list[Message]:
        buf = self._buf + data if self._buf else data
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
            opcode = b0 & 0x0F
            fin = b0 & 0x80
            length = b1 & 0x7F
            if opcode >= 0x8:
                if length > 125 or not fin:
                    error = WebSocketError(1002, "bad control frame")
                    error.in_close_frame = opcode == OP_CLOSE
                    raise error
                if opcode > OP_PONG:
                    raise WebSocketError(1002, "unknown opcode")
            elif opcode > OP_BINARY:
                raise WebSocketError(1002, "unknown opcode")
            elif opcode == OP_CONT:
                if not self._frag_op:
                    raise WebSocketError(1002, "unexpected continuation frame")
            elif self._frag_op:
                raise WebSocketError(1002, "expected continuation frame")
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
            if opcode < 0x8 and (length > max_size or self._frag_size + length > max_size):
                raise WebSocketError(1009, "message too big")
            total = head + 4 + length
            if end - pos < total:
                break
            mask = buf[pos + head : pos + head + 4]
            payload = unmask(buf[pos + head + 4 : pos + total], mask)
            pos += total
            if opcode == OP_TEXT:
                if fin:
                    try:
                        out.append((OP_TEXT, payload.decode("utf-8")))
                    except UnicodeDecodeError:
                        raise WebSocketError(1007, "invalid UTF-8 in a text message") from None
                else:
                    self._frag_op = OP_TEXT
                    self._frag_count = 1
                    self._frag_size = length
                    self._decoder = _utf8_decoder()
                    self._text = [self._decode(payload, False)]
            elif opcode == OP_BINARY:
                if fin:
                    out.append((OP_BINARY, payload))
                else:
                    self._frag_op = OP_BINARY
                    self._frag_count = 1
                    self._frag_size = length
                    self._frag = bytearray(payload)
            elif opcode == OP_CONT:
                self._frag_count += 1
                if self._frag_count > self.max_fragments:
                    raise WebSocketError(1008, "too many fragments")
                self._frag_size += length
                if self._frag_op == OP_TEXT:
                    piece = self._decode(payload, bool(fin))
                    if piece:
                        self._text.append(piece)
                    if fin:
                        out.append((OP_TEXT, "".join(self._text)))
                        self._text = _NO_TEXT
                        self._decoder = None
                else:
                    self._frag += payload
                    if fin:
                        out.append((OP_BINARY, bytes(self._frag)))
                        self._frag = b""
                if fin:
                    self._frag_op = 0
                    self._frag_size = 0
                    self._frag_count = 0
            else:
                if opcode == OP_CLOSE:
                    try:
                        check_close_payload(payload)
                    except WebSocketError as error:
                        error.in_close_frame = True
                        raise
                out.append((opcode, payload))
        self._buf = buf[pos:] if pos < end else b""
        if len(self._buf) > max_size + 14:
            raise WebSocketError(1009, "message too big")
        return out

    def _decode(self, payload: bytes, final: bool) -> str:
        assert self._decoder is not None
        try:
            return self._decoder.decode(payload, final)
        except UnicodeDecodeError:
            raise WebSocketError(1007, "invalid UTF-8 in a text message") from None


def _utf8_decoder() -> codecs.IncrementalDecoder:
    return codecs.getincrementaldecoder("utf-8")("strict")
