"""MessagePack as Node's Redis adapters write and read it (notepack.io 3.x), on ``msgpack``.

- Encoding: integers in the smallest type, every other number as float64, ``bytes`` /
  ``bytearray`` / ``memoryview`` as ``bin``, tuples and sets as arrays, ``datetime`` as the
  timestamp extension (type -1), as notepack writes a ``Date``.
- Decoding: ``bin`` becomes ``bytes``; a timestamp (type -1, all three sizes) becomes the
  string JavaScript's ``Date.toJSON()`` gives (``2026-12-01T09:30:00.000Z``), which is what a
  Node server would send its clients as JSON; notepack 2.x's legacy forms are accepted: ext 0
  of 8 bytes is a Date (milliseconds), ext 0 of 1 byte is ``undefined`` (dropped from maps,
  ``None`` in arrays), any other ext 0 is an ArrayBuffer (``bytes``). (A legacy ArrayBuffer of
  exactly 1 or 8 bytes is read as undefined or a Date: the two forms cannot be told apart
  without the framing byte.) Other extension types become ``[type, bytes]``, as notepack.

The ``-request`` / ``-response`` messages that Node's classic adapter sends as JSON go through
:func:`dumps_json` / :func:`loads_json` (JSON.stringify's shape for ``bytes``:
``{"type": "Buffer", "data": [...]}``). :func:`loads_any` picks the decoder the way Node does:
a payload starting with ``{`` is JSON, anything else MessagePack.
"""

from __future__ import annotations

import datetime as _dt
from typing import Any

import msgpack
import orjson

__all__ = ["dumps", "dumps_json", "loads", "loads_any", "loads_json"]


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


class _Decoding:
    __slots__ = ("fix",)

    def __init__(self) -> None:
        self.fix = False

    def ext(self, code: int, data: bytes) -> Any:
        # (type -1 never gets here: msgpack decodes it into a Timestamp by itself)
        if code == 0:
            if len(data) == 1:
                self.fix = True
                return UNDEFINED
            if len(data) == 8:
                ms = int.from_bytes(data, "big", signed=True)
                return _iso(_EPOCH + _dt.timedelta(milliseconds=ms))
            return bytes(data)
        return [code, bytes(data)]


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
    state = _Decoding()
    try:
        value = msgpack.unpackb(data, raw=False, strict_map_key=False, ext_hook=state.ext,
                                timestamp=0)
    except (msgpack.UnpackException, ValueError, TypeError) as err:
        raise ValueError(f"malformed MessagePack: {err}") from err
    if state.fix or (b"\xff" in data and _has_timestamp(value)):
        value = _fix(value)
    return value


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
