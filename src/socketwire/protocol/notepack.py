"""MessagePack as Node's Redis adapters write and read it (notepack.io 3.x), on ``msgpack``.

- Encoding: integers in the smallest type, every other number as float64, ``bytes`` /
  ``bytearray`` / ``memoryview`` as ``bin``, tuples and sets as arrays, ``datetime`` as the
  timestamp extension (type -1), as notepack writes a ``Date``.
- Decoding: ``bin`` becomes ``bytes``; a timestamp (type -1, all three sizes) becomes the
  string JavaScript's ``Date.toJSON()`` gives (``2026-12-01T09:30:00.000Z``), which is what a
  Node server would send its clients as JSON. Extensions of type 0 (notepack 2.x's legacy
  forms, which notepack 3 still reads) mean what their framing byte says, as in notepack:
  fixext 1 is ``undefined`` (dropped from maps, ``None`` in arrays), fixext 8 a Date
  (milliseconds), fixext 2, 4 and 16 ``[0, bytes]``, and ext 8 / 16 / 32 an ArrayBuffer
  (``bytes``) of any length, 1 and 8 included. Other extension types become
  ``[type, bytes]``, as notepack.

The ``-request`` / ``-response`` messages that Node's classic adapter sends as JSON go through
:func:`dumps_json` / :func:`loads_json` (JSON.stringify's shape for ``bytes``:
``{"type": "Buffer", "data": [...]}``). :func:`loads_any` picks the decoder the way Node does:
a payload starting with ``{`` is JSON, anything else MessagePack.
"""

from __future__ import annotations

import datetime as _dt
from collections.abc import Callable
from typing import Any

import msgpack
import orjson

__all__ = ["dumps", "dumps_json", "loads", "loads_any", "loads_json", "unpack_framed"]


class _Undefined:
    __slots__ = ()

    def __repr__(self) -> str:
        return "undefined"


UNDEFINED: Any = _Undefined()
_EPOCH = _dt.datetime(1970, 1, 1, tzinfo=_dt.UTC)


