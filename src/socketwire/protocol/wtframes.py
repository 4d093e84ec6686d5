"""Engine.IO packets on a WebTransport stream: the length-prefixed framing of engine.io-parser.

A WebTransport session carries its Engine.IO packets on one bidirectional stream, each packet
behind a header modelled on WebSocket's payload length:

* one byte: bit 7 set for a binary packet, bits 0-6 the payload length when below 126;
* 126 in bits 0-6: the length follows as a big-endian 16-bit integer;
* 127 in bits 0-6: the length follows as a big-endian 64-bit integer.

The payload of a text packet is its Engine.IO encoding in UTF-8 (``"4hello"``, ``"2probe"``);
a binary packet is its raw bytes (always a MESSAGE). As in the reference, a zero length, a
length over the receiver's ``max_payload`` and a 64-bit length past 2**53 - 1 are errors, and
invalid UTF-8 in a text packet reads as U+FFFD.

:func:`encode_frame` builds the bytes of one packet; :class:`FrameDecoder` turns a byte stream,
in chunks of any size, back into packets (``str`` text, ``bytes`` binary).
"""

from __future__ import annotations

import enum
import struct

from ..exceptions import RemoteProtocolError
from . import jsoncodec

__all__ = ["FrameDecoder", "encode_frame", "frame_header", "session_id_of"]

_BINARY = 0x80
_LEN16 = 126
_LEN64 = 127
_MAX_SAFE = (1 << 53) - 1
_U16 = struct.Struct(">H")
_U64 = struct.Struct(">Q")


def frame_header(length: int, binary: bool) -> bytes:
    """The header for a payload of ``length`` bytes (``binary`` sets the top bit)."""
    flag = _BINARY if binary else 0
    if length < _LEN16:
        return bytes((flag | length,))
    if length < 0x10000:
        return bytes((flag | _LEN16,)) + _U16.pack(length)
    return bytes((flag | _LEN64,)) + _U64.pack(length)


def encode_frame(packet: str | bytes) -> bytes:
    """One encoded Engine.IO packet (``str`` text such as ``"4hi"``, ``bytes`` binary) as it
    is written to the stream: header, then payload."""
    if isinstance(packet, str):
        payload = packet.encode("utf-8")
        return frame_header(len(payload), False) + payload
    return frame_header(len(packet), True) + bytes(packet)


class _State(enum.Enum):
    HEADER = 0
    LENGTH16 = 1
    LENGTH64 = 2
    PAYLOAD = 3
    FAILED = 4


class FrameDecoder:
    """Reads framed packets from a byte stream fed in chunks of any size.

    :meth:`feed` returns the packets completed by a chunk. When the stream breaks the framing
    (an empty or too long packet), ``error`` says why: the packets before the fault are still
    returned, and nothing is read after it (the stream is unusable, as in the reference).
    """

    __slots__ = ("_binary", "_buf", "_expected", "_state", "error", "max_payload")

    def __init__(self, max_payload: int) -> None:
        self.max_payload = max_payload
        self._buf = bytearray()
        self._state = _State.HEADER
        self._expected = 0
        self._binary = False
        self.error: str | None = None

    def feed(self, data: bytes) -> list[str | bytes]:
        """Add ``data`` and return the packets it completes, in order."""
        if self._state is _State.FAILED:
            return []
        self._buf += data
        out: list[str | bytes] = []
        buf = self._buf
        pos = 0
        while True:
            state = self._state
            if state is _State.HEADER:
                if pos >= len(buf):
                    break
                byte = buf[pos]
                pos += 1
                self._binary = bool(byte & _BINARY)
                self._expected = byte & 0x7F
                self._state = (
                    _State.PAYLOAD if self._expected < _LEN16
                    else _State.LENGTH16 if self._expected == _LEN16
                    else _State.LENGTH64
                )
            elif state is _State.LENGTH16:
                if len(buf) - pos < 2:
                    break
                (self._expected,) = _U16.unpack_from(buf, pos)
                pos += 2
                self._state = _State.PAYLOAD
            elif state is _State.LENGTH64:
                if len(buf) - pos < 8:
                    break
                (length,) = _U64.unpack_from(buf, pos)
                pos += 8
                if length > _MAX_SAFE:
                    self._fail("WebTransport frame length past 2**53 - 1")
                    break
                self._expected = length
                self._state = _State.PAYLOAD
            else:
                end = pos + self._expected
                if len(buf) < end:
                    break
                payload = bytes(buf[pos:end])
                pos = end
                out.append(payload if self._binary else payload.decode("utf-8", "replace"))
                self._state = _State.HEADER
            # as the reference: checked after every step, so a header announcing 126 or 127
            # already fails when max_payload is smaller
            if self._expected == 0 or self._expected > self.max_payload:
                self._fail(
                    "empty WebTransport frame" if self._expected == 0
                    else f"WebTransport frame of {self._expected} bytes over max_payload"
                )
                break
        if self._state is not _State.FAILED:
            del buf[:pos]
        return out

    def _fail(self, reason: str) -> None:
        self._state = _State.FAILED
        self.error = reason
        self._buf.clear()


def session_id_of(payload: str) -> str | None:
    """The sid in the payload of the OPEN packet a client sends first on a WebTransport
    stream to upgrade an existing session (``{"sid":"..."}``); ``None`` when there is none
    or the payload is not such an object (the reference refuses those)."""
    try:
        data = jsoncodec.loads(payload)
    except RemoteProtocolError:
        return None
    sid = data.get("sid") if isinstance(data, dict) else None
    return sid if isinstance(sid, str) else None
