"""JSON encoding identical to JavaScript's ``JSON.stringify`` for the values Socket.IO carries.

Compact separators, raw UTF-8 (no ``\\uXXXX`` escapes of non-ASCII), ``null`` for NaN and
the infinities. Built on orjson.
"""

from __future__ import annotations

import math
from typing import Any

import orjson

from ..exceptions import LocalProtocolError, RemoteProtocolError

_OPTS = orjson.OPT_NON_STR_KEYS


def _default(value: Any) -> Any:
    if isinstance(value, (set, frozenset, tuple)):
        return list(value)
    if isinstance(value, int):  # ints beyond 64 bits: JS would read a float
        return float(value)
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def dumps(value: Any) -> str:
    """Encode ``value`` as ``JSON.stringify`` would, returning a ``str``."""
    try:
        return orjson.dumps(value, default=_default, option=_OPTS).decode()
    except orjson.JSONEncodeError as exc:
        raise LocalProtocolError(f"cannot encode as JSON: {exc}") from None


def dumps_bytes(value: Any) -> bytes:
    """Encode ``value`` as ``JSON.stringify`` would, returning UTF-8 bytes."""
    try:
        return orjson.dumps(value, default=_default, option=_OPTS)
    except orjson.JSONEncodeError as exc:
        raise LocalProtocolError(f"cannot encode as JSON: {exc}") from None


def loads(text: str | bytes) -> Any:
    """Decode JSON text; invalid JSON raises :class:`RemoteProtocolError`."""
    try:
        return orjson.loads(text)
    except orjson.JSONDecodeError:
        raise RemoteProtocolError("invalid JSON payload") from None


def is_finite_number(value: Any) -> bool:
    """Tell whether ``value`` is an int or a finite float (not a bool)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value)