def _iso(dt: _dt.datetime) -> str:
    """``Date.prototype.toJSON``: UTC, milliseconds, ``Z``."""
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=_dt.UTC)
    dt = dt.astimezone(_dt.UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def _default(value: Any) -> Any:
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    if isinstance(value, _dt.datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=_dt.UTC)
        return msgpack.Timestamp.from_datetime(value)
    raise TypeError(f"cannot encode {type(value).__name__} as MessagePack")


def dumps(value: Any) -> bytes:
    """Encode ``value`` as notepack.io would."""
    return msgpack.packb(value, use_bin_type=True, default=_default, datetime=False)  # type: ignore[no-any-return]


# MessagePack's fixext framing bytes and their payload sizes
_FIXEXT_SIZES = frozenset((1, 2, 4, 8, 16))


class _Ambiguous(Exception):
    """An extension of type 0 whose framing cannot be known from its payload size alone."""


class _Decoding:
    __slots__ = ("data", "fix", "framings", "undefined")

    def __init__(self, data: bytes, undefined: Any, framings: list[bool] | None = None) -> None:
        self.data = data
        self.undefined = undefined
        self.fix = False
        # with an ext 8 header of a fixext size somewhere in the bytes: for each type-0
        # extension, in order, whether it was framed as fixext (found by _type0_framings)
        self.framings = None if framings is None else iter(framings)

    def ext(self, code: int, data: bytes) -> Any:
        # (type -1 never gets here: msgpack decodes it into a Timestamp by itself)
        if code != 0:
            return [code, bytes(data)]
        size = len(data)
        if self.framings is not None:
            fixed = next(self.framings, size in _FIXEXT_SIZES)
        elif size in _FIXEXT_SIZES:
            # an ext 8 / 16 / 32 of this size would have left its header in the bytes;
            # without one, this is a fixext (the usual case: no second pass)
            raw = self.data
            if (bytes((0xC7, size, 0)) in raw or bytes((0xC8, 0, size, 0)) in raw
                    or bytes((0xC9, 0, 0, 0, size, 0)) in raw):
                raise _Ambiguous
            fixed = True
        else:
            fixed = False  # only ext 8 / 16 / 32 hold other sizes
        if not fixed:
            return bytes(data)  # an ArrayBuffer
        if size == 1:
            self.fix = True
            return self.undefined
        if size == 8:
            ms = int.from_bytes(data, "big", signed=True)
            return _iso(_EPOCH + _dt.timedelta(milliseconds=ms))
        return [0, bytes(data)]


# bytes that follow a MessagePack type byte before its payload (ints, floats, lengths)
_FIXED_WIDTH = {0xCA: 4, 0xCB: 8, 0xCC: 1, 0xCD: 2, 0xCE: 4, 0xCF: 8,
                0xD0: 1, 0xD1: 2, 0xD2: 4, 0xD3: 8}
_LENGTH_WIDTH = {0xC4: 1, 0xC5: 2, 0xC6: 4, 0xD9: 1, 0xDA: 2, 0xDB: 4}  # bin, str
_EXT_WIDTH = {0xC7: 1, 0xC8: 2, 0xC9: 4}
_FIXEXT = {0xD4: 1, 0xD5: 2, 0xD6: 4, 0xD7: 8, 0xD8: 16}


def _type0_framings(data: bytes) -> list[bool]:
    """Walk one MessagePack value without decoding it: for each extension of type 0, in
    the order msgpack meets them, whether it is framed as fixext (``True``) or ext 8 / 16 /
    32. Stops quietly at malformed or truncated input (msgpack then reports it)."""
    out: list[bool] = []
    pos, pending, end = 0, 1, len(data)
    while pending and pos < end:
        pending -= 1
        b = data[pos]
        pos += 1
        if b <= 0x7F or b >= 0xE0 or 0xC0 <= b <= 0xC3:
            continue  # fixint, nil, (never used), booleans
        if b <= 0x8F:
            pending += 2 * (b & 0x0F)
        elif b <= 0x9F:
            pending += b & 0x0F
        elif b <= 0xBF:
            pos += b & 0x1F
        elif b in _FIXED_WIDTH:
            pos += _FIXED_WIDTH[b]
        elif b in _LENGTH_WIDTH:
            width = _LENGTH_WIDTH[b]
            pos += width + int.from_bytes(data[pos:pos + width], "big")
        elif b in _EXT_WIDTH:
            width = _EXT_WIDTH[b]
            size = int.from_bytes(data[pos:pos + width], "big")
            if data[pos + width:pos + width + 1] == b"\x00":
                out.append(False)
            pos += width + 1 + size
        elif b in _FIXEXT:
            if data[pos:pos + 1] == b"\x00":
                out.append(True)
            pos += 1 + _FIXEXT[b]
        else:  # array 16 / 32, map 16 / 32
            width = 2 if b in (0xDC, 0xDE) else 4
            count = int.from_bytes(data[pos:pos + width], "big")
            pos += width
            pending += count if b <= 0xDD else 2 * count
    return out


def _fix(value: Any) -> Any:
    """Replace timestamps by their JSON form; drop undefined map members."""
    if isinstance(value, list):
        return [None if v is UNDEFINED else _fix(v) for v in value]
    if isinstance(value, dict):
        return {k: _fix(v) for k, v in value.items() if v is not UNDEFINED}
    if isinstance(value, msgpack.Timestamp):
        return _iso(value.to_datetime())
    if value is UNDEFINED:
        return None
    return value


def loads(data: bytes) -> Any:
    """Decode a notepack.io MessagePack payload (raises ``ValueError`` when malformed)."""
    try:
        value, undefined_met = unpack_framed(data, _unpack, UNDEFINED)
    except (msgpack.UnpackException, ValueError, TypeError) as err:
        raise ValueError(f"malformed MessagePack: {err}") from err
    if undefined_met or (b"\xff" in data and _has_timestamp(value)):
        value = _fix(value)
    return value


def unpack_framed(data: bytes, unpack: Callable[[bytes, Callable[[int, bytes], Any]], Any],
                  undefined: Any) -> tuple[Any, bool]:
    """``unpack(data, ext_hook)`` with a hook that reads notepack's extensions as notepack
    does, type 0 by its framing byte (``undefined`` stands for JavaScript's ``undefined``);
    returns the value and whether an ``undefined`` was met. Errors of ``unpack`` propagate."""
    state = _Decoding(data, undefined)
    try:
        return unpack(data, state.ext), state.fix
    except _Ambiguous:
        state = _Decoding(data, undefined, _type0_framings(data))
        return unpack(data, state.ext), state.fix


def _unpack(data: bytes, ext_hook: Callable[[int, bytes], Any]) -> Any:
    return msgpack.unpackb(data, raw=False, strict_map_key=False, ext_hook=ext_hook,
                           timestamp=0)


def _has_timestamp(value: Any) -> bool:
    if isinstance(value, msgpack.Timestamp):
        return True
    if isinstance(value, list):
        return any(_has_timestamp(v) for v in value)
    if isinstance(value, dict):
        return any(_has_timestamp(v) for v in value.values())
    return False


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes | bytearray | memoryview):
        return {"type": "Buffer", "data": list(bytes(value))}
    if isinstance(value, tuple | set | frozenset):
        return list(value)
    if isinstance(value, _dt.datetime):
        return _iso(value)
    raise TypeError(f"cannot encode {type(value).__name__} as JSON")


def dumps_json(value: Any) -> bytes:
    """``JSON.stringify(value)`` for a request or response of Node's classic adapter."""
    return orjson.dumps(value, default=_json_default, option=orjson.OPT_NON_STR_KEYS)


def loads_json(data: bytes) -> Any:
    """Parse JSON (raises ``ValueError`` when malformed)."""
    return orjson.loads(data)


def loads_any(data: bytes) -> Any:
    """JSON when ``data`` starts with ``{``, MessagePack otherwise (Node's rule)."""
    if data[:1] == b"{":
        return loads_json(data)
    return loads(data)
